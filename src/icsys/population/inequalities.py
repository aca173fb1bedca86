"""Inequalities: any person measure or activity rate by IMD quintile, ethnic group, age band, sex or place,
with 95 % confidence intervals, age standardisation, and the slope and relative index of inequality
across deprivation, as the PHE/OHID Fingertips tools compute them.

Measures: a yes/no column of person_measures (a proportion of people), `column=value` (the proportion
with that value, e.g. `efi_category=severe`), a numeric column (a mean), or `activity:NAME` (a rate per
1,000 person-years at risk, from activity in the year before the measures' date).

Denominators, as epidemiologists use them: proportions and means are of the people registered on the
date (point prevalence, as QOF counts a register); an event rate is per person-year at risk, so everyone
registered at any time in the year counts for the days they were registered and alive (people who died,
moved away or joined count for the time they were there), and an event counts where the person was
registered on its day. Their age is their age in whole years at the middle of the year (as mid-year
population estimates count it); their practice is the one of each registration.

Age standardisation (proportions and rates) is direct, to the 2013 European Standard Population, with
Dobson's interval; crude figures use Wilson (proportions) and Byar (rates). The slope index of
inequality (SII) is the gap between the fitted values at the most and least deprived ends of the
population ranked by deprivation (rank 0 = most deprived), from a regression of each quintile's value
on the midpoint of its cumulative population share, weighted by population; its interval comes from
10,000 simulations of the quintile values within their intervals (the PHE method). The relative index
(RII) is the ratio of those two fitted ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

import ibis
import numpy as np
import pandas as pd

from icsys.dataset.definitions import age_in_years
from icsys.errors import InputError
from icsys.population.cohort import ACTIVITIES
from icsys.population.confidence import Z95, byar, dobson, wilson
from icsys.population.measures import registrations
from icsys.population.model_card import age_band
from icsys.population.risk_features import ETHNIC_GROUP
from icsys.population.stratify import RESULT_TABLE
from icsys.system.hierarchy import practice_places
from icsys.system.model import System

# 2013 European Standard Population, 5-year bands 0-4 ... 90+ (Eurostat 2013), per 100,000.
ESP2013 = np.array([5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000,
                    4000, 2500, 1500, 1000], float)
PLACES = ("practice", "pcn", "icp", "district", "locality")
BREAKDOWNS = ("imd_quintile", "ethnic_group", "age_band", "sex", *PLACES)
SIMULATIONS = 10_000
YEAR_DAYS = 365
DAYS_A_YEAR = 365.25  # a person-year
POINT_PREVALENCE = "people registered on {as_of} (point prevalence, as QOF counts registers)"
# What a rate can count: the cohorts' activities and deaths (the person table's death_date; a death ends the
# registration on its day, so it counts to the registration that ends on it).
EVENTS: dict[str, tuple[str, str, Any]] = ACTIVITIES | {"deaths": ("person", "death_date", None)}
PERSON_YEARS = "person-years at risk: registered and alive, {start} to {as_of}"

if TYPE_CHECKING:
    from icsys.dataset.store import Store


class InequalityError(InputError):
    """A measure or breakdown that cannot be used, with the reason."""


@dataclass(frozen=True)
class Measure:
    text: str
    kind: Literal["proportion", "mean", "rate"]
    column: str
    value: str | None = None

    @property
    def unit(self) -> str:
        return {"proportion": "%", "mean": "mean", "rate": "per 1,000 person-years"}[self.kind]

    def denominator(self, as_of: date) -> str:
        """What the figures are out of, in words."""
        if self.kind == "rate":
            return PERSON_YEARS.format(start=as_of - timedelta(days=YEAR_DAYS - 1), as_of=as_of)
        return POINT_PREVALENCE.format(as_of=as_of)


def parse_measure(text: str, columns: dict[str, str]) -> Measure:
    """A Measure from its text, checked against person_measures' columns (name -> type)."""
    if text.startswith("activity:"):
        name = text.split(":", 1)[1]
        if name not in EVENTS:
            raise InequalityError(f"--measure {text}: unknown activity; activities are: {', '.join(EVENTS)}")
        return Measure(text, "rate", name)
    column, _, value = text.partition("=")
    if column not in columns:
        shown = ", ".join(c for c in columns if c not in ("person_id", "as_of", "birth_date"))
        raise InequalityError(f"--measure {text}: person_measures has no column {column!r}; columns are: {shown}")
    kind = columns[column]
    if value:
        return Measure(text, "proportion", column, value)
    if kind == "boolean":
        return Measure(text, "proportion", column, "True")
    if kind.startswith(("int", "float", "decimal", "double")):
        return Measure(text, "mean", column)
    raise InequalityError(f"--measure {text}: {column} is text; say which value to count, e.g. {column}=VALUE")


def people(backend: Any, system: System, measure: Measure) -> tuple[pd.DataFrame, date]:
    """The rows a measure is summarised over and the date the stored measures describe: for proportions and
    means one row per person of person_measures; for a rate one row per registration in force at any time
    in the year, with its person-years and events."""
    if RESULT_TABLE not in backend.list_tables():
        raise InequalityError("no person_measures in the store: run `icsys population stratify` first")
    t = backend.table(RESULT_TABLE)
    as_of = pd.Timestamp(t.as_of.max().execute()).date()
    if measure.kind == "rate":
        return _groups(at_risk(backend, measure.column, as_of), system, as_of - timedelta(days=YEAR_DAYS // 2)), as_of
    columns = ["person_id", "practice_code", "sex", "birth_date", "ethnicity", "imd_decile", measure.column]
    frame = t.select(*dict.fromkeys(columns)).execute().assign(person_years=1.0)
    return _groups(frame, system, as_of), as_of


def at_risk(backend: Any, activity: str, as_of: date) -> pd.DataFrame:
    """One row per registration in force on any day of the YEAR_DAYS days to as_of: the person's traits, the
    practice, the person-years registered and alive in the year, and the activity of that time."""
    first, after = as_of - timedelta(days=YEAR_DAYS - 1), as_of + timedelta(days=1)
    person = backend.table("person")
    regs = registrations(backend).join(person.select("person_id", "death_date"), "person_id")
    begin = ibis.greatest(regs.registration_start.fill_null(first), ibis.literal(first))
    end = ibis.least(regs.registration_end.fill_null(after), regs.death_date.fill_null(after), ibis.literal(after))
    spans = regs.select("person_id", "practice_code", begin=begin, end=end)
    spans = spans.filter(spans.begin < spans.end)
    source, column, keep = EVENTS[activity]
    rows = backend.table(source)
    day = rows[column].date() if rows[column].type().is_timestamp() else rows[column]
    rows = rows.filter(day >= ibis.literal(first), day < ibis.literal(after))
    if keep is not None:
        rows = rows.filter(keep(rows))
    rows = rows.select("person_id", day=day)
    inside = rows.day <= spans.end if activity == "deaths" else rows.day < spans.end
    hits = rows.join(spans, [rows.person_id == spans.person_id, rows.day >= spans.begin, inside])
    counts = hits.group_by(["person_id", "begin"]).aggregate(**{activity: hits.count()})
    out = spans.left_join(counts, ["person_id", "begin"]).drop("person_id_right", "begin_right")
    out = out.join(person.select("person_id", "sex", "birth_date", "ethnicity", "imd_decile"), "person_id")
    frame = out.execute()
    days = (pd.to_datetime(frame["end"]) - pd.to_datetime(frame["begin"])).dt.days
    return frame.assign(**{activity: frame[activity].fillna(0), "person_years": days / DAYS_A_YEAR}).drop(
        columns=["begin", "end"])


def _groups(frame: pd.DataFrame, system: System, age_day: date) -> pd.DataFrame:
    age = age_in_years(frame["birth_date"], age_day).clip(lower=0)
    places = practice_places(system)[["practice", "pcn", "icp", "district", "locality"]]
    out = frame.merge(places, left_on="practice_code", right_on="practice", how="left")
    quintile = (out["imd_decile"] + 1) // 2
    return out.assign(
        age=age, age_band=age_band(age), esp_band=np.minimum(age // 5, 18).astype(int),
        ethnic_group=out["ethnicity"].map(ETHNIC_GROUP).fillna("Not stated"),
        imd_quintile=quintile.map(lambda q: "unknown" if pd.isna(q) else f"Q{int(q)}"))


def outcome(frame: pd.DataFrame, measure: Measure) -> np.ndarray:
    values = frame[measure.column]
    if measure.kind == "proportion":
        return (values.astype(str) == measure.value).to_numpy(float)
    return values.to_numpy(float)


def summarise(frame: pd.DataFrame, measure: Measure, by: str, standardise: bool) -> pd.DataFrame:
    """One row per group and one for everyone: people, the denominator (people, or person-years for a rate),
    numerator, value and 95 % limits."""
    frame = frame.reset_index(drop=True)
    y = outcome(frame, measure)
    rows = [_row(name, part, y[part.index.to_numpy()], measure, standardise)
            for name, part in frame.groupby(by, sort=True)]
    rows.append(_row("all", frame, y, measure, standardise))
    return pd.DataFrame(rows)


def _row(group: str, part: pd.DataFrame, y: np.ndarray, measure: Measure, standardise: bool) -> dict[str, Any]:
    scale = 100 if measure.kind == "proportion" else 1000 if measure.kind == "rate" else 1
    n, total = part["person_id"].nunique() if "person_id" in part else len(y), float(y.sum())
    exposure = part["person_years"].to_numpy(float) if measure.kind == "rate" else np.ones(len(y))
    denominator = float(exposure.sum())
    if measure.kind == "mean":
        sd = float(np.std(y, ddof=1)) if n > 1 else np.nan
        value, lower, upper = float(y.mean()), y.mean() - Z95 * sd / np.sqrt(n), y.mean() + Z95 * sd / np.sqrt(n)
    elif standardise:
        bands = np.bincount(part["esp_band"].to_numpy(), weights=exposure, minlength=19)
        counts = np.bincount(part["esp_band"].to_numpy(), weights=y, minlength=19)
        value, lower, upper = dobson(counts, bands, ESP2013)
    elif measure.kind == "proportion":
        value = total / denominator
        lower, upper = (float(v[0]) for v in wilson(np.array([total]), np.array([denominator])))
    else:
        value = total / denominator
        lower, upper = (float(v[0]) / denominator for v in byar(np.array([total])))
    row = {"group": group, "people": n}
    if measure.kind == "rate":
        row["person_years"] = denominator
    return row | {"numerator": total, "value": value * scale, "lower": lower * scale, "upper": upper * scale}


def slope_index(table: pd.DataFrame, seed: int = 1) -> dict[str, float]:
    """SII and RII across IMD quintiles Q1 (most deprived) to Q5, with simulated 95 % limits."""
    q = table[table["group"].isin([f"Q{i}" for i in range(1, 6)])].sort_values("group")
    if len(q) < 3:
        return {}
    weight = q["person_years"] if "person_years" in q else q["people"]  # the denominator of the values
    share = weight.to_numpy(float) / weight.sum()
    rank = np.cumsum(share) - share / 2
    value = q["value"].to_numpy(float)
    se = (q["upper"].to_numpy(float) - q["lower"].to_numpy(float)) / (2 * Z95)
    sii, rii = _fit(rank, value, share)
    draws = np.random.default_rng(seed).normal(value, se, size=(SIMULATIONS, len(value)))
    sims = np.array([_fit(rank, d, share) for d in draws])
    low, high = np.nanpercentile(sims, [2.5, 97.5], axis=0)
    return {"sii": sii, "sii_lower": float(low[0]), "sii_upper": float(high[0]),
            "rii": rii, "rii_lower": float(low[1]), "rii_upper": float(high[1])}


def _fit(rank: np.ndarray, value: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """(fitted(0) - fitted(1), fitted(0) / fitted(1)) of a weighted least-squares line."""
    slope, intercept = np.polyfit(rank, value, 1, w=np.sqrt(weight))
    most, least = intercept, intercept + slope
    return float(most - least), float(most / least) if least != 0 else np.nan


@dataclass
class Inequality:
    measure: Measure
    by: str
    as_of: date
    standardised: bool
    table: pd.DataFrame
    index: dict[str, float]

    @property
    def denominator(self) -> str:
        return self.measure.denominator(self.as_of)


def inequalities(store: Store, system: System, measure_text: str, by: str, standardise: bool = True) -> Inequality:
    """The measure by `by` (one of BREAKDOWNS), with the SII and RII when `by` is imd_quintile."""
    backend = store.backend
    if by not in BREAKDOWNS:
        raise InequalityError(f"--by {by!r}: use one of {', '.join(BREAKDOWNS)}")
    if RESULT_TABLE not in backend.list_tables():
        raise InequalityError("no person_measures in the store: run `icsys population stratify` first")
    columns = {name: str(kind).lower() for name, kind in backend.table(RESULT_TABLE).schema().items()}
    measure = parse_measure(measure_text, columns)
    frame, as_of = people(backend, system, measure)
    standardised = standardise and measure.kind != "mean" and by != "age_band"
    table = summarise(frame, measure, by, standardised)
    index = slope_index(table[table["group"] != "all"]) if by == "imd_quintile" else {}
    return Inequality(measure, by, as_of, standardised, table, index)


# --- for sharing ------------------------------------------------------------------------------------------

def inequalities_for_sharing(store: Store, system: System, measure_text: str, by: str,
                             standardise: bool = True) -> Inequality:
    """inequalities() as it may be shared. People and numerators are rounded to 5 (1-7 suppressed), and a
    group's total or the "all" row is withheld where differencing it against the groups of any breakdown
    (or a place against its practices) would reveal a count. Every value and limit is computed from
    rounded counts: crude figures from the group's rounded counts, age-standardised ones from its age-band
    counts each rounded to 5; a mean (not a count) is rounded to one decimal place. The SII and RII come
    from the shared quintile values."""
    from icsys import disclosure

    full = inequalities(store, system, measure_text, by, standardise)
    measure = full.measure
    frame, _ = people(store.backend, system, measure)
    frame = frame.assign(_y=outcome(frame, measure))
    groups, true_people, true_numerator = _sharing_sums(frame, system)
    shared_people = disclosure.protect(true_people, groups)
    shared_numerator = disclosure.protect(true_numerator, groups) if measure.kind != "mean" else {}
    rows = [_shared_row(row, by, frame, measure, full.standardised, shared_people, shared_numerator)
            for row in full.table.to_dict("records")]
    table = pd.DataFrame(rows)
    q = table[table["group"].str.match(r"^Q[1-5]$")]
    index = slope_index(q) if by == "imd_quintile" and q["value"].notna().all() else {}
    return Inequality(measure, by, full.as_of, full.standardised, table, index)


def _key(by: str, group: str) -> str:
    return "all" if group == "all" else f"{by}:{group}"


def _sharing_sums(frame: pd.DataFrame, system: System) -> tuple[list[tuple[str, list[str]]], dict, dict]:
    """Every sum the outputs of every breakdown can be differenced along, and the true people and numerator
    of every group of every breakdown."""
    from icsys.disclosure import place_groups

    true_people: dict[str, float] = {"all": float(len(frame))}
    true_numerator: dict[str, float] = {"all": float(frame["_y"].sum())}
    groups: list[tuple[str, list[str]]] = []
    for by in BREAKDOWNS:
        sums = frame.groupby(by, sort=True)["_y"].agg(["size", "sum"])
        keys = [_key(by, str(g)) for g in sums.index]
        true_people |= dict(zip(keys, sums["size"].astype(float), strict=True))
        true_numerator |= dict(zip(keys, sums["sum"].astype(float), strict=True))
        if by != "practice":
            groups.append(("all", keys))
    places = practice_places(system)
    places = places[places["practice"].isin(frame["practice"].dropna().unique())]
    groups += [(k, parts) for k, parts in place_groups(places, ["pcn", "icp", "district", "locality"])]
    groups.append(("all", [f"practice:{p}" for p in places["practice"]]))
    return groups, true_people, true_numerator


def _shared_row(row: dict[str, Any], by: str, frame: pd.DataFrame, measure: Measure, standardised: bool,
                shared_people: dict[str, float], shared_numerator: dict[str, float]) -> dict[str, Any]:
    from icsys.disclosure import is_small

    key = _key(by, str(row["group"]))
    n = shared_people.get(key, np.nan)
    total = shared_numerator.get(key, np.nan) if measure.kind != "mean" else np.nan
    why = ""
    if (row["people"] > 0 and is_small(row["people"])) or (measure.kind != "mean" and row["numerator"] > 0
                                                         and is_small(row["numerator"])):
        why = "count of 1-7 suppressed"
    elif pd.isna(n) or (measure.kind != "mean" and pd.isna(total)):
        why = "withheld: differencing it with its parts would reveal a count"
    part = frame if row["group"] == "all" else frame[frame[by].astype(str) == str(row["group"])]
    # A rate's denominator is person-years (rounded to 5 like a count); its rows are registrations, so the
    # protected count behind it is of registrations, which add up across groups as differencing assumes.
    size = {"person_years": _round_years(part) if not why else np.nan} if measure.kind == "rate" else {"people": n}
    out = {"group": row["group"], **size, "numerator": total, "value": np.nan, "lower": np.nan,
           "upper": np.nan, "suppressed": bool(why), "disclosure": why}
    if why:
        return out
    if measure.kind == "mean":
        out |= {k: round(float(row[k]), 1) for k in ("value", "lower", "upper")}
        return out
    out |= _shared_value(part, measure, standardised, out.get("person_years", n), total)
    return out


def _round_years(part: pd.DataFrame) -> float:
    from icsys.disclosure import ROUND_TO

    return float(ROUND_TO * np.floor(part["person_years"].sum() / ROUND_TO + 0.5))


def _shared_value(part: pd.DataFrame, measure: Measure, standardised: bool, n: float,
                  total: float) -> dict[str, float]:
    """Value and limits from rounded counts only (`n`: people, or rounded person-years for a rate)."""
    from icsys.disclosure import ROUND_TO

    scale = 100 if measure.kind == "proportion" else 1000
    if standardised:
        exposure = part["person_years"].to_numpy(float) if measure.kind == "rate" else None
        bands = np.bincount(part["esp_band"].to_numpy(), weights=exposure, minlength=19).astype(float)
        counts = np.bincount(part["esp_band"].to_numpy(), weights=part["_y"].to_numpy(), minlength=19)
        to_five = np.vectorize(lambda v: ROUND_TO * np.floor(v / ROUND_TO + 0.5))
        value, lower, upper = dobson(to_five(counts), to_five(bands), ESP2013)
    elif n == 0:
        value = lower = upper = np.nan
    elif measure.kind == "proportion":
        value = total / n
        lower, upper = (float(v[0]) for v in wilson(np.array([total]), np.array([n])))
    else:
        value = total / n
        lower, upper = (float(v[0]) / n for v in byar(np.array([total])))
    return {"value": value * scale, "lower": lower * scale, "upper": upper * scale}
