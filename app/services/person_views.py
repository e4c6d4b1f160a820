"""Pager ids as Persons for the shift messages: from the cache, or resolved against Slack first."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from app.chat import SlackCallFailed
from app.model.person import Person
from app.oncall_config import OncallConfig
from app.runtime import Runtime
from app.services.people import cached_identities, resolve_people
from app.store import repo
from app.store.models import PersonRow

log = logging.getLogger(__name__)


def person_views(session: Session, config: OncallConfig, pager_ids: Iterable[str]) -> dict[str, Person]:
    """Cached Slack mappings as render values; the config's [people] map when no row exists yet."""
    ids = list(pager_ids)
    known = cached_identities(session, config.people, ids)
    rows = repo.people_rows(session, ids)
    return {
        pid: Person(pid, slack_id, rows[pid].display_name if pid in rows else None, status)
        for pid, (slack_id, status) in known.items()
    }


def cached_persons(session: Session, config_people: dict[str, str], pager_ids: Iterable[str]) -> list[Person]:
    """Each pager id, spelt as the pager spells it, with its cached Slack account (never asking Slack)."""
    ids = list(pager_ids)
    known = cached_identities(session, config_people, ids)
    return [Person(p, known[p.lower()][0], status=known[p.lower()][1]) for p in ids]


def from_row(row: PersonRow) -> Person:
    """A PersonRow as a render value."""
    return Person(row.pager_id, row.slack_user_id, row.display_name, row.status)


def resolved_views(runtime: Runtime, pager_ids: list[str], now: datetime) -> dict[str, Person]:
    """Map pager ids to Slack accounts; day-old rows are refreshed from Slack, with no transaction open."""
    rows = resolve_people(runtime, pager_ids, now)
    views = {p.lower(): Person(p.lower(), status="not_found") for p in pager_ids}
    views.update({pager_id.lower(): from_row(row) for pager_id, row in rows.items()})
    return views


def mentionable_views(runtime: Runtime, pager_ids: list[str], now: datetime) -> dict[str, Person]:
    """Like resolved_views, but on a Slack failure the cache: a notice must not wait for a lookup."""
    try:
        return resolved_views(runtime, pager_ids, now)
    except SlackCallFailed as failure:
        log.warning("shift-change notice without fresh Slack names: %s", failure)
        with runtime.sessions.begin() as session:
            return person_views(session, runtime.config, pager_ids)
