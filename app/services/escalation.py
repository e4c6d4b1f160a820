"""Escalation: a mention of the bot tags the team's on-call people in a thread and, if asked, pages them.

The escalation row is the outbox: it is inserted first, keyed on Slack's event_id, so a redelivered or
duplicated event stops right there. The listener never calls the pager itself: with the page workers
running it lends the row's lease to one of them the moment the row is stored, so the alert is created while
the thread reply is still being posted (``page_queue``); without them the page is left due for
``retry_pending_pages``, the 15-second job. Any thread post Slack refused is left due for that job too.
The lease is held from the insert until the reply is recorded (and the page done), and nothing is written
once the job has taken the row over (a reply slower than the lease).

When the database refuses the insert (locked past the busy timeout, disk full), the reply still goes out
and the row waits in memory (``Runtime.unsaved``) until the page job stores it and pages; a crash before
that loses the page, never the reply (``app.services.escalation_record``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from app.domain import Team
from app.i18n import translator
from app.model.messages import MentionUnknownTeam, MentionUsage
from app.oncall_config import OncallConfig
from app.runtime import Runtime
from app.services import page_queue
from app.services.escalation_asks import (
    answer_courtesy,
    answer_who,
    escalation_of_thread,
    follow_up,
    reply_once,
)
from app.services.escalation_intent import Intent, read_intent
from app.services.escalation_lease import ESCALATION_LEASE, new_lease
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
from app.services.escalation_reply import reply_and_release, reply_later
from app.services.escalation_thread import on_call_now
from app.services.members import may_page
from app.services.slack_users import cached_language

__all__ = ["handle_mention", "mention_from_event", "retry_pending_pages"]

log = logging.getLogger(__name__)


def asks_to_page(config: OncallConfig, mention: Mention) -> bool:
    """True when the mention asks to page a paging team (pure: the listener picks its lane with it)."""
    route = route_mention(config, mention.channel, strip_bot_mention(mention.text, mention.bot_user_id))
    if route.kind != "escalate" or route.team is None or not route.team.pages:
        return False
    return read_intent(route.body, team_pages=True).kind == "page"


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


def handle_mention(runtime: Runtime, mention: Mention, now: datetime) -> str | None:  # noqa: PLR0911
    """Escalate one mention: record it, page (on a page worker) and reply in its thread; its status.

    The listener never calls the pager: a ``pending`` row goes to a page worker at once (or, without
    them, is left due for ``retry_pending_pages``), as is a row whose reply Slack refused. None when the
    mention was not an escalation (usage, unknown team) or was a repeat already handled.
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
                values = new_row(mention, team, body, [p.pager_id for p in people or []], now, pages=pages)
                limit, until = config.pages_per_user_per_hour, runtime.leases.until(now)
                row = record(session, values, limit, lease, until, now)
        except SQLAlchemyError as error:
            return reply_unrecorded(runtime, mention, team, body, now, error, pages=pages)
        if row is None:
            log.info("escalation %s already recorded; ignoring the repeat delivery", mention.event_id)
            return None
        log.info("escalation %s for team %s by %s: %s", mention.event_id, team.name, mention.user, row.status)
        if runtime.pages.running:
            # The page goes out now, on a page worker, beside the reply (on the mentions lane).
            joint = page_queue.lend(runtime, row.id, lease) if row.status == "pending" else None
            reply_later(runtime, row.id, mention.event_id, people, as_of, now, lease, joint)
            return row.status
        woken = reply_and_release(runtime, session, row, people, as_of, now, lease)
    if woken:
        runtime.wake(PAGES_JOB)  # page now, on the scheduler's thread, not in 15 s and not on Bolt's
    return row.status
