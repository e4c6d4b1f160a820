"""The handovers table as the once-ledger of the channel post: one row per (team, shift start)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from app.domain import Team
from app.model.handover import HandoverView
from app.services.once import Seen, State
from app.store import repo
from app.store.models import Handover


def _key(team: Team, start: datetime) -> tuple[ColumnElement[bool], ...]:
    return (Handover.team == team.name, Handover.shift_start == start)


# Handover.status for each once-state; "unconfirmed" is what earlier versions left for an unknown outcome.
_STATUS: dict[State, str] = {
    "claimed": "claimed",
    "done": "posted",
    "refused": "failed",
    "unknown": "unknown",
}
_STATE: dict[str, State] = {v: k for k, v in _STATUS.items()} | {"unconfirmed": "unknown"}


@dataclass(frozen=True, slots=True)
class HandoverLedger:
    """The handovers table: one row per (team, shift start), the once-key of the channel post."""

    team: Team
    view: HandoverView

    def _values(self, now: datetime) -> dict[str, object]:
        return {
            "created_at": now,
            "status": "claimed",
            "late": self.view.late,
            "outgoing": [p.pager_id for p in self.view.outgoing],
            "incoming": [p.pager_id for p in self.view.incoming],
            "channel": self.team.channel,
            "detail": None,
        }

    def claim(self, session: Session, now: datetime) -> bool:
        """Insert the (team, shift start) key as claimed."""
        values = {"team": self.team.name, "shift_start": self.view.start, **self._values(now)}
        return repo.insert_ignoring_duplicates(session, Handover, values)

    def seen(self, session: Session) -> Seen | None:
        """The handover's state ("skipped" counts as done: nothing is posted for it)."""
        row = existing(session, self.team, self.view.start)
        if row is None:
            return None
        return Seen(_STATE.get(row.status, "done"), row.created_at, row.message_ts)

    def take(self, session: Session, seen: Seen, now: datetime) -> bool:
        """Claim it again unless another attempt moved it."""
        statuses = [s for s, state in _STATE.items() if state == seen.state]
        taken = session.execute(
            update(Handover)
            .where(
                *_key(self.team, self.view.start),
                Handover.status.in_(statuses),
                Handover.created_at == seen.since,
            )
            .values(**self._values(now))
        )
        return bool(getattr(taken, "rowcount", 0))

    def record(self, session: Session, state: State, now: datetime, ts: str | None, detail: str) -> None:
        """Store how the post went."""
        values: dict[str, object] = {"status": _STATUS[state], "detail": detail or None}
        if state == "done":
            values["message_ts"] = ts or None
        if state == "unknown":
            values["created_at"] = now
        session.execute(update(Handover).where(*_key(self.team, self.view.start)).values(**values))


def existing(session: Session, team: Team, start: datetime) -> Handover | None:
    return session.scalars(select(Handover).where(*_key(team, start))).first()
