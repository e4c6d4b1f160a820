"""The messages of an escalation, as values: the thread reply, the page's outcome, the answers to a mention
that escalate nothing, and the direct messages of a team without a pager."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from app.model.buttons import EscalationButtons
from app.model.oncall import TeamNow
from app.model.person import Person

if TYPE_CHECKING:
    from app.model.messages import Message

# What the escalation reply says happens next (dm: the team has no pager to call; limited: too many pages).
ReplyOutcome = Literal["tag", "page", "dm", "limited", "offer"]


@dataclass(frozen=True, slots=True)
class EscalationReply:
    """The thread reply to a mention; ``people`` None: the pager never told about the team yet."""

    team: str
    people: tuple[Person, ...] | None  # tagged when mapped
    reporter: str
    outcome: ReplyOutcome
    pager: str
    priority: str
    as_of: datetime | None
    now: datetime
    limit: int = 0
    language: str = "en"


# What came of a page: the pager took it, it was sent but never confirmed, or it could not be made.
PageState = Literal["confirmed", "unconfirmed", "failed"]


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """The thread message saying what came of a page, by ``state``.

    confirmed: the pager's ``alert_id`` (``url``: where a person opens it, when the pager has one);
    unconfirmed: ``reason`` and the pager's ``request_id``; failed: ``reason``.
    """

    state: PageState
    pager: str
    alert_id: str = ""
    url: str | None = None
    reason: str = ""
    request_id: str = ""
    language: str = "en"


@dataclass(frozen=True, slots=True)
class MentionUsage:
    """How to mention the bot (an empty or unclear mention)."""

    team_names: tuple[str, ...]
    language: str = "en"


@dataclass(frozen=True, slots=True)
class MentionUnknownTeam:
    """The mention names a team the bot does not know."""

    word: str | None
    team_names: tuple[str, ...]
    language: str = "en"


@dataclass(frozen=True, slots=True)
class EscalationDm:
    """The direct message to an on-call person of a team that does not page."""

    team: str
    reporter: str
    text: str
    priority: str
    channel: str
    permalink: str | None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class DmOutcome:
    """The thread message about the direct messages: who got one (``reached``), and what failed.

    ``reached`` empty: nobody could be messaged, and ``problems`` says why.
    """

    reached: tuple[str, ...]
    problems: str | None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class CourtesyReply:
    """The short answer to a thank-you: it tags nobody and pages nobody."""

    language: str = "en"


@dataclass(frozen=True, slots=True)
class WhoReply:
    """ "Who is on call?" answered in the thread: the /oncall answer in the team's zone."""

    teams: tuple[TeamNow, ...]
    zone: str
    now: datetime
    source: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class FollowUpReply:
    """A mention inside an escalated thread joins that escalation (no second alert)."""

    status: str
    pager: str
    alert_id: str | None
    url: str | None
    notes: bool = False  # the pager takes notes: the follow-up is added to the alert as one
    language: str = "en"


@dataclass(frozen=True, slots=True)
class WithButtons:
    """An escalation's thread message (its reply or its outcome) with the escalation's buttons below it."""

    message: Message
    buttons: EscalationButtons


@dataclass(frozen=True, slots=True)
class AlertChangedAtPager:
    """The page's outcome message again after its alert was acknowledged or closed at the pager.

    ``outcome``: the message as first posted (the confirmation); ``by``: who, as the pager names them;
    ``acked_by``: the Slack user who pressed Acknowledge before; ``keep``: the buttons left (None: none).
    """

    outcome: PageOutcome  # confirmed or unconfirmed
    pager: str
    state: str  # "acknowledged" or "closed"
    by: str | None = None
    acked_by: str | None = None
    keep: EscalationButtons | None = None
    language: str = "en"
