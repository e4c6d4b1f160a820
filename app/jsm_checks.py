"""JSM's lines of `oncall-bot check`: per team the schedule, the people and paging, before and after a move.

A team on JSM gets its people and paging checked (the schedule line is the generic one). An Opsgenie team
gets all three checked on JSM as soon as the JSM variables are set, so that the move is known to work
before ``provider = "jsm"`` is written: the same schedule name, every person of the next two weeks
reaching Slack (by email, or by a ``[people]`` line for an account whose email Jira hides, which check
prints in full), and the alert API accepting the credentials. Nothing is paged: the alert API is shown
to work by a search that matches no alert (or, for JSM_INTEGRATION_KEY, by acknowledging an alias no
alert has).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from app.chat import SlackCallFailed
from app.check_lines import CheckResult
from app.config import Settings
from app.domain import Team
from app.oncall_config import OncallConfig
from app.providers import AccessDenied, BadCredentials, ProviderError, ScheduleNotFound
from app.providers.builders import MissingCredentials, jsm_credentials
from app.providers.jsm import JsmProvider
from app.providers.registry import Builder, check_builders
from app.slack.gateway import SlackGateway

log = logging.getLogger(__name__)

PEOPLE_AHEAD = timedelta(days=14)
GONE = ("users_not_found", "user_not_found")
HINTS: dict[type[ProviderError], str] = {
    BadCredentials: "JSM_EMAIL and JSM_API_TOKEN: an API token of that account (id.atlassian.com → Security)",
    AccessDenied: (
        "add the account to the schedule's team, or give it read-only admin rights; service accounts "
        "cannot use the Operations API"
    ),
    ScheduleNotFound: "use the JSM schedule's exact name (or its id) as 'schedule' in the teams file",
}
_QUIET = logging.getLogger("app.jsm_checks.slack_sdk")
_QUIET.propagate = False
_QUIET.addHandler(logging.NullHandler())


def _hint(error: ProviderError) -> str:
    return HINTS.get(type(error), "")


def team_lines(
    provider: JsmProvider,
    teams: Sequence[Team],
    settings: Settings,
    config: OncallConfig,
    *,
    timeout: float,
    now: datetime,
) -> list[CheckResult]:
    """The people and paging lines of the teams on JSM (their schedules are checked with every pager's)."""
    slack = _slack(settings, timeout)
    lines = [people_line(provider, t, config, slack, now, f"team {t.name}: JSM people") for t in teams]
    lines += [paging_line(provider, f"team {team.name}: JSM paging") for team in teams if team.pages]
    return lines


def readiness_lines(
    settings: Settings,
    config: OncallConfig,
    *,
    timeout: float,
    now: datetime,
    builders: Mapping[str, Builder] | None = None,
) -> list[CheckResult]:
    """For each Opsgenie team, once the JSM variables are set: would it work on JSM, as it is configured?"""
    movers = [replace(t, provider="jsm", api_key_env=None) for t in config.teams if t.provider == "opsgenie"]
    if not movers:
        return []
    try:
        jsm_credentials(settings, movers[0])
    except MissingCredentials:
        return []  # no JSM account configured: nobody is moving yet
    build = (builders or {}).get("jsm") or check_builders(timeout)["jsm"]
    try:
        provider = build(settings, movers[0])
        if not isinstance(provider, JsmProvider):  # pragma: no cover - a test's builder of another kind
            return []
        try:
            return _readiness(provider, movers, config, _slack(settings, timeout), now)
        finally:
            provider.close()
    except Exception as error:  # a bug here must not hide the other checks
        log.debug("JSM readiness check failed unexpectedly", exc_info=True)
        return [
            CheckResult("JSM (before the move)", False, f"unexpected error ({type(error).__name__}): {error}")
        ]


def _readiness(
    provider: JsmProvider, movers: list[Team], config: OncallConfig, slack: SlackProbe, now: datetime
) -> list[CheckResult]:
    lines: list[CheckResult] = []
    for team in movers:
        prefix = f"team {team.name} on JSM (before the move)"
        found = [schedule_line(provider, team, now, f"{prefix}: schedule {team.schedule!r}")]
        if found[0].ok:  # people and paging hang on the schedule
            found.append(people_line(provider, team, config, slack, now, f"{prefix}: people"))
            if team.pages:
                found.append(paging_line(provider, f"{prefix}: paging"))
        lines += [advice(result) for result in found]
    return lines


def advice(result: CheckResult) -> CheckResult:
    """A readiness line as a note: a team still on Opsgenie is not broken when JSM is not ready for it."""
    if result.ok:
        return replace(result, detail=f"ready: {result.detail}", note=True)
    hint = f" ({result.hint})" if result.hint else ""
    return CheckResult(result.name, True, f"NOT READY: {result.detail}{hint}", note=True)


def schedule_line(provider: JsmProvider, team: Team, now: datetime, name: str) -> CheckResult:
    """Whether JSM has the team's schedule (by the same name) and who is on call there now."""
    try:
        schedule_id = provider.schedule_id(team.schedule)
        on_call = provider.on_call(team.schedule, now)
    except ProviderError as error:
        return CheckResult(name, False, str(error), _hint(error))
    people = ", ".join(on_call.people) or "nobody"
    return CheckResult(name, True, f"found (id {schedule_id}); on call now: {people}")


def people_line(
    provider: JsmProvider, team: Team, config: OncallConfig, slack: SlackProbe, now: datetime, name: str
) -> CheckResult:
    """Whether everyone on call in the next two weeks reaches Slack; the [people] lines still missing."""
    try:
        accounts = provider.on_call_accounts(team.schedule, now, now + PEOPLE_AHEAD)
        problems, reached = [], 0
        for account_id in accounts:
            problem = _reaches_slack(provider, account_id, config, slack)
            if problem:
                problems.append(problem)
            else:
                reached += 1
    except ProviderError as error:
        return CheckResult(name, False, str(error), _hint(error))
    if problems:
        hint = "add the [people] lines named (Slack member ID: the person's profile → ⋮ → Copy member ID)"
        return CheckResult(name, False, "; ".join(problems), hint)
    return CheckResult(name, True, f"all {reached} on call in the next 14 days reach Slack")


def _reaches_slack(provider: JsmProvider, account_id: str, config: OncallConfig, slack: SlackProbe) -> str:
    """Empty when the account reaches a Slack user; else what to do, in words, with the line to add."""
    account = provider.account(account_id)
    label = f"{account.display_name} ({account_id})" if account.display_name else account_id
    mapped = config.people.get(account_id.lower()) or (account.email and config.people.get(account.email))
    if mapped:
        return slack.user(mapped, label)
    if account.email is None:
        return f'{label} hides their email in Atlassian: add under [people]: "{account_id}" = "U…"'
    return slack.email(account.email, label, account_id)


def paging_line(provider: JsmProvider, name: str) -> CheckResult:
    """Whether JSM accepts the credentials paging would use, shown without raising an alert."""
    try:
        return CheckResult(name, True, provider.probe_paging())
    except ProviderError as error:
        hint = _hint(error)
        if provider.paging.integration and isinstance(error, BadCredentials):
            hint = "copy the API key of an enabled API integration of the team into JSM_INTEGRATION_KEY"
        return CheckResult(name, False, str(error), hint)


class SlackProbe:
    """The few Slack reads the people check needs: one try each; once Slack is down, none more."""

    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway
        self.down: str | None = None

    def email(self, email: str, label: str, account_id: str) -> str:
        """Empty when Slack has an active member with ``email``."""
        return self._ask(
            lambda: self.gateway.user_by_email(email),
            f'{label}: no Slack user has the email {email}: add under [people]: "{account_id}" = "U…"',
            label,
        )

    def user(self, user_id: str, label: str) -> str:
        """Empty when the [people] line's Slack user exists and is active."""
        return self._ask(
            lambda: self.gateway.user(user_id),
            f"{label}: [people] maps it to {user_id}, which Slack does not know",
            label,
        )

    def _ask(self, call: Callable[[], dict[str, Any]], gone: str, label: str) -> str:
        if self.down is not None:
            return f"{label}: not checked in Slack ({self.down})"
        try:
            user = call()
        except SlackCallFailed as failure:
            if failure.kind == "refused" and failure.code in GONE:
                return gone
            self.down = str(failure)
            return f"{label}: not checked in Slack ({self.down})"
        if user.get("deleted"):
            return f"{label}: the Slack account is deactivated"
        return ""


def _slack(settings: Settings, timeout: float) -> SlackProbe:
    return SlackProbe(SlackGateway.checking(settings, timeout, _QUIET))
