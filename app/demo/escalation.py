"""Demo step: alice mentions the bot in the team channel; the thread reply, the page and its confirmation."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from app.demo.scene import Scene, readable
from app.sandbox.world import CHANNEL, PEOPLE, SCHEDULE
from app.services.cycle import run_cycle
from app.services.escalation_pages import retry_pending_pages

TEXT = "the revenue dashboard is empty since 9:00, P2"
WAIT = 10.0  # seconds the bot gets to reply and to confirm the page


def _shown(message: dict[str, Any]) -> str:
    """A posted message's blocks as the lines a reader sees."""
    lines = []
    for block in message.get("blocks") or []:
        if block.get("text"):
            lines.append(block["text"]["text"])
        if block.get("type") == "actions":  # buttons show as [Page] [Resolve]
            labels = [e["text"]["text"] for e in block["elements"] if e.get("type") == "button"]
            lines.append(" ".join(f"[{label}]" for label in labels))
            continue
        lines.extend(element["text"] for element in block.get("elements") or [] if element.get("text"))
    return readable("\n".join(lines) or message.get("text", ""))


def _thread(scene: Scene, ts: str, count: int) -> list[dict[str, Any]]:
    """The bot's replies in the thread on ``ts``, waiting (up to WAIT) until there are ``count``."""
    deadline = time.monotonic() + WAIT
    while True:
        replies = [m for m in scene.sandbox.slack.messages(CHANNEL) if m.get("thread_ts") == ts]
        if len(replies) >= count or time.monotonic() > deadline:
            return replies
        time.sleep(0.05)


def _run_page_job(scene: Scene) -> int:
    """Run the page job as its 15-second schedule would, once the listener has handed the page over."""
    runtime = scene.bot.runtime
    deadline = time.monotonic() + WAIT
    while not (worked := retry_pending_pages(runtime, runtime.now())) and time.monotonic() < deadline:
        time.sleep(0.05)
    return worked


def _on_call(scene: Scene, now: datetime) -> list[str]:
    """Who the team's source says is on call: Opsgenie's sandbox, or the bot's own rotation."""
    if scene.provider != "rotation":
        return scene.pager_on_call(now)
    team = scene.bot.runtime.config.teams[0]
    return list(scene.bot.runtime.providers.for_team(team).on_call(team.schedule, now).people)


def _direct_messages(scene: Scene, ts: str, expected: list[str]) -> None:
    """A rotation team has no pager: the job sends the on-call people a direct message instead."""
    say, expect, slack, t = scene.transcript.say, scene.transcript.expect, scene.sandbox.slack, scene.t
    on_call = [user_id for user_id, *_ in PEOPLE if f"<@{user_id}>" in expected]
    say("  » " + t("the bot's page job runs (every 15 s in the background; here at once): no pager to call"))
    expect(_run_page_job(scene) == 1, t("the job takes the pending escalation"))
    dms = [
        (handle, m) for user_id, handle, *_ in PEOPLE for m in slack.messages(user_id) if TEXT[:20] in str(m)
    ]
    for handle, dm in dms:
        scene.transcript.quote(t("oncall-bot → DM to {person}", person=handle), _shown(dm))
    expect(sorted(handle for handle, _ in dms) == sorted(h for u, h, *_ in PEOPLE if u in on_call),
           t("each on-call person got one direct message with the text and the thread's link"))  # fmt: skip
    replies = _thread(scene, ts, 2)
    _quote_replies(scene, replies[1:])
    expect(
        len(replies) == 2
        and scene.words(
            "No pager to call: I sent {who} a direct message with this message and a link to this thread."
        )
        in replies[1]["text"],
        t("the thread is told who was messaged"),
    )


def _incident(scene: Scene, replies: list[dict[str, Any]]) -> None:
    """A PagerDuty team's page is one Events API trigger: PagerDuty opens an incident on the service."""
    say, expect, t = scene.transcript.say, scene.transcript.expect, scene.t
    incidents = scene.sandbox.pagerduty.incidents()
    for incident in incidents:
        say(
            "  "
            + t(
                "PagerDuty incident on the service: “{summary}” severity {severity} (dedup key {key})",
                summary=incident["summary"],
                severity=incident["severity"],
                key=incident["dedup_key"],
            )
        )
    one = t("one incident, P2 as severity error")
    expect(len(incidents) == 1 and incidents[0]["severity"] == "error", one)
    confirmed = len(replies) == 2 and bool(incidents) and incidents[0]["dedup_key"] in replies[1]["text"]
    expect(confirmed, t("the thread is told the incident's dedup key"))


def _jsm_alert(scene: Scene, replies: list[dict[str, Any]]) -> None:
    """A JSM team's page is one alert through the Ops REST API, the schedule (by id) as responder."""
    expect, t = scene.transcript.expect, scene.t
    alerts = scene.sandbox.jsm.alerts()
    schedule_id = scene.sandbox.jsm.schedule(SCHEDULE).id
    for alert in alerts:
        _say_alert(scene, alert, ", ".join(f"{r['type']} {r['id']}" for r in alert.get("responders", [])))
    expect(
        len(alerts) == 1 and alerts[0]["priority"] == "P2" and schedule_id in str(alerts[0]["responders"]),
        t("one P2 alert with the team's schedule (found by name, sent by id) as responder"),
    )
    confirmed = len(replies) == 2 and bool(alerts) and alerts[0]["id"] in replies[1]["text"]
    expect(confirmed, t("the thread is told the alert's id once JSM processed the request"))


def _say_alert(scene: Scene, alert: dict[str, Any], responders: str) -> None:
    """One line for an alert the pager's sandbox holds: its short id, text, priority and responders."""
    t = scene.t
    line = t(
        "{pager} alert {id}: “{text}” {priority} → {responders}",
        pager=scene.pager,
        id=alert["tinyId"],
        text=alert["message"],
        priority=alert["priority"],
        responders=responders,
    )
    scene.transcript.say(f"  {line}")


def _quote_replies(scene: Scene, replies: list[dict[str, Any]]) -> None:
    """Quote the bot's replies in the thread."""
    for reply in replies:
        scene.transcript.quote(scene.t("oncall-bot, in the thread"), _shown(reply))


def demo_step(scene: Scene) -> None:
    """Mention the bot in the data channel; show the thread reply, the page (or the DMs), its outcome."""
    say, expect, sandbox, t = scene.transcript.say, scene.transcript.expect, scene.sandbox, scene.t
    runtime = scene.bot.runtime
    say("\n== " + t("Escalating: mention the bot"))  # the demo's team pages: escalate = "page" in its config
    now = runtime.now()
    run_cycle(runtime, now)  # the cache knows who is on call, as the scheduled refresh keeps it
    on_call = _on_call(scene, now)
    expected = [f"<@{user_id}>" for user_id, _, email, _ in PEOPLE if email in on_call]
    alice = next(user_id for user_id, handle, *_ in PEOPLE if handle == "alice")
    ts = f"{time.time():.6f}"
    say("  » " + t("alice writes in {channel}: @oncall-bot {text}", channel="#data-team", text=TEXT))
    event = {"type": "app_mention", "user": alice, "text": f"<@{scene.bot.bot_user_id}> {TEXT}"}
    sandbox.slack.socket.push_event({**event, "ts": ts, "channel": CHANNEL})
    replies = _thread(scene, ts, 1)
    _quote_replies(scene, replies)
    first = replies[0]["text"] if replies else ""
    expect(bool(expected) and all(m in first for m in expected), t("the thread reply tags who is on call"))
    pending = (
        scene.words("Paging through {pager} (pending)."),
        scene.words("No pager: messaging the on-call people directly (pending)."),
    )
    expect(any(words in first for words in pending), t("the reply says the page is on its way"))
    if scene.provider == "rotation":
        _direct_messages(scene, ts, expected)
        return
    waited = {"pagerduty": sandbox.pagerduty.events, "jsm": sandbox.jsm.alerts}.get(
        scene.provider, sandbox.opsgenie.alerts
    )()
    expect(not waited, t("the mention itself never waits on {pager}", pager=scene.pager))
    say("  » " + t("the bot's page job runs (every 15 s in the background; here at once)"))
    expect(_run_page_job(scene) == 1, t("the job takes the pending page"))
    replies = _thread(scene, ts, 2)
    _quote_replies(scene, replies[1:])
    if scene.provider == "pagerduty":
        _incident(scene, replies)
        return
    if scene.provider == "jsm":
        _jsm_alert(scene, replies)
        return
    alerts = sandbox.opsgenie.alerts()
    for alert in alerts:
        _say_alert(scene, alert, ", ".join(r.get("name", "?") for r in alert.get("responders", [])))
    expect(len(alerts) == 1 and alerts[0]["priority"] == "P2", t("one P2 alert for the team's schedule"))
    confirmed = len(replies) == 2 and bool(alerts) and alerts[0]["id"] in replies[1]["text"]
    expect(confirmed, t("the thread is told the alert's id once it exists"))
