"""Pure renderers of how a page ended, told in the escalation's thread: created, refused, unconfirmed."""

from __future__ import annotations

from app.i18n import EN, Translator
from app.slack.blocks import context, escape, plain, section
from app.slack.escalation_blocks import Message, message


def alert_link(alert_id: str, *, pager: str, url: str | None, t: Translator = EN) -> str:
    """``<url|Opsgenie alert 42>`` where the pager has a page for it, else the id as code."""
    if url:
        shown = t("{pager} alert {alert}", pager=pager, alert=escape(alert_id))
        return f"<{url}|{shown}>"
    code = f"`{escape(alert_id)}`"
    return t("{pager} alert {alert}", pager=pager, alert=code)


def page_confirmed(alert_id: str, *, pager: str, url: str | None = None, t: Translator = EN) -> Message:
    """The thread confirmation once the pager has created the alert: a link to it where the pager has one."""
    text = t(
        "Paged: {pager} alert {alert} created; the on-call people are being notified.",
        pager=pager,
        alert=escape(alert_id),
    )
    shown = alert_link(alert_id, pager=pager, url=url, t=t)
    return message(text, [section(t(":white_check_mark: Paged: {alert} created.", alert=shown))])


def page_failed(reason: str, *, pager: str, t: Translator = EN) -> Message:
    """The thread notice when the pager refused the alert for good (not a temporary outage)."""
    # The bot's own reasons are message ids (translated); a pager's or Slack's words stay as they said them.
    text = t("Could not page through {pager}: {reason}", pager=pager, reason=escape(plain(t(reason), 300)))
    blocks = [
        section(f":warning: {text}"),
        context(t("The on-call people are tagged above; reach them directly.")),
    ]
    return message(text, blocks)


def page_unconfirmed(reason: str, request_id: str, *, pager: str, t: Translator = EN) -> Message:
    """The thread notice when the pager accepted the page but never said whether the alert exists."""
    text = t(
        "The page was sent to {pager} (request {request}), but {pager} never confirmed it: "
        "{reason}. The alert may exist and the on-call people may have been paged.",
        pager=pager,
        request=escape(request_id),
        reason=escape(plain(t(reason), 300)),
    )
    blocks = [
        section(f":grey_question: {text}"),
        context(
            t(
                "Check {pager} for the alert before paging again; the on-call people are tagged above.",
                pager=pager,
            )
        ),
    ]
    return message(text, blocks)
