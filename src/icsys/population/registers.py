"""Disease registers against expected prevalence, by practice, PCN, ICP, district or the whole ICS:
observed / expected with Byar confidence intervals, and the estimated number not yet on the register.
Which registers, their QOF age rules and how the expected number is found are data (registers.toml)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from icsys.dataset.definitions import age_on
from icsys.errors import InputError
from icsys.population import measures
from icsys.population.confidence import ratio_limits
from icsys.population.register_rules import Register, definitions
from icsys.system.hierarchy import LEVELS, practice_places
from icsys.system.model import System

BAND_YEARS = 5
TOP_BAND = 90
# Registers are point prevalence: the people on the register of those registered on the date, as QOF counts.
DENOMINATOR = "people registered on {as_of} (point prevalence, as QOF counts registers)"

if TYPE_CHECKING:
    from icsys.dataset.store import Store


class RegisterError(InputError):
    """A register or level that cannot be used, with the reason."""


def counts_by_age(backend: Any, as_of: date) -> pd.DataFrame:
    """Registered people and people on each register, by practice, sex and year of age (90 for 90+)."""
    people = measures.registered(backend, as_of)
    years = age_on(people.birth_date, as_of).cast("int64")
    base = people.select("person_id", "practice_code", "sex", age=ibis.least(years, TOP_BAND))
    flags = base.join(measures.condition_flags(people, backend.table("clinical_event"), as_of), "person_id")
    sums = {f"has_{c}": flags[f"has_{c}"].sum() for c in definitions()}
    return flags.group_by(["practice_code", "sex", "age"]).aggregate(people=flags.count(), **sums).execute()


def expected(counts: pd.DataFrame, register: Register) -> pd.DataFrame:
    """Per practice, sex and 5-year band: population, observed and expected for one register, counting
    only people of the register's ages. The reference rates are by 5-year band and sex."""
    rows = counts[counts["age"] >= register.min_age].assign(
        band=lambda t: np.minimum(t["age"] // BAND_YEARS * BAND_YEARS, TOP_BAND))
    rows = rows.groupby(["practice_code", "sex", "band"], as_index=False).agg(
        population=("people", "sum"), observed=(f"has_{register.condition}", "sum"))
    if register.reference == "published":
        rows["expected"] = rows["population"] * register.published_rate(rows["sex"], rows["band"])
    else:
        by_band = rows.groupby(["sex", "band"])[["observed", "population"]].transform("sum")
        rows["expected"] = rows["population"] * by_band["observed"] / by_band["population"]
    return rows[["practice_code", "sex", "band", "population", "observed", "expected"]]


def registers(store: Store, system: System, as_of: date, level: str = "practice",
              conditions: list[str] | None = None) -> pd.DataFrame:
    """One row per register and organisation at `level`: population, observed, expected, their ratio with
    95 % limits, prevalences, and the gap (expected - observed, people possibly not yet diagnosed). Population
    and prevalence are of the list on `as_of` (point prevalence), said in the `denominator` column."""
    backend = store.backend
    if level not in LEVELS:
        raise RegisterError(f"--level {level!r}: use one of {', '.join(LEVELS)}")
    known = definitions()
    unknown = [c for c in conditions or [] if c not in known]
    if unknown:
        raise RegisterError(f"--condition {', '.join(unknown)}: unknown register; registers are: {', '.join(known)}")
    counts = counts_by_age(backend, as_of)
    places = practice_places(system)
    frames = []
    for name in conditions or list(known):
        rows = expected(counts, known[name]).merge(places, left_on="practice_code", right_on="practice", how="left")
        summed = rows.groupby([level, f"{level}_name"], as_index=False)[["population", "observed", "expected"]].sum()
        frames.append(summed.assign(condition=name, reference=_reference(known[name])))
    out = pd.concat(frames, ignore_index=True).rename(columns={level: "org_code", f"{level}_name": "org_name"})
    return _ratios(out.assign(level=level, as_of=as_of)).assign(denominator=DENOMINATOR.format(as_of=as_of))


def _reference(register: Register) -> str:
    return register.source if register.reference == "published" else "ICS age-sex rates (indirect standardisation)"


def _ratios(out: pd.DataFrame) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out["observed"] / out["expected"]
        out["observed_prevalence"] = 100 * out["observed"] / out["population"]
        out["expected_prevalence"] = 100 * out["expected"] / out["population"]
    out["ratio_lower"], out["ratio_upper"] = ratio_limits(out["observed"].to_numpy(), out["expected"].to_numpy())
    out["gap"] = (out["expected"] - out["observed"]).clip(lower=0).round(1)
    out["expected"] = out["expected"].round(1)
    columns = ["condition", "level", "org_code", "org_name", "as_of", "population", "observed", "expected",
               "ratio", "ratio_lower", "ratio_upper", "observed_prevalence", "expected_prevalence", "gap",
               "reference"]
    return out[columns].sort_values(["condition", "org_code"]).reset_index(drop=True)


# --- for sharing ------------------------------------------------------------------------------------------

WITHHELD = "withheld: differencing it with its parts would reveal a count"
SMALL = "count of 1-7 suppressed"


def registers_for_sharing(store: Store, system: System, as_of: date, level: str = "practice",
                          conditions: list[str] | None = None) -> pd.DataFrame:
    """registers() as it may be shared: population, observed and expected rounded to 5 (1-7 suppressed),
    every ratio, limit, prevalence and gap computed from those rounded figures, and any total withheld that
    could be differenced against the practices it sums (at any level) to recover a count. A `disclosure`
    column says why a row lost figures."""
    from icsys import disclosure

    table = registers(store, system, as_of, level, conditions)
    practices = registers(store, system, as_of, "practice", conditions) if level != "practice" else table
    places = practice_places(system)
    groups = disclosure.place_groups(places, [lv for lv in LEVELS if lv != "practice"])
    totals = {lv: registers(store, system, as_of, lv, conditions) if lv != level else table
              for lv in LEVELS if lv != "practice"}
    parts = []
    for condition, mine in table.groupby("condition", sort=False):
        shared = {}
        for column in ("population", "observed"):
            true = {f"practice:{r.org_code}": getattr(r, column)
                    for r in practices[practices["condition"] == condition].itertuples()}
            for lv, frame in totals.items():
                true |= {f"{lv}:{r.org_code}": getattr(r, column)
                         for r in frame[frame["condition"] == condition].itertuples()}
            shared[column] = disclosure.protect(true, groups)
        parts.append(_shared_rows(mine, level, shared))
    return pd.concat(parts, ignore_index=True)


def _shared_rows(rows: pd.DataFrame, level: str, shared: dict[str, dict[str, float]]) -> pd.DataFrame:
    from icsys.disclosure import is_small, round_count

    out = rows.copy()
    keys = f"{level}:" + out["org_code"].astype(str)
    reasons = []
    for column in ("population", "observed"):
        values = keys.map(shared[column]).astype(float)
        small = out[column].map(lambda n: n > 0 and is_small(n))
        reasons.append(np.where(small, SMALL, np.where(values.isna(), WITHHELD, "")))
        out[column] = values
    blank = out["observed"].isna() | out["population"].isna()
    out["expected"] = out["expected"].map(round_count).where(~blank)
    why = dict(zip(out["org_code"], (next((r for r in row if r), "") for row in zip(*reasons, strict=True)),
                   strict=True))
    result = _ratios(out)
    result["disclosure"] = result["org_code"].map(why)
    result["suppressed"] = result["disclosure"] != ""
    return result
