"""Atlassian account ids → people the bot can name: Jira's user API (``/rest/api/3/user``), cached.

JSM's schedules speak account ids. The bot's pager identity for a person is their email when Jira shows
it (the same identity Opsgenie used, so a moving team keeps its people), else the account id itself,
which the teams file's ``[people]`` section can map to a Slack user: Jira hides the email of everyone
whose profile visibility says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from app.providers import AccessDenied, BadResponse
from app.providers.jsm_http import JsmHttp

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Account:
    """What Jira tells about one account id: its email (None when hidden), name and whether it exists."""

    account_id: str
    email: str | None
    display_name: str | None
    exists: bool = True

    @property
    def identity(self) -> str:
        """The pager identity the bot uses for this person: the email, or the account id."""
        return self.email or self.account_id


class Directory:
    """Account lookups with a time-to-live cache (emails rarely change; a day is plenty)."""

    def __init__(self, http: JsmHttp, *, ttl: timedelta, monotonic: Callable[[], float]) -> None:
        self._http = http
        self._ttl = ttl.total_seconds()
        self._monotonic = monotonic
        self._cache: dict[str, tuple[Account, float]] = {}
        self._lock = threading.Lock()

    def identity(self, account_id: str) -> str:
        """The pager identity of ``account_id`` (its email when Jira shows it, else the id)."""
        return self.account(account_id).identity

    def account(self, account_id: str) -> Account:
        """Jira's answer about ``account_id``, from the cache while fresh."""
        with self._lock:
            cached = self._cache.get(account_id)
        if cached is not None and self._monotonic() - cached[1] < self._ttl:
            return cached[0]
        account = self._ask(account_id)
        with self._lock:
            self._cache[account_id] = (account, self._monotonic())
        return account

    def _ask(self, account_id: str) -> Account:
        response = self._http.site("/rest/api/3/user", params={"accountId": account_id})
        if response.status_code == 404:
            # Gone since the schedule was written (or never visible): keep the id so the sync goes through.
            log.warning("JSM: Jira knows no user %s; shown by account id", account_id)
            return Account(account_id, None, None, exists=False)
        if response.status_code == 403:
            raise self._http.scrubbed(
                AccessDenied(
                    f"Jira denied {self._http.email} its user API (HTTP 403): the account needs the "
                    "'Browse users and groups' global permission to turn account ids into emails"
                )
            )
        body = self._http.json(response, f"Jira's user {account_id}")
        if str(body.get("accountId") or account_id) != account_id:
            raise BadResponse(f"Jira answered about another user than {account_id}")
        email = body.get("emailAddress")
        name = body.get("displayName")
        return Account(
            account_id,
            email.strip().lower() if isinstance(email, str) and email.strip() else None,
            name if isinstance(name, str) and name else None,
        )
