"""What the rest of the bot may know about a failed Slack call: which call, Slack's code, and its kind.

The Slack gateway (``app/slack/gateway.py``) raises these, and only these, for every Web API call; callers
outside ``app/slack`` import them from here, so that they never depend on the Slack side.

Every failure is one of three kinds, because each asks for a different reaction:

- ``refused``: Slack answered no (an error code), or the request never left: nothing happened, and
  trying again later is safe (it may fail the same way).
- ``throttled``: Slack kept answering 429 after the gateway waited out its Retry-After: nothing
  happened; try again later.
- ``unknown``: the request was sent but no usable answer came back (a timeout, a dropped connection, a
  5xx from a proxy): Slack may have acted. A write must be read back before it is repeated.

A once-only post (``SlackGateway.post_once``) answers with a ``PostResult`` instead of raising: ``Sent``,
``Refused`` (refused or throttled: safe to post again) or ``Unknown`` (resolved by reading back, never by
guessing: ``SlackGateway.find_once``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.redaction import redact

Kind = Literal["refused", "throttled", "unknown"]


class SlackCallFailed(Exception):
    """A Slack Web API call failed; ``code`` is Slack's error string, ``str()`` a sentence for humans."""

    kind: Kind = "refused"

    def __init__(self, method: str, code: str, sentence: str, *, cause: BaseException | None = None) -> None:
        # Redacted once, here: a network error's text may quote a header, a URL with credentials or a token.
        super().__init__(redact(f"{method}: {sentence}"))
        self.method = method
        self.code = code
        self.sentence = redact(sentence)
        # The network error behind an unreachable Slack (check explains refused/timeout/DNS from it).
        self.cause = cause


class SlackRefused(SlackCallFailed):
    """Slack answered no, or the request never left: nothing happened."""

    kind: Kind = "refused"


class SlackThrottled(SlackCallFailed):
    """Slack kept rate-limiting the call after the waits: nothing happened."""

    kind: Kind = "throttled"


class SlackOutcomeUnknown(SlackCallFailed):
    """The request went out but no answer came back: Slack may or may not have acted."""

    kind: Kind = "unknown"


# What Slack said when it did not post because the message breaks Block Kit's limits (refused before sending).
TOO_BIG = "too_big"


# ---- once-only posts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """What a once-only post carries (in Slack's message metadata): the kind of post and its unique key."""

    event_type: str
    key: str


@dataclass(frozen=True, slots=True)
class Sent:
    """Slack posted it: ``ts`` of the message in ``channel`` (for a DM, the D… id)."""

    ts: str
    channel: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Slack answered that it did not post (or kept rate-limiting), or the request never left: try again."""

    reason: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """The request went out but no answer came back: Slack may or may not have posted it."""

    reason: str


PostResult = Sent | Refused | Unknown


class ReadBackFailed(Exception):
    """Reading the conversation back failed; ``str()`` says why in a sentence."""


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot token belongs to (auth.test): the bot's user id, its name, the workspace, its scopes."""

    user_id: str
    user: str
    team: str
    scopes: str | None  # the x-oauth-scopes header: "chat:write,users:read,..."
