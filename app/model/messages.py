"""Every message the bot posts, as a plain value: the services say what to tell, app/slack says how.

A service builds one of these and hands it to the chat port (``app.chat.Chat``); the Slack side renders
it (``app/slack/render.py``) into Block Kit and sends it through the gateway. They are declared by area
(``notices``, ``shift_messages``, ``escalation_messages``); this module gathers them into ``Message``.

Every message says its ``language`` ("en" or "ja", ``app.i18n``): the team's for a post in a channel or
a thread there, the reader's (``app.i18n.choice.reader_language``) for a direct message.
"""

from __future__ import annotations

from app.model.buttons import GotItDone, PressDone
from app.model.escalation_messages import (
    AlertChangedAtPager,
    CourtesyReply,
    DmOutcome,
    EscalationDm,
    EscalationReply,
    FollowUpReply,
    MentionUnknownTeam,
    MentionUsage,
    PageOutcome,
    PageState,
    ReplyOutcome,
    WhoReply,
    WithButtons,
)
from app.model.notices import (
    NeedsAdmin,
    NobodyOnCall,
    PagerRecovered,
    PagerUnreachable,
    SyncFailed,
    UnmappedPerson,
)
from app.model.shift_messages import (
    AckMissing,
    AckReminder,
    GotItRefused,
    GotItWhy,
    HandoverPost,
    IdentityWarning,
    IncomingDm,
    ShiftChange,
    ShiftDigest,
    ShiftReminder,
    TeamShift,
)

__all__ = [
    "AckMissing",
    "AckReminder",
    "AlertChangedAtPager",
    "CourtesyReply",
    "DmOutcome",
    "EscalationDm",
    "EscalationReply",
    "FollowUpReply",
    "GotItDone",
    "GotItRefused",
    "GotItWhy",
    "HandoverPost",
    "IdentityWarning",
    "IncomingDm",
    "MentionUnknownTeam",
    "MentionUsage",
    "Message",
    "NeedsAdmin",
    "NobodyOnCall",
    "PageOutcome",
    "PageState",
    "PagerRecovered",
    "PagerUnreachable",
    "PressDone",
    "ReplyOutcome",
    "ShiftChange",
    "ShiftDigest",
    "ShiftReminder",
    "SyncFailed",
    "TeamShift",
    "UnmappedPerson",
    "WhoReply",
    "WithButtons",
]

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
    | PageOutcome
    | MentionUsage
    | MentionUnknownTeam
    | EscalationDm
    | DmOutcome
)
