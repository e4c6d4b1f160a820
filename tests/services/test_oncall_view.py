"""The /oncall read model over a real, migrated SQLite cache: now, next, week, me and the App Home."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.domain import Shift
from app.model.oncall import Person
from app.oncall_config import OncallConfig, parse_oncall_config
from app.services import oncall_view
from app.store import repo
from app.store.db import make_engine, migrate, session_factory
from app.store.models import PersonRow, ShiftRow, SlackUser, UsergroupSync

NOW = datetime(2025, 3, 5, 11, 0, tzinfo=UTC)  # a Wednesday
MONDAY = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
WEEK = timedelta(days=7)
ALICE, BOB, CAROL = "alice@corp.example", "bob@corp.example", "carol@corp.example"

CONFIG = """
timezone = "Europe/Amsterdam"
refresh_minutes = 5

[[teams]]
name = "data"
schedule = "data_schedule"
usergroup = "data-oncall"
channel = "C0DATA00001"

[[teams]]
name = "Infra"
schedule = "infra_schedule"
usergroup = "infra-oncall"
channel = "C0INFRA0001"
timezone = "America/New_York"

[people]
"carol@corp.example" = "U0CAROL0001"
"""


# ---- helpers the Slack-level tests share -------------------------------------------------------------


def fill_team(
    session: Session,
    team: str,
    *,
    people: Iterable[str] | None = None,
    seen_at: datetime = NOW,
    shifts: Iterable[Shift] | None = None,
    fetched_at: datetime = NOW,
    failing_since: datetime | None = None,
) -> None:
    """Put what a roster refresh would store for ``team`` into the cache."""
    state = repo.team_state(session, team)
    if people is not None:
        repo.record_on_call(session, team, list(people), seen_at)
        state.last_success_at = seen_at
    if shifts is not None:
        repo.replace_shifts(session, team, list(shifts), fetched_at)
        state.shifts_fetched_at = fetched_at
    if failing_since is not None:
        # The roster records each failed cycle; the latest is now, so at least two cycles failed.
        state.failing_since = failing_since
        state.last_attempt_at = NOW
        state.last_error = "Opsgenie did not answer"


def map_person(
    session: Session, pager_id: str, slack_id: str | None, status: str = "ok", name: str | None = None
) -> None:
    """A PersonRow as the people service stores it."""
    session.add(
        PersonRow(
            pager_id=pager_id,
            slack_user_id=slack_id,
            source="lookup",
            status=status,
            display_name=name,
            checked_at=NOW,
        )
    )


def weekly(start: datetime, *people: str) -> list[Shift]:
    """Back-to-back weekly shifts from ``start``."""
    return [Shift(p, start + i * WEEK, start + (i + 1) * WEEK) for i, p in enumerate(people)]


# ---- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path}/cache.db")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def config() -> OncallConfig:
    return parse_oncall_config(CONFIG, Path("oncall.toml"))


# ---- now -------------------------------------------------------------------------------------------


def test_no_snapshot_means_no_data_yet_not_nobody(
    sessions: sessionmaker[Session], config: OncallConfig
) -> None:
    with sessions.begin() as session:
        [data, infra] = oncall_view.on_call_now(session, config, config.teams, NOW)
    assert data.people is None
    assert data.freshness.as_of is None
    assert infra.people is None


def test_now_maps_people_and_says_until_when_and_how_fresh(
    sessions: sessionmaker[Session], config: OncallConfig
) -> None:
    seen = NOW - timedelta(minutes=2)
    with sessions.begin() as session:
        fill_team(
            session,
            "data",
            people=[ALICE, "Bob@Corp.example"],
            seen_at=seen,
            shifts=[*weekly(MONDAY, ALICE, CAROL), Shift(BOB, MONDAY, MONDAY + WEEK)],
        )
        map_person(session, ALICE, "U0ALICE0001")
        map_person(session, BOB, None, status="not_found")
    with sessions.begin() as session:
        [data] = oncall_view.on_call_now(session, config, [config.teams[0]], NOW)
    assert data.people == (
        Person(ALICE, "U0ALICE0001", None, "ok"),
        Person(BOB, None, None, "not_found"),
    )
    assert data.until == MONDAY + WEEK  # alice and bob hand over to carol
    assert data.freshness.as_of == seen
    assert not data.freshness.stale
    assert data.freshness.failing_since is None


def test_a_failing_pager_and_old_data_are_reported(
    sessions: sessionmaker[Session], config: OncallConfig
) -> None:
    with sessions.begin() as session:
        fill_team(
            session,
            "data",
            people=[ALICE],
            seen_at=NOW - timedelta(minutes=20),
            failing_since=NOW - timedelta(minutes=15),
        )
        fill_team(session, "Infra", people=[BOB], seen_at=NOW - timedelta(minutes=16))
    with sessions.begin() as session:
        data, infra = oncall_view.on_call_now(session, config, config.teams, NOW)
    assert data.freshness.failing_since == NOW - timedelta(minutes=15)
    assert data.freshness.error == "Opsgenie did not answer"
    assert data.freshness.stale  # 20 min > 2 refreshes of 5 min, and failing for several cycles
    assert infra.freshness.stale  # 16 min > 2 refreshes of 5 min, and no refresh since (none ran)


def test_answers_for_fifty_teams_take_a_handful_of_queries(tmp_path: Path) -> None:
    teams = "\n".join(
        f'[[teams]]\nname = "t{i}"\nschedule = "s{i}"\nusergroup = "g{i}"\nchannel = "C0TEAM{i:05d}"\n'
        for i in range(50)
    )
    config = parse_oncall_config(f'timezone = "UTC"\n{teams}', Path("oncall.toml"))
    engine = make_engine(f"sqlite:///{tmp_path}/many.db")
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        for i in range(50):
            shifts = [
                Shift(
                    f"p{i}-{k % 4}@x.example",
                    MONDAY + k * timedelta(hours=2),
                    MONDAY + (k + 1) * timedelta(hours=2),
                )
                for k in range(200)
            ]
            fill_team(session, f"t{i}", people=[f"p{i}-0@x.example"], shifts=shifts)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with sessions.begin() as session:
        answers = oncall_view.on_call_now(session, config, config.teams, NOW)
        assert len(statements) <= 6, statements
        statements.clear()
        oncall_view.next_on_call(session, config, config.teams, NOW)
        oncall_view.week_ahead(session, config, config.teams, NOW)
        assert len(statements) <= 12
    assert all(a.until is not None for a in answers)
    engine.dispose()


# ---- next ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shifts", "expected"),
    [
        pytest.param([], None, id="no timeline"),
        pytest.param(weekly(MONDAY, ALICE), None, id="the timeline's end is not a handover to nobody"),
        pytest.param(weekly(MONDAY, ALICE, BOB), (MONDAY + WEEK, {BOB}), id="weekly handover"),
        pytest.param(weekly(MONDAY, ALICE, ALICE, BOB), (MONDAY + 2 * WEEK, {BOB}), id="same person twice"),
        pytest.param(
            [
                Shift(ALICE, MONDAY, NOW + timedelta(hours=1)),
                Shift(BOB, NOW + timedelta(hours=3), MONDAY + WEEK),
            ],
            (NOW + timedelta(hours=1), set()),
            id="a gap in the middle is real",
        ),
        pytest.param(
            [
                Shift(ALICE, MONDAY, MONDAY + 2 * WEEK),
                Shift(BOB, NOW + timedelta(days=3), NOW + timedelta(days=4)),
            ],
            (NOW + timedelta(days=3), {ALICE, BOB}),
            id="a secondary joins",
        ),
    ],
)
def test_next_change(shifts: list[Shift], expected: tuple[datetime, set[str]] | None) -> None:
    horizon = max((s.end for s in shifts), default=NOW)
    change = oncall_view.next_change(shifts, NOW, horizon)
    assert (None if change is None else (change[0], set(change[1]))) == expected


def test_next_reads_past_the_first_look_for_a_weekly_rotation(
    sessions: sessionmaker[Session], config: OncallConfig
) -> None:
    with sessions.begin() as session:
        fill_team(session, "data", people=[ALICE], shifts=weekly(MONDAY, ALICE, BOB, CAROL))
        fill_team(session, "Infra", people=[CAROL], shifts=weekly(MONDAY - 3 * WEEK, CAROL))  # ended
        map_person(session, BOB, "U0BOB000001")
    with sessions.begin() as session:
        data, infra = oncall_view.next_on_call(session, config, config.teams, NOW)
    assert data.at == MONDAY + WEEK  # five days away: beyond the two-day first look
    assert data.incoming == (Person(BOB, "U0BOB000001", None, "ok"),)
    assert data.current == (Person(ALICE),)
    assert data.known_until == MONDAY + 3 * WEEK
    assert data.freshness.as_of == NOW
    assert infra.at is None
    assert infra.current == (Person(CAROL, "U0CAROL0001", None, "ok"),)  # from [people]


# ---- week ------------------------------------------------------------------------------------------


def test_week_merges_split_pieces_and_keeps_the_running_shift(
    sessions: sessionmaker[Session], config: OncallConfig
) -> None:
    pieces = [
        Shift(ALICE, MONDAY + i * timedelta(days=1), MONDAY + (i + 1) * timedelta(days=1)) for i in range(7)
    ]
    with sessions.begin() as session:
        fill_team(session, "data", people=[ALICE], shifts=[*pieces, *weekly(MONDAY + WEEK, BOB, CAROL)])
    with sessions.begin() as session:
        [week] = oncall_view.week_ahead(session, config, [config.teams[0]], NOW)
    assert [(s.person.pager_id, s.start, s.end) for s in week.shifts] == [
        (ALICE, MONDAY, MONDAY + WEEK),
        (BOB, MONDAY + WEEK, MONDAY + 2 * WEEK),
    ]


# ---- me --------------------------------------------------------------------------------------------


def test_me_finds_shifts_by_mapping_people_map_and_profile_email(
    sessions: sessionmaker[Session], config: OncallConfig
) -> None:
    with sessions.begin() as session:
        fill_team(session, "data", people=[ALICE], shifts=weekly(MONDAY, ALICE, "Bob@Corp.Example", CAROL))
        fill_team(session, "Infra", people=[BOB], shifts=weekly(MONDAY, BOB, ALICE, BOB))
        session.add(SlackUser(user_id="U0BOB000001", tz="America/New_York", email=BOB, fetched_at=NOW))
        map_person(session, ALICE, "U0ALICE0001")
    with sessions.begin() as session:
        bob = oncall_view.my_shifts(session, config, "U0BOB000001", NOW)
        alice = oncall_view.my_shifts(session, config, "U0ALICE0001", NOW)
        carol = oncall_view.my_shifts(session, config, "U0CAROL0001", NOW)
        nobody = oncall_view.my_shifts(session, config, "U0DAVE00001", NOW)
    assert bob.identities == (BOB,)
    assert [(s.team, s.start) for s in bob.current] == [("Infra", MONDAY)]
    assert [(s.team, s.start) for s in bob.upcoming] == [
        ("data", MONDAY + WEEK),
        ("Infra", MONDAY + 2 * WEEK),
    ]
    assert [(s.team, s.start) for s in alice.current] == [("data", MONDAY)]
    assert [(s.team, s.start) for s in alice.upcoming] == [("Infra", MONDAY + WEEK)]
    assert [(s.team, s.start) for s in carol.upcoming] == [("data", MONDAY + 2 * WEEK)]  # via [people]
    assert nobody.identities == ()
    assert bob.freshness.as_of == NOW


def test_me_names_the_teams_with_no_data_yet(sessions: sessionmaker[Session], config: OncallConfig) -> None:
    with sessions.begin() as session:  # Infra refreshed; carol's team "data" never fetched
        fill_team(session, "Infra", people=[BOB], shifts=weekly(MONDAY, BOB, ALICE))
    with sessions.begin() as session:
        carol = oncall_view.my_shifts(session, config, "U0CAROL0001", NOW)
    assert (carol.current, carol.upcoming) == ((), ())
    assert carol.unknown_teams == ("data",)
    assert carol.freshness == oncall_view.Freshness(NOW)
    assert carol.known_until == NOW + timedelta(days=14)
    with sessions.begin() as session:
        repo.team_state(session, "Infra").shifts_fetched_at = None
        session.execute(ShiftRow.__table__.delete())
    with sessions.begin() as session:
        nothing = oncall_view.my_shifts(session, config, "U0CAROL0001", NOW)
    assert nothing.unknown_teams == ("data", "Infra")
    assert nothing.freshness.as_of is None
    assert nothing.known_until is None


def test_me_freshness_is_that_of_the_teams_the_user_is_on(
    sessions: sessionmaker[Session], config: OncallConfig
) -> None:
    read = NOW - timedelta(minutes=2)
    with sessions.begin() as session:
        fill_team(session, "data", people=[ALICE], shifts=weekly(MONDAY, ALICE, CAROL), fetched_at=read)
        fill_team(
            session,
            "Infra",
            people=[BOB],
            seen_at=NOW - timedelta(minutes=20),
            shifts=weekly(MONDAY, BOB),
            fetched_at=NOW - timedelta(minutes=20),
            failing_since=NOW - timedelta(minutes=15),
        )
        map_person(session, ALICE, "U0ALICE0001")
        map_person(session, BOB, "U0BOB000001")
        session.add(SlackUser(user_id="U0DAVE00001", tz="UTC", email="dave@corp.example", fetched_at=NOW))
    with sessions.begin() as session:
        alice = oncall_view.my_shifts(session, config, "U0ALICE0001", NOW)
        bob = oncall_view.my_shifts(session, config, "U0BOB000001", NOW)
        dave = oncall_view.my_shifts(session, config, "U0DAVE00001", NOW)
    # Infra's outage says nothing about alice's shifts in data ...
    assert alice.freshness == oncall_view.Freshness(read)
    # ... but everything about bob's, and about dave's "no shifts", which covers Infra too.
    failing = oncall_view.Freshness(
        NOW - timedelta(minutes=20), NOW - timedelta(minutes=15), "Opsgenie did not answer", stale=True
    )
    assert bob.freshness == dave.freshness == failing
    assert (dave.identities, dave.current, dave.upcoming) == (("dave@corp.example",), (), ())
    assert alice.unknown_teams == bob.unknown_teams == ()


def test_timeline_freshness_survives_the_roster_asking_for_a_re_read(
    sessions: sessionmaker[Session], config: OncallConfig
) -> None:
    read = NOW - timedelta(minutes=40)
    with sessions.begin() as session:
        fill_team(session, "data", people=[ALICE], shifts=weekly(MONDAY, ALICE, BOB), fetched_at=read)
        repo.team_state(
            session, "data"
        ).shifts_fetched_at = None  # an override the timeline does not know yet
        map_person(session, ALICE, "U0ALICE0001")
    with sessions.begin() as session:
        mine = oncall_view.my_shifts(session, config, "U0ALICE0001", NOW)
        [week] = oncall_view.week_ahead(session, config, [config.teams[0]], NOW)
        [upcoming] = oncall_view.next_on_call(session, config, [config.teams[0]], NOW)
    assert mine.freshness.as_of == week.freshness.as_of == upcoming.freshness.as_of == read
    assert mine.known_until == read + timedelta(days=14)


# ---- App Home --------------------------------------------------------------------------------------


def test_home_takes_the_latest_sync_and_lists_unmapped_people(
    sessions: sessionmaker[Session], config: OncallConfig
) -> None:
    with sessions.begin() as session:
        fill_team(session, "data", people=[ALICE, BOB])
        map_person(session, ALICE, "U0ALICE0001")
        map_person(session, BOB, "U0BOB000001", status="deleted", name="Bob")
        for minutes, result in ((10, "failed"), (5, "updated")):
            session.add(
                UsergroupSync(
                    team="data",
                    usergroup_id="S1",
                    at=NOW - timedelta(minutes=minutes),
                    before=[],
                    after=["U0ALICE0001"],
                    result=result,
                    detail=None,
                )
            )
    with sessions.begin() as session:
        data, infra = oncall_view.home_teams(session, config, NOW)
    assert (data.sync_result, data.sync_at) == ("updated", NOW - timedelta(minutes=5))
    assert data.unmapped == (Person(BOB, "U0BOB000001", "Bob", "deleted"),)
    assert infra.sync_result is None
    assert infra.now.people is None
