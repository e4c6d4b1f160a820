"""Slack profiles in the slack_users cache: the asking user's time zone and locale (refreshed by users.info
after the ack; the gateway asks it with ``include_locale``: Slack leaves the locale out otherwise), and the
name a pager's alert or note gives a person."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from app.chat import SlackCallFailed
from app.i18n import is_language, warm
from app.i18n.choice import locale_language, reader_language
from app.model.oncall import UserZone
from app.runtime import Runtime
from app.store import reads, repo
from app.store.db import reading
from app.store.models import SlackUser

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=1)
# users.info for a new asker starts a little after their ack, on a timer thread of its own: never on
# the ack's path, and skipped when the bot stops meanwhile (ZoneFetcher._run).
AFTER_ACK_DELAY = 0.1


def valid_zone(name: str | None) -> str | None:
    """``name`` when zoneinfo knows it, else None (Slack may send zones our tzdata lacks)."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def cached_zone(session: Session, user_id: str, fallback: str, now: datetime) -> UserZone:
    """The user's cached zone (or ``fallback``), and whether users.info should be asked again."""
    return zone_of(reads.profile(session, user_id), fallback, now)


def zone_of(row: Any, fallback: str, now: datetime) -> UserZone:
    """``cached_zone`` from the user's profile row as ``reads.profile`` gives it (None: never asked)."""
    # locale None: cached before locales were, so the reader's language is not known yet.
    needs_fetch = row is None or row.fetched_at < now - MAX_AGE or row.locale is None
    zone = valid_zone(row.tz) if row is not None else None
    locale = (row.locale or None) if row is not None else None
    if zone is None:
        return UserZone(fallback, known=False, needs_fetch=needs_fetch, locale=locale)
    return UserZone(zone, known=True, needs_fetch=needs_fetch, locale=locale)


def cached_locale(session: Session, user_id: str) -> str | None:
    """The user's cached Slack locale (``ja-JP``), or None while it is not known."""
    row = reads.profile(session, user_id)
    return (row.locale or None) if row is not None else None


def profile_known(session: Session, user_id: str) -> bool:
    """True once users.info has been asked about this user (even when it found nothing)."""
    return reads.profile(session, user_id) is not None


def named(session: Session, user_id: str) -> str:
    """``Name (U…)`` from the cached profile, or the bare id: how a pager's alert or note names a person."""
    user = session.get(SlackUser, user_id)
    return f"{user.name} ({user_id})" if user is not None and user.name else user_id


def name_of(runtime: Runtime, user_id: str) -> str:
    """``named`` in its own read: the presser or the follow-up's author as the pager's note names them."""
    with reading(runtime.sessions) as session:
        return named(session, user_id)


def store_user(session: Session, user_id: str, user: dict[str, Any] | None, now: datetime) -> None:
    """Insert or update the cached profile; ``user`` None records that Slack does not know the user."""
    profile = (user or {}).get("profile") or {}
    email = profile.get("email")
    values = {
        "user_id": user_id,
        "name": (profile.get("display_name") or profile.get("real_name") or (user or {}).get("name")) or None,
        "tz": (user or {}).get("tz") or None,
        "email": email.strip().lower() if isinstance(email, str) and email.strip() else None,
        "is_guest": bool(user.get("is_restricted") or user.get("is_ultra_restricted")) if user else None,
        "is_bot": bool(user.get("is_bot")) if user else None,
        # The gateway's users.info asks include_locale: "" is Slack's answer without one, not "not asked".
        "locale": str((user or {}).get("locale") or "")[:16],
        "fetched_at": now,
    }
    # An upsert: the after-ack fetch and an App Home may store the same user at the same time.
    repo.upsert(session, SlackUser, values, ["user_id"])


def refresh_user(runtime: Runtime, user_id: str) -> None:
    """Ask users.info about ``user_id`` and cache the answer; raises SlackCallFailed when Slack fails."""
    try:
        user: dict[str, Any] | None = runtime.slack.user(user_id)
    except SlackCallFailed as failure:
        if failure.code not in ("user_not_found", "user_not_visible"):
            raise
        user = None
    with runtime.sessions.begin() as session:
        store_user(session, user_id, user, runtime.now())
    # This reader's next answer is in their language: its catalog is read here, after the ack, rather than
    # inside that answer (Babel and a catalog take a few hundred milliseconds; an ack has 3 seconds).
    language = locale_language(str((user or {}).get("locale") or "") or None)
    if language is not None:
        warm([language])


def ensure_zone(runtime: Runtime, user_id: str, fallback: str) -> UserZone:
    """The user's zone, asking users.info first when the cache lacks it (for paths with no ack deadline)."""
    with runtime.sessions.begin() as session:
        zone = cached_zone(session, user_id, fallback, runtime.now())
    if not zone.needs_fetch:
        return zone
    try:
        refresh_user(runtime, user_id)
    except Exception as error:  # a missing zone must not cost the user their view
        log.warning("users.info for %s failed, showing %s: %s", user_id, fallback, error)
        return zone
    with runtime.sessions.begin() as session:
        return cached_zone(session, user_id, fallback, runtime.now())


def choose_reader_language(locale: str | None, fallback: str) -> str:
    """``reader_language`` for a fallback read from the config (validated there: "en" or "ja")."""
    return reader_language(locale, fallback if is_language(fallback) else "en")


def language_for(runtime: Runtime, user_id: str, fallback: str) -> str:
    """The language of a direct message to ``user_id``: their Slack locale's (asked first when not cached,
    for paths with no ack deadline) when the bot speaks it, else ``fallback`` (the team's language)."""
    return choose_reader_language(ensure_zone(runtime, user_id, "UTC").locale, fallback)


def cached_language(runtime: Runtime, user_id: str, fallback: str) -> str:
    """A private sentence's language for ``user_id``, from the cache alone (paths that must not wait)."""
    with reading(runtime.sessions) as session:
        return choose_reader_language(cached_locale(session, user_id), fallback)


class ZoneFetcher:
    """Runs users.info after the ack, at most once at a time per user."""

    def __init__(self, runtime: Runtime, delay: float = AFTER_ACK_DELAY) -> None:
        self.runtime = runtime
        self.delay = delay
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def fetch_after_ack(self, user_id: str) -> None:
        """Schedule a users.info refresh for ``user_id`` unless one is already on its way."""
        with self._lock:
            if user_id in self._pending:
                return
            self._pending.add(user_id)
        timer = threading.Timer(self.delay, self._run, args=(user_id,))
        timer.daemon = True
        timer.name = f"users-info-{user_id}"
        timer.start()

    def pending(self) -> int:
        """How many refreshes are scheduled or running."""
        with self._lock:
            return len(self._pending)

    def _run(self, user_id: str) -> None:
        # Counted as work in flight, and skipped once the bot is stopping: a stopped bot (its Slack
        # connection closed) never calls Slack from a timer that fired late.
        try:
            with self.runtime.stopping.working():
                if not self.runtime.stopping.is_set():
                    refresh_user(self.runtime, user_id)
        except Exception as error:  # a background thread must log, not die noisily
            log.warning(
                "users.info for %s failed; the team's zone is shown until it works: %s", user_id, error
            )
        finally:
            with self._lock:
                self._pending.discard(user_id)
