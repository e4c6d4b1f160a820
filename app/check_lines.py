"""The lines `oncall-bot check` prints, and the guard that turns any failure of a check into one."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.error import URLError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: its name, whether it passed, what was found, and what to do when it failed.

    A ``note`` is neither a pass nor a failure: something check cannot find out (and says so).
    """

    name: str
    ok: bool
    detail: str
    hint: str = ""
    note: bool = False

    def line(self) -> str:
        """The check as printed by the CLI: one line."""
        mark = "note" if self.note else "ok  " if self.ok else "FAIL"
        text = f"{mark}  {self.name}: {self.detail}"
        return text + (f" — hint: {self.hint}" if self.hint and not self.ok else "")


class CheckFailed(Exception):
    """A check found a problem: ``detail`` says what, ``hint`` what to do, ``code`` Slack's error code."""

    def __init__(self, detail: str, hint: str = "", *, code: str = "") -> None:
        super().__init__(detail)
        self.detail, self.hint, self.code = detail, hint, code

    def result(self, name: str) -> CheckResult:
        """This failure as the line of check ``name``."""
        return CheckResult(name, False, self.detail, self.hint)


def guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """Run one check; its CheckFailed, or any error at all, becomes its FAIL line instead of a traceback."""
    try:
        result = check()
    except CheckFailed as failed:
        return failed.result(name)
    except Exception as error:
        # A check must never take the others down; the details go to the debug log, not the report.
        log.debug("check %s failed unexpectedly", name, exc_info=True)
        return CheckResult(name, False, f"unexpected error ({type(error).__name__}): {error}")
    return replace(result, name=result.name or name)


def unreachable_reason(error: BaseException, timeout: float) -> str:
    """Why a server could not be reached, in a few words (refused, no answer in N s, ...)."""
    reason: object = error.reason if isinstance(error, URLError) else error
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, socket.gaierror):
        return f"the host name does not resolve ({reason.strerror})"
    return str(reason) or type(reason).__name__
