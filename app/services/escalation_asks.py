"""Mentions that are answered in the thread without a new escalation: thanks, who is on call, follow-ups.

Each answer is said once per Slack event (the notices table holds the key), so a redelivered event
replies once. None of them tags anybody new or raises an alert: a follow-up inside a thread the bot
already escalated belongs to that escalation ("one alert per thread").
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from app.domain import AlertRef, Team
from app.model.messages import CourtesyReply, FollowUpReply, Message, WhoReply
from app.providers import ProviderError
from app.runtime import Runtime
from app.services import oncall_view
from app.services.escalation_mention import Mention
from app.services.escalation_pages import ALERTED
from app.services.notices import say_notice
from app.services.slack_users import name_of
from app.store.db import reading
from app.store.models import Escalation

log = logging.getLogger(__name__)


def reply_once(runtime: Runtime, mention: Mention, kind: str, message: Message, now: datetime) -> bool:
    """Post a reply in the mention's thread once per event (the notices table holds the key).

    A refused reply is unclaimed, so that a redelivery of the event may answer it.
    """
    outcome = say_notice(
        runtime, "*", mention.channel, kind, mention.event_id, message, now, thread_ts=mention.reply_thread
    )
    if outcome.result in ("done", "in_flight", "found"):
        log.info("mention %s already answered; ignoring the repeat", mention.event_id)
    return outcome.result == "posted"  # this call said it (the once-only gate for what follows)


def escalation_of_thread(runtime: Runtime, channel: str, thread_ts: str | None) -> Escalation | None:
    """The escalation the bot already opened in this thread (the first one), or None."""
    if not thread_ts:
        return None
    with reading(runtime.sessions) as session:
        row = session.scalars(
            select(Escalation)
            .where(Escalation.channel == channel, Escalation.thread_ts == thread_ts)
            .order_by(Escalation.id)
            .limit(1)
        ).first()
        if row is not None:
            session.expunge(row)
        return row


def answer_courtesy(runtime: Runtime, mention: Mention, now: datetime) -> None:
    """A thank-you gets a short reply that tags nobody."""
    language = runtime.config.channel_language(mention.channel)
    reply_once(runtime, mention, "mention_courtesy", CourtesyReply(language), now)


def answer_who(runtime: Runtime, mention: Mention, team: Team, now: datetime) -> None:
    """ "Who is on call?" gets the ``/oncall`` answer for the team, in the thread, in the team's time zone."""
    with reading(runtime.sessions) as session:
        current = oncall_view.on_call_now(session, runtime.config, [team], now)
    # A channel has many readers: the team's zone, not the asker's.
    answer = WhoReply(tuple(current), team.timezone, now, runtime.providers.label, team.language)
    reply_once(runtime, mention, "mention_who", answer, now)


def follow_up(runtime: Runtime, mention: Mention, row: Escalation, text: str, now: datetime) -> None:
    """A mention inside an escalated thread joins that escalation: said once, never a second alert.

    Where the pager takes notes and the alert exists, the message becomes a note on it (once: only the
    call that posted the reply adds it).
    """
    provider = runtime.providers.for_team(row.team)
    url = provider_url(runtime, row)
    notes = provider.can_page and provider.can_note and row.status in ALERTED
    payload = FollowUpReply(
        row.status,
        pager=provider.name,
        alert_id=row.alert_id,
        url=url,
        notes=notes,
        language=runtime.config.team_language(row.team),
    )
    said = reply_once(runtime, mention, "mention_follow_up", payload, now)
    log.info("mention %s joins escalation %s (no new alert)", mention.event_id, row.event_id)
    if said and notes:
        who = name_of(runtime, mention.user)
        try:
            provider.add_note(
                AlertRef(alias=row.alias or "", alert_id=row.alert_id), f"{who} in Slack: {text}", user=who
            )
        except ProviderError as error:
            log.warning(
                "escalation %s: the follow-up could not be noted on the alert: %s", row.event_id, error
            )


def provider_url(runtime: Runtime, row: Escalation) -> str | None:
    """The alert's address in the pager's web UI, when the alert exists and the pager gives one."""
    if not row.alert_id:
        return None
    provider = runtime.providers.for_team(row.team)
    try:
        return provider.alert_url(AlertRef(alias=row.alias or "", alert_id=row.alert_id))
    except Exception:  # a link is a courtesy: without it the reply still names the alert
        log.warning("no web address for alert %s of escalation %s", row.alert_id, row.event_id)
        return None
