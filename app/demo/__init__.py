"""`oncall-bot demo`: the real bot against the local sandbox, a scripted scenario, a readable transcript.

One module per step of the tour (``oncall``, ``usergroup``, ``escalation``, ``handover``), the scene they
share (``scene``); this module starts the bot and plays them in order.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from app.config import Settings
from app.demo.escalation import demo_step as escalation_step
from app.demo.handover import demo_step as handover_step
from app.demo.oncall import demo_step as oncall_step
from app.demo.oncall import step_help
from app.demo.scene import DemoClock, Scene, Transcript, blocks_text
from app.demo.usergroup import step_usergroup_follows_the_pager
from app.oncall_config import load_oncall_config
from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.world import seed, write_config
from app.wiring import build_runtime, start_bot

__all__ = ["STEPS", "Scene", "blocks_text", "run_demo", "running_demo_bot"]

STEPS: list[Callable[[Scene], None]] = [
    step_help,
    step_usergroup_follows_the_pager,
    oncall_step,
    escalation_step,
    handover_step,  # last: it moves the bot's clock forward
]


@contextmanager
def running_demo_bot(out: TextIO, provider: str = "rotation", language: str = "en") -> Iterator[Scene]:
    """Start the sandbox, seed it, and run the real bot against it in a temporary directory.

    ``language`` "ja": the team speaks Japanese and its people read Slack in Japanese.
    """
    with tempfile.TemporaryDirectory(prefix="oncall-demo-") as tmp, Sandbox() as sandbox:
        world = seed(sandbox, utc_now(), escalate="page", provider=provider, language=language)
        config_path = write_config(Path(tmp), world.config_text)
        # The bot gets Slack's variables and the chosen pager's only: a rotation team needs no pager at all.
        env: dict[str, Any] = {
            key.lower(): value
            for key, value in {**sandbox.env(), **sandbox.jsm_env()}.items()
            if key.startswith(("SLACK_", f"{provider.upper()}_"))
        }
        settings = Settings(
            _env_file=None,  # the demo ignores the user's .env on purpose
            **env,
            database_url=f"sqlite:///{tmp}/oncall.db",
            oncall_config=config_path,
        )
        clock = DemoClock()
        runtime = build_runtime(settings, load_oncall_config(config_path), clock=clock)
        bot = start_bot(settings, runtime, start_jobs=False)
        try:
            sandbox.slack.socket.wait_connected(timeout=10)
            yield Scene(
                sandbox=sandbox,
                bot=bot,
                transcript=Transcript(out),
                provider=provider,
                language=language,
                clock=clock,
            )
        finally:
            bot.stop()


def run_demo(out: TextIO, provider: str = "rotation", language: str = "en") -> bool:
    """Play every step with the team's on-call from ``provider``, in ``language``; True when each behaved."""
    with running_demo_bot(out, provider, language) as scene:
        t = scene.t
        source = t("a built-in rotation") if provider == "rotation" else scene.pager
        scene.transcript.say(
            t(
                "oncall-bot demo: the real bot against a local Slack and {source} (no account needed)",
                source=source,
            )
        )
        for step in STEPS:
            step(scene)
        failures = scene.transcript.failures
        ending = (
            t("All steps behaved.")
            if not failures
            else t.ngettext("{n} step failed:", "{n} steps failed:", len(failures))
        )
        scene.transcript.say(f"\n{ending}")
        for failure in failures:
            scene.transcript.say(f"  - {failure}")
        return not failures
