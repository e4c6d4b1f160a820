"""The escalation's buttons: Page (pending from a tag), Acknowledge and Resolve.

Each press is a state transition of its escalation, claimed with one conditional UPDATE (tag_only →
pending; not acknowledged → acknowledged; open → resolved), so a double-click or two people pressing
together page once and reach the pager once. Only members who are neither guests nor bots may press
(``app.services.members``); anyone else is told so privately. The Page press only makes the page due and
wakes the page job: it never waits on the pager. Acknowledge and Resolve call the pager (none for the
built-in rotation) and, when the pager refuses, give the claim back and say why, privately.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, literal, update

from app.domain import AlertRef
from app.i18n import N_, translator
from app.model.buttons import (
    ACK_ACTION,
    PAGE_ACTION,
    PRIORITIES,
    PRIORITY_ACTION,
    RESOLVE_ACTION,
    Done,
    EscalationButtons,
    PressDone,
)
from app.providers import Provider, ProviderError
from app.runtime import Runtime
from app.services import page_queue
from app.services.escalation_pages import ALERTED, PAGES_JOB
from app.services.escalation_record import over_limit
from app.services.members import Verdict, may_page
from app.services.presses import Press
from app.services.slack_users import cached_language, name_of
from app.store.base import UTCDateTime
from app.store.db import reading
from app.store.models import Escalation, SlackUser

log = logging.getLogger(__name__)


def _tell(runtime: Runtime, press: Press, message: str, **values: Any) -> None:
    """A private sentence (a message id) to the presser, in their Slack language, in the thread."""
    language = cached_language(runtime, press.user, runtime.config.channel_language(press.channel))
    text = translator(language)(message, **values)
    runtime.slack.try_ephemeral(press.channel, press.user, text=text, thread_ts=press.thread_ts)


def _refusal(verdict: Verdict) -> str:
    if verdict == "guest":
        return N_("Guests cannot page or act on alerts from Slack here; ask a member of the team to.")
    if verdict == "bot":
        return N_("Bots cannot page or act on alerts.")
    return N_("I could not check your Slack account just now, so nothing was done; press the button again.")


def _email(runtime: Runtime, user_id: str) -> str | None:
    """The presser's Slack profile email (cached before the press is handled): PagerDuty credits it."""
    with reading(runtime.sessions) as session:
        user = session.get(SlackUser, user_id)
    return user.email if user is not None and user.email else None


def _load(runtime: Runtime, escalation_id: int) -> Escalation | None:
    with reading(runtime.sessions) as session:
        row = session.get(Escalation, escalation_id)
        if row is not None:
            session.expunge(row)
        return row


def _at(moment: datetime) -> ColumnElement[datetime]:
    """``moment`` as a bound value of the UTC column type (inside a CASE nothing else gives it that type)."""
    return literal(moment, UTCDateTime())


def _changed(runtime: Runtime, escalation_id: int, *where: Any, **values: Any) -> bool:
    """One conditional UPDATE of the escalation; True when this call made the change."""
    with runtime.sessions.begin() as session:
        result = session.execute(
            update(Escalation).where(Escalation.id == escalation_id, *where).values(**values)
        )
    return bool(getattr(result, "rowcount", 0))


def _update(
    runtime: Runtime,
    press: Press,
    done: Done,
    pager: str | None,
    *,
    priority: str = "",
    keep: EscalationButtons | None = None,
) -> None:
    """Show in the pressed message who did what; the buttons left, if any."""
    language = runtime.config.channel_language(press.channel)  # the pressed message is in that channel
    message = PressDone(press.blocks, done, press.user, pager, priority, keep, language)
    runtime.slack.try_update(press.channel, press.message_ts, message)


def _page(runtime: Runtime, press: Press, row: Escalation, now: datetime) -> None:
    team = runtime.config.team(row.team)
    if team is None or not team.pages:
        _tell(runtime, press, N_("This team does not page from Slack."))
        return
    with reading(runtime.sessions) as session:
        limited = over_limit(session, press.user, runtime.config.pages_per_user_per_hour, now, besides=None)
    if limited:
        limit = runtime.config.pages_per_user_per_hour
        _tell(
            runtime,
            press,
            N_("Not paged: you reached the limit of {limit} pages per person per hour."),
            limit=limit,
        )
        return
    priority = press.selected.get(PRIORITY_ACTION) or row.priority
    priority = priority if priority in PRIORITIES else row.priority
    paged = _changed(
        runtime,
        row.id,
        Escalation.status == "tag_only",
        Escalation.closed_at.is_(None),
        status="pending",
        paged_by=press.user,
        priority=priority,
        alias=row.alias or f"slack-{row.channel}-{row.message_ts}",
        # Due at once: a page worker takes it from here. A worker may still hold the row (the listener
        # recording the reply this button came with): its lease keeps running and its release, seeing
        # the row pending, leaves it due now (escalation_lease.release) rather than done.
        next_attempt_at=case((Escalation.lease_token.is_(None), _at(now)), else_=Escalation.next_attempt_at),
        updated_at=now,
    )
    if not paged:
        fresh = _load(runtime, row.id)
        if fresh is not None and fresh.status != "tag_only":
            _tell(runtime, press, N_("This escalation was already paged; no second page was sent."))
        else:
            _tell(runtime, press, N_("Nothing was paged: this escalation is closed or busy; try again."))
        return
    log.info("escalation %s: %s pressed Page (%s)", row.event_id, press.user, priority)
    if runtime.pages.running:
        page_queue.submit(runtime, row.id)  # a page worker claims it now (the job is the safety net)
    else:
        runtime.wake(PAGES_JOB)
    pager = runtime.providers.for_team(team).name
    _update(runtime, press, "paged", pager, priority=priority)


@dataclass(frozen=True, slots=True)
class _Settle:
    """Acknowledge or Resolve: the claim (``by``/``at`` columns while ``open``), the pager call, the words."""

    done: Done
    by: str  # the column naming who pressed: acked_by, closed_by
    at: str  # the column of when: acked_at, closed_at
    open: tuple[ColumnElement[bool], ...]  # what must still hold for the press to change anything
    tell_pager: Callable[[Provider], Callable[..., str]]
    note: str  # what the pager's alert is told, with {name}
    already: str
    refused: str
    keep: EscalationButtons | None = None


def _settle(runtime: Runtime, press: Press, row: Escalation, now: datetime, how: _Settle) -> None:
    """Claim the press, tell the pager (when it was alerted), and give the claim back when it refuses."""
    values: dict[str, Any] = {how.by: press.user, how.at: now}
    if not _changed(runtime, row.id, *how.open, **values, updated_at=now):
        _tell(runtime, press, how.already)
        return
    provider = runtime.providers.for_team(row.team)
    alerted = provider.can_page and row.status in ALERTED
    if alerted:
        name = name_of(runtime, press.user)
        try:
            how.tell_pager(provider)(
                AlertRef(alias=row.alias or "", alert_id=row.alert_id),
                note=how.note.format(name=name),
                user=name,
                email=_email(runtime, press.user),
            )
        except ProviderError as error:
            given_back = getattr(Escalation, how.by) == press.user
            _changed(runtime, row.id, given_back, **{how.by: None, how.at: None})
            _tell(runtime, press, how.refused, error=str(error))
            return
    _update(runtime, press, how.done, provider.name if alerted else None, keep=how.keep)


def _ack(runtime: Runtime, press: Press, row: Escalation, now: datetime) -> None:
    keep = EscalationButtons(row.id, "resolve")
    _settle(runtime, press, row, now, replace(_ACKNOWLEDGE, keep=keep))


def _resolve(runtime: Runtime, press: Press, row: Escalation, now: datetime) -> None:
    _settle(runtime, press, row, now, _RESOLVE)


_ACKNOWLEDGE = _Settle(
    "acked",
    by="acked_by",
    at="acked_at",
    open=(Escalation.acked_at.is_(None), Escalation.closed_at.is_(None)),
    tell_pager=lambda provider: provider.acknowledge_alert,
    note="Acknowledged in Slack by {name}",
    already=N_("This escalation was already acknowledged or resolved."),
    refused=N_("Not acknowledged: {error}"),
)
_RESOLVE = _Settle(
    "resolved",
    by="closed_by",
    at="closed_at",
    open=(Escalation.closed_at.is_(None),),
    tell_pager=lambda provider: provider.close_alert,
    note="Resolved in Slack by {name}",
    already=N_("This escalation was already resolved."),
    refused=N_("Not resolved: {error}"),
)


VERBS = {PAGE_ACTION: _page, ACK_ACTION: _ack, RESOLVE_ACTION: _resolve}


def handle_press(runtime: Runtime, press: Press, now: datetime) -> None:
    """Act on a press of one of the escalation's buttons, once; the presser hears privately why not."""
    act = VERBS.get(press.action_id)
    if act is None:
        return  # the priority select: its choice travels with the Page press
    row = _load(runtime, int(press.value)) if press.value.isdigit() else None
    if row is None:
        _tell(runtime, press, N_("I no longer know this escalation; nothing was done."))
        return
    team = runtime.config.team(row.team)
    verdict = may_page(
        runtime, press.user, guests_may_page=bool(team and team.guests_may_page), cache_now=True
    )
    if verdict != "member":
        log.info(
            "escalation %s: %s pressed %s and was refused (%s)", row.event_id, press.user, press.verb, verdict
        )
        _tell(runtime, press, _refusal(verdict))
        return
    act(runtime, press, row, now)
