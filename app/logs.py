"""Logging set-up: one line per record, and no token or API key ever reaches a log."""

from __future__ import annotations

import logging
import re

from app.log_json import ContextFields, JsonFormatter

_SECRET = re.compile(r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|GenieKey\s+\S+)")


def redact(text: str) -> str:
    """``text`` with anything shaped like a Slack token or an Opsgenie key replaced by a marker."""
    return _SECRET.sub("[redacted]", text)


class RedactSecrets(logging.Filter):
    """Replace anything shaped like a Slack token or an Opsgenie key with a marker."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the formatted message in place; never drops a record."""
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
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
