"""eFI2, the weighted electronic Frailty Index of NHS England's Proactive Care Framework, as Ibis expressions.

Best K, et al. Development and external validation of the electronic frailty index 2 using routine primary
care electronic health record data. Age Ageing 2025;54(4):afaf077. Coefficients, rules and categories are
data (codes/efi2_weights.toml), the codes are codes/efi2_deficits.csv; a test holds both to the reference.

- Only people aged 65+ on the index date are scored; everyone else has a null score, count and category.
- Coded deficits count if recorded on or before the index date (within `lookback_years`, at `min_age`+).
- Dementia hierarchy: of memory concerns, cognitive impairment and dementia only the largest coefficient counts.
- Alcohol: the latest record within 5 years (a coded category, or units a week; a day times 7): 0 zero,
  1-20 lower, 21-48 higher risk, 49+ harmful; ex-drinker codes are "previously harmful or higher risk".
  No record in 5 years carries 0.13175 (the reading used here: "no record", not "zero").
- BMI: the latest record (a value, < 18.5 underweight, or a coded underweight finding); none carries 0.25318.
- Smoking: the latest record; current carries 0.10291. On a day with two records the weightier one wins.
- Polypharmacy: distinct BNF sub-subchapters (first 6 characters of `medication.bnf_code`) issued in the
  90 days up to and including the index date; 5-9 and 10+ are weighted.
- Categories: fit < 0.0857, mild < 0.1624, moderate <= 0.2392, severe > 0.2392 (moderate includes 0.2392).
"""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from icsys.codes import codelists
from icsys.dataset.definitions import age_on

WEIGHTS = Path(__file__).parent.parent / "codes" / "efi2_weights.toml"


@cache
def weights() -> dict[str, Any]:
    """codes/efi2_weights.toml: divisor, category cut-points, each deficit's coefficient and rules."""
    with WEIGHTS.open("rb") as handle:
        return tomllib.load(handle)


def coefficient(deficit: str) -> float:
    return weights()["deficit"][deficit]["coefficient"]


def efi2(people: ir.Table, events: ir.Table, medication: ir.Table, as_of: date) -> ir.Table:
    """person_id, efi2_deficits, efi2_score, efi2_category for each person in `people` (null under 65)."""
    spec = weights()
    scored = people.filter(age_on(people.birth_date, as_of) >= spec["only_from_age"]).select("person_id", "birth_date")
    present = (_coded(scored, events, as_of).union(_alcohol(scored, events, as_of)).union(_bmi(scored, events, as_of))
               .union(_smoking(scored, events, as_of)).union(_polypharmacy(scored, medication, as_of)))
    rules = ibis.memtable({"deficit": list(spec["deficit"]),
                           "weight": [d["coefficient"] for d in spec["deficit"].values()],
                           "hierarchy": [d.get("hierarchy", name) for name, d in spec["deficit"].items()]})
    # Largest coefficient within each hierarchy (a deficit alone is its own hierarchy).
    counted = (present.join(rules, "deficit").group_by(["person_id", "hierarchy"])
               .aggregate(weight=lambda t: t.weight.max()))
    totals = counted.group_by("person_id").aggregate(efi2_deficits=lambda t: t.count(),
                                                     total=lambda t: t.weight.sum())
    scores = scored.select("person_id").left_join(totals, "person_id").select(
        "person_id", efi2_deficits=lambda t: t.efi2_deficits.fill_null(0).cast("int64"),
        efi2_score=lambda t: t.total.fill_null(0.0).cast("float64") / spec["divisor"])
    out = people.select("person_id").left_join(scores, "person_id").select(
        "person_id", "efi2_deficits", "efi2_score")
    return out.mutate(efi2_category=efi2_category(out.efi2_score))


def efi2_category(score: ir.FloatingValue) -> ir.StringValue:
    cut = weights()["categories"]
    return ibis.cases((score.isnull(), ibis.null("string")), (score > cut["severe_above"], "severe"),
                      (score >= cut["moderate"], "moderate"), (score >= cut["mild"], "mild"), else_="fit")


def _coded(scored: ir.Table, events: ir.Table, as_of: date) -> ir.Table:
    """(person_id, deficit) for each coded (non-categorical) deficit, by its look-back and age rules."""
    day = ibis.literal(as_of)
    parts = []
    for name, rule in weights()["deficit"].items():
        if "category_of" in rule:
            continue
        rows = events.filter(events.snomed_code.isin(codelists("efi2_deficits")[rule.get("codelist", name)]),
                             events.event_date <= day)
        if "lookback_years" in rule:
            rows = rows.filter(rows.event_date > ibis.literal(_years_before(as_of, rule["lookback_years"])))
        rows = rows.join(scored, "person_id")
        if "min_age" in rule:
            rows = rows.filter(age_on(rows.birth_date, rows.event_date) >= rule["min_age"])
        parts.append(rows.select("person_id", deficit=ibis.literal(name)).distinct())
    return ibis.union(*parts)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _latest(rows: ir.Table) -> ir.Table:
    """The latest row per person (by event_date, then the weightier category on the same day)."""
    ranked = rows.mutate(latest_order=ibis.row_number().over(group_by="person_id",
                                                      order_by=[ibis.desc("event_date"), ibis.desc("rank_weight")]))
    return ranked.filter(ranked.latest_order == 0)


def _categorised(events: ir.Table, as_of: date, since: date | None, categories: dict[str, str]) -> ir.Table:
    """Events of the category codelists `categories` (codelist -> category), with their category."""
    lists = codelists("efi2_deficits")
    pairs = [(code, category) for name, category in categories.items() for code in lists[name]]
    table = ibis.memtable({"code": [c for c, _ in pairs], "category": [k for _, k in pairs]})
    rows = events.filter(events.event_date <= ibis.literal(as_of))
    if since is not None:
        rows = rows.filter(rows.event_date > ibis.literal(since))
    return rows.join(table, rows.snomed_code == table.code).select("person_id", "event_date", "value", "category")


def _with_weight(rows: ir.Table, deficit_of: dict[str, str]) -> ir.Table:
    weight = ibis.cases(*[(rows.category == k, coefficient(d)) for k, d in deficit_of.items()], else_=0.0)
    return rows.mutate(rank_weight=weight)


def _alcohol(scored: ir.Table, events: ir.Table, as_of: date) -> ir.Table:
    rule = weights()["alcohol"]
    since = _years_before(as_of, rule["lookback_years"])
    rows = _categorised(events, as_of, since, {"alcohol_zero": "zero", "alcohol_lower": "lower",
                                               "alcohol_higher": "higher", "alcohol_harmful": "harmful",
                                               "alcohol_previous": "previous", "alcohol_units_week": "week",
                                               "alcohol_units_day": "day"})
    rows = rows.filter(~rows.category.isin(["week", "day"]) | rows.value.notnull())
    units = ibis.cases((rows.category == "day", rows.value * 7), else_=rows.value)
    by_units = ibis.cases((units >= rule["harmful_from"], "harmful"), (units >= rule["higher_from"], "higher"),
                          (units > 0, "lower"), else_="zero")
    rows = rows.mutate(category=ibis.cases((rows.category.isin(["week", "day"]), by_units), else_=rows.category))
    deficit_of = {"harmful": "alcohol_harmful", "previous": "alcohol_previous"}
    latest = _latest(_with_weight(rows, deficit_of).join(scored.select("person_id"), "person_id"))
    weighted = latest.filter(latest.category.isin(list(deficit_of))).select(
        "person_id", deficit=ibis.cases(*[(latest.category == k, d) for k, d in deficit_of.items()]))
    return weighted.union(_no_record(scored, latest, "alcohol_no_record"))


def _bmi(scored: ir.Table, events: ir.Table, as_of: date) -> ir.Table:
    rows = _categorised(events, as_of, None, {"bmi_value": "value", "bmi_underweight": "underweight"})
    rows = rows.filter((rows.category != "value") | rows.value.notnull())
    under = (rows.category == "underweight") | (rows.value < weights()["bmi"]["underweight_below"])
    rows = rows.mutate(category=ibis.cases((under, "underweight"), else_="recorded"))
    latest = _latest(_with_weight(rows, {"underweight": "bmi_underweight"}).join(scored.select("person_id"),
                                                                                 "person_id"))
    weighted = latest.filter(latest.category == "underweight").select(
        "person_id", deficit=ibis.literal("bmi_underweight"))
    return weighted.union(_no_record(scored, latest, "bmi_no_record"))


def _smoking(scored: ir.Table, events: ir.Table, as_of: date) -> ir.Table:
    rows = _categorised(events, as_of, None, {"smoker_current": "current", "smoker_ex": "ex", "smoker_never": "never"})
    latest = _latest(_with_weight(rows, {"current": "smoker_current"}).join(scored.select("person_id"), "person_id"))
    return latest.filter(latest.category == "current").select("person_id", deficit=ibis.literal("smoker_current"))


def _no_record(scored: ir.Table, latest: ir.Table, deficit: str) -> ir.Table:
    return scored.filter(~scored.person_id.isin(latest.person_id)).select("person_id", deficit=ibis.literal(deficit))


def _polypharmacy(scored: ir.Table, medication: ir.Table, as_of: date) -> ir.Table:
    rule = weights()["polypharmacy"]
    if "bnf_code" not in medication.columns:  # a store built before the column existed: no BNF, no count
        medication = medication.mutate(bnf_code=ibis.null("string"))
    window = medication.filter(medication.issue_date <= ibis.literal(as_of),
                               medication.issue_date > ibis.literal(as_of - timedelta(days=rule["days"])),
                               medication.bnf_code.notnull())
    counts = (window.mutate(part=window.bnf_code.substr(0, rule["bnf_characters"])).group_by("person_id")
              .aggregate(parts=lambda t: t.part.nunique()).join(scored.select("person_id"), "person_id"))
    banded = counts.filter(counts.parts >= rule["band_5_9_from"])
    return banded.select("person_id", deficit=ibis.cases((banded.parts >= rule["band_10_plus_from"],
                                                          "polypharmacy_10_plus"), else_="polypharmacy_5_9"))
