"""LOG_FORMAT=json: one JSON object per line, with the team and Slack event id a record is about."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# What the code is working on right now (a cycle's team, a Socket Mode envelope's event id): set where
# the work starts, read by every record logged under it, also on the threads the work hands over to.
_CONTEXT: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039 - never mutated


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Tag every record logged inside the block (on this thread) with ``fields`` (team=, event_id=)."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class ContextThreadPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in the submitter's log context (Bolt's listener pool is one)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Submit ``fn`` to run inside a copy of the caller's context."""
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


class ContextFields(logging.Filter):
    """Copy the current log_context onto each record (a field given with ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Never drops a record."""
        for key, value in _CONTEXT.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """time, level, logger, message (+ team, event_id, exception when there are any), one line each."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON; the message was redacted by the handler's filter already."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("team", "event_id"):
            value = getattr(record, key, None)
            if value:
                entry[key] = str(value)
        if record.exc_info:
            entry["exception"] = self._redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = self._redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)
