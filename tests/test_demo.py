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
    assert "1 step failed:" in out.getvalue()
    assert "✗ impossible" in out.getvalue()


def test_the_japanese_demo_narrates_in_japanese_too() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--language", "ja"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("oncall-bot デモ: ")
    assert lines[-1] == "すべてのステップが期待どおりに動きました。"
    # Every narration line (a step's title, what happens, each check) is in Japanese, not only the bot's.
    narration = [line for line in lines if line.startswith(("== ", "  » ", "  ✓ ", "  ✗ ", "» "))]
    assert len(narration) > 30
    english = [line for line in narration if line.split(maxsplit=1)[1].isascii()]
    assert english == []
