"""Pure renderers of the escalation's buttons and of what a press leaves in the message. No I/O here.

The action ids and the values drawn here live in ``app.model.buttons`` (the presses read the same ids).
"""

from __future__ import annotations

from typing import Any

from app.i18n import EN, Translator
from app.model.buttons import (
    ACK_ACTION,
    PAGE_ACTION,
    PRIORITIES,
    PRIORITY_ACTION,
    RESOLVE_ACTION,
    EscalationButtons,
    PressDone,
)
from app.model.messages import AlertChangedAtPager
from app.slack.blocks import context, escape
from app.slack.words import mention

__all__ = ["ACK_ACTION", "PAGE_ACTION", "PRIORITY_ACTION", "RESOLVE_ACTION", "actions", "press_done"]

Block = dict[str, Any]

BLOCK_PREFIX = "oncall.escalation.actions"


def _button(text: str, action_id: str, escalation_id: int, *, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": str(escalation_id),
    }
    if style:
        button["style"] = style
    return button


def _option(priority: str) -> Block:
    return {"text": {"type": "plain_text", "text": priority}, "value": priority}


def _actions(escalation_id: int, elements: list[Block]) -> Block:
    return {"type": "actions", "block_id": f"{BLOCK_PREFIX}.{escalation_id}", "elements": elements}


def page_actions(escalation_id: int, priority: str, t: Translator = EN) -> Block:
    """Page (at the team's default priority, or the one chosen in the select) and Resolve."""
    select = {
        "type": "static_select",
        "action_id": PRIORITY_ACTION,
        "placeholder": {"type": "plain_text", "text": t("Priority")},
        "options": [_option(p) for p in PRIORITIES],
        "initial_option": _option(priority if priority in PRIORITIES else "P3"),
    }
    page = _button(t("Page"), PAGE_ACTION, escalation_id, style="danger")
    return _actions(escalation_id, [page, select, _button(t("Resolve"), RESOLVE_ACTION, escalation_id)])


def resolve_actions(escalation_id: int, t: Translator = EN) -> Block:
    """Resolve only: a tag-only escalation is open until someone says it is done."""
    return _actions(escalation_id, [_button(t("Resolve"), RESOLVE_ACTION, escalation_id, style="primary")])


def alert_actions(escalation_id: int, t: Translator = EN) -> Block:
    """Acknowledge and Resolve, on the alert's confirmation."""
    ack = _button(t("Acknowledge"), ACK_ACTION, escalation_id, style="primary")
    return _actions(escalation_id, [ack, _button(t("Resolve"), RESOLVE_ACTION, escalation_id)])


def actions(buttons: EscalationButtons, t: Translator = EN) -> Block:
    """The actions block of ``buttons``."""
    if buttons.offer == "page":
        return page_actions(buttons.escalation_id, buttons.priority, t)
    if buttons.offer == "alert":
        return alert_actions(buttons.escalation_id, t)
    return resolve_actions(buttons.escalation_id, t)


def press_done(done: PressDone, t: Translator = EN) -> dict[str, Any]:
    """The chat.update payload of a pressed message: who did what in place of its buttons."""
    pager = t(done.pager) if done.pager else None  # "the rotation" is a message id, a pager's name stays
    if done.done == "paged":
        line = paged_by_line(done.user, done.priority, pager or t("the pager"), t)
    elif done.done == "acked":
        line = acked_line(done.user, pager, t)
    else:
        line = resolved_line(done.user, pager, t)
    keep = actions(done.keep, t) if done.keep is not None else None
    text, blocks = after_press(list(done.pressed), line, keep=keep)
    return {"text": text, "blocks": blocks}


def changed_at_pager(
    outcome: dict[str, Any], change: AlertChangedAtPager, t: Translator = EN
) -> dict[str, Any]:
    """The outcome message after its alert changed at the pager: who did it there, the buttons left."""
    lines = [acked_line(change.acked_by, None, t)] if change.acked_by else []
    pager, by = t(change.pager), escape(change.by or "")
    if change.state == "closed" and by:
        lines.append(t(":white_check_mark: Closed in {pager} by {by}, outside Slack.", pager=pager, by=by))
    elif change.state == "closed":
        lines.append(t(":white_check_mark: Closed in {pager}, outside Slack.", pager=pager))
    elif by:
        lines.append(t(":eyes: Acknowledged in {pager} by {by}.", pager=pager, by=by))
    else:
        lines.append(t(":eyes: Acknowledged in {pager}.", pager=pager))
    blocks = [*(outcome.get("blocks") or []), *(context(line) for line in lines)]
    if change.keep is not None:
        blocks.append(actions(change.keep, t))
    return {"text": f"{outcome.get('text', '')} {lines[-1]}".strip()[:3000], "blocks": blocks}


def after_press(blocks: list[Block], line: str, *, keep: Block | None) -> tuple[str, list[Block]]:
    """The pressed message again: its buttons replaced by ``line`` (and ``keep``, the buttons left)."""
    kept = [b for b in blocks if not str(b.get("block_id") or "").startswith(BLOCK_PREFIX)]
    kept.append(context(line))
    if keep is not None:
        kept.append(keep)
    texts = [b.get("text", {}).get("text", "") for b in kept if b.get("type") == "section"]
    return (" ".join(x for x in texts if x)[:3000] or line), kept


def paged_by_line(user: str, priority: str, pager: str, t: Translator = EN) -> str:
    """What the Page press leaves behind."""
    return t(
        ":rotating_light: {user} asked to page ({priority}); paging through {pager}.",
        user=mention(user, t),
        priority=escape(priority),
        pager=pager,
    )


def acked_line(user: str, pager: str | None, t: Translator = EN) -> str:
    """What the Acknowledge press leaves behind; ``pager`` None when there is none to tell."""
    if pager:
        return t(":eyes: Acknowledged by {user} (in {pager} too).", user=mention(user, t), pager=pager)
    return t(":eyes: Acknowledged by {user}.", user=mention(user, t))


def resolved_line(user: str, pager: str | None, t: Translator = EN) -> str:
    """What the Resolve press leaves behind."""
    if pager:
        return t(
            ":white_check_mark: Resolved by {user} (closed in {pager} too).",
            user=mention(user, t),
            pager=pager,
        )
    return t(":white_check_mark: Resolved by {user}.", user=mention(user, t))
