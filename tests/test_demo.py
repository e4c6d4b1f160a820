"""`oncall-bot demo` plays its scenario through the real bot and fails loudly when a step misbehaves."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from app import demo


@pytest.mark.parametrize(
    ("args", "source"),
    [
        ((), "a built-in rotation"),
        (("--provider", "opsgenie"), "Opsgenie"),
        (("--provider", "pagerduty"), "PagerDuty"),
        (("--provider", "jsm"), "JSM"),
    ],
    ids=["rotation", "opsgenie", "pagerduty", "jsm"],
)
def test_demo_runs_every_step_in_a_real_process(args: tuple[str, ...], source: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "demo", *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"against a local Slack and {source}" in done.stdout
    assert "All steps behaved." in done.stdout
    assert "✗" not in done.stdout
    assert "/oncall help" in done.stdout


def test_demo_exits_non_zero_when_a_step_misbehaves(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_step(scene: demo.Scene) -> None:
        payload = scene.slash("help")
        scene.transcript.expect(
            payload is not None and "no such text" in demo.blocks_text(payload), "impossible"
        )

    monkeypatch.setattr(demo, "STEPS", [broken_step])
    out = io.StringIO()
    assert demo.run_demo(out) is False
    assert "1 step(s) failed" in out.getvalue()
    assert "✗ impossible" in out.getvalue()
