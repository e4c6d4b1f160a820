"""Rendered /oncall answers kept while what they show is unchanged: the same question is answered once.

An answer is kept under what it depends on (the question, the team, the language, the zone, the asker for
``me``) with the database's answer generations it was read at (migration 0008: triggers bump them in the
same transaction as every change to the roster cache or to Slack profiles, in any process or replica)
and the instant at which the clock alone changes it (app/services/answer_validity.py). A kept answer is
given only while both generations it read are the same and the clock is between the two instants.

The values an answer is rendered from (who is on call, the next handover, the week) are kept as well,
under the question and the team alone, on the same terms: another reader, in another zone or language,
asking the same question is then a rendering, not a read. The ages they show are not part of their
validity (Validity's ``ages_apart``); each rendering's own validity counts them at its instant.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.services.answer_validity import Validity

MAX_ANSWERS = 512  # ~6 KiB an answer at most (ANSWER_CHARS 12,000 characters for every team)
MAX_VIEWS = 256  # three questions per team and for every team: 50 teams fit 1.7 times
MAX_PROFILES = 1024  # askers' cached Slack profile rows (a few hundred bytes each)


@dataclass(frozen=True, slots=True)
class _Kept:
    payload: Any
    roster: int
    profiles: int | None  # None: the answer used no Slack profile
    since: datetime
    until: datetime
    validity: Validity | None = None  # for a view: what its renderings' validity is made from


class _Store:
    """Thread-safe, bounded (least recently used first out) kept values."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, generations: Mapping[str, int], now: datetime) -> _Kept | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            if not _still_true(kept, generations, now):
                del self._kept[key]
                return None
            self._kept.move_to_end(key)
            return kept

    def put(self, key: Hashable, value: Any, generations: Mapping[str, int], validity: Validity) -> None:
        roster = generations.get("roster")
        if roster is None:  # a database without the counters (not migrated): nothing can be kept
            return
        profiles = generations.get("profiles") if validity.profiles else None
        if validity.profiles and profiles is None:
            return
        view = validity if validity.ages is not None else None
        kept = _Kept(value, roster, profiles, validity.now, validity.until, view)
        with self._lock:
            self._kept[key] = kept
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


class AnswerMemo:
    """Rendered answers, and the values they are rendered from, kept while they read the same."""

    def __init__(self, size: int = MAX_ANSWERS, views: int = MAX_VIEWS) -> None:
        self._answers = _Store(size)
        self._views = _Store(views)
        self._profiles = _Store(MAX_PROFILES)

    def profile(
        self, user_id: str, generations: Mapping[str, int], now: datetime, read: Callable[[], Any]
    ) -> Any:
        """The asker's cached profile row: ``read()`` once per change of the cached profiles (or roster)."""
        kept = self._profiles.get(user_id, generations, now)
        if kept is not None:
            return kept.payload
        row = read()
        data = Validity(now)
        data.profiles = True  # a row of slack_users: good while no profile changes
        self._profiles.put(user_id, row, generations, data)
        return row

    def get(self, key: Hashable, generations: Mapping[str, int], now: datetime) -> dict[str, Any] | None:
        """The answer kept for ``key`` if it still reads the same at ``now`` with these generations."""
        kept = self._answers.get(key, generations, now)
        return kept.payload if kept is not None else None

    def put(
        self, key: Hashable, payload: dict[str, Any], generations: Mapping[str, int], validity: Validity
    ) -> None:
        """Keep ``payload``, read at ``generations``, until ``validity.until``."""
        self._answers.put(key, payload, generations, validity)

    def view(
        self, key: Hashable, generations: Mapping[str, int], now: datetime
    ) -> tuple[Any, Validity] | None:
        """The values kept for ``key`` and the validity they were read with, if they still hold at ``now``."""
        kept = self._views.get(key, generations, now)
        if kept is None or kept.validity is None:
            return None
        return kept.payload, kept.validity

    def put_view(
        self, key: Hashable, values: Any, generations: Mapping[str, int], validity: Validity
    ) -> None:
        """Keep ``values`` read at ``generations`` with ``validity`` (made with ``ages_apart``)."""
        if validity.ages is not None:
            self._views.put(key, values, generations, validity)


def _still_true(kept: _Kept, generations: Mapping[str, int], now: datetime) -> bool:
    if not kept.since <= now < kept.until:  # a clock moved back is not trusted either
        return False
    if generations.get("roster") != kept.roster:
        return False
    return kept.profiles is None or generations.get("profiles") == kept.profiles
