"""The usergroup sync history: every team's result of a cycle stored in one short transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from app.runtime import Runtime
from app.services.writes import write_retrying
from app.store import cycle_rows

if TYPE_CHECKING:
    from app.services.usergroups import SyncResult

log = logging.getLogger(__name__)


def record_syncs(runtime: Runtime, results: Sequence[SyncResult], now: datetime) -> list[SyncResult]:
    """Store the syncs; an unchanged one just moves the time of an identical previous record.

    The results come back as they were, or failed when they could not be stored.
    """

    def work(session: Session) -> None:
        latest = cycle_rows.latest_syncs(session, sorted({r.team for r in results}))
        moved: list[int] = []
        added: list[dict[str, Any]] = []
        for result in results:
            last = latest.get(result.team)
            if last is not None and last[1] == result.action == "unchanged" and last[2] == result.after:
                moved.append(last[0])
                continue
            added.append(
                {
                    "team": result.team,
                    "usergroup_id": result.usergroup_id,
                    "at": now,
                    "before": list(result.before),
                    "after": list(result.after),
                    "result": result.action,
                    "detail": result.detail or None,
                }
            )
        cycle_rows.write_all(session, cycle_rows.TOUCH_SYNCS, moved, at=now)
        cycle_rows.write(session, cycle_rows.INSERT_SYNCS, added)

    if not results:
        return []
    try:
        write_retrying(runtime, work, "recording the usergroup syncs")
    except Exception as error:
        log.exception("recording the usergroup syncs failed")
        return [replace(r, action="failed", detail=f"unexpected error: {error}") for r in results]
    return list(results)
