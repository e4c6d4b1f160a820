"""Plain-text formatting shared by the Slack renderers and the CLI (no Block Kit here)."""

from __future__ import annotations

from datetime import timedelta

from app.i18n import EN, Translator


def ago(delta: timedelta, t: Translator = EN) -> str:
    """``just now``, ``2 min ago``, ``3 h 5 min ago``, ``2 days ago`` (``たった今``, ``2分前`` …)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return t("just now")
    if minutes < 60:
        return t.ngettext("{n} min ago", "{n} min ago", minutes)
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        if rest:
            return t("{hours} h {minutes} min ago", hours=hours, minutes=rest)
        return t.ngettext("{n} h ago", "{n} h ago", hours)
    return t.ngettext("{n} day ago", "{n} days ago", minutes // (24 * 60))
