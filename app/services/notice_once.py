"""Say a channel notice once, keyed by what it says (the identity check and the shift-change notices)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import OperationalError

from app.domain import Team
from app.model.messages import Message
from app.runtime import Runtime
from app.services.notices import say_notice

log = logging.getLogger(__name__)

KEY_CHARS = 400  # Notice.key's column width

Said = Literal["posted", "said_before", "failed"]


def notice_key(*parts: str) -> str:
    """The parts joined into a notice key; hashed when longer than the column."""
    key = "|".join(parts)
    return key if len(key) <= KEY_CHARS else hashlib.sha256(key.encode()).hexdigest()


def say_team_notice(
    runtime: Runtime, team: Team, kind: str, key: str, message: Message, now: datetime
) -> Said:
    """Say the notice once (services/once.py: claim, post, read back an unknown outcome)."""
    try:
        outcome = say_notice(runtime, team.name, team.channel, kind, key, message, now)
    except OperationalError as error:  # locked for longer than the busy timeout: the next run tries again
        log.warning("%s notice for %s not claimed (will retry): %s", kind, team.name, error.orig)
        return "failed"
    if outcome.result == "posted":
        return "posted"
    if outcome.result in ("found", "done"):
        return "said_before"
    # Refused, unknown or in flight elsewhere: keep the old baseline so that a later refresh comes back.
    log.warning("%s notice for %s not posted yet (will retry): %s", kind, team.name, outcome.detail)
    return "failed"
