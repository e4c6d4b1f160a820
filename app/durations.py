"""One duration syntax for every setting: ``30m``, ``1h``, ``12h``, ``1d``, ``1w``, ``2w`` (and ``"off"``)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
OFF = "off"


def parse_duration(text: str) -> timedelta:
    """``"12h"`` → 12 hours: a whole number of minutes (m), hours (h), days (d) or weeks (w)."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"expected a duration like 30m, 12h, 1d or 2w, got {text!r}")
    amount = int(match.group(1))
    if amount == 0:
        raise ValueError(f"a duration must be longer than zero, got {text!r}")
    return amount * _UNITS[match.group(2)]


def parse_duration_or_off(text: str) -> timedelta | None:
    """Like parse_duration, but ``"off"`` (any case) is None: for settings that may be switched off."""
    if isinstance(text, str) and text.strip().lower() == OFF:
        return None
    try:
        return parse_duration(text)
    except ValueError:
        raise ValueError(f'expected a duration like 30m, 12h, 1d or 2w, or "off", got {text!r}') from None


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of ``value`` in this syntax (``timedelta(days=14)`` → ``2w``)."""
    minutes = int(value.total_seconds() // 60)
    for unit, size in (("w", 7 * 24 * 60), ("d", 24 * 60), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"
