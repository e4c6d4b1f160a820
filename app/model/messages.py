"""Every message the bot posts, as a plain value: the services say what to tell, app/slack says how.

A service builds one of these and hands it to the chat port (``app.chat.Chat``); the Slack side renders
it (``app/slack/render.py``) into Block Kit and sends it through the gateway.

Every message says its ``language`` ("en" or "ja", ``app.i18n``): the team's for a post in a channel or
a thread there, the reader's (``app.i18n.choice.reader_language``) for a direct message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.model.buttons import EscalationButtons, GotItDone, PressDone
from app.model.handover import HandoverView, PersonView
from app.model.oncall import TeamNow

# A person on call in an escalation: the pager's identity (an email) and their Slack user id, None unmapped.
Tagged = tuple[str, str | None]
# What the escalation reply says happens next (dm: the team has no pager to call; limited: too many pages).
ReplyOutcome = Literal["tag", "page", "dm", "limited", "offer"]


# ---- notices in a team channel --------------------------------------------------------------------


@dataclass(frozen=True)
class PagerUnreachable:
    """The pager stopped answering: the data is stale since ``since`` (the group is left alone)."""

    team: str
    usergroup: str
    error: str
    since: datetime
    data_from: datetime | None
    zone: str
    language: str = "en"


@dataclass(frozen=True)
class PagerRecovered:
    """The pager answers again after an announced outage."""

    team: str
    since: datetime
    now: datetime
    zone: str
    language: str = "en"


@dataclass(frozen=True)
class NobodyOnCall:
    """Nobody on call can be put in the user group (``unmapped``: the pager's people Slack lacks)."""

    team: str
    usergroup: str
    unmapped: tuple[str, ...]
    language: str = "en"


@dataclass(frozen=True)
class UnmappedPerson:
    """A person on call has no usable Slack account, so is not in the group."""

    team: str
    pager_id: str
    problem: str
    language: str = "en"


@dataclass(frozen=True)
class SyncFailed:
    """Slack refused the user group update; ``sentence`` says why."""

    team: str
    usergroup: str
    sentence: str
    language: str = "en"


@dataclass(frozen=True)
class NeedsAdmin:
    """Something only an admin can fix (a missing group, a lost channel, a rejected token)."""

    team: str
    sentence: str
    language: str = "en"


# ---- the handover ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoverPost:
    """The handover in the team channel; ``acked_by``: the incoming people who pressed "Got it"."""

    view: HandoverView
    language: str = "en"
    acked_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncomingDm:
    """The direct message to a person coming on call; ``got_it``: its "Got it" button's value."""

    view: HandoverView
    language: str = "en"
    got_it: str | None = None


@dataclass(frozen=True)
class AckReminder:
    """The DM to an incoming person who has not pressed "Got it" yet, with the button again."""

    team: str
    zone: str
    start: datetime
    got_it: str
    language: str = "en"  # the reader's


# unknown: the handover is gone or never posted; not_yours: not handed to the presser; again: pressed before.
GotItWhy = Literal["unknown", "not_yours", "again"]


@dataclass(frozen=True)
class GotItRefused:
    """The private answer to a "Got it" press that changed nothing; ``incoming``: who may press it."""

    why: GotItWhy
    incoming: tuple[str, ...] = ()
    language: str = "en"  # the presser's


@dataclass(frozen=True)
class AckMissing:
    """The channel hears that nobody confirmed the handover; the outgoing people stay reachable."""

    team: str
    zone: str
    start: datetime
    waiting: tuple[PersonView, ...]
    outgoing: tuple[PersonView, ...]
    language: str = "en"  # the team's


@dataclass(frozen=True)
class IdentityWarning:
    """The day-ahead warning: incoming people Slack cannot reach, and how to fix them."""

    team: str
    zone: str
    shift_start: datetime
    problems: tuple[PersonView, ...]
    language: str = "en"


@dataclass(frozen=True)
class ShiftChange:
    """One changed shift: who is on call for it now, and who was."""

    team: str
    zone: str
    start: datetime
    end: datetime | None
    before: tuple[PersonView, ...]
    after: tuple[PersonView, ...]
    language: str = "en"


@dataclass(frozen=True)
class ShiftDigest:
    """Every change to the coming week's shifts, in one post."""

    team: str
    zone: str
    changes: tuple[ShiftChange, ...]
    language: str = "en"  # the team's


@dataclass(frozen=True)
class ShiftReminder:
    """The direct message to a person whose shift begins soon: ``end`` None when not known yet."""

    team: str
    zone: str
    start: datetime
    end: datetime | None
    now: datetime
    language: str = "en"  # the reader's


# ---- escalation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationReply:
    """The thread reply to a mention; ``people`` None: the pager never told about the team yet."""

    team: str
    people: tuple[Tagged, ...] | None
    reporter: str
    outcome: ReplyOutcome
    pager: str
    priority: str
    as_of: datetime | None
    now: datetime
    limit: int = 0
    language: str = "en"


@dataclass(frozen=True)
class PageConfirmed:
    """The pager took the page: ``alert_id`` (``url``: where a person opens it, when the pager has one)."""

    alert_id: str
    pager: str
    url: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class PageUnconfirmed:
    """The page was sent but the pager never confirmed it."""

    reason: str
    request_id: str
    pager: str
    language: str = "en"


@dataclass(frozen=True)
class PageFailed:
    """The page could not be made."""

    reason: str
    pager: str
    language: str = "en"


@dataclass(frozen=True)
class MentionUsage:
    """How to mention the bot (an empty or unclear mention)."""

    team_names: tuple[str, ...]
    language: str = "en"


@dataclass(frozen=True)
class MentionUnknownTeam:
    """The mention names a team the bot does not know."""

    word: str | None
    team_names: tuple[str, ...]
    language: str = "en"


@dataclass(frozen=True)
class EscalationDm:
    """The direct message to an on-call person of a team that does not page."""

    team: str
    reporter: str
    text: str
    priority: str
    channel: str
    permalink: str | None
    language: str = "en"


@dataclass(frozen=True)
class DmsSent:
    """The thread message: the on-call people were messaged directly (and what failed)."""

    user_ids: tuple[str, ...]
    problems: str | None
    language: str = "en"


@dataclass(frozen=True)
class DmsFailed:
    """The thread message: nobody could be messaged directly."""

    reason: str
    language: str = "en"


@dataclass(frozen=True)
class CourtesyReply:
    """The short answer to a thank-you: it tags nobody and pages nobody."""

    language: str = "en"


@dataclass(frozen=True)
class WhoReply:
    """ "Who is on call?" answered in the thread: the /oncall answer in the team's zone."""

    teams: tuple[TeamNow, ...]
    zone: str
    now: datetime
    source: str
    language: str = "en"


@dataclass(frozen=True)
class FollowUpReply:
    """A mention inside an escalated thread joins that escalation (no second alert)."""

    status: str
    pager: str
    alert_id: str | None
    url: str | None
    notes: bool = False  # the pager takes notes: the follow-up is added to the alert as one
    language: str = "en"


@dataclass(frozen=True)
class WithButtons:
    """An escalation's thread message (its reply or its outcome) with the escalation's buttons below it."""

    message: Message
    buttons: EscalationButtons


@dataclass(frozen=True)
class AlertChangedAtPager:
    """The page's outcome message again after its alert was acknowledged or closed at the pager.

    ``outcome``: the message as first posted (the confirmation); ``by``: who, as the pager names them;
    ``acked_by``: the Slack user who pressed Acknowledge before; ``keep``: the buttons left (None: none).
    """

    outcome: PageConfirmed | PageUnconfirmed
    pager: str
    state: str  # "acknowledged" or "closed"
    by: str | None = None
    acked_by: str | None = None
    keep: EscalationButtons | None = None
    language: str = "en"


Message = (
    WithButtons
    | PressDone
    | AlertChangedAtPager
    | CourtesyReply
    | WhoReply
    | FollowUpReply
    | PagerUnreachable
    | PagerRecovered
    | NobodyOnCall
    | UnmappedPerson
    | SyncFailed
    | NeedsAdmin
    | HandoverPost
    | IncomingDm
    | IdentityWarning
    | ShiftChange
    | ShiftDigest
    | ShiftReminder
    | AckReminder
    | AckMissing
    | GotItRefused
    | GotItDone
    | EscalationReply
    | PageConfirmed
    | PageUnconfirmed
    | PageFailed
    | MentionUsage
    | MentionUnknownTeam
    | EscalationDm
    | DmsSent
    | DmsFailed
)
