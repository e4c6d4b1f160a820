"""Do it once: claim a unique key, post, record the outcome; resolve an unknown outcome by reading back.

Every once-only post of the bot (handover and its DMs, notices, shift-change notices, thread replies)
goes through ``say_once``. The database's unique key decides who posts; the row then says how the attempt
went:

- ``claimed``: an attempt is under way since ``since``. Nobody else acts until ``IN_FLIGHT`` has passed
  (the longest one Slack call can take); after that the claimer has crashed, or its post ended long ago.
- ``done``: posted (``ts``). Nobody posts again.
- ``refused``: Slack answered that it did not post, or the request never left. The next attempt posts.
- ``unknown``: the request was sent but no answer came back (a timeout, a dropped connection).

A claim left ``claimed`` or ``unknown`` is never guessed at: the next attempt reads the conversation back
(after a short settle delay, so that a slow post has landed) and looks for the message carrying the key in
its metadata. Found: it is recorded as posted and not posted again. Not found: it is posted now. So a post
is made exactly once, and a missed one late, as long as Slack can be read back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.chat import PostResult, ReadBackFailed, Refused, Sent
from app.runtime import Runtime
from app.services.writes import write_retrying

log = logging.getLogger(__name__)

# The longest one post can take with the single-shot client (15 s timeout, three Retry-After waits): a
# claim older than this is no longer in flight, whatever became of its claimer.
IN_FLIGHT = timedelta(minutes=6)
# How far before an attempt began a read-back looks: the attempt's post cannot be older (clock skew).
READ_BACK_MARGIN = timedelta(minutes=10)

State = Literal["claimed", "done", "refused", "unknown"]
Result = Literal["posted", "found", "done", "in_flight", "refused", "unknown"]


@dataclass(frozen=True, slots=True)
class Seen:
    """What the database says about a key: its state, since when, and the message ts once posted."""

    state: State
    since: datetime
    ts: str | None = None


class Ledger(Protocol):
    """Where one kind of once-only post keeps its key and state (a table with a unique key)."""

    def claim(self, session: Session, now: datetime) -> bool:
        """Insert the key as ``claimed``; False when it exists already."""

    def seen(self, session: Session) -> Seen | None:
        """The key's state, or None when it does not exist."""

    def take(self, session: Session, seen: Seen, now: datetime) -> bool:
        """Claim the key again if it is still exactly as ``seen``; False when someone else moved it."""

    def record(self, session: Session, state: State, now: datetime, ts: str | None, detail: str) -> None:
        """Store how the attempt went."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How ``say_once`` went: posted now, found posted, done before, in flight elsewhere, refused, unknown."""

    result: Result
    ts: str | None = None
    detail: str = ""

    @property
    def said(self) -> bool:
        """True when the message is in Slack (whoever posted it)."""
        return self.result in ("posted", "found", "done")


Post = Callable[[], PostResult]
Find = Callable[[datetime | None], str | None]


def _write(runtime: Runtime, work: Callable[[Session], object], what: str) -> bool:
    try:
        write_retrying(runtime, work, what)
    except OperationalError as error:
        # Left "claimed": a later attempt reads back and records what happened.
        log.error("%s failed: %s; a later attempt will read Slack back", what, error.orig)
        return False
    return True


def _read_back(find: Find, since: datetime) -> tuple[str | None, str | None]:
    """(ts found or None, why it could not be read or None)."""
    try:
        return find(since - READ_BACK_MARGIN), None
    except ReadBackFailed as failure:
        return None, str(failure)


def _act(
    runtime: Runtime, ledger: Ledger, post: Post, find: Find, what: str, now: datetime, settle: float
) -> Outcome:
    result = post()
    if isinstance(result, Sent):
        _write(runtime, lambda s: ledger.record(s, "done", now, result.ts, ""), f"recording {what}")
        return Outcome("posted", result.ts)
    if isinstance(result, Refused):
        _write(runtime, lambda s: ledger.record(s, "refused", now, None, result.reason), f"releasing {what}")
        log.warning("%s was refused (will retry): %s", what, result.reason)
        return Outcome("refused", detail=result.reason)
    _write(runtime, lambda s: ledger.record(s, "unknown", now, None, result.reason), f"recording {what}")
    time.sleep(settle)  # let a post that Slack is still processing land before looking for it
    found, unreadable = _read_back(find, now)
    if found is not None:
        _write(runtime, lambda s: ledger.record(s, "done", now, found, ""), f"recording {what}")
        log.info("%s: the post timed out but Slack had made it", what)
        return Outcome("posted", found)
    detail = f"{result.reason}; {unreadable or 'not in Slack yet'}: the next attempt reads back first"
    log.warning("%s: outcome unknown (%s)", what, detail)
    return Outcome("unknown", detail=detail)


def _held_elsewhere(seen: Seen, now: datetime, settle: float) -> Outcome | None:
    """The outcome when another attempt owns the key for now; None when this one may take it."""
    if seen.state == "done":
        return Outcome("done", seen.ts, f"posted before ({seen.ts})")
    if seen.state == "claimed" and now < seen.since + IN_FLIGHT:
        until = (seen.since + IN_FLIGHT).isoformat()
        return Outcome(
            "in_flight",
            detail=f"another attempt began at {seen.since.isoformat()}; after {until} it is checked",
        )
    if seen.state == "unknown" and now < seen.since + timedelta(seconds=settle):
        return Outcome("unknown", detail="an attempt of a moment ago is still settling")
    return None


def say_once(
    runtime: Runtime, ledger: Ledger, post: Post, find: Find, now: datetime, *, what: str
) -> Outcome:
    """Post under ``ledger``'s key unless it was posted already; read back before any second attempt."""
    settle = runtime.settle_seconds
    with runtime.sessions.begin() as session:
        claimed = ledger.claim(session, now)
        seen = None if claimed else ledger.seen(session)
    if claimed:
        return _act(runtime, ledger, post, find, what, now, settle)
    if seen is None:  # released between the two statements: a refusal; the next attempt posts
        return Outcome("refused", detail="another attempt was refused just now")
    held = _held_elsewhere(seen, now, settle)
    if held is not None:
        return held
    with runtime.sessions.begin() as session:
        if not ledger.take(session, seen, now):
            return Outcome("in_flight", detail="another attempt took it over just now")
    if seen.state != "refused":
        resolved = _resolve(runtime, ledger, find, seen, now, what)
        if resolved is not None:
            return resolved
    return _act(runtime, ledger, post, find, what, now, settle)


def _resolve(
    runtime: Runtime, ledger: Ledger, find: Find, seen: Seen, now: datetime, what: str
) -> Outcome | None:
    """Read back what an earlier attempt left unknown: its outcome when found or unreadable, else None."""
    found, unreadable = _read_back(find, seen.since)
    if unreadable is not None:
        _write(runtime, lambda s: ledger.record(s, "unknown", now, None, unreadable), f"recording {what}")
        log.error("%s may or may not be posted; cannot read Slack back: %s", what, unreadable)
        return Outcome("unknown", detail=unreadable)
    if found is not None:
        _write(runtime, lambda s: ledger.record(s, "done", now, found, ""), f"recording {what}")
        log.info("%s: an earlier attempt had posted it (%s); not posting again", what, found)
        return Outcome("found", found, "posted by an earlier attempt")
    log.warning("%s: an earlier attempt never posted it; posting it now", what)
    return None


def peek(runtime: Runtime, ledger: Ledger, now: datetime) -> Outcome | None:
    """What ``say_once`` would find without acting: None when it would post (or read back and maybe post)."""
    with runtime.sessions.begin() as session:
        seen = ledger.seen(session)
    return None if seen is None else _held_elsewhere(seen, now, runtime.settle_seconds)
