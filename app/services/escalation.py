"""Escalation: a mention of the bot tags the team's on-call people in a thread and, if asked, pages them.

The escalation row is the outbox: it is inserted first, keyed on Slack's event_id, so a redelivered or
duplicated event stops right there. The listener then only replies in the thread; the page (and any thread
post Slack refused) is left due for ``retry_pending_pages``, the 15-second job, so that a slow pager never
holds one of Bolt's few listener threads. The listener holds the row's lease from the insert until it has
recorded its reply, and writes nothing once the job has taken the row over (a reply slower than the lease).

When the database refuses the insert (locked past the busy timeout, disk full), the reply still goes out
and the row waits in memory (``Runtime.unsaved``) until the page job stores it and pages; a crash before
that loses the page, never the reply (``app.services.escalation_record``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from app.chat import Sent, Unknown
from app.domain import Team
from app.i18n import translator
from app.model.messages import MentionUnknownTeam, MentionUsage
from app.runtime import Runtime
from app.services.escalation_asks import (
    answer_courtesy,
    answer_who,
    escalation_of_thread,
    follow_up,
    reply_once,
)
from app.services.escalation_intent import Intent, read_intent
from app.services.escalation_lease import ESCALATION_LEASE, LeaseLost, hold, new_lease
from app.services.escalation_mention import (
    Mention,
    mention_from_event,
    plain_text,
    route_mention,
    strip_bot_mention,
)
from app.services.escalation_pages import (
    PAGES_JOB,
    retry_pending_pages,  # the job, re-exported
)
from app.services.escalation_record import new_row, record, reply_unrecorded
from app.services.escalation_thread import (
    on_call_now,
    permalink_of,
    record_post,
    reply_message,
    send_thread_post,
)
from app.services.members import may_page
from app.services.slack_users import cached_language
from app.store.models import Escalation

__all__ = ["handle_mention", "mention_from_event", "retry_pending_pages"]

log = logging.getLogger(__name__)


def _answered_without_escalating(
    runtime: Runtime, mention: Mention, team: Team, intent: Intent, names: list[str], now: datetime
) -> bool:
    """Answer help, thanks, a follow-up in an escalated thread or "who is on call?"; False for the rest."""
    if intent.kind == "help":
        reply_once(runtime, mention, "mention_usage", MentionUsage(tuple(names), team.language), now)
        return True
    if intent.kind == "courtesy":
        answer_courtesy(runtime, mention, now)
        return True
    earlier = escalation_of_thread(runtime, mention.channel, mention.thread_ts)
    if earlier is not None:  # one alert per thread: this mention joins the escalation already here
        follow_up(runtime, mention, earlier, plain_text(intent.body), now)
        return True
    if intent.kind == "who":
        answer_who(runtime, mention, team, now)
        return True
    return False


def _may_page_now(runtime: Runtime, mention: Mention, team: Team) -> bool:
    """True when the asker may page; a guest or bot is told privately, an unknown asker gets the button."""
    verdict = may_page(runtime, mention.user, guests_may_page=team.guests_may_page)
    if verdict in ("guest", "bot"):
        log.info(
            "mention %s asked to page; %s is a %s: tagging only", mention.event_id, mention.user, verdict
        )
        t = translator(cached_language(runtime, mention.user, team.language))  # a private sentence: theirs
        text = t("Guests and bots cannot page from Slack here; I tagged the on-call people instead.")
        runtime.slack.try_ephemeral(mention.channel, mention.user, text=text, thread_ts=mention.reply_thread)
    return verdict == "member"


def handle_mention(runtime: Runtime, mention: Mention, now: datetime) -> str | None:
    """Escalate one mention: record it and reply in its thread; returns the escalation's status.

    The listener never calls the pager: a ``pending`` row is left due for ``retry_pending_pages``, as is
    a row whose reply Slack refused. None when the mention was not an escalation (usage, unknown team)
    or was a repeat already handled.
    """
    config = runtime.config
    text = strip_bot_mention(mention.text, mention.bot_user_id)
    route = route_mention(config, mention.channel, text)
    names = [team.name for team in config.teams]
    language = config.channel_language(mention.channel)  # the thread is in this channel
    if route.kind == "help":
        reply_once(runtime, mention, "mention_usage", MentionUsage(tuple(names), language), now)
        return None
    if route.kind == "unknown_team" or route.team is None:
        unknown = MentionUnknownTeam(route.word, tuple(names), language)
        reply_once(runtime, mention, "mention_unknown_team", unknown, now)
        return None
    team, intent = route.team, read_intent(route.body, team_pages=route.team.pages)
    if _answered_without_escalating(runtime, mention, team, intent, names, now):
        return None
    body = plain_text(intent.body)
    pages = intent.kind == "page" and _may_page_now(runtime, mention, team)
    lease = new_lease()
    # One session, several short transactions: the row is committed before anything leaves the
    # process, and no write lock is held while Slack is called. The heartbeat renews the listener's
    # lease while it works; a killed process's row is free again within one lease.
    with runtime.leases.holding(ESCALATION_LEASE, lease), runtime.sessions() as session:
        try:
            with session.begin():
                people, as_of = on_call_now(session, config, team.name)
                values = new_row(mention, team, body, [email for email, _ in people or []], now, pages=pages)
                limit, until = config.pages_per_user_per_hour, runtime.leases.until(now)
                row = record(session, values, limit, lease, until, now)
        except SQLAlchemyError as error:
            return reply_unrecorded(runtime, mention, team, body, now, error, pages=pages)
        if row is None:
            log.info("escalation %s already recorded; ignoring the repeat delivery", mention.event_id)
            return None
        reply = reply_message(runtime, row, people, as_of, now)
        sent = send_thread_post(runtime, row, "reply", reply, read_back_first=False)
        reply_ts = sent.ts if isinstance(sent, Sent) else None
        record_post(session, row, "reply", reply_ts, now, lease, unknown=isinstance(sent, Unknown))
        # Release the row: due now when a page or the reply is still owed, else done.
        due = now if row.status == "pending" or reply_ts is None else None
        try:
            hold(session, row.id, lease, now, next_attempt_at=due, lease_token=None)
        except LeaseLost:
            log.warning(
                "escalation %s: the reply outlasted the lease; the job has taken it over", row.event_id
            )
            due = None
        # The link lets the page and the handover point at the conversation; it is the same whoever asks.
        link = permalink_of(runtime, row.channel, row.message_ts)
        if link is not None:
            with session.begin():
                session.execute(
                    update(Escalation)
                    .where(Escalation.id == row.id, Escalation.permalink.is_(None))
                    .values(permalink=link)
                )
        log.info("escalation %s for team %s by %s: %s", mention.event_id, team.name, mention.user, row.status)
    if due is not None:
        runtime.wake(PAGES_JOB)  # page now, on the scheduler's thread, not in 15 s and not on Bolt's
    return row.status
