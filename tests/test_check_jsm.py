"""`oncall-bot check` and JSM: per team the schedule, the people and paging, before a move and after it.

Nothing is ever paged: the alert API is shown to work by a search that matches no alert.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.checks import report, run_checks
from app.config import Settings
from app.oncall_config import load_oncall_config
from app.runtime import utc_now
from app.sandbox import JSM_API_TOKEN, Sandbox
from app.sandbox.jsm import account_id_for
from app.sandbox.world import PEOPLE_LINE, SCHEDULE, seed, write_config

CAROL = account_id_for("carol@corp.example")
MOVING = "team data on JSM (before the move)"


def check(sandbox: Sandbox, tmp_path: Path, text: str) -> tuple[dict[str, tuple[bool, bool, str]], bool]:
    """Run every check with JSM's variables set; the lines by name, and whether check passed."""
    path = write_config(tmp_path, text)
    env = {key.lower(): value for key, value in {**sandbox.env(), **sandbox.jsm_env()}.items()}
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        **env,
        database_url=f"sqlite:///{tmp_path}/oncall.db",
        oncall_config=path,
    )
    results = run_checks(settings, load_oncall_config(path))
    _, passed = report(results)
    return {r.name: (r.ok, r.note, r.line()) for r in results}, passed


def test_an_opsgenie_team_is_shown_ready_for_jsm_and_nobody_is_paged(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    world = seed(sandbox, utc_now(), escalate="page")
    lines, passed = check(sandbox, tmp_path, world.config_text)
    assert passed, lines  # still on Opsgenie: what JSM lacks is advice, not a failure
    ok, note, line = lines[f"{MOVING}: schedule {SCHEDULE!r}"]
    assert (ok, note) == (True, True)
    assert f"ready: found (id {sandbox.jsm.schedule(SCHEDULE).id}); on call now: {CAROL}" in line
    _, _, line = lines[f"{MOVING}: people"]
    # Exactly the line the teams file still needs, ready to paste.
    assert (
        f'NOT READY: Carol ({CAROL}) hides their email in Atlassian: add under [people]: "{CAROL}" = "U…"'
        in line
    )
    _, _, line = lines[f"{MOVING}: paging"]
    assert "ready: the alert API accepts the account (a search that matches no alert)" in line
    assert sandbox.jsm.alerts() == []
    assert sandbox.opsgenie.alerts() == []

    lines, passed = check(sandbox, tmp_path, world.config_text + PEOPLE_LINE)
    assert passed
    _, _, line = lines[f"{MOVING}: people"]
    assert re.search(r"ready: all [23] on call in the next 14 days reach Slack", line), line


def test_an_opsgenie_team_whose_schedule_jsm_lacks_is_not_ready_yet(sandbox: Sandbox, tmp_path: Path) -> None:
    world = seed(sandbox, utc_now())
    text = world.config_text.replace(f'schedule = "{SCHEDULE}"', 'schedule = "not_in_jsm"')
    sandbox.opsgenie.add_schedule("not_in_jsm")
    lines, passed = check(sandbox, tmp_path, text)
    assert passed
    ok, note, line = lines[f"{MOVING}: schedule 'not_in_jsm'"]
    assert (ok, note) == (True, True)
    assert "NOT READY: JSM has no schedule named 'not_in_jsm' that oncall-bot@corp.example can see" in line
    assert f"{MOVING}: people" not in lines  # nothing more to say without the schedule


def test_a_jsm_team_gets_its_account_schedule_people_and_paging_checked(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    world = seed(sandbox, utc_now(), escalate="page", provider="jsm")
    lines, passed = check(sandbox, tmp_path, world.config_text)
    assert passed, lines
    assert lines["JSM account oncall-bot@corp.example"][2].endswith("accepted: 1 of 1 schedule(s) readable")
    assert f"readable; on call now: {CAROL}" in lines[f"team data: schedule {SCHEDULE!r}"][2]
    assert re.search(r"all [23] on call in the next 14 days reach Slack", lines["team data: JSM people"][2])
    assert "alert API accepts the account" in lines["team data: JSM paging"][2]
    assert not [name for name in lines if name.startswith(MOVING)]  # already moved
    assert sandbox.jsm.alerts() == []


def test_jsm_failures_are_one_line_each_with_a_hint_and_no_secret(sandbox: Sandbox, tmp_path: Path) -> None:
    world = seed(sandbox, utc_now(), escalate="page", provider="jsm")
    sandbox.jsm.hide_schedule(SCHEDULE)
    lines, passed = check(sandbox, tmp_path, world.config_text)
    assert not passed
    ok, _, line = lines[f"team data: schedule {SCHEDULE!r}"]
    assert not ok
    assert "JSM answers empty lists instead of refusing" in line
    sandbox.jsm.hide_schedule(SCHEDULE, hidden=False)
    sandbox.jsm.api_token = "rotated-token-000"
    lines, passed = check(sandbox, tmp_path, world.config_text)
    assert not passed
    ok, _, line = lines["JSM account oncall-bot@corp.example"]
    assert not ok
    assert "check JSM_EMAIL and JSM_API_TOKEN" in line
    assert "id.atlassian.com" in line
    assert not lines["team data: JSM paging"][0]
    assert JSM_API_TOKEN not in str(lines)
