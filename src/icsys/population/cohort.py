"""Cohorts a clinician can read: a TOML definition (criteria in plain words, each with the reason it
gives, and worked examples) compiled to one Ibis query that lists the members and why each qualifies.

    [[criteria]]                      measure   = a column of person_measures
    measure = "efi_category"          activity  = a count of recent activity (see ACTIVITIES) over `days`
    is_one_of = ["moderate", "severe"]  any_of  = a list of criteria, at least one of which holds
    reason = "{efi_category} frailty"   tests: is_one_of, equals, at_least, at_most
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from icsys.access import Auditor, policy
from icsys.dataset.store import connect
from icsys.errors import InputError
from icsys.population.stratify import RESULT_TABLE, person_measures

SHIPPED = Path(__file__).with_name("cohorts")
# activity name -> (table, time column, filter on the table or None)
ACTIVITIES: dict[str, tuple[str, str, Any]] = {
    "emergency_admissions": ("inpatient_spell", "admission_time", lambda t: t.admission_method.startswith("2")),
    "ae_attendances": ("ae_attendance", "arrival_time", None),
    "ambulance_incidents": ("ambulance_incident", "call_time", None),
    "community_contacts": ("community_contact", "contact_time", None),
    "community_bed_stays": ("community_bed_stay", "admission_time", None),
    "gp_appointments": ("gp_appointment", "appointment_time", None),
}
FIELD = re.compile(r"\{([a-z0-9_]+)\}")


class CohortError(InputError):
    """A definition that cannot be used, with the reason."""


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measure: str | None = None
    activity: str | None = None
    days: int | None = Field(default=None, gt=0)
    any_of: list[Criterion] | None = None
    is_one_of: list[str | int | bool] | None = None
    equals: str | int | float | bool | None = None
    at_least: float | None = None
    at_most: float | None = None
    reason: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> Criterion:
        kinds = [k for k in ("measure", "activity", "any_of") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("each criterion needs exactly one of measure, activity or any_of")
        if self.activity is not None:
            if self.activity not in ACTIVITIES:
                raise ValueError(f"unknown activity {self.activity!r}; known: {', '.join(ACTIVITIES)}")
            if self.days is None:
                raise ValueError(f"activity {self.activity!r} needs `days`, the window it is counted over")
        if self.any_of is None and not any(getattr(self, k) is not None
                                           for k in ("is_one_of", "equals", "at_least", "at_most")):
            raise ValueError("a criterion needs a test: is_one_of, equals, at_least or at_most")
        if self.any_of is None and not self.reason:
            raise ValueError("every criterion says in `reason` why a person meets it")
        return self

    @property
    def field(self) -> str:
        return self.measure or self.activity or ""


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facts: dict[str, str | int | float | bool]
    member: bool


class Cohort(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    source: str = ""
    criteria: list[Criterion] = Field(min_length=1)
    example: list[Example] = []

    def activities(self) -> dict[str, int]:
        """activity name -> longest window it is used with."""
        out: dict[str, int] = {}
        for c in _flatten(self.criteria):
            if c.activity:
                out[c.activity] = max(out.get(c.activity, 0), c.days or 0)
        return out


def _flatten(criteria: list[Criterion]) -> list[Criterion]:
    return [leaf for c in criteria for leaf in (_flatten(c.any_of) if c.any_of else [c])]


def load_cohort(name_or_path: str | Path) -> Cohort:
    """A definition by path, or by the name of one shipped in icsys/population/cohorts/."""
    path = Path(name_or_path)
    if not path.exists() and (SHIPPED / f"{name_or_path}.toml").exists():
        path = SHIPPED / f"{name_or_path}.toml"
    if not path.exists():
        shipped = ", ".join(sorted(p.stem for p in SHIPPED.glob("*.toml")))
        raise CohortError(f"{name_or_path}: no such cohort definition (shipped: {shipped})")
    try:
        return Cohort.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise CohortError(f"{path}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CohortError(f"{path}: invalid cohort definition: {details}") from exc


def _test(c: Criterion, value: ir.Value) -> ir.BooleanValue:
    tests = []
    if c.is_one_of is not None:
        tests.append(value.isin(c.is_one_of))
    if c.equals is not None:
        tests.append(value == c.equals)
    if c.at_least is not None:
        tests.append(value >= c.at_least)
    if c.at_most is not None:
        tests.append(value <= c.at_most)
    return ibis.and_(*tests).fill_null(False)


def _reason(template: str, facts: ir.Table) -> ir.StringValue:
    parts: list[Any] = []
    last = 0
    for match in FIELD.finditer(template):
        parts.append(ibis.literal(template[last:match.start()]))
        value = facts[match.group(1)]
        value = value.round(3) if value.type().is_floating() else value  # readable in a list for an MDT
        parts.append(value.cast("string").fill_null("?"))
        last = match.end()
    parts.append(ibis.literal(template[last:]))
    out = parts[0]
    for part in parts[1:]:
        out = out.concat(part)
    return out


def _criterion(c: Criterion, facts: ir.Table) -> tuple[ir.BooleanValue, list[tuple[ir.BooleanValue, str]]]:
    if c.any_of:
        parts = [_criterion(alt, facts) for alt in c.any_of]
        return ibis.or_(*[p[0] for p in parts]), [r for p in parts for r in p[1]]
    condition = _test(c, facts[c.field])
    return condition, [(condition, c.reason)]


def members(cohort: Cohort, facts: ir.Table) -> ir.Table:
    """The people in `facts` who meet every criterion, with `reasons` in words."""
    conditions, reasons = [], []
    for c in cohort.criteria:
        condition, why = _criterion(c, facts)
        conditions.append(condition)
        reasons += why
    texts = [ibis.cases((cond, _reason(template, facts)), else_=None) for cond, template in reasons]
    chosen = facts.filter(ibis.and_(*conditions))
    return chosen.mutate(reasons=ibis.array([t for t in texts]).filter(lambda r: r.notnull()).join("; "))


def facts(backend: Any, cohort: Cohort, as_of: date) -> ir.Table:
    """person_measures plus the activity counts the cohort uses, for people registered on as_of. The
    stored person_measures (from `icsys population stratify`) is used when it was made for the same date."""
    table = _stored_measures(backend, as_of)
    if table is None:
        table = person_measures(backend, as_of)
    for name, days in cohort.activities().items():
        table = (table.left_join(activity_counts(backend, name, as_of, days), "person_id").drop("person_id_right")
                 .mutate(**{name: ibis._[name].fill_null(0)}))
    return table


def activity_counts(backend: Any, name: str, as_of: date, days: int) -> ir.Table:
    """person_id and how many of the activity (one of ACTIVITIES) fall in the `days` days up to as_of."""
    source, column, keep = ACTIVITIES[name]
    rows = backend.table(source)
    start = ibis.literal(datetime.combine(as_of + timedelta(days=1 - days), time()))
    end = ibis.literal(datetime.combine(as_of + timedelta(days=1), time()))
    rows = rows.filter(rows[column] >= start, rows[column] < end)
    if keep is not None:
        rows = rows.filter(keep(rows))
    return rows.group_by("person_id").aggregate(**{name: rows.count()})


def _stored_measures(backend: Any, as_of: date) -> ir.Table | None:
    if RESULT_TABLE not in backend.list_tables():
        return None
    stored = backend.table(RESULT_TABLE)
    dates = stored.select("as_of").distinct().limit(2).execute()["as_of"].tolist()
    same_day = len(dates) == 1 and pd.Timestamp(dates[0]).date() == as_of
    return stored if same_day else None


def run(db: Path, cohort: Cohort, as_of: date, *, auditor: Auditor, out: Path | str | None = None) -> Any:
    """Members as a pandas DataFrame, computed from the store in one query, as the auditor's actor may see
    them (its scope: pseudonymised for an analyst, its organisations for a clinician). The list is recorded
    as released (listed, or exported when the caller says it goes to `out`) before it is returned."""
    action = policy.EXPORT if out is not None else policy.LIST
    seen = policy.scope(auditor.actor, action)
    backend = connect(db)
    try:
        person = backend.table("person")
        found = seen.ibis_filter(members(cohort, facts(backend, cohort, as_of)))
        listed = found.join(person.select("person_id", "nhs_number"), "person_id")
        columns = ["person_id", "nhs_number", "practice_code", "sex", "birth_date",
                   *[c.field for c in _flatten(cohort.criteria) if c.field not in ("person_id",)], "reasons"]
        listed = seen.pseudonymise(listed.select(*dict.fromkeys(columns)))
        frame = listed.order_by("practice_code", "person_id").execute()
    finally:
        backend.disconnect()
    auditor.record(action, f"cohort {cohort.name} as of {as_of}", people=len(frame),
                   destination=str(out) if out is not None else "screen")
    return frame
