"""The Cambridge Multimorbidity Score (Payne et al., CMAJ 2020): a weighted sum of 20 conditions, the
weights and definitions kept as data in cambridge_multimorbidity.toml, the codes in
codes/cambridge_multimorbidity.csv."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field

from icsys.codes import codelists

DEFINITION = Path(__file__).with_name("cambridge_multimorbidity.toml")
YEAR = timedelta(days=365)


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    weight: float
    definition: str
    within_years: int | None = Field(default=None, gt=0)
    medicines: str | None = None  # a codelist of codes/medications.csv, counted as issues in the last year
    issues_in_year: int = Field(default=1, gt=0)


class Score(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    condition: list[Condition] = Field(min_length=1)


@cache
def cambridge_score() -> Score:
    return Score.model_validate(tomllib.loads(DEFINITION.read_text(encoding="utf-8")))


def _conditions_present(events: ir.Table, medication: ir.Table, as_of: date) -> ir.Table:
    """(person_id, weight) for each condition of the score a person has on as_of."""
    codes = codelists("cambridge_multimorbidity")
    medicines = codelists("medications")
    day = ibis.literal(as_of)
    parts = []
    for c in cambridge_score().condition:
        if c.medicines is not None:
            drugs = medicines.get(c.medicines, [])
            if not drugs:
                continue
            issued = medication.filter(medication.dmd_code.isin(drugs), medication.issue_date <= day,
                                       medication.issue_date > ibis.literal(as_of - YEAR))
            who = (issued.group_by("person_id").aggregate(n=issued.count())
                   .filter(lambda t, k=c.issues_in_year: t.n >= k).select("person_id"))
        else:
            coded = events.filter(events.snomed_code.isin(codes.get(c.name, [])), events.event_date <= day)
            if c.within_years is not None:
                coded = coded.filter(coded.event_date > ibis.literal(as_of - c.within_years * YEAR))
            who = coded.select("person_id").distinct()
        parts.append(who.mutate(weight=ibis.literal(c.weight, "float64")))
    return ibis.union(*parts)


def cambridge_multimorbidity(people: ir.Table, events: ir.Table, medication: ir.Table, as_of: date) -> ir.Table:
    """person_id, cambridge_score for each person in `people` (0 with none of the conditions)."""
    present = _conditions_present(events, medication, as_of)
    scores = present.group_by("person_id").aggregate(cambridge_score=present.weight.sum())
    return people.select("person_id").left_join(scores, "person_id").select(
        "person_id", cambridge_score=lambda t: t.cambridge_score.fill_null(0.0).round(2))
