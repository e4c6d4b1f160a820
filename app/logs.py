"""Logging set-up: one line per record, and no token or API key ever reaches a log."""

from __future__ import annotations

import logging

from app.log_json import ContextFields, JsonFormatter
from app.redaction import format_exception, redact


class RedactSecrets(logging.Filter):
    """Run every record through the one redaction: its message, its traceback and its stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place, whatever formatter prints it later; never drops a record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # mismatched %-arguments: logging would print msg and args
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), None
        if record.exc_info:
            # Formatted here, through the redactor: a formatter never sees the raw exception.
            record.exc_text = format_exception(*record.exc_info).rstrip("\n")
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def setup_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Send logs to stderr at ``level`` as text or JSON lines, secrets redacted; quiet chatty libraries."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(redact))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    handler.addFilter(ContextFields())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("slack_sdk", "slack_bolt", "apscheduler", "httpx", "httpcore", "alembic", "websockets"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
