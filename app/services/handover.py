"""The handover: one post per (team, shift start), in the team's zone, exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from app.chat import Key
from app.domain import Team
from app.model.buttons import got_it_value
from app.model.handover import HandoverView
from app.model.messages import HandoverPost, IncomingDm
from app.runtime import Runtime
from app.services import handover_plan
from app.services.handover_ledger import HandoverLedger, existing
from app.services.handover_view import gather, has_data
from app.services.notices import say_notice
from app.services.once import peek, say_once
from app.services.slack_users import language_for
from app.store import repo
from app.store.models import Handover

log = logging.getLogger(__name__)

# already_posted: Slack has it (read back when in doubt); in_progress: another attempt is posting it now;
# unknown: Slack gave no answer and could not be read back yet: the next attempt reads back, then posts.
# none: nothing to hand over (handover off, no shift change yet, or the same people stay on call).
Status = Literal[
    "posted",
    "already_posted",
    "late",
    "skipped_too_old",
    "dry_run",
    "failed",
    "in_progress",
    "unknown",
    "none",
]
EVENT_TYPE = "oncall_handover"  # the metadata event type of the handover post

LATE_AFTER = timedelta(minutes=10)  # the cron job fires on time; later than this, a catch-up posted it
CATCH_UP_DELAY = timedelta(minutes=2)  # the hourly catch-up's first run waits for the first refresh


@dataclass(frozen=True, slots=True)
class HandoverOutcome:
    """What one handover attempt did; ``text`` is the plain-text rendering for the CLI."""

    team: str
    shift_start: datetime | None  # None: the team has no handover to speak of (status "none")
    status: Status
    text: str = ""
    detail: str = ""


def _too_old(
    runtime: Runtime, team: Team, start: datetime, now: datetime, *, dry_run: bool
) -> HandoverOutcome:
    grace = runtime.config.handover_grace_hours
    detail = f"more than {grace:g} h ago" + ("; a real run would not post it" if dry_run else "")
    with runtime.sessions.begin() as session:
        row = existing(session, team, start)
        if row is not None and row.status == "posted":
            return HandoverOutcome(team.name, start, "already_posted", detail="posted before")
        if dry_run:
            return HandoverOutcome(team.name, start, "skipped_too_old", detail=detail)
        values = {
            "team": team.name,
            "shift_start": start,
            "created_at": now,
            "status": "skipped",
            "outgoing": [],
            "incoming": [],
            "detail": f"missed by more than {grace:g} h",
        }
        inserted = repo.insert_ignoring_duplicates(session, Handover, values)
    if inserted:
        log.warning(
            "skipped the %s handover of %s: %s late, beyond the grace of %g h",
            team.name,
            start.isoformat(),
            now - start,
            grace,
        )
    return HandoverOutcome(team.name, start, "skipped_too_old", detail=detail)


def _dm_incoming(runtime: Runtime, view: HandoverView, now: datetime) -> list[str]:
    """Direct-message each incoming person once (their own once-key), whatever retries the channel post."""
    failures = []
    team_language = runtime.config.team_language(view.team)
    for person in view.incoming:
        if not person.mapped or person.slack_user_id is None:
            continue
        # A direct message speaks its reader's Slack language (asked for when not cached yet).
        language = language_for(runtime, person.slack_user_id, team_language)
        dm = IncomingDm(view, language, got_it_value(view.team, view.start))
        key = f"{view.start.isoformat()}|{person.slack_user_id}"
        outcome = say_notice(runtime, view.team, person.slack_user_id, "handover_dm", key, dm, now)
        if not outcome.said and outcome.result != "in_flight":
            failures.append(f"DM to {person.slack_user_id}: {outcome.result} ({outcome.detail})")
    for failure in failures:
        log.warning("%s handover: %s", view.team, failure)
    return failures


_BY_RESULT: dict[str, Status] = {
    "done": "already_posted",
    "in_flight": "in_progress",
    "refused": "failed",
    "unknown": "unknown",
}


def _post(runtime: Runtime, team: Team, view: HandoverView, text: str, now: datetime) -> HandoverOutcome:
    """Post the handover once (reading back any earlier attempt's outcome), then DM the incoming people."""
    keyed = Key(EVENT_TYPE, f"{team.name}|{view.start.isoformat()}")
    outcome = say_once(
        runtime,
        HandoverLedger(team, view),
        lambda: runtime.slack.post_once(team.channel, keyed, HandoverPost(view, team.language)),
        lambda oldest: runtime.slack.find_once(team.channel, keyed, oldest=oldest),
        now,
        what=f"the {team.name} handover of {view.start.isoformat()}",
    )
    if outcome.result not in ("posted", "found"):
        status = _BY_RESULT[outcome.result]
        return HandoverOutcome(team.name, view.start, status, text, outcome.detail)
    # A handover found posted by an earlier attempt may lack its DMs: their own keys say which.
    failures = _dm_incoming(runtime, view, now)
    when = view.start.isoformat()
    log.info("posted the %s handover of %s%s", team.name, when, " (late)" if view.late else "")
    status = "late" if view.late else "posted"
    detail = "; ".join([*([outcome.detail] if outcome.result == "found" else []), *failures])
    return HandoverOutcome(team.name, view.start, status, text, detail)


def _dry_run(runtime: Runtime, team: Team, view: HandoverView, text: str, now: datetime) -> HandoverOutcome:
    """What the real run would do, without writing or posting anything."""
    held = peek(runtime, HandoverLedger(team, view), now)
    if held is not None:
        return HandoverOutcome(team.name, view.start, _BY_RESULT[held.result], text, held.detail)
    return HandoverOutcome(team.name, view.start, "dry_run", text, "late" if view.late else "")


def run_handover(runtime: Runtime, team: Team, now: datetime, *, dry_run: bool = False) -> HandoverOutcome:
    """Post (or with ``dry_run`` only render) the team's latest handover at or before ``now``."""
    with runtime.sessions.begin() as session:
        planned = handover_plan.at_or_before(session, team, now)
        known = has_data(session, team.name)
    if planned is None:
        why = "handover is off" if team.handover == "off" else "no shift change in the cached timeline yet"
        return HandoverOutcome(team.name, None, "none", detail=why)
    start = planned.start
    # The job fires a little after the handover time: an on-time post is never "too old", even when
    # the grace window for late posts is 0.
    grace = max(timedelta(hours=runtime.config.handover_grace_hours), LATE_AFTER)
    if now - start > grace:
        return _too_old(runtime, team, start, now, dry_run=dry_run)
    if not known:
        why = "the pager has not been read yet; will retry"
        return HandoverOutcome(team.name, start, "failed", detail=why)
    if planned.same_people:
        return HandoverOutcome(team.name, start, "none", detail="the same people stay on call")
    # Read first, then claim in a short write transaction that commits before Slack is called:
    # the claim must be visible to other replicas before the post can happen.
    with runtime.sessions.begin() as session:
        view = replace(gather(session, runtime.config, team, planned, now), late=now - start > LATE_AFTER)
    text = runtime.slack.plain_text(HandoverPost(view, team.language))  # --dry-run prints it as posted
    if dry_run:
        return _dry_run(runtime, team, view, text, now)
    return _post(runtime, team, view, text, now)


def catch_up(runtime: Runtime, now: datetime) -> list[HandoverOutcome]:
    """After downtime: post each missed handover once (late) within the grace window; skip older ones."""
    outcomes = []
    for team in runtime.config.teams:
        try:
            outcomes.append(run_handover(runtime, team, now))
        except Exception as error:  # one team's failure must not stall the others
            log.exception("handover catch-up for %s failed", team.name)
            outcomes.append(HandoverOutcome(team.name, None, "failed", detail=str(error)))
    return outcomes
