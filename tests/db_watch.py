"""What the bot sends to its database while a test's block runs: statements, and transactions begun."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from app.runtime import Runtime


@contextmanager
def _listening(runtime: Runtime | Engine, name: str, seen: Callable[..., None]) -> Iterator[None]:
    engine = runtime if isinstance(runtime, Engine) else runtime.sessions.kw["bind"]
    event.listen(engine, name, seen)
    try:
        yield
    finally:
        event.remove(engine, name, seen)


@contextmanager
def statements_sent(runtime: Runtime | Engine, *markers: str) -> Iterator[list[str]]:
    """Every SQL statement sent meanwhile (BEGINs included); with ``markers``, those holding one of them."""
    found: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not markers or any(marker in statement for marker in markers):
            found.append(statement)

    with _listening(runtime, "before_cursor_execute", seen):
        yield found


@contextmanager
def transactions_begun(runtime: Runtime | Engine) -> Iterator[list[str]]:
    """The names of the threads that began a transaction on the database meanwhile."""
    begun: list[str] = []

    def seen(_conn: Any) -> None:
        begun.append(threading.current_thread().name)

    with _listening(runtime, "begin", seen):
        yield begun
