"""One redaction for every text that leaves the bot: secrets known at load and the shapes secrets take.

Settings register the tokens, keys and URL passwords they load; a pager registers its own credential
when it is built (a future PagerDuty or JSM token goes through the same ``register``). The one
``redact`` then guards every way out: log records (messages and tracebacks), Slack requests and Socket
Mode acks, database parameters, CLI output and uncaught exceptions. The registry is process-wide on
purpose: a logging filter or an exception hook has no other way to learn the values.
"""

from __future__ import annotations

import html
import re
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

MARK = "[redacted]"
# Shorter values are too likely to be ordinary words; inside URLs and headers the shapes still catch them.
MIN_SECRET_LENGTH = 8


class _Known:
    """The registered values and the one pattern that finds any of them (rebuilt when one is added)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: set[str] = set()
        self.pattern: re.Pattern[str] | None = None


_KNOWN = _Known()

_CREDENTIAL = r"(?=[A-Za-z0-9._~+/=:-]*[0-9+/=_.~:-])[A-Za-z0-9._~+/=:-]{8,}"  # has a digit or symbol
# (pattern, replacement): the shapes a credential takes in text, whether or not it was registered.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack tokens: bot, user, app-level, refresh, configuration (xoxb-, xoxp-, xapp-, xoxe.xoxp-, ...).
    (re.compile(r"\bxox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+"), MARK),
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), MARK),
    # Authorization header values: Opsgenie's GenieKey, Basic and Bearer, and PagerDuty's Token.
    (re.compile(r"\b([Gg]enie ?[Kk]ey|GENIEKEY|Basic|Bearer)\s+[A-Za-z0-9._~+/=:-]{8,}"), r"\1 " + MARK),
    (re.compile(r"\b(Token)\s+" + _CREDENTIAL), r"\1 " + MARK),
    # Credentials inside any URL: scheme://user:password@host (also in Slack's <url|label> markup).
    (re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/?#\s\"'<>|]*@", re.IGNORECASE), r"\1" + MARK + "@"),
    # Slack's verification token and response_url in envelopes, as JSON, as a repr or as escaped JSON.
    (
        re.compile(r"""(\\?["'](?:[a-z_]*token|response_url)\\?["']\s*:\s*\\?["'])[^"'\\]*""", re.I),
        r"\1" + MARK,
    ),
    # Incoming-webhook and response URLs are capabilities: whoever holds one can post.
    (re.compile(r"https://hooks\.slack\.com/[^\s\"'<>|]+"), "https://hooks.slack.com/" + MARK),
    # Query and form parameters that carry a credential (Socket Mode's ticket, token=, api_key=, ...).
    (
        re.compile(
            r"(?<![A-Za-z0-9])((?:[a-z_]*token|ticket|api_?key|password|secret)=)[^&\s\"'<>),;]+", re.I
        ),
        r"\1" + MARK,
    ),
)


# A word every shape above contains (lowercased): most texts have none, and one search settles that.
_TRIGGER = re.compile(
    r"xox|xapp|genie|basic|bearer|token|response_url|://|hooks\.slack|ticket|api_?key|password|secret"
)


def register(*secrets: str | None) -> None:
    """Remember secret values so that ``redact`` removes them wherever they appear (None is ignored)."""
    added: set[str] = set()
    for secret in secrets:
        value = (secret or "").strip()
        if len(value) >= MIN_SECRET_LENGTH:
            # The forms a value takes on its way out: as is, URL-encoded, HTML-escaped (Slack mrkdwn).
            added |= {value, quote(value, safe=""), html.escape(value, quote=False)}
    with _KNOWN.lock:
        if added <= _KNOWN.values:
            return
        _KNOWN.values.update(added)
        ordered = sorted(_KNOWN.values, key=len, reverse=True)  # a longer form before its prefixes
        _KNOWN.pattern = re.compile("|".join(re.escape(value) for value in ordered))


def register_url(url: str | None) -> None:
    """Remember the password inside a URL (``scheme://user:password@host``), if it has one."""
    try:
        password = urlsplit(url or "").password
    except ValueError:
        return
    register(password)


def redact(text: str) -> str:
    """``text`` with every known secret and everything shaped like a credential replaced by a marker."""
    if len(text) < MIN_SECRET_LENGTH:  # too short to hold a secret or any shape of one
        return text
    known = _KNOWN.pattern
    if known is not None:
        text = known.sub(MARK, text)
    if _TRIGGER.search(text.lower()):
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """``value`` with every string inside it (dicts, lists, tuples) redacted; other values as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(item) for item in value)
    return value


def format_exception(
    kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
) -> str:
    """A traceback as text, redacted: frames, messages and chained causes alike."""
    return redact("".join(traceback.format_exception(kind, error, tb)))


class RedactedStream:
    """A text stream whose every write is redacted first (the CLI's stdout and stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` redacted; answer the caller's length, as a stream's caller expects."""
        self.stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def redacted_output() -> Iterator[None]:
    """Within the block, everything written to sys.stdout and sys.stderr is redacted."""
    saved = sys.stdout, sys.stderr
    sys.stdout = RedactedStream(saved[0])
    sys.stderr = RedactedStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _excepthook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    sys.stderr.write(format_exception(kind, error, tb))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    text = format_exception(args.exc_type, args.exc_value, args.exc_traceback)
    sys.stderr.write(f"Exception in thread {name}:\n{text}")


def install_hooks() -> None:
    """Redact the traceback of any uncaught exception, in the main thread and in every other thread."""
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
