"""The Socket Mode acks' payloads, redacted once per distinct answer body."""

from __future__ import annotations

import json
import threading

from app.redaction import redact_value


class RedactedBodies:
    """Bolt's answer bodies as redacted JSON, each distinct body redacted once.

    Redaction scans the whole text (~1 ms for every team's answer); the /oncall memo hands Bolt the
    same answer again and again, so the same body comes back: its redacted form is kept.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._kept: dict[tuple[str, bool], str] = {}
        self._lock = threading.Lock()

    def payload(self, body: str, *, is_json: bool) -> str:
        """The ack's payload for ``body`` (JSON, or plain text as ``{"text": body}``), redacted."""
        key = (body, is_json)
        with self._lock:
            found = self._kept.get(key)
        if found is not None:
            return found
        found = json.dumps(redact_value(json.loads(body) if is_json else {"text": body}))
        with self._lock:
            if len(self._kept) >= self._size:
                self._kept.pop(next(iter(self._kept)))  # the oldest first
            self._kept[key] = found
        return found
