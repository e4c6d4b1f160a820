"""/readyz's checks and the metrics the bot records, driven through the product's own cycle."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from app.config import ConfigError, StartupError, load_settings
from app.health import Readiness
from app.oncall_config import load_oncall_config
from app.runtime import Runtime, utc_now
from app.sandbox import Sandbox
from app.sandbox.world import World, write_config
from app.services.cycle import run_cycle
from app.services.usergroups import WritePacer
from app.wiring import build_runtime, start_bot
from tests.conftest import RuntimeFactory, settings_for


def readiness(runtime: Runtime, *, connected: bool = True, later: timedelta = timedelta(0)) -> dict[str, str]:
    now = utc_now() + later
    return Readiness(
        connected=lambda: connected,
        sessions=runtime.sessions,
        refresh_minutes=runtime.config.refresh_minutes,
        clock=lambda: now,
    ).problems()


def test_ready_only_after_a_recent_successful_refresh(world: World, make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(world.config_text)
    assert "no successful refresh" in readiness(runtime)["refresh"]
    run_cycle(runtime, runtime.now())
    assert readiness(runtime) == {"socket_mode": "ok", "database": "ok", "refresh": "ok"}
    # refresh_minutes = 5: a refresh older than 15 minutes means the pager data is going stale
    assert readiness(runtime, later=timedelta(minutes=14))["refresh"] == "ok"
    stale = readiness(runtime, later=timedelta(minutes=16))["refresh"]
    assert "16 min ago" in stale
    assert "not connected" in readiness(runtime, connected=False)["socket_mode"]


@pytest.mark.sqlite_file  # a deleted database file
def test_the_probe_writes_nothing_and_notices_a_deleted_database(
    world: World, make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    runtime = make_runtime(world.config_text)
    run_cycle(runtime, runtime.now())
    for _ in range(3):
        assert readiness(runtime)["database"] == "ok"
    (tmp_path / "oncall.db").unlink()
    assert "is gone" in readiness(runtime)["database"]


def test_slack_429s_are_counted_by_method(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(world.config_text)
    sandbox.slack.rate_limit("usergroups.list", retry_after=0, times=2)
    run_cycle(runtime, runtime.now(), pacer=WritePacer())
    value = runtime.metrics.registry.get_sample_value(
        "oncall_slack_ratelimited_total", {"method": "usergroups.list"}
    )
    assert value == 2


def test_pager_errors_are_counted_by_kind(
    sandbox: Sandbox, world: World, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime(world.config_text)
    sandbox.opsgenie.api_key = "a-revoked-key"
    run_cycle(runtime, runtime.now())
    registry = runtime.metrics.registry
    assert (registry.get_sample_value("oncall_pager_errors_total", {"kind": "BadCredentials"}) or 0) >= 1


def test_each_bot_has_its_own_registry(world: World, make_runtime: RuntimeFactory) -> None:
    first, second = make_runtime(world.config_text), make_runtime(world.config_text)
    first.metrics.acked("/oncall", 0.01)
    assert first.metrics.registry.get_sample_value("oncall_ack_seconds_count", {"command": "/oncall"}) == 1
    assert (
        second.metrics.registry.get_sample_value("oncall_ack_seconds_count", {"command": "/oncall"}) is None
    )


def test_a_malformed_health_addr_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "HEALTH_ADDR": "8080",
    }.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match="HEALTH_ADDR: expected host:port"):
        load_settings(_env_file=None)


def test_a_health_port_in_use_stops_the_bot_before_it_starts_anything(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    config_path = write_config(tmp_path, world.config_text)
    runtime = build_runtime(settings_for(sandbox, tmp_path, config_path), load_oncall_config(config_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        addr = f"127.0.0.1:{taken.getsockname()[1]}"
        settings = settings_for(sandbox, tmp_path, config_path).model_copy(update={"health_addr": addr})
        threads = set(threading.enumerate())
        with pytest.raises(StartupError, match=f"cannot serve HEALTH_ADDR {addr}"):
            start_bot(settings, runtime, start_jobs=True)
    # Nothing was started first: no page worker, scheduler, leader, lease keeper or connection that
    # would run a cycle and hold the leases until they expired.
    assert set(threading.enumerate()) - threads == set()
    assert sandbox.slack.socket.connection_ids() == []
    assert not runtime.scheduler.running
