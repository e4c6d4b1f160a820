"""Secrets never leave the bot: stripped at load, and one redaction on every way out.

The ways out are a Slack message (or ack), CLI output, a log line (tracebacks included), a database row
and an uncaught exception. Each test sets the secrets as an admin would (the environment) and drives
the product through the sandbox.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.cli import main
from app.config import Settings, load_settings
from app.domain import Team
from app.logs import setup_logging
from app.oncall_config import load_oncall_config
from app.providers import Provider
from app.providers.builders import opsgenie_key
from app.providers.opsgenie import OpsgenieProvider
from app.providers.tuning import Tuning
from app.runtime import Runtime, utc_now
from app.sandbox import Sandbox
from app.sandbox.world import CHANNEL, World, write_config
from app.services.cycle import run_cycle
from app.services.report import describe_cached
from app.wiring import build_runtime
from tests.conftest import environment_for


def new_key() -> str:
    """An Opsgenie-shaped key no test shares, so that its last 8 characters cannot occur by chance."""
    return str(uuid.uuid4())


def visible_anywhere(sandbox: Sandbox, database: Path, *texts: str) -> str:
    """Everything Slack received, every database row, and ``texts``, as one string to search."""
    requests = [{"method": r.method, "params": r.params} for r in sandbox.slack.requests()]
    with sqlite3.connect(database) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [f"{t}: {row!r}" for t in tables for row in connection.execute(f'SELECT * FROM "{t}"')]  # noqa: S608
    return "\n".join([json.dumps(requests, default=str), *rows, *texts])


def assert_hidden(secret: str, text: str) -> None:
    """Neither the secret nor its last 8 characters appear in ``text``."""
    assert secret not in text
    assert secret[-8:] not in text


def settings_from_env(
    sandbox: Sandbox, tmp_path: Path, config_text: str, monkeypatch: pytest.MonkeyPatch, **env: str
) -> Settings:
    """Settings read from the process environment, as `oncall-bot` reads them."""
    merged = {**environment_for(sandbox, tmp_path, write_config(tmp_path, config_text)), **env}
    for name, value in merged.items():
        monkeypatch.setenv(name, value)
    return load_settings(_env_file=None)


def runtime_for(settings: Settings) -> Runtime:
    """The real runtime, its pager built from the settings' key and URL but quick to give up."""

    def fast(settings: Settings, team: Team) -> Provider:
        key, _ = opsgenie_key(settings, team)
        url = settings.opsgenie_api_url
        return OpsgenieProvider(key, base_url=url, tuning=Tuning(timeout=0.5, max_retries=1, backoff=0.01))

    return build_runtime(settings, load_oncall_config(settings.oncall_config), builders={"opsgenie": fast})


def fail_until_announced(runtime: Runtime, sandbox: Sandbox, start: datetime) -> list[str]:
    """Run failing cycles, ten minutes apart, until the channel is told; the notices posted."""
    for cycle in range(6):
        run_cycle(runtime, start + timedelta(minutes=11 * cycle))
        said = [m["text"] for m in sandbox.slack.messages(CHANNEL) if "unreachable" in m.get("text", "")]
        if said:
            return said
    raise AssertionError("the outage was never announced")


def test_every_secret_and_url_is_stripped_of_surrounding_whitespace_at_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "  xoxb-1-2-abc\n")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A1-2\r\n")
    monkeypatch.setenv("OPSGENIE_API_KEY", "\tgenie-key-123\n")
    monkeypatch.setenv("OPSGENIE_API_URL", " https://api.eu.opsgenie.com\n")
    monkeypatch.setenv("SLACK_API_URL", "https://slack.com/api\n")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///oncall.db\n")
    monkeypatch.setenv("PAYMENTS_OPSGENIE_KEY", " team-key-456\n")  # a team's own api_key_env
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", "u+pd-token-789\n")
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", " R0UT1NGKEY\n")
    settings = load_settings(_env_file=None)
    assert (settings.secret("PAYMENTS_OPSGENIE_KEY") or SecretStr("")).get_secret_value() == "team-key-456"
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1-2-abc"
    assert settings.slack_app_token.get_secret_value() == "xapp-1-A1-2"
    assert settings.opsgenie_api_key.get_secret_value() == "genie-key-123"
    assert (settings.pagerduty_api_token or SecretStr("")).get_secret_value() == "u+pd-token-789"
    assert (settings.pagerduty_routing_key or SecretStr("")).get_secret_value() == "R0UT1NGKEY"
    assert settings.opsgenie_api_url == "https://api.eu.opsgenie.com"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///oncall.db"


@pytest.mark.parametrize("variable", ["OPSGENIE_API_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"])
def test_a_secret_broken_inside_is_refused_in_one_sentence_that_does_not_quote_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], variable: str
) -> None:
    broken = {
        "OPSGENIE_API_KEY": f"{new_key()}\n{new_key()}",
        "SLACK_BOT_TOKEN": f"xoxb-{secrets.token_hex(8)} {secrets.token_hex(8)}",
        "SLACK_APP_TOKEN": f"xapp-{secrets.token_hex(8)}\t{secrets.token_hex(8)}",
    }[variable]
    env = {"SLACK_BOT_TOKEN": "xoxb-1-2-3", "SLACK_APP_TOKEN": "xapp-1-A1-2", "OPSGENIE_API_KEY": new_key()}
    for name, value in {**env, variable: broken, "ONCALL_CONFIG": str(tmp_path / "none.toml")}.items():
        monkeypatch.setenv(name, value)
    assert main(["who"]) == 2
    err = capsys.readouterr().err
    assert f"environment variable {variable}: has a space, line break or control character inside it" in err
    for part in broken.split():
        assert_hidden(part, err)


@pytest.mark.sqlite_file  # it reads the stored text from the SQLite file
def test_a_key_with_a_newline_never_reaches_the_channel_the_database_or_who(
    sandbox: Sandbox, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    sandbox.opsgenie.api_key = key
    settings = settings_from_env(
        sandbox, tmp_path, world.config_text, monkeypatch, OPSGENIE_API_KEY=key + "\n"
    )
    runtime = runtime_for(settings)
    now = utc_now()
    reports = run_cycle(runtime, now)
    assert not reports[0].refresh.error  # the stripped key is accepted

    # A pager (or a proxy in front of it) that quotes the key back in its error, in every form.
    echo = json.dumps({"message": f"key {key} refused (Authorization: GenieKey {key})", "took": 0})
    sandbox.opsgenie.fail(400, times=100, path_contains="/v2/schedules", body=echo)
    notices = fail_until_announced(runtime, sandbox, now + timedelta(minutes=11))
    assert "[redacted]" in notices[0]
    who, _ = describe_cached(runtime, list(runtime.config.teams), now + timedelta(hours=1))
    assert "[redacted]" in who
    assert_hidden(key, visible_anywhere(sandbox, tmp_path / "oncall.db", who))


@pytest.mark.sqlite_file  # it reads the stored text from the SQLite file
def test_the_outage_notice_never_shows_credentials_in_the_pager_url(
    sandbox: Sandbox, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = secrets.token_urlsafe(12)
    url = sandbox.opsgenie.url.replace("http://", f"http://oncall-proxy:{password}@")
    settings = settings_from_env(sandbox, tmp_path, world.config_text, monkeypatch, OPSGENIE_API_URL=url)
    runtime = runtime_for(settings)
    sandbox.opsgenie.down = True
    notices = fail_until_announced(runtime, sandbox, utc_now())
    assert "Opsgenie unreachable at http://[redacted]@127.0.0.1" in notices[0]
    who, _ = describe_cached(runtime, list(runtime.config.teams), utc_now())
    text = visible_anywhere(sandbox, tmp_path / "oncall.db", who)
    assert_hidden(password, text)
    assert "oncall-proxy" not in text


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """setup_logging replaces the root handlers; give the next test pytest's back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_and_their_tracebacks_carry_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    key, password = new_key(), secrets.token_urlsafe(12)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-3")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A1-2")
    monkeypatch.setenv("OPSGENIE_API_KEY", f"{key}\n")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://bot:{password}@db.internal/oncall")
    setup_logging(load_settings(_env_file=None).log_level, log_format)
    log = logging.getLogger("app.test")
    verification, response_url = secrets.token_hex(12), f"https://hooks.slack.com/commands/T1/{new_key()}"
    envelope = {"type": "slash_commands", "payload": {"token": verification, "response_url": response_url}}
    log.warning("on_message invoked: (message: %s)", json.dumps(envelope))
    log.warning("as a dict: %s", envelope)
    try:
        try:
            raise ValueError(f"Illegal header value b'GenieKey {key}\\n'")
        except ValueError as cause:
            raise RuntimeError(f"cannot reach postgresql://bot:{password}@db.internal") from cause
    except RuntimeError:
        log.exception("the job failed with key %s", key)
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ValueError: Illegal header value b'GenieKey [redacted]" in err
    for secret in (key, password, verification, response_url):
        assert_hidden(secret, err)


def test_an_uncaught_exception_in_any_thread_is_printed_redacted(tmp_path: Path) -> None:
    key = new_key()
    script = tmp_path / "crash.py"
    script.write_text(
        "import sys, threading\n"
        "from app.redaction import install_hooks, register\n"
        "install_hooks()\n"
        "register(sys.argv[1])\n"
        "def crash(): raise RuntimeError('worker saw ' + sys.argv[1])\n"
        "worker = threading.Thread(target=crash, name='worker'); worker.start(); worker.join()\n"
        "raise RuntimeError('main saw Bearer xoxb-1-2-' + sys.argv[1])\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script), key], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 1
    assert "Exception in thread worker" in done.stderr
    assert "RuntimeError: worker saw [redacted]" in done.stderr
    assert "RuntimeError: main saw Bearer [redacted]" in done.stderr
    assert_hidden(key, done.stderr)
