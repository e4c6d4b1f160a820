"""Which once-only notice keys can still be triggered: the pruning job never deletes those.

Every once-only post is guarded by a row with a unique key (services/once.py). Deleting a row whose key
can come up again would let the bot say the same thing twice, so each kind of key has a rule here that
says while it can come up. A notice kind this module does not know is never pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.services.roster import HISTORY
from app.services.shift_changes import CHANGE_HORIZON
from app.store import repo
from app.store.models import TeamState, UsergroupSync

# A handover key (team, shift start) is computed only for the latest handover moment, at most a week old
# (handovers are weekly); a day on top for clock skew between replicas. The same holds for its DMs.
HANDOVER_LIVES = timedelta(days=8)
# A shift-change window starts at most HISTORY before the refresh that finds it (timelines are clipped to
# [refresh - HISTORY, refresh + HORIZON]) and less than CHANGE_HORIZON after its notice was first claimed,
# so its key can come up at most HISTORY + CHANGE_HORIZON after the row was made; a day on top.
SHIFT_CHANGE_LIVES = HISTORY + CHANGE_HORIZON + timedelta(days=1)
# Slack redelivers an event for minutes, not days: a mention's once-only replies are safe after a day.
MENTION_LIVES = timedelta(days=1)

# Kinds that may go once older than the retention and than their own life.
AGED: dict[str, timedelta] = {
    "shift_change": SHIFT_CHANGE_LIVES,
    "handover_dm": HANDOVER_LIVES,
    # Keyed by a shift start: claimed before or during the team's latest handover, at most a week old.
    "shift_reminder": HANDOVER_LIVES,
    "ack_reminder": HANDOVER_LIVES,
    "ack_missing": HANDOVER_LIVES,
    "mention_courtesy": MENTION_LIVES,
    "mention_who": MENTION_LIVES,
    "mention_follow_up": MENTION_LIVES,
    "mention_usage": MENTION_LIVES,
    "mention_unknown_team": MENTION_LIVES,
}
# Kinds whose keys end in the start of the team's current shift (its latest snapshot): alive while it is.
PER_SHIFT = ("unmapped", "sync_failed", "nobody_on_call")
# Kinds keyed by the start of a pager outage: alive while the team's state still names that outage.
PER_OUTAGE = ("pager_unreachable", "pager_recovered")
ADMIN = "needs_admin"
ESCALATION_DM = "escalation_dm"  # goes with its escalation, never on its own (services/retention.py)


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at is not None else "never"


@dataclass(frozen=True, slots=True)
class TeamKeys:
    """What one team's current state can still trigger."""

    shift: str | None  # the start of the latest snapshot, as per-shift keys spell it
    outages: frozenset[str]
    admin: frozenset[str]


def team_keys(session: Session, team: str) -> TeamKeys:
    """The live keys of ``team``, read from the same rows the notices' writers read them from."""
    state = session.get(TeamState, team)
    latest = repo.latest_snapshot(session, team)
    synced = session.scalar(  # admin_notices._since: when the group was last synced without failing
        select(func.max(UsergroupSync.at)).where(UsergroupSync.team == team, UsergroupSync.result != "failed")
    )
    failing = state.failing_since if state is not None else None
    announced = state.outage_announced_since if state is not None else None
    return TeamKeys(
        shift=latest.first_seen_at.isoformat() if latest is not None else None,
        outages=frozenset(at.isoformat() for at in (failing, announced) if at is not None),
        # "channel" is the log-once claim of a channel problem, released when the problem goes.
        admin=frozenset({"channel", f"schedule_not_found|{_iso(failing)}", f"usergroup_gone|{_iso(synced)}"}),
    )


def can_recur(keys: TeamKeys, kind: str, key: str, created_at: datetime, now: datetime) -> bool:
    """True while (kind, key) may still be claimed again: its row must then be kept."""
    if kind in AGED:
        return created_at >= now - AGED[kind]
    if kind in PER_SHIFT:
        shift = keys.shift
        return shift is not None and (key == shift if kind == "nobody_on_call" else key.endswith(f"|{shift}"))
    if kind in PER_OUTAGE:
        return key in keys.outages
    if kind == ADMIN:
        return key in keys.admin
    return True  # escalation DMs (pruned with their escalation) and kinds this module does not know
