"""Shared fixtures: a clean environment, the sandbox, the seeded workspace and a running bot."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from app.config import ConfigError, Settings
from app.oncall_config import load_oncall_config
from app.providers.jsm import JsmProvider
from app.providers.opsgenie import OpsgenieProvider
from app.providers.pagerduty import PagerDutyProvider
from app.providers.registry import Builder
from app.providers.tuning import Tuning
from app.runtime import Runtime, utc_now
from app.sandbox import GENIE_KEY, JSM_API_TOKEN, JSM_EMAIL, PAGERDUTY_ROUTING_KEY, PAGERDUTY_TOKEN, Sandbox
from app.sandbox.world import World, seed, write_config
from app.wiring import RunningBot, build_runtime, start_bot
from tests.databases import Databases, server_url

_OUR_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "OPSGENIE_API_KEY",
    "OPSGENIE_API_URL",
    "PAGERDUTY_API_TOKEN",
    "PAGERDUTY_API_URL",
    "PAGERDUTY_ROUTING_KEY",
    "PAGERDUTY_EVENTS_URL",
    "JSM_SITE_URL",
    "JSM_EMAIL",
    "JSM_API_TOKEN",
    "JSM_CLOUD_ID",
    "JSM_API_URL",
    "JSM_INTEGRATION_KEY",
    "DATABASE_URL",
    "ONCALL_CONFIG",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "HEALTH_ADDR",
)

# SQLite files, or (in .ci/run's PostgreSQL pass) a fresh PostgreSQL database per test.
DATABASES = Databases(server_url())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's tokens or .env: clear our variables and work in a temp dir."""
    for name in _OUR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the PostgreSQL pass's template database with the session."""
    DATABASES.close()


@pytest.fixture(autouse=True)
def test_databases(request: pytest.FixtureRequest) -> Iterator[Databases]:
    """This test's databases (see tests/databases.py), dropped when it ends."""
    if request.node.get_closest_marker("postgres") is not None and not DATABASES.postgres:
        pytest.skip("needs PostgreSQL: .ci/run's second pass sets ONCALL_TEST_DATABASE_URL")
    DATABASES.sqlite_only = request.node.get_closest_marker("sqlite_file") is not None
    try:
        yield DATABASES
    finally:
        DATABASES.sqlite_only = False
        DATABASES.drop_created()


def keep_database(directory: Path) -> None:
    """Let the database of ``directory`` last the whole test session (for a module-scoped bot)."""
    DATABASES.keep(directory)


def database_url(directory: Path) -> str:
    """The database URL of a test's ``directory``: SQLite there, or its own PostgreSQL database."""
    return DATABASES.url_for(directory)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A started, empty sandbox."""
    with Sandbox() as box:
        yield box


@pytest.fixture
def world(sandbox: Sandbox) -> World:
    """The sandbox seeded with the demo workspace (team 'data', weekly rotation alice → bob → carol)."""
    return seed(sandbox, utc_now())


def sandbox_env(sandbox: Sandbox, config_path: Path) -> dict[str, str]:
    """The sandbox's variables; JSM's only for a teams file with a JSM team (they make check look at JSM)."""
    try:
        uses_jsm = any(team.provider == "jsm" for team in load_oncall_config(config_path).teams)
    except ConfigError:  # a test of a broken teams file
        uses_jsm = False
    return {**sandbox.env(), **(sandbox.jsm_env() if uses_jsm else {})}


def settings_for(sandbox: Sandbox, directory: Path, config_path: Path) -> Settings:
    """Settings pointing at the sandbox, with the database in ``directory``."""
    env = {key.lower(): value for key, value in sandbox_env(sandbox, config_path).items()}
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        **env,
        database_url=database_url(directory),
        oncall_config=config_path,
    )


def environment_for(sandbox: Sandbox, directory: Path, config_path: Path) -> dict[str, str]:
    """A process environment that runs `python -m app` against the sandbox."""
    env = {k: v for k, v in os.environ.items() if k not in _OUR_VARIABLES}
    env.update(sandbox_env(sandbox, config_path))
    env["DATABASE_URL"] = database_url(directory)
    env["ONCALL_CONFIG"] = str(config_path)
    return env


RuntimeFactory = Callable[..., Runtime]


# Pager clients that give up quickly, so outage tests stay fast.
FAST = Tuning(timeout=0.5, max_retries=1, backoff=0.01)


def fast_provider(sandbox: Sandbox) -> OpsgenieProvider:
    """An Opsgenie provider on the sandbox that gives up quickly, so outage tests stay fast."""
    url = sandbox.opsgenie.url
    return OpsgenieProvider(GENIE_KEY, base_url=url, tuning=FAST)


def fast_builders(sandbox: Sandbox) -> dict[str, Builder]:
    """Pager clients on the sandbox that give up quickly (Opsgenie, PagerDuty and JSM)."""
    pagerduty, jsm = sandbox.pagerduty, sandbox.jsm
    return {
        "jsm": lambda _settings, _team: JsmProvider(
            JSM_EMAIL,
            JSM_API_TOKEN,
            site_url=jsm.site_url,
            api_url=jsm.api_url,
            tuning=FAST,
        ),
        "opsgenie": lambda _settings, _team: fast_provider(sandbox),
        "pagerduty": lambda _settings, _team: PagerDutyProvider(
            PAGERDUTY_TOKEN,
            routing_key=PAGERDUTY_ROUTING_KEY,
            base_url=pagerduty.url,
            events_url=pagerduty.events_url,
            tuning=FAST,
        ),
    }


@pytest.fixture
def make_runtime(sandbox: Sandbox, tmp_path: Path) -> RuntimeFactory:
    """Build the real runtime (migrated database, Slack client, provider) without connecting Socket Mode."""

    def factory(config_text: str, *, clock: Callable[[], datetime] = utc_now) -> Runtime:
        config_path = write_config(tmp_path, config_text)
        settings = settings_for(sandbox, tmp_path, config_path)
        fast = fast_builders(sandbox)
        return build_runtime(settings, load_oncall_config(config_path), clock=clock, builders=fast)

    return factory


BotFactory = Callable[..., RunningBot]


@pytest.fixture
def make_bot(sandbox: Sandbox, tmp_path: Path) -> Iterator[BotFactory]:
    """Start the real bot in-process against the sandbox: ``make_bot(config_text, clock=..., jobs=False)``."""
    started: list[RunningBot] = []

    def factory(
        config_text: str, *, clock: Callable[[], datetime] = utc_now, jobs: bool = False, fast: bool = False
    ) -> RunningBot:
        """``fast``: a pager client that gives up quickly (for outage tests)."""
        config_path = write_config(tmp_path, config_text)
        settings = settings_for(sandbox, tmp_path, config_path)
        builders = fast_builders(sandbox) if fast else None
        config = load_oncall_config(config_path)
        runtime: Runtime = build_runtime(settings, config, clock=clock, builders=builders)
        known = set(sandbox.slack.socket.connection_ids())
        bot = start_bot(settings, runtime, start_jobs=jobs)
        started.append(bot)
        deadline = time.monotonic() + 10
        while not set(sandbox.slack.socket.connection_ids()) - known:  # this bot's own connection
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not connect over Socket Mode within 10 s")
            time.sleep(0.02)
        return bot

    yield factory
    for bot in started:
        bot.stop()
