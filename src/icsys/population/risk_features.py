"""What the emergency-admission risk model knows about a person on a date, and what happened next: Ibis
expressions over the dataset, so they run on DuckDB and Spark alike.

Predictors are those of the published models (QAdmissions, SPARRA, the Combined Predictive Model): age,
sex, deprivation, ethnicity, long-term conditions, frailty, multimorbidity, medicines and the use of every
service in the year before the date. The outcome is any emergency admission (HES ADMIMETH 2x) in the
365 days after it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from icsys.dataset.definitions import age_on, elective_admission, emergency_admission
from icsys.population import measures

YEAR = timedelta(days=365)
# Ethnic groups of the 2021 Census from NHS ethnic category codes (the person table's `ethnicity`).
ETHNIC_GROUP = {"A": "White", "B": "White", "C": "White", "D": "Mixed", "E": "Mixed", "F": "Mixed",
                "G": "Mixed", "H": "Asian", "J": "Asian", "K": "Asian", "L": "Asian", "M": "Black",
                "N": "Black", "P": "Black", "R": "Other", "S": "Other", "Z": "Not stated"}
OUTCOME = "emergency admission (HES ADMIMETH 2x) in the 365 days after the date"


def _start(day: date) -> ir.Value:
    return ibis.literal(datetime.combine(day, time()))


def _in_year_before(t: ir.Table, column: str, as_of: date) -> ir.Table:
    """Rows whose `column` falls in the 365 days up to and including as_of (dates or timestamps)."""
    col = t[column]
    if col.type().is_timestamp():
        return t.filter(col >= _start(as_of - YEAR + timedelta(days=1)), col < _start(as_of + timedelta(days=1)))
    return t.filter(col > ibis.literal(as_of - YEAR), col <= ibis.literal(as_of))


# name -> (table, time column, rows kept, how to summarise per person on the date). Bed days count midnights,
# as the NHS counts them: the days between the admission and discharge dates, a spell still open on the date
# (or discharged after it) counted up to the date only, since what came after is not known on it.
Summary = Callable[[ir.Table, date], Any]


def _bed_days(t: ir.Table, as_of: date) -> Any:
    day = ibis.literal(as_of)
    end = ibis.least(t.discharge_time.date().fill_null(day), day)
    return end.delta(t.admission_time.date(), unit="day").sum()


USE: dict[str, tuple[str, str, Callable[[ir.Table], ir.BooleanValue] | None, Summary | None]] = {
    "emergency_admissions_12m": ("inpatient_spell", "admission_time", lambda t: emergency_admission(t.admission_method),
                                 None),
    "elective_admissions_12m": ("inpatient_spell", "admission_time", lambda t: elective_admission(t.admission_method),
                                None),
    "bed_days_12m": ("inpatient_spell", "admission_time", None, _bed_days),
    "ae_attendances_12m": ("ae_attendance", "arrival_time", None, None),
    "ambulance_incidents_12m": ("ambulance_incident", "call_time", None, None),
    "outpatient_attended_12m": ("outpatient_appointment", "appointment_date", lambda t: t.status == "attended",
                                None),
    "outpatient_missed_12m": ("outpatient_appointment", "appointment_date", lambda t: t.status == "dna", None),
    "gp_appointments_12m": ("gp_appointment", "appointment_time", lambda t: t.status == "attended", None),
    "gp_missed_12m": ("gp_appointment", "appointment_time", lambda t: t.status == "dna", None),
    "community_contacts_12m": ("community_contact", "contact_time", None, None),
    "mental_health_referrals_12m": ("mental_health_referral", "referral_date", None, None),
    "medicines_12m": ("medication", "issue_date", None, lambda t, _: t.dmd_code.nunique()),
}


def _use(backend: Any, names: list[str], as_of: date) -> ir.Table:
    """person_id and the summaries `names` of one table (USE), in one pass over its year: a count of the rows
    kept, or a summary of all the year's rows. A person with no row of the year has none (null)."""
    source, column = USE[names[0]][:2]
    rows = _in_year_before(backend.table(source), column, as_of)
    values = {}
    for name in names:
        keep, summary = USE[name][2:]
        if summary is not None and keep is not None:
            raise ValueError(f"{name}: a summary of the rows kept is not supported")
        values[name] = summary(rows, as_of) if summary is not None else rows.count(where=keep(rows) if keep else None)
    return rows.group_by("person_id").aggregate(**values)


def _uses(backend: Any, as_of: date) -> list[ir.Table]:
    """The USE summaries, one table per source table and time column."""
    by_source: dict[tuple[str, str], list[str]] = {}
    for name, (source, column, _, _) in USE.items():
        by_source.setdefault((source, column), []).append(name)
    return [_use(backend, names, as_of) for names in by_source.values()]


def _care(backend: Any, as_of: date) -> ir.Table:
    """Social care in place on as_of: home care or reablement, or a care home placement."""
    pkg = backend.table("social_care_package")
    day = ibis.literal(as_of)
    live = pkg.filter(pkg.start_date <= day, pkg.end_date.isnull() | (pkg.end_date > day))
    return live.group_by("person_id").aggregate(
        home_care=live.service_type.isin(["domiciliary", "reablement"]).any().cast("int8"),
        care_home=live.service_type.isin(["residential", "nursing"]).any().cast("int8"))


def _last_emergency(backend: Any, as_of: date) -> ir.Table:
    spells = backend.table("inpatient_spell")
    past = spells.filter(emergency_admission(spells.admission_method),
                         spells.admission_time < _start(as_of + timedelta(1)))
    last = past.group_by("person_id").aggregate(last=past.admission_time.max())
    return last.select("person_id", days_since_emergency_admission=(
        ibis.literal(as_of).delta(last["last"].date(), unit="day")))


def features(backend: Any, as_of: date, parts: dict[str, ir.Table] | None = None) -> ir.Table:
    """One row per person registered and alive on as_of, with every predictor of the model. `parts` are
    measures.basics(), if already worked out."""
    parts = parts or measures.basics(backend, as_of)
    people = parts["people"]
    base = people.select(
        "person_id",
        age=age_on(people.birth_date, as_of).cast("float64"),
        female=(people.sex == "F").cast("int8"),
        imd_decile=people.imd_decile,
        ethnic_group=people.ethnicity.substitute(ETHNIC_GROUP, else_="Not stated"))
    frailty = parts["frailty"].select("person_id", "efi_deficits")
    known = (base.join(frailty, "person_id").join(parts["ltc"], "person_id").join(parts["cms"], "person_id")
             .join(parts["conditions"], "person_id"))
    # Every summary left-joined in one chain and filled in one select: Ibis compiles a flat chain of joins
    # many times faster than a join, fill and drop per summary.
    extras = [*_uses(backend, as_of), _care(backend, as_of), _last_emergency(backend, as_of)]
    extras = [t.rename(**{f"_person_{k}": "person_id"}) for k, t in enumerate(extras)]
    out = known
    for k, extra in enumerate(extras):
        out = out.left_join(extra, out.person_id == extra[f"_person_{k}"])
    filled = [*USE, "home_care", "care_home"]
    return out.select(*known.columns, *[out[c].fill_null(0).name(c) for c in filled], "days_since_emergency_admission")


def outcome(backend: Any, people: ir.Table, as_of: date) -> ir.Table:
    """person_id, admitted (1/0): an emergency admission in the 365 days after as_of."""
    spells = backend.table("inpatient_spell")
    after = spells.filter(emergency_admission(spells.admission_method),
                          spells.admission_time >= _start(as_of + timedelta(1)),
                          spells.admission_time < _start(as_of + YEAR + timedelta(1)))
    return people.select("person_id").mutate(admitted=people.person_id.isin(after.person_id).cast("int8"))
