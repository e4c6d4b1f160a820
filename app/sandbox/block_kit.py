"""The sandbox's Block Kit checks: what real Slack refuses, worded as Slack words it.

Written apart from ``app/slack/limits_check.py`` on purpose: a fake that shared the product's checks
could never catch a mistake in them. Slack answers a refused message with ``invalid_blocks`` and a view with
``invalid_arguments``, both with ``response_metadata.messages`` like
``[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]``.
"""

from __future__ import annotations

from typing import Any

MAX_TEXT = 40_000  # chat.* `text`: longer is msg_too_long
MAX_VIEW_BYTES = 250_000  # views.*: a larger view (as JSON) is view_too_large
BLOCKS_PER = {"message": 50, "view": 100}
# (json key, item limit) of the arrays each block type may hold
_ARRAYS = {"context": ("elements", 10), "actions": ("elements", 25), "section": ("fields", 10)}
# the longest text of a block's own text object
_TEXTS = {"section": 3000, "header": 150}
_KNOWN = {
    "section",
    "header",
    "context",
    "actions",
    "divider",
    "image",
    "rich_text",
    "input",
    "file",
    "video",
}


def _long(pointer: str, limit: int) -> str:
    return f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _text_object(obj: Any, pointer: str, limit: int, plain_only: bool = False) -> list[str]:
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed or not isinstance(obj.get("text"), str):
        return [f"[ERROR] failed to match all allowed schemas [json-pointer:{pointer}]"]
    if not obj["text"]:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]"]
    return [_long(f"{pointer}/text", limit)] if len(obj["text"]) > limit else []


def _element(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"[ERROR] failed to match all allowed schemas [json-pointer:{pointer}]"]
    errors = []
    if element.get("type") in ("mrkdwn", "plain_text"):
        errors += _text_object(element, pointer, 3000)
    if element.get("type") == "button":
        errors += _text_object(element.get("text"), f"{pointer}/text", 75, plain_only=True)
        for key, limit in (("value", 2000), ("url", 3000)):
            if len(str(element.get(key) or "")) > limit:
                errors.append(_long(f"{pointer}/{key}", limit))
    if len(str(element.get("action_id") or "")) > 255:
        errors.append(_long(f"{pointer}/action_id", 255))
    return errors


def _block(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in _KNOWN:
        return [f"[ERROR] failed to match all allowed schemas [json-pointer:{pointer}]"]
    kind, errors = block["type"], []
    if len(str(block.get("block_id") or "")) > 255:
        errors.append(_long(f"{pointer}/block_id", 255))
    if kind in _TEXTS and (kind == "header" or "text" in block or "fields" not in block):
        errors += _text_object(
            block.get("text"), f"{pointer}/text", _TEXTS[kind], plain_only=kind == "header"
        )
    if kind in _ARRAYS and (kind != "section" or "fields" in block):
        key, most = _ARRAYS[kind]
        items = block.get(key)
        if not isinstance(items, list) or not items:
            errors.append(f"[ERROR] must provide at least 1 item [json-pointer:{pointer}/{key}]")
            items = []
        elif len(items) > most:
            errors.append(f"[ERROR] no more than {most} items allowed [json-pointer:{pointer}/{key}]")
        for index, item in enumerate(items):
            if kind == "section":
                errors += _text_object(item, f"{pointer}/{key}/{index}", 2000)
            else:
                errors += _element(item, f"{pointer}/{key}/{index}")
    if kind == "section" and "accessory" in block:
        errors += _element(block["accessory"], f"{pointer}/accessory")
    return errors


def block_errors(blocks: Any, *, surface: str = "message") -> list[str]:
    """Slack's messages for everything wrong in a blocks array (empty when Slack would take it)."""
    root = "/blocks" if surface == "message" else "/view/blocks"
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return [f"[ERROR] failed to match all allowed schemas [json-pointer:{root}]"]
    errors = []
    if len(blocks) > BLOCKS_PER[surface]:
        errors.append(f"[ERROR] no more than {BLOCKS_PER[surface]} items allowed [json-pointer:{root}]")
    for index, block in enumerate(blocks):
        errors += _block(block, f"{root}/{index}")
    return errors
