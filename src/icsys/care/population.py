"""The MDT's case lists from population health results: the analytical store's `person_measures` (frailty,
risk, segment, long-term conditions), `medication` and `clinical_event` (the GP record), opened read-only.

It reads through `icsys.dataset.store.Store`, opened read-only (a reader never waits on a writer and never
sees half a publish), and returns rows only after `icsys.access.policy.case_list_scope` has cut them to the
actor's practices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis

from icsys import codes
from icsys.access import Actor
from icsys.access.policy import case_list_scope
from icsys.dataset.store import Store, StoreError
from icsys.errors import InputError

ANTIPSYCHOTIC_LOOKBACK_DAYS = 183  # an issue in the last six months: still being prescribed
POLYPHARMACY_MEDICINES = 10  # distinct medicines in 12 months: the NHS polypharmacy comparators' 10+
REVIEW_INTERVAL_DAYS = 365  # a structured medication review at least yearly (NICE NG5)
COLUMNS = ("person_id", "practice_code", "efi_category", "efi2_category", "risk_emergency_admission_12m",
           "risk_top_percent", "segment", "ltc_count")


@dataclass(frozen=True)
class CaseList:
    name: str
    title: str
    why: str


CASE_LISTS = {c.name: c for c in (
    CaseList("frail", "Moderate or severe frailty", "frailty moderate or severe by the eFI or the eFI2"),
    CaseList("top_risk", "Highest risk of emergency admission", "in the top 5% of the risk of an emergency "
             "admission in the next 12 months"),
    CaseList("complex", "Three or more long-term conditions and frail", "3 or more long-term conditions and "
             "frailty mild or worse by the eFI"),
    CaseList("dementia_low_dose_antipsychotic", "Dementia on a low-dose antipsychotic",
             "dementia recorded and a low-dose antipsychotic issued in the last 6 months (seed 004: review "
             "and, where right, stop)"),
    CaseList("polypharmacy_review_due", "Polypharmacy: medication review due",
             f"{POLYPHARMACY_MEDICINES} or more distinct medicines in 12 months and no medication review in "
             "the last 12 months"),
)}


def open_store(path: str | Path) -> Store:
    """The store, read-only."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"analytical store {file}: no such file (run `icsys synth` and "
                         "`icsys population stratify`, or set ICSYS_STORE)")
    return Store.open(file, read_only=True)


def _table(store: Store, name: str) -> Any:
    try:
        return store.table(name)
    except StoreError as exc:
        raise InputError(f"analytical store: no table {name!r} (run `icsys population stratify` first)") from exc


def _dementia(events: Any, as_of: date) -> Any:
    dementia = codes.codelists("conditions")["dementia"]
    return events.filter(events.snomed_code.isin(dementia) & (events.event_date <= as_of)).select("person_id")


def _selection(store: Store, name: str, measures: Any, as_of: date) -> Any:
    if name == "frail":
        bad = ["moderate", "severe"]
        return measures.filter(measures.efi_category.isin(bad) | measures.efi2_category.isin(bad))
    if name == "top_risk":
        return measures.filter(measures.risk_top_percent <= 5)
    if name == "complex":
        return measures.filter((measures.ltc_count >= 3) & (measures.efi_category != "fit"))
    meds = _table(store, "medication")
    events = _table(store, "clinical_event")
    if name == "dementia_low_dose_antipsychotic":
        low_dose = codes.codelists("medicines_optimisation")["low_dose_antipsychotic"]
        since = as_of - timedelta(days=ANTIPSYCHOTIC_LOOKBACK_DAYS)
        on = meds.filter(meds.dmd_code.isin(low_dose) & meds.issue_date.between(since, as_of)).select("person_id")
        return measures.semi_join(_dementia(events, as_of), "person_id").semi_join(on, "person_id")
    since = as_of - timedelta(days=REVIEW_INTERVAL_DAYS)
    recent = meds.filter(meds.issue_date.between(since, as_of))
    many = (recent.group_by("person_id").aggregate(medicines=recent.dmd_code.nunique())
            .filter(lambda t: t.medicines >= POLYPHARMACY_MEDICINES).select("person_id"))
    review = codes.codelists("observations")["medication_review"]
    reviewed = events.filter(events.snomed_code.isin(review) & events.event_date.between(since, as_of))
    return measures.semi_join(many, "person_id").anti_join(reviewed.select("person_id"), "person_id")


def case_list(store: str | Path, actor: Actor, name: str, practices: dict[str, list[str]],
              as_of: date | None = None) -> list[dict[str, Any]]:
    """The people of case list `name` whom `actor` may see: the policy's scope (its organisations and the
    practices under them, `practices`) applied before anything leaves the store; highest risk first."""
    if name not in CASE_LISTS:
        raise InputError(f"case list {name!r}: choose one of {', '.join(CASE_LISTS)}")
    scope = case_list_scope(actor, practices)
    opened = open_store(store)
    try:
        measures = _table(opened, "person_measures")
        as_of = as_of or measures.as_of.max().execute()
        chosen = scope.ibis_filter(_selection(opened, name, measures, as_of))
        cols = [c for c in COLUMNS if c in chosen.columns]
        ordered = chosen.select(*cols).order_by(ibis.desc("risk_emergency_admission_12m"), "person_id")
        # the store's pseudonyms may be integers; the care service's are strings
        return [{**row, "person_id": str(row["person_id"])} for row in ordered.to_pyarrow().to_pylist()]
    finally:
        opened.close()
