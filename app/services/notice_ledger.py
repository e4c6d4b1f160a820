"""The notices table as the once-ledger of a notice: (team, kind, key) unique, its state in ``status``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from app.services.once import Seen, State
from app.store import repo
from app.store.models import Notice

# Notice.status for each once-state; a refused notice is deleted instead, so that a later cycle says it.
_STATUS: dict[State, str] = {
    "claimed": "claimed",
    "done": "posted",
    "refused": "refused",
    "unknown": "unknown",
}
_STATE: dict[str, State] = {status: state for state, status in _STATUS.items()}


@dataclass(frozen=True, slots=True)
class NoticeLedger:
    """The notices table: (team, kind, key) unique; a refused notice is deleted, so a later cycle says it."""

    team: str
    kind: str
    key: str
    text: str

    def _where(self) -> tuple[ColumnElement[bool], ...]:
        return (Notice.team == self.team, Notice.kind == self.kind, Notice.key == self.key)

    def claim(self, session: Session, now: datetime) -> bool:
        """Insert the key as claimed."""
        return repo.insert_ignoring_duplicates(
            session,
            Notice,
            {"team": self.team, "kind": self.kind, "key": self.key, "created_at": now, "text": self.text}
            | {"status": "claimed"},
        )

    def seen(self, session: Session) -> Seen | None:
        """The notice's state."""
        row = session.scalars(select(Notice).where(*self._where())).first()
        if row is None:
            return None
        return Seen(_STATE.get(row.status, "claimed"), row.created_at, row.message_ts)

    def take(self, session: Session, seen: Seen, now: datetime) -> bool:
        """Claim it again unless another attempt moved it."""
        taken = session.execute(
            update(Notice)
            .where(*self._where(), Notice.status == _STATUS[seen.state], Notice.created_at == seen.since)
            .values(status="claimed", created_at=now)
        )
        return bool(getattr(taken, "rowcount", 0))

    def record(self, session: Session, state: State, now: datetime, ts: str | None, detail: str) -> None:
        """Posted, unknown (kept), or refused (deleted: unsaid, a later cycle may say it)."""
        if state == "refused":
            session.execute(delete(Notice).where(*self._where()))
        elif state == "done":
            session.execute(update(Notice).where(*self._where()).values(status="posted", message_ts=ts))
        else:
            session.execute(update(Notice).where(*self._where()).values(status="unknown", created_at=now))
