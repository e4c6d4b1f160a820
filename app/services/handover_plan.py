"""When a team's handovers happen and who hands over to whom: per shift change, weekly, daily, or never.

The one place that knows the team's ``handover`` setting. Per shift (the default), the handovers are the
turns of the cached timeline (``shift_turns``): their windows are the real shifts. Weekly and daily, they
are the fixed wall-clock moments of ``handover_timing``, each matched with the pager's nearest change.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.domain import Shift, Team
from app.services import handover_timing as fixed
from app.services.roster import HISTORY, HORIZON
from app.services.shift_turns import EPSILON, LayerChanges, Turn, layer_changes, layer_changes_each, turns
from app.store import reads, repo
from app.store.db import READ_ONLY
from app.store.models import TeamState


@dataclass(frozen=True, slots=True)
class Planned:
    """One handover: ``incoming`` take over from ``outgoing`` at ``start`` until ``end`` (None: unknown).

    ``since`` is when the outgoing shift began (the escalations of "last shift" count from there);
    ``pager_change`` when the pager really changes, if that differs from a fixed handover time.
    """

    start: datetime
    end: datetime | None
    since: datetime
    outgoing: tuple[str, ...]
    incoming: tuple[str, ...]
    pager_change: datetime | None = None
    # Per layer (primary, secondary, ...): (name, outgoing, incoming); empty for a single layer.
    layers: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()

    @property
    def same_people(self) -> bool:
        """True when nobody changes: there is nothing to hand over."""
        return set(self.outgoing) == set(self.incoming)


def _timeline(session: Session, team: Team) -> tuple[list[Shift], datetime, datetime] | None:
    """The team's cached shifts and the span the refresh asked the pager for (None: never read)."""
    state = session.get(TeamState, team.name)
    fetched = state.shifts_fetched_at if state is not None else None
    if fetched is None:
        return None
    low, high = fetched - HISTORY, fetched + HORIZON
    return repo.shifts_between(session, team.name, low, high), low, high


@dataclass(frozen=True, slots=True)
class _Plan:
    """A team's cached turns and handovers as read at one roster generation."""

    generation: int
    handover_min: timedelta
    turns: tuple[Turn, ...]
    planned: tuple[Planned, ...]


# Per database (engine): the last plan read per team. The minute job asks each team's plan four to six
# times a tick and the timeline changes only when a refresh writes it: re-reading and re-folding 200
# shifts each time was most of the job's CPU, which /oncall's acks waited behind (bench/ack.py).
_PLANS: weakref.WeakKeyDictionary[Engine, dict[str, _Plan]] = weakref.WeakKeyDictionary()
_PLANS_LOCK = threading.Lock()


def _plan(session: Session, team: Team) -> _Plan:
    """The team's turns and handovers, kept while the roster's answer generation is unchanged.

    The generation (migration 0008) is bumped in the same transaction as every write to the roster
    cache, by any process: read first, in a read-only transaction (a write in this one could still roll
    back), a plan kept at that generation is the one the timeline read now would give.
    """
    connection = session.connection()
    read_only = bool(connection.get_execution_options().get(READ_ONLY, False))
    generation = reads.generations(session).get("roster") if read_only else None
    engine = connection.engine
    if generation is not None:
        with _PLANS_LOCK:
            kept = _PLANS.get(engine, {}).get(team.name)
        if kept is not None and kept.generation == generation and kept.handover_min == team.handover_min:
            return kept
    timeline = _timeline(session, team)
    found = turns(*timeline, team.handover_min) if timeline is not None else []
    layers = layer_changes_each(timeline[0], [turn.start for turn in found]) if timeline else []
    planned = tuple(_from_turn(turn, changes) for turn, changes in zip(found, layers, strict=True))
    plan = _Plan(generation if generation is not None else -1, team.handover_min, tuple(found), planned)
    if generation is not None:
        with _PLANS_LOCK:
            _PLANS.setdefault(engine, {})[team.name] = plan
    return plan


def cached_turns(session: Session, team: Team) -> list[Turn]:
    """Every shift change of ``team``'s cached timeline (empty before the timeline was first read)."""
    return list(_plan(session, team).turns)


def _planned_turns(session: Session, team: Team) -> list[Planned]:
    """The cached turns as handovers, each with who hands over on which layer."""
    return list(_plan(session, team).planned)


def _from_turn(turn: Turn, layers: LayerChanges) -> Planned:
    since = turn.since if turn.since is not None else turn.start - HISTORY
    return Planned(turn.start, turn.end, since, turn.outgoing, turn.incoming, None, layers)


def _fixed_at(session: Session, team: Team, start: datetime, *, guess: bool) -> Planned:
    outgoing, incoming, change = fixed.handing_over(session, team, start, guess=guess)
    near = repo.shifts_between(session, team.name, change - EPSILON, change + EPSILON)
    return Planned(
        start,
        fixed.handover_after(team, start),
        fixed.handover_after(team, start, -1),
        tuple(outgoing),
        tuple(incoming),
        change if change != start else None,
        layer_changes(near, change),
    )


def at_or_before(session: Session, team: Team, now: datetime) -> Planned | None:
    """The team's latest handover at or before ``now``; None when it has none (off, or no change yet)."""
    if team.fixed_handover is not None:
        return _fixed_at(session, team, fixed.handover_at_or_before(team, now), guess=True)
    if not team.per_shift:
        return None
    started = [p for p in _planned_turns(session, team) if p.start <= now]
    return started[-1] if started else None


def at_start(session: Session, team: Team, start: datetime) -> Planned | None:
    """The handover of ``team`` that begins at ``start``, as the cache sees it now (None: no longer one)."""
    if team.fixed_handover is not None:
        return _fixed_at(session, team, start, guess=False)
    found = [p for p in _planned_turns(session, team) if p.start == start]
    return found[0] if found else None


def coming(session: Session, team: Team, now: datetime, until: datetime) -> list[Planned]:
    """The team's handovers after ``now`` and up to ``until``, in order."""
    if team.fixed_handover is not None:
        found, moment = [], fixed.next_handover(team, now)
        while moment <= until:
            found.append(_fixed_at(session, team, moment, guess=False))
            moment = fixed.handover_after(team, moment)
        return found
    if not team.per_shift:
        return []
    return [p for p in _planned_turns(session, team) if now < p.start <= until]


def next_after(session: Session, team: Team, now: datetime) -> Planned | None:
    """The team's first handover after ``now`` within the cached timeline's reach, or None."""
    found = coming(session, team, now, now + HORIZON)
    return found[0] if found else None


def shift_starts(session: Session, team: Team, now: datetime, within: timedelta) -> list[Turn]:
    """The timeline's shift changes after ``now`` and within ``within``, whatever the handover setting.

    Reminders follow the shifts themselves: a team with a weekly handover still has 12-hour shifts.
    """
    return [t for t in cached_turns(session, team) if now < t.start <= now + within]
