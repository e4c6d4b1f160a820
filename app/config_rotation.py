"""The ``[teams.rotation]`` table: people in turn order, a shift length, a start, layers and overrides."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.domain import RotationLayer, RotationOverride, RotationSpec
from app.durations import parse_duration

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{6,}$")
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
MIN_SHIFT = timedelta(hours=1)


def rotation_person(value: str) -> str:
    """An email (lowercased) or a Slack user id (U…/W…, kept as is); ValueError for anything else."""
    text = value.strip()
    if _SLACK_USER.match(text):
        return text
    if _EMAIL.match(text):
        return text.lower()
    raise ValueError(f"{value!r} is neither an email nor a Slack user ID (U…)")


def local_time(value: Any) -> datetime:
    """``"2026-11-30 09:00"`` (or a TOML local date-time) as a naive wall-clock time of the team's zone."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(f"{value} has a UTC offset: write the team's local time ('2026-11-30 09:00')")
        return value
    if isinstance(value, str):
        for layout in _LOCAL_FORMATS:
            try:
                return datetime.strptime(value.strip(), layout)
            except ValueError:
                continue
    raise ValueError(f"expected a local date and time like '2026-11-30 09:00', got {value!r}")


class _Layer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    people: list[str] = Field(min_length=1)
    shift: timedelta
    start: datetime

    @field_validator("people")
    @classmethod
    def _people(cls, value: list[str]) -> list[str]:
        return [rotation_person(person) for person in value]

    @field_validator("shift", mode="before")
    @classmethod
    def _shift(cls, value: Any) -> timedelta:
        shift = parse_duration(value)
        if shift < MIN_SHIFT:
            raise ValueError(f"a shift must last at least 1h, got {value!r}")
        return shift

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> datetime:
        return local_time(value)

    def layer(self) -> RotationLayer:
        """The validated domain value."""
        return RotationLayer(people=tuple(self.people), shift=self.shift, start=self.start)


class _Override(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str
    start: datetime
    end: datetime

    @field_validator("person")
    @classmethod
    def _person(cls, value: str) -> str:
        return rotation_person(value)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _local(cls, value: Any) -> datetime:
        return local_time(value)

    @model_validator(mode="after")
    def _order(self) -> _Override:
        if self.end <= self.start:
            end = f"{self.end:%Y-%m-%d %H:%M}"
            raise ValueError(f"the override of {self.person} must end after its start, not at {end}")
        return self


class RotationFile(_Layer):
    """The ``[teams.rotation]`` table: the first layer, more ``layers`` and ``overrides``."""

    layers: list[_Layer] = Field(default_factory=list)
    overrides: list[_Override] = Field(default_factory=list)

    def spec(self) -> RotationSpec:
        """The validated domain value."""
        return RotationSpec(
            layers=(self.layer(), *(extra.layer() for extra in self.layers)),
            overrides=tuple(RotationOverride(o.person, o.start, o.end) for o in self.overrides),
        )
