"""The pager's lines of `oncall-bot check`: per pager in use, its key, then one line per team's schedule.

Only what the bot really uses is tried: reading each configured schedule. Nothing account-wide is asked
(a team-owned key that reads its schedules is all the bot needs), and no alert is ever raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from app import jsm_checks
from app.check_lines import CheckResult
from app.config import Settings
from app.domain import OnCall, Team
from app.oncall_config import OncallConfig
from app.providers import (
    AccessDenied,
    BadCredentials,
    BadResponse,
    Provider,
    ProviderError,
    RateLimited,
    ScheduleNotFound,
    Unreachable,
)
from app.providers.jsm import JsmProvider
from app.providers.pagerduty import PagerDutyProvider
from app.providers.registry import Builder, MissingCredentials, Providers, check_builders, kind_of
from app.runtime import utc_now

_HINTS: dict[type[ProviderError], str] = {
    AccessDenied: "use a key that may read this schedule (a global API integration, or the owning team's)",
    ScheduleNotFound: "check 'schedule' in the teams file (the schedule's name or id)",
    RateLimited: "run check again in a minute",
}
# Where each pager's own words differ from the hints above.
_PAGER_HINTS: dict[tuple[str, type[ProviderError]], str] = {
    (
        "PagerDuty",
        BadCredentials,
    ): "PagerDuty → Integrations → API Access Keys: a REST API key (read-only is enough)",
    (
        "PagerDuty",
        AccessDenied,
    ): "use an account REST API key, or a user token whose user may see the schedule",
    (
        "PagerDuty",
        ScheduleNotFound,
    ): "check 'schedule' in the teams file (the schedule's id, e.g. PI7DH85, or exact name)",
}


def _hint(pager: str, error: ProviderError) -> str:
    if pager == JsmProvider.name:
        return jsm_checks.HINTS.get(type(error), "")
    return _PAGER_HINTS.get((pager, type(error))) or _HINTS.get(type(error), "")


def read_schedules(provider: Provider, teams: Sequence[Team], now: datetime) -> list[CheckResult]:
    """The key's line, then one line per team naming its schedule: read, or why not."""
    answers: dict[str, OnCall | ProviderError] = {}
    for schedule in dict.fromkeys(team.schedule for team in teams):
        if any(isinstance(a, Unreachable) for a in answers.values()):
            break  # one timeout is enough to know; the lines below say they were not tried
        try:
            answers[schedule] = provider.on_call(schedule, now)
        except ProviderError as error:
            answers[schedule] = error
    keyed = [t for t in teams if t.provider != "rotation"]  # a built-in rotation has no key to check
    variables = sorted({t.api_key_env for t in keyed if t.api_key_env})
    name = f"{provider.name} API key" + (f" ({', '.join(variables)})" if variables else "")
    if isinstance(provider, JsmProvider):
        name = f"JSM account {provider.email}" + (f" ({', '.join(variables)})" if variables else "")
    lines = [_key_line(name, provider.name, list(answers.values()))] if keyed else []
    for team in teams:
        lines.append(_schedule_line(provider.name, team, answers.get(team.schedule)))
    return lines


def _key_line(name: str, pager: str, answers: list[OnCall | ProviderError]) -> CheckResult:
    readable = sum(isinstance(a, OnCall) for a in answers)
    errors = [a for a in answers if isinstance(a, ProviderError)]
    if readable or not errors:
        return CheckResult(name, True, f"accepted: {readable} of {len(answers)} schedule(s) readable")
    error = next((e for e in errors if isinstance(e, BadCredentials)), errors[0])
    if isinstance(error, BadCredentials):
        hint = (
            _hint(pager, error)
            or f"{pager} → Settings → Integrations → API: copy the key of an enabled integration"
        )
    elif isinstance(error, Unreachable | BadResponse):
        hint = f"check {pager.upper()}_API_URL (EU accounts have their own) and the network"
    else:
        hint = _hint(pager, error)
    return CheckResult(name, False, str(error), hint)


def _schedule_line(pager: str, team: Team, answer: OnCall | ProviderError | None) -> CheckResult:
    what = "rotation" if team.provider == "rotation" else f"schedule {team.schedule!r}"
    name = f"team {team.name}: {what}"
    if answer is None:
        return CheckResult(name, False, f"not checked: {pager} could not be reached (see above)")
    if isinstance(answer, BadCredentials):
        return CheckResult(name, False, f"not read: {pager} rejected the API key (see above)")
    if isinstance(answer, ProviderError):
        return CheckResult(name, False, str(answer), _hint(pager, answer))
    people = ", ".join(answer.people) or "nobody"
    return CheckResult(name, True, f"readable; on call now: {people}")


def _alerts_note(provider: Provider, teams: Sequence[Team]) -> list[CheckResult]:
    paging = [t.name for t in teams if t.escalate == "page"]
    if not paging or not provider.can_page or isinstance(provider, JsmProvider):
        return []  # JSM's paging is shown to work per team, without raising an alert (jsm_checks)
    if isinstance(provider, PagerDutyProvider):
        return [_routing_key_line(provider, teams, paging)]
    detail = (
        f"whether the key may create alerts is not tested: {provider.name} reveals it only by raising one, "
        f"and check never pages anyone (teams paging on mentions: {', '.join(paging)})"
    )
    return [CheckResult(f"{provider.name} alerts", True, detail, note=True)]


def _routing_key_line(provider: PagerDutyProvider, teams: Sequence[Team], paging: list[str]) -> CheckResult:
    """The routing key is checked for its shape only: PagerDuty tells more only by processing an event."""
    variables = ", ".join(sorted({t.routing_key_env or "PAGERDUTY_ROUTING_KEY" for t in teams if t.pages}))
    name = f"PagerDuty routing key ({variables})"
    problem = provider.routing_key_problem()
    if problem:
        hint = "the service → Integrations → Events API v2: copy its Integration Key"
        return CheckResult(name, False, problem, hint)
    detail = (
        "shaped like an Events API v2 integration key; whether PagerDuty accepts it is not tested, "
        f"as check never pages anyone (teams paging on mentions: {', '.join(paging)})"
    )
    return CheckResult(name, True, detail, note=True)


def _credentials(settings: Settings, config: OncallConfig) -> tuple[list[Team], list[CheckResult]]:
    """The teams whose pager has its credentials, and a FAIL line for each team whose pager has none."""
    usable, lines = [], []
    for team in config.teams:
        try:
            kind_of(team.provider).credentials(settings, team)
        except MissingCredentials as missing:
            name = f"team {team.name}: {team.provider} credentials"
            lines.append(CheckResult(name, False, str(missing), "set it in the environment or in .env"))
        else:
            usable.append(team)
    return usable, lines


def pager_checks(
    settings: Settings,
    config: OncallConfig,
    *,
    timeout: float,
    now: datetime | None = None,
    builders: Mapping[str, Builder] | None = None,
) -> list[CheckResult]:
    """Per pager client in use (teams sharing a key share one): its key, its teams' schedules, a note."""
    at = now or utc_now()
    usable, lines = _credentials(settings, config)
    lines += _per_pager(settings, config, usable, timeout, at, builders) if usable else []
    # Opsgenie teams, once JSM's variables are set: would they work on JSM as configured?
    return lines + jsm_checks.readiness_lines(settings, config, timeout=timeout, now=at, builders=builders)


def _per_pager(
    settings: Settings,
    config: OncallConfig,
    usable: list[Team],
    timeout: float,
    at: datetime,
    builders: Mapping[str, Builder] | None,
) -> list[CheckResult]:
    lines: list[CheckResult] = []
    quick = check_builders(timeout)
    try:
        providers = Providers(settings, usable, builders={**quick, **(builders or {})})
    except Exception as error:
        return [*lines, CheckResult("pagers", False, f"cannot be set up ({type(error).__name__}): {error}")]
    try:
        for provider in providers.all():
            teams = [t for t in usable if providers.for_team(t) is provider]
            try:
                lines += read_schedules(provider, teams, at) + _alerts_note(provider, teams)
                if isinstance(provider, JsmProvider):
                    lines += jsm_checks.team_lines(provider, teams, settings, config, timeout=timeout, now=at)
            except Exception as error:  # a bug in one pager's client must not hide the other checks
                detail = f"unexpected error ({type(error).__name__}): {error}"
                lines.append(CheckResult(provider.name, False, detail))
    finally:
        providers.close()
    return lines
