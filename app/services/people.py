"""Pager identity → Slack user id: the [people] map first, then users.lookupByEmail, cached daily.

A pager identity is an email, except in the built-in rotation, which may list people by Slack user id:
such an identity is that user (checked with users.info, never looked up by email). JSM names people
whose email Jira hides by their Atlassian account id: such an identity reaches Slack only through a
[people] line, and without one it is "no_email" (Slack is not asked an email it cannot have).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.chat import SlackCallFailed
from app.domain import Team, known_slack_id, slack_id_identity
from app.i18n import N_
from app.runtime import Runtime
from app.store import cycle_rows, repo
from app.store.db import reading
from app.store.models import PersonRow

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=1)
# Who the bot may show: on call now, in /oncall next and week, and the outgoing people of a handover.
SHOWN_BEFORE = timedelta(days=8)
SHOWN_AHEAD = timedelta(days=8)
GONE = ("users_not_found", "user_not_found")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
# Message ids (the team channel's notice translates them): "<who> is on call but <problem>".
NOT_MEMBER_STATUSES = {
    "not_found": N_("has no Slack account with that email"),
    "deleted": N_("is deactivated in Slack"),
    "bot": N_("is a bot"),
    "guest": N_("is a guest (guests cannot be in user groups)"),
    "no_email": N_("has no email the pager shows (an Atlassian account id whose email Jira hides)"),
    "unknown": N_("is not known to Slack yet"),
}


@dataclass(frozen=True, slots=True)
class SlackIdentity:
    """What Slack says about one pager identity."""

    slack_user_id: str | None
    status: str
    display_name: str | None


def status_of(user: dict[str, Any]) -> str:
    """Whether a users.* record may be a usergroup member: ok, deleted, bot or guest."""
    if user.get("deleted"):
        return "deleted"
    if user.get("is_bot") or user.get("id") == "USLACKBOT":
        return "bot"
    if user.get("is_restricted") or user.get("is_ultra_restricted"):
        return "guest"
    return "ok"


def _display_name(user: dict[str, Any]) -> str | None:
    profile = user.get("profile") or {}
    return (
        profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
    )


def _source(config_people: dict[str, str], pager_id: str) -> str:
    if pager_id in config_people:
        return "config"
    return "slack_id" if slack_id_identity(pager_id) else "lookup"


def ask_slack(runtime: Runtime, pager_id: str) -> SlackIdentity:
    """Ask Slack who ``pager_id`` is: users.info for [people]-mapped ids and Slack ids, else by email."""
    mapped = known_slack_id(runtime.config.people, pager_id)
    if not mapped and "@" not in pager_id:
        return SlackIdentity(None, "no_email", None)  # an account id: only [people] can map it
    try:
        user = runtime.slack.user(mapped) if mapped else runtime.slack.user_by_email(pager_id)
    except SlackCallFailed as failure:
        if failure.kind == "refused" and failure.code in GONE:
            return SlackIdentity(mapped, "not_found", None)
        raise
    return SlackIdentity(user.get("id"), status_of(user), _display_name(user))


class CachedMapping(Protocol):
    """What staleness reads of a cached mapping (a PersonRow, or the cycle's plain copy of one)."""

    @property
    def slack_user_id(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def checked_at(self) -> datetime: ...


def stale_ids(
    rows: Mapping[str, CachedMapping], wanted: list[str], now: datetime, config_people: dict[str, str]
) -> list[str]:
    """The identities whose cached mapping is missing, older than a day, or disagrees with [people]."""
    stale = []
    for pager_id in wanted:
        row = rows.get(pager_id)
        source = _source(config_people, pager_id)
        expected = known_slack_id(config_people, pager_id)
        if (
            row is None
            or row.checked_at < now - MAX_AGE
            or row.source != source
            or (expected is not None and row.slack_user_id != expected)
        ):
            stale.append(pager_id)
    return stale


def store_identity(
    session: Session, pager_id: str, identity: SlackIdentity, source: str, now: datetime
) -> None:
    """Insert or update the cached mapping of ``pager_id`` (an upsert: team workers share people)."""
    values = {
        "pager_id": pager_id,
        "slack_user_id": identity.slack_user_id,
        "status": identity.status,
        "display_name": identity.display_name,
        "source": source,
        "checked_at": now,
    }
    repo.upsert(session, PersonRow, values, ["pager_id"])


def resolve_people(runtime: Runtime, pager_ids: Iterable[str], now: datetime) -> dict[str, PersonRow]:
    """Map pager identities to PersonRows, asking Slack only for missing or day-old entries.

    Slack is called with no transaction open (a slow or rate-limited lookup must never hold SQLite's
    write lock); the answers are then stored in one short transaction. The rows returned are detached.
    """
    ids = sorted({p.lower() for p in pager_ids})
    with reading(runtime.sessions) as session:
        rows = repo.people_rows(session, ids)
    stale = stale_ids(rows, ids, now, runtime.config.people)
    if not stale:
        return rows  # the steady state: no Slack call, no write
    answers: dict[str, SlackIdentity] = {}
    try:
        for pager_id in stale:
            answers[pager_id] = ask_slack(runtime, pager_id)
    finally:  # keep what Slack already told us, even when a later lookup fails
        with runtime.sessions.begin() as session:
            for pager_id, identity in answers.items():
                source = _source(runtime.config.people, pager_id)
                store_identity(session, pager_id, identity, source, now)
                if identity.status != "ok":
                    log.warning("pager user %s %s", pager_id, NOT_MEMBER_STATUSES[identity.status])
    with reading(runtime.sessions) as session:
        return repo.people_rows(session, ids)


def unresolved_shown(runtime: Runtime, teams: Iterable[Team], now: datetime) -> list[str]:
    """Everyone the bot may show for ``teams`` (now, next, week, outgoing) not looked up lately: one read.

    /oncall, escalation replies and handovers read these mappings; tying the lookups to the usergroup
    sync left raw emails wherever usergroups.list failed (free plan, missing scope) and outgoing people
    unnamed. The cycle resolves these with resolve_people, whatever becomes of the sync.
    """
    names = [team.name for team in teams]
    with reading(runtime.sessions) as session:
        # Who, not when: the distinct identities of the window, without building a shift per row.
        ids = cycle_rows.shown(session, names, now - SHOWN_BEFORE, now + SHOWN_AHEAD)
        ids |= {
            p.lower() for snapshot in cycle_rows.snapshots(session, names).values() for p in snapshot.people
        }
        wanted = sorted(ids)
        rows = cycle_rows.people(session, wanted)
    return stale_ids(rows, wanted, now, runtime.config.people)


def cached_identities(
    session: Session, config_people: dict[str, str], pager_ids: Iterable[str]
) -> dict[str, tuple[str | None, str]]:
    """(Slack id, status) per lowercased pager identity from the cache alone, never asking Slack.

    A row not looked up yet falls back to the [people] map (an admin's explicit word) or the identity's own
    Slack id, else "unknown".
    """
    ids = [p.lower() for p in pager_ids]
    rows = repo.people_rows(session, ids)
    known: dict[str, tuple[str | None, str]] = {}
    for pager_id in ids:
        row = rows.get(pager_id)
        if row is not None:
            known[pager_id] = (row.slack_user_id, row.status)
        elif (slack_id := known_slack_id(config_people, pager_id)) is not None:
            known[pager_id] = (slack_id, "ok")
        else:
            known[pager_id] = (None, "unknown")
    return known


def as_slack_users(
    session: Session, config_people: dict[str, str], pager_ids: Iterable[str]
) -> dict[str, str]:
    """Each lowercased pager identity's Slack user from the cache (or [people]), else the identity itself.

    How the bot tells whether two sets of pager identities are the same people: a team that moves pagers
    (Opsgenie's emails, JSM's account ids) keeps its people although their identities change.
    """
    known = cached_identities(session, config_people, pager_ids)
    return {pager_id: slack_id or pager_id for pager_id, (slack_id, _) in known.items()}


def same_people(
    session: Session, config_people: dict[str, str], old: Sequence[str], new: Sequence[str]
) -> bool:
    """True when two sets of pager identities are the same Slack users (every one of them known)."""
    users = as_slack_users(session, config_people, [*old, *new])
    if any(users[p.lower()] == p.lower() for p in (*old, *new)):
        return False  # someone not (yet) known in Slack: not provably the same person
    return {users[p.lower()] for p in old} == {users[p.lower()] for p in new}


def forget_slack_users(session: Session, slack_user_ids: Iterable[str]) -> None:
    """Mark these Slack users' mappings as needing a fresh look (Slack said one of them is gone)."""
    ids = list(slack_user_ids)
    if ids:
        session.execute(update(PersonRow).where(PersonRow.slack_user_id.in_(ids)).values(checked_at=LONG_AGO))
