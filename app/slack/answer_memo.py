"""Rendered /oncall answers kept while what they show is unchanged: the same question is answered once.

An answer is kept under what it depends on (the question, the team, the language, the zone, the asker for
``me``) with the database's answer generations it was read at (migration 0008: triggers bump them in the
same transaction as every change to the roster cache or to Slack profiles, in any process or replica)
and the instant at which the clock alone changes it (app/services/answer_validity.py). A kept answer is
given only while both generations it read are the same and the clock is between the two instants.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.services.answer_validity import Validity

MAX_ANSWERS = 512  # ~6 KiB an answer at most (ANSWER_CHARS 12,000 characters for every team)


@dataclass(frozen=True)
class _Kept:
    payload: dict[str, Any]
    roster: int
    profiles: int | None  # None: the answer used no Slack profile
    since: datetime
    until: datetime


class AnswerMemo:
    """Thread-safe, bounded (least recently used first out) store of rendered answers."""

    def __init__(self, size: int = MAX_ANSWERS) -> None:
        self._size = size
        self._kept: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, generations: Mapping[str, int], now: datetime) -> dict[str, Any] | None:
        """The answer kept for ``key`` if it still reads the same at ``now`` with these generations."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            if not _still_true(kept, generations, now):
                del self._kept[key]
                return None
            self._kept.move_to_end(key)
            return kept.payload

    def put(
        self, key: Hashable, payload: dict[str, Any], generations: Mapping[str, int], validity: Validity
    ) -> None:
        """Keep ``payload``, read at ``generations``, until ``validity.until``."""
        roster = generations.get("roster")
        if roster is None:  # a database without the counters (not migrated): nothing can be kept
            return
        profiles = generations.get("profiles") if validity.profiles else None
        if validity.profiles and profiles is None:
            return
        kept = _Kept(payload, roster, profiles, validity.now, validity.until)
        with self._lock:
            self._kept[key] = kept
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


def _still_true(kept: _Kept, generations: Mapping[str, int], now: datetime) -> bool:
    if not kept.since <= now < kept.until:  # a clock moved back is not trusted either
        return False
    if generations.get("roster") != kept.roster:
        return False
    return kept.profiles is None or generations.get("profiles") == kept.profiles
