"""JSM's schedules: the cloud id behind the site, and a team's ``schedule`` name as JSM's schedule id.

Paths take schedule ids only, so a name is looked up once in the schedule list (every page followed, on
the API host only) and again when the id it had goes missing or after ``RELIST_AFTER``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import quote

from app.providers import BadResponse, ScheduleNotFound
from app.providers.jsm_http import JsmHttp
from app.providers.jsm_parse import looks_like_id, values

RELIST_AFTER = 600.0  # seconds: a name missing from the schedule list is looked for again after this
_MAX_LIST_PAGES = 100
_PAGE = 100


class Schedules:
    """Where a schedule's calls go: the Ops API path of the cloud, and the id of a schedule name."""

    def __init__(self, http: JsmHttp, cloud_id: str | None, monotonic: Callable[[], float]) -> None:
        self._http = http
        self.site_url, self.email = http.site_url, http.email
        self._cloud_id = cloud_id.strip() if cloud_id and cloud_id.strip() else None
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._names: dict[str, list[str]] = {}  # schedule name -> ids, from the last listing
        self._listed_at: float | None = None

    def _cloud(self) -> str:
        if self._cloud_id is None:
            response = self._http.site("/_edge/tenant_info", auth=False)
            if response.status_code == 404:
                raise BadResponse(f"{self.site_url} has no /_edge/tenant_info: check JSM_SITE_URL")
            body = self._http.json(response, "the site's tenant_info")
            cloud = body.get("cloudId")
            if not isinstance(cloud, str) or not cloud:
                raise BadResponse(f"{self.site_url}/_edge/tenant_info sent no cloudId: set JSM_CLOUD_ID")
            self._cloud_id = cloud
        return self._cloud_id

    def ops_path(self, path: str) -> str:
        """``path`` under the Ops REST API of the account's site (its cloud id read once)."""
        return f"/jsm/ops/api/{quote(self._cloud(), safe='')}/v1{path}"

    def schedule_id(self, schedule: str) -> str:
        """The id behind a team's ``schedule`` setting: itself when it is a UUID, else by exact name."""
        if looks_like_id(schedule):
            return schedule.strip()
        with self._lock:
            ids = self._names.get(schedule)
            stale = self._listed_at is None or self._monotonic() - self._listed_at > RELIST_AFTER
            if ids is None and stale:
                self._names = self._list_schedules()
                self._listed_at = self._monotonic()
                ids = self._names.get(schedule)
        if not ids:
            raise ScheduleNotFound(
                f"JSM has no schedule named '{schedule}' that {self.email} can see (JSM lists only the "
                "schedules of teams the account belongs to, unless it has read-only admin rights)"
            )
        if len(set(ids)) > 1:
            raise ScheduleNotFound(
                f"JSM has {len(set(ids))} schedules named '{schedule}': set the team's schedule to the id"
            )
        return ids[0]

    def _list_schedules(self) -> dict[str, list[str]]:
        """Every schedule the account can see, by name, following ``links.next``."""
        names: dict[str, list[str]] = {}
        target: str | None = self.ops_path("/schedules")
        params: dict[str, int] | None = {"offset": 0, "size": _PAGE}
        for _ in range(_MAX_LIST_PAGES):
            if target is None:
                break
            body = self._http.json(self._http.ops("GET", target, params=params), "the schedule list")
            items, following = values(body, "schedule list")
            for item in items:
                if isinstance(item.get("name"), str) and item.get("id"):
                    names.setdefault(item["name"], []).append(str(item["id"]))
            target, params = self._next(following), None
        return names

    def _next(self, link: str | None) -> str | None:
        """A ``links.next`` to follow, only on the API host (the account's credentials go with it)."""
        if not link:
            return None
        if link.startswith("/"):
            return link
        if not link.startswith(self._http.api_url + "/"):
            raise BadResponse("JSM's schedule list points its next page at another host; not followed")
        return link[len(self._http.api_url) :]

    def read(self, schedule: str, schedule_id: str, path: str, params: dict[str, str]) -> dict[str, object]:
        """One GET about a schedule; a name whose id went missing is looked up again next time."""
        response = self._http.ops("GET", path, params=params)
        try:
            return self._http.json(response, f"schedule '{schedule}'", schedule_id)
        except ScheduleNotFound:
            if looks_like_id(schedule):
                raise
            with self._lock:
                self._names.pop(schedule, None)
                self._listed_at = None
            raise ScheduleNotFound(
                f"JSM's schedule '{schedule}' (id {schedule_id}) is gone; it is looked up by name again"
            ) from None
