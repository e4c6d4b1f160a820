"""The README starts with the two commands, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text.split("---", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", head, flags=re.DOTALL)


def test_readme_starts_with_demo_and_test_commands() -> None:
    demo, tests = readme_commands()
    assert demo.startswith("python3 -m venv .venv")
    assert demo.endswith("oncall-bot demo")
    assert tests.startswith("python3 -m venv .venv")
    assert "pytest" in tests
    assert ".venv/bin/mypy && " in tests  # types are checked before the tests run


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()
