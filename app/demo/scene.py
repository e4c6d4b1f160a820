"""The demo's stage: a transcript that prints the scenario, and the scene each step plays on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from app.i18n import Translator, translator
from app.runtime import utc_now
from app.sandbox import Sandbox
from app.sandbox.jsm import JsmSandbox
from app.sandbox.opsgenie import OpsgenieSandbox
from app.sandbox.pagerduty import PagerDutySandbox
from app.sandbox.world import CHANNEL, PEOPLE, SCHEDULE
from app.wiring import RunningBot

ACK_DEADLINE = 3.0


def blocks_text(payload: dict[str, Any] | None) -> str:
    """Flatten a message or ack payload's blocks (or text) into plain lines for the transcript."""
    if not payload:
        return "(empty)"
    lines: list[str] = []
    for block in payload.get("blocks") or []:
        if block.get("type") in ("section", "header") and block.get("text"):
            lines.append(block["text"]["text"])
        for item in block.get("fields") or []:
            lines.append(item["text"])
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("text"):
                text = element["text"]
                lines.append(text["text"] if isinstance(text, dict) else text)
    return "\n".join(lines) if lines else str(payload.get("text", ""))


def readable(text: str) -> str:
    """Mentions as @handles, as Slack shows them to a reader."""
    for user_id, handle, *_ in PEOPLE:
        text = text.replace(f"<@{user_id}>", f"@{handle}")
    return text


class DemoClock:
    """The demo bot's clock: the wall clock, until a step stops it at a moment of the scenario.

    The runtime is built with it, so a step moves the bot's time without touching the runtime.
    """

    def __init__(self) -> None:
        self._at: datetime | None = None

    def __call__(self) -> datetime:
        """The instant the bot sees (aware UTC)."""
        return self._at if self._at is not None else utc_now()

    def stop_at(self, moment: datetime | None) -> None:
        """Show the bot ``moment`` from now on; None: the wall clock again."""
        self._at = moment


class Transcript:
    """Prints the scenario as a conversation and counts the steps that misbehaved."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failures: list[str] = []

    def say(self, text: str = "") -> None:
        """Print a line of narration."""
        print(text, file=self.out, flush=True)

    def quote(self, who: str, text: str) -> None:
        """Print what someone (or the bot) said, indented."""
        self.say(f"  {who}:")
        for line in text.splitlines() or [""]:
            self.say(f"    │ {line}")

    def expect(self, ok: bool, what: str) -> None:
        """Record a check of the scenario; a failed one makes the demo exit non-zero."""
        self.say(f"  {'✓' if ok else '✗'} {what}")
        if not ok:
            self.failures.append(what)


@dataclass
class Scene:
    """What a demo step may use: the sandbox, the running bot and the transcript."""

    sandbox: Sandbox
    bot: RunningBot
    transcript: Transcript
    provider: str = "rotation"  # where the team's on-call comes from: "rotation" (no pager) or a pager
    language: str = "en"  # the team's language, and its people's Slack language
    clock: DemoClock = field(default_factory=DemoClock)  # the clock the bot's runtime was built with

    @property
    def t(self) -> Translator:
        """What the bot says in the scene's language: the steps check the bot's answers against it."""
        return translator(self.language)

    def words(self, message: str) -> str:
        """The longest fixed part of ``message`` (no placeholder) as the bot says it in this language."""
        return max(re.split(r"\{[^{}]*\}", self.t(message)), key=len).strip()

    @property
    def pager(self) -> str:
        """The pager's name as people read it."""
        return {"pagerduty": "PagerDuty", "jsm": "JSM"}.get(self.provider, "Opsgenie")

    def _pager_sandbox(self) -> OpsgenieSandbox | PagerDutySandbox | JsmSandbox:
        if self.provider == "jsm":
            return self.sandbox.jsm
        return self.sandbox.pagerduty if self.provider == "pagerduty" else self.sandbox.opsgenie

    def pager_on_call(self, at: datetime) -> list[str]:
        """Who the pager's sandbox says is on call for the team's schedule at ``at`` (emails)."""
        return self._pager_sandbox().on_call_at(SCHEDULE, at)

    def pager_override(self, email: str, start: datetime, end: datetime) -> None:
        """In the pager, the person with ``email`` takes over from ``start`` to ``end``."""
        self._pager_sandbox().add_override(SCHEDULE, email, start, end)

    def slash(self, text: str, *, user: str = "alice", channel: str = CHANNEL) -> dict[str, Any] | None:
        """Type ``/oncall text`` as ``user`` and return the ack's payload (None when no ack came)."""
        t = self.t
        user_id = next(p[0] for p in PEOPLE if p[1] == user)
        typed = f"/oncall {text}".rstrip()
        self.transcript.say(
            "\n» " + t("{user} types `{command}` in {channel}", user=user, command=typed, channel=channel)
        )
        envelope = self.sandbox.slack.socket.push_command(
            text, user_id=user_id, channel_id=channel, user_name=user
        )
        try:
            ack = self.sandbox.slack.socket.wait_for_ack(envelope, timeout=ACK_DEADLINE)
        except TimeoutError:
            self.transcript.expect(False, t("the bot acked within {seconds:.0f} s", seconds=ACK_DEADLINE))
            return None
        self.transcript.quote(
            t("oncall-bot (ephemeral, in the ack, {ms:.0f} ms)", ms=ack.latency * 1000),
            readable(blocks_text(ack.payload)),
        )
        within = t("answered in the ack within {seconds:.0f} s", seconds=ACK_DEADLINE)
        self.transcript.expect(ack.latency < ACK_DEADLINE, within)
        return ack.payload
