"""Escalating on a team without a pager (the built-in rotation): direct messages to the on-call people.

The escalation row stays the outbox (``escalation_pages`` moves it from ``pending`` to ``notified`` or
``failed``); each direct message is said once through the notices table, keyed on the event and the
person, so a redelivered mention, a retry or a second replica never sends a second one. Each goes through
``services/once.py`` like every once-only post: a process stopped (or killed) between the claim and
Slack's answer leaves the key claimed, and the next attempt reads the conversation back before it sends,
so that the person gets the message late rather than never, and the thread names only who got one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.i18n import N_
from app.model.messages import DmOutcome, EscalationDm, Message
from app.model.person import Person
from app.runtime import Runtime
from app.services.notices import say_notice
from app.services.person_views import cached_persons
from app.services.slack_users import language_for
from app.store.models import Escalation, Notice
from app.store.repo import latest_snapshot

log = logging.getLogger(__name__)

KIND = "escalation_dm"


@dataclass
class DmRound:
    """What one round of direct messages did: who got one, and who could not be reached and why."""

    sent: list[str] = field(default_factory=list)  # Slack user ids
    failed: list[str] = field(default_factory=list)  # Slack refused or was unreachable: worth a retry
    unreachable: list[str] = field(default_factory=list)  # no Slack account: a retry cannot help

    def problems(self) -> str | None:
        """One line naming everyone not reached, or None."""
        return "; ".join(self.failed + self.unreachable) or None


def _key(row: Escalation, user_id: str) -> str:
    return f"{row.event_id}:{user_id}"


def dmed(session: Session, row: Escalation) -> list[str]:
    """The Slack ids sent a direct message for this escalation (posted: not one merely claimed)."""
    keys = session.scalars(
        select(Notice.key)
        .where(
            Notice.team == row.team,
            Notice.kind == KIND,
            Notice.key.startswith(f"{row.event_id}:"),
            Notice.status == "posted",
        )
        .order_by(Notice.id)  # the order they were sent in: the on-call order
    )
    return [key.rsplit(":", 1)[1] for key in keys]


def _targets(session: Session, runtime: Runtime, row: Escalation) -> list[Person]:
    """Each person on call at the mention (else now), with their cached Slack account."""
    people = list(row.on_call or [])
    if not people:
        snapshot = latest_snapshot(session, row.team)
        people = list(snapshot.people) if snapshot is not None else []
    return cached_persons(session, runtime.config.people, people)


def send_dms(
    runtime: Runtime, session: Session, row: Escalation, permalink: str | None, now: datetime
) -> DmRound:
    """Send each on-call person not messaged yet a direct message about ``row``; what happened."""
    with session.begin():
        targets = _targets(session, runtime, row)
    team_language = runtime.config.team_language(row.team)
    done = DmRound()
    for person in targets:
        user_id = person.slack_user_id
        if user_id is None or not person.mapped:
            done.unreachable.append(f"{person.pager_id} (no active Slack account)")
            continue
        # Each direct message speaks its reader's Slack language (asked for when not cached yet).
        payload = EscalationDm(
            row.team,
            row.user_id,
            row.text,
            priority=row.priority,
            channel=row.channel,
            permalink=permalink,
            language=language_for(runtime, user_id, team_language),
        )
        outcome = say_notice(runtime, row.team, user_id, KIND, _key(row, user_id), payload, now)
        if outcome.result in ("found", "done"):
            continue  # sent before (a retry, a redelivery, another replica, a process that stopped)
        if outcome.result != "posted":  # refused, unknown (read back next time), or in flight elsewhere
            log.warning("escalation %s: no direct message to %s: %s", row.event_id, user_id, outcome.detail)
            done.failed.append(f"{person.pager_id} ({outcome.detail or outcome.result})")
            continue
        done.sent.append(user_id)
    log.info("escalation %s: direct messages sent to %s", row.event_id, ", ".join(done.sent) or "nobody")
    return done


def dm_outcome(session: Session, row: Escalation, language: str = "en") -> Message:
    """The thread's outcome of a pager-less escalation: who was messaged directly, or why nobody was."""
    reached = dmed(session, row)
    if row.status == "notified" and reached:
        return DmOutcome(tuple(reached), row.last_error, language)
    return DmOutcome((), row.last_error or N_("nobody is on call for the team"), language)
