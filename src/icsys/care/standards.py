"""Service standards as data (standards.toml): which standard a task's service is held to and its due time."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from icsys.datafile import load_validated
from icsys.errors import InputError

STANDARDS_FILE = Path(__file__).with_name("standards.toml")
DISCHARGE_NOTIFICATION = "discharge_notification_24h"


class StandardError(InputError):
    """A standards file that cannot be used."""


class Standard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    name: str
    services: list[str]
    hours: float = Field(gt=0)
    warn_before_hours: float = Field(ge=0)
    source: str

    def due(self, start: datetime) -> datetime:
        return start + timedelta(hours=self.hours)

    def warn_at(self, due: datetime) -> datetime:
        return due - timedelta(hours=self.warn_before_hours)


class Standards(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    standard: list[Standard]


@lru_cache(maxsize=4)
def load_standards(path: Path = STANDARDS_FILE) -> dict[str, Standard]:
    standards = load_validated(path, Standards, StandardError, "service standards", "standard").standard
    return {s.code: s for s in standards}


def standard_for(service: str) -> Standard:
    for standard in load_standards().values():
        if service in standard.services:
            return standard
    raise StandardError(f"no service standard in {STANDARDS_FILE.name} covers the service {service!r}")
