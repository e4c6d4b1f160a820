"""Plain-text formatting shared by the Slack renderers and the CLI (no Block Kit here)."""

from __future__ import annotations

from datetime import timedelta


def ago(delta: timedelta) -> str:
    """``just now``, ``2 min ago``, ``3 h 5 min ago``, ``2 days ago``."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min ago" if rest else f"{hours} h ago"
    return f"{minutes // (24 * 60)} days ago"
