"""Escalating on a team without a pager (the built-in rotation): direct messages to the on-call people.

The escalation row stays the outbox (``escalation_pages`` moves it from ``pending`` to ``notified`` or
``failed``); each direct message is said once through the notices table, keyed on the event and the
person, so a redelivered mention, a retry or a second replica never sends a second one. The key is
claimed before the message is sent: a crash in between costs that person the DM (they are tagged in
the thread reply already), never a duplicate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.chat import SlackCallFailed
from app.i18n import N_
from app.model.messages import DmOutcome, EscalationDm, Message
from app.model.person import Person
from app.runtime import Runtime
from app.services.person_views import cached_persons
from app.services.slack_users import language_for
from app.store import repo
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
    """The Slack ids already sent (or being sent) a direct message for this escalation."""
    keys = session.scalars(
        select(Notice.key)
        .where(Notice.team == row.team, Notice.kind == KIND, Notice.key.startswith(f"{row.event_id}:"))
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
        if not _claim(runtime, row, user_id, payload, now):
            continue  # sent before (a retry, a redelivery, another replica)
        try:
            runtime.slack.post(user_id, payload)
        except SlackCallFailed as failure:
            log.warning("escalation %s: no direct message to %s: %s", row.event_id, user_id, failure)
            with runtime.sessions.begin() as release:
                repo.release_notice(release, row.team, KIND, _key(row, user_id))
            done.failed.append(f"{person.pager_id} ({failure})")
            continue
        done.sent.append(user_id)
    log.info("escalation %s: direct messages sent to %s", row.event_id, ", ".join(done.sent) or "nobody")
    return done


def _claim(runtime: Runtime, row: Escalation, user_id: str, payload: Message, now: datetime) -> bool:
    with runtime.sessions.begin() as session:
        return repo.claim_notice(
            session, row.team, KIND, _key(row, user_id), at=now, text=runtime.slack.fallback_text(payload)
        )


def dm_outcome(session: Session, row: Escalation, language: str = "en") -> Message:
    """The thread's outcome of a pager-less escalation: who was messaged directly, or why nobody was."""
    reached = dmed(session, row)
    if row.status == "notified" and reached:
        return DmOutcome(tuple(reached), row.last_error, language)
    return DmOutcome((), row.last_error or N_("nobody is on call for the team"), language)
