"""Escalation: an OPEL level 1-4 for each acute provider every day and an aggregated level for the ICS,
with the reasons (which indicators reached which trigger, at what value), kept as a history of system
status in the store (table opel_status).

The indicators, their trigger values and weights are data (escalation.toml, with its sources: NHS
England's OPEL framework 2024 to 2026 and the SHREWD indicators of seed 004), each marked provisional
where the framework's own table is not available. Each indicator is a standard of the catalogue
measured by day for each acute site. A site's level is its banded score, and never more than
`levels.floor_gap` below its worst indicator (so one indicator at OPEL 4 is not averaged away); a
trust's level follows its sites' (its score their G&A-bed-weighted mean, its level at least its worst
site's), and the ICS's its trusts' in the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from icsys.dataset.schema import DERIVED_TABLES
from icsys.dataset.store import table_ddl
from icsys.errors import InputError
from icsys.performance.catalogue import Catalogue, CatalogueError
from icsys.performance.organisations import Hierarchy

if TYPE_CHECKING:
    from icsys.dataset.store import Store

DEFAULT_FRAMEWORK = Path(__file__).with_name("escalation.toml")
HISTORY_TABLE = "opel_status"
_HISTORY_DDL = table_ddl(DERIVED_TABLES["opel_status"])


class EscalationError(InputError):
    """An escalation framework that cannot be used, naming the file and the indicator."""


class Triggers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    opel_2: float
    opel_3: float
    opel_4: float


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    standard: str
    name: str
    weight: float = Field(gt=0)
    worse: Literal["higher", "lower"] = Field(description="Which way the value goes as pressure rises")
    triggers: Triggers
    parameter: int | None = Field(default=None, ge=1, le=20,
                                  description="The framework's acute parameter number, if it is one")
    provisional: bool = Field(default=True, description="Triggers and weight not from the framework's own table")
    source: str = ""
    basis: str = ""

    @model_validator(mode="after")
    def _triggers_in_order(self) -> Indicator:
        t = (self.triggers.opel_2, self.triggers.opel_3, self.triggers.opel_4)
        rising = self.worse == "higher"
        if list(t) != sorted(t, reverse=not rising):
            raise ValueError(f"triggers must {'rise' if rising else 'fall'} from opel_2 to opel_4 when "
                             f"{self.worse} is worse: {t}")
        return self

    def levels(self, values: pd.Series) -> pd.Series:
        """Level 1-4 for each value: the highest level whose trigger it reaches; NaN where no value."""
        t = self.triggers
        if self.worse == "higher":
            reached = [values >= t.opel_2, values >= t.opel_3, values >= t.opel_4]
        else:
            reached = [values <= t.opel_2, values <= t.opel_3, values <= t.opel_4]
        return (1 + sum(r.astype(int) for r in reached)).where(values.notna())

    def trigger(self, level: int) -> float:
        return getattr(self.triggers, f"opel_{level}")


class Bands(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    opel_2: float = Field(gt=0, le=100)
    opel_3: float = Field(gt=0, le=100)
    opel_4: float = Field(gt=0, le=100)

    @model_validator(mode="after")
    def _rising(self) -> Bands:
        if not self.opel_2 < self.opel_3 < self.opel_4:
            raise ValueError("score bands must rise: opel_2 < opel_3 < opel_4")
        return self

    def level(self, scores: pd.Series) -> pd.Series:
        return (1 + (scores >= self.opel_2).astype(int) + (scores >= self.opel_3).astype(int)
                + (scores >= self.opel_4).astype(int)).where(scores.notna())


class Levels(BaseModel):
    """How levels follow from indicators and from the organisations below."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    floor_gap: int = Field(default=1, ge=0, le=3, description="A level is at least the worst indicator's "
                           "(or, for the ICS, the worst trust's) minus this")
    provisional: bool = True
    basis: str = ""

    def floor(self, worst: pd.Series) -> pd.Series:
        return (worst - self.floor_gap).clip(lower=1)


class NotScored(BaseModel):
    """A parameter of the framework the dataset cannot score, and why: said in the data and in every
    output that shows a level, rather than scored from stand-in data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parameter: int = Field(ge=1, le=20)
    name: str = Field(min_length=1)
    why: str = Field(min_length=1, description="What the dataset lacks to score it")


class Framework(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    score: Bands
    levels: Levels = Field(default_factory=Levels)
    indicator: list[Indicator] = Field(min_length=1)
    not_scored: list[NotScored] = Field(default_factory=list)

    @model_validator(mode="after")
    def _parameters_once(self) -> Framework:
        scored = {i.parameter for i in self.indicator if i.parameter is not None}
        both = sorted(scored & {n.parameter for n in self.not_scored})
        if both:
            raise ValueError(f"parameter(s) {both} are both scored by an indicator and listed as not scored")
        return self

    def not_scored_lines(self) -> list[str]:
        """The framework's parameters left out of the score, each with the reason."""
        return [f"Parameter {n.parameter} ({n.name}) is not scored: {n.why}" for n in self.not_scored]

    @model_validator(mode="after")
    def _ids_unique(self) -> Framework:
        twice = [i for i, n in Counter(x.id for x in self.indicator).items() if n > 1]
        if twice:
            raise ValueError(f"indicator id(s) appear more than once: {', '.join(twice)}")
        return self


def load_framework(path: Path | str | None = None, catalogue: Catalogue | None = None) -> Framework:
    """Load and validate escalation indicators; each must name a standard of the catalogue that is
    measured for sites and trusts."""
    from icsys.datafile import load_validated
    from icsys.performance.catalogue import load_catalogue
    from icsys.performance.measure import applies_to, shape_of

    path = Path(path) if path else DEFAULT_FRAMEWORK
    framework = load_validated(path, Framework, EscalationError, "escalation framework", "indicator")
    catalogue = catalogue or load_catalogue()
    problems = []
    for ind in framework.indicator:
        try:
            standard = catalogue.get(ind.standard)
        except CatalogueError:
            problems.append(f"  indicator {ind.id!r}: standard {ind.standard!r} is not in the catalogue")
            continue
        if not applies_to(shape_of(standard)[0], "site"):
            problems.append(f"  indicator {ind.id!r}: standard {ind.standard!r} is not measured for sites")
    if problems:
        raise EscalationError(f"{path}: invalid escalation framework:\n" + "\n".join(problems))
    return framework


# --- scoring -----------------------------------------------------------------------------------------

def site_status(measured: pd.DataFrame, framework: Framework, hierarchy: Hierarchy) -> pd.DataFrame:
    """One row a site and day: score, level, reasons and the indicator values. The level is the banded
    score, raised to the worst indicator's level less the floor gap where that is higher."""
    by_standard = {i.standard: i for i in framework.indicator}
    wide = (measured[measured["standard"].isin(list(by_standard))]
            .pivot_table(index=["org", "period"], columns="standard", values="value", aggfunc="first", dropna=False))
    wide = wide.reindex(columns=list(by_standard))
    levels = pd.DataFrame({s: by_standard[s].levels(wide[s]) for s in wide.columns}, index=wide.index)
    weights = pd.Series({s: by_standard[s].weight for s in wide.columns})
    present = levels.notna()
    weighted = ((levels - 1) / 3).fillna(0).mul(weights, axis=1).sum(axis=1)
    total = present.mul(weights, axis=1).sum(axis=1)
    score = (100 * weighted / total).where(total > 0)
    level = np.fmax(framework.score.level(score), framework.levels.floor(levels.max(axis=1))).where(score.notna())
    out = pd.DataFrame({"score": score, "level": level}).reset_index()
    out["kind"] = out["org"].map(lambda c: hierarchy.get(c).kind)
    out["reasons"] = [_reasons(framework, wide.loc[i], levels.loc[i]) for i in wide.index]
    out["indicators"] = [{by_standard[s].id: _plain(wide.loc[i, s]) for s in wide.columns} for i in wide.index]
    return out.rename(columns={"period": "day"})


def _reasons(framework: Framework, values: pd.Series, levels: pd.Series) -> list[dict[str, Any]]:
    """The indicators at OPEL 2 or above, worst first: value, level and the trigger it reached."""
    out = []
    for ind in framework.indicator:
        level = levels.get(ind.standard)
        if level is None or level != level or level < 2:
            continue
        out.append({"indicator": ind.id, "name": ind.name, "value": round(float(values[ind.standard]), 2),
                    "level": int(level), "trigger": ind.trigger(int(level))})
    return sorted(out, key=lambda r: (-r["level"], r["indicator"]))


def _plain(value: Any) -> float | None:
    return None if value is None or value != value else round(float(value), 2)


def trust_status(sites: pd.DataFrame, framework: Framework, hierarchy: Hierarchy) -> pd.DataFrame:
    """Each trust each day from its sites: score the mean of its sites' scores weighted by their G&A
    beds, level the banded score or its worst site's level, whichever is higher; the reasons are its
    sites' (each naming the site), the indicators its sites' values."""
    scored = sites[sites["score"].notna()].copy()
    scored["trust"] = scored["org"].map(hierarchy.trust_of_site)
    scored["beds"] = scored["org"].map(hierarchy.beds_of_site).astype(float)
    rows = []
    for (day, trust), group in scored.groupby(["day", "trust"], sort=True):
        score = float(np.average(group["score"], weights=group["beds"]))
        level = max(int(framework.score.level(pd.Series([score])).iloc[0]), int(group["level"].max()))
        reasons = [r | {"site": site, "name": f"{r['name']} at {site}"}
                   for site, rs in zip(group["org"], group["reasons"], strict=True) for r in rs]
        rows.append({"day": day, "org": trust, "kind": "trust", "score": score, "level": level,
                     "reasons": sorted(reasons, key=lambda r: (-r["level"], r["indicator"], r["site"])),
                     "indicators": dict(zip(group["org"], group["indicators"], strict=True))})
    return pd.DataFrame(rows, columns=["day", "org", "kind", "score", "level", "reasons", "indicators"])


def provider_status(measured: pd.DataFrame, framework: Framework, hierarchy: Hierarchy) -> pd.DataFrame:
    """Every acute site measured and its trust, each day: score, level, reasons and indicators."""
    sites = site_status(measured, framework, hierarchy)
    return pd.concat([trust_status(sites, framework, hierarchy), sites], ignore_index=True)


def ics_status(providers: pd.DataFrame, framework: Framework, hierarchy: Hierarchy) -> pd.DataFrame:
    """The ICS each day: the mean of its acute trusts' scores weighted by their G&A beds, banded, and at
    least its worst trust's level less the floor gap; the reasons are the trusts at OPEL 2 or above."""
    beds = Counter()
    for site, n in hierarchy.beds_of_site.items():
        beds[hierarchy.trust_of_site[site]] += n
    trusts = providers[(providers["kind"] == "trust") & providers["score"].notna()].copy()
    trusts["beds"] = trusts["org"].map(beds).astype(float)
    rows = []
    for day, group in trusts.groupby("day", sort=True):
        score = float(np.average(group["score"], weights=group["beds"]))
        escalated = group[group["level"] >= 2].sort_values(["level", "score"], ascending=False)
        reasons = [{"provider": r.org, "level": int(r.level), "score": round(float(r.score), 1),
                    "indicators": sorted({x["indicator"] for x in r.reasons})} for r in escalated.itertuples()]
        rows.append({"day": day, "org": hierarchy.ics.code, "kind": "ics", "score": score, "reasons": reasons,
                     "indicators": {r.org: int(r.level) for r in group.itertuples()},
                     "worst": float(group["level"].max())})
    out = pd.DataFrame(rows, columns=["day", "org", "kind", "score", "reasons", "indicators", "worst"])
    out["level"] = np.fmax(framework.score.level(out["score"].astype(float)),
                           framework.levels.floor(out["worst"].astype(float)))
    return out.drop(columns="worst")


def escalation(store: Store, *, start: date | None = None, end: date | None = None,
               framework: Framework | None = None, catalogue: Catalogue | None = None,
               hierarchy: Hierarchy | None = None, write: bool = True) -> pd.DataFrame:
    """OPEL for every acute site and trust and the ICS, each day from start to end (the store's dates by
    default); written to the store's opel_status table, replacing those days, unless write is False."""
    from icsys.performance.catalogue import load_catalogue
    from icsys.performance.measure import measure_store
    from icsys.system import load_system

    catalogue = catalogue or load_catalogue()
    hierarchy = hierarchy or Hierarchy(load_system())
    framework = framework or load_framework(catalogue=catalogue)
    measured = measure_store(store, standards=sorted({i.standard for i in framework.indicator}), period="day",
                             start=start, end=end, catalogue=catalogue, hierarchy=hierarchy,
                             orgs=hierarchy.acute_sites())
    providers = provider_status(measured, framework, hierarchy)
    status = pd.concat([ics_status(providers, framework, hierarchy), providers], ignore_index=True)
    status = status[["day", "org", "kind", "score", "level", "reasons", "indicators"]]
    status = status.sort_values(["day", "kind", "org"], key=_kind_order, ignore_index=True)
    if write and len(status):
        write_history(store, status)
    return status


def _kind_order(column: pd.Series) -> pd.Series:
    return column.map({"ics": 0, "trust": 1, "site": 2}) if column.name == "kind" else column


def write_history(store: Store, status: pd.DataFrame) -> None:
    """Replace the days computed in opel_status, in one transaction: all of it or nothing."""
    rows = status.assign(day=pd.to_datetime(status["day"]).dt.date, computed_at=datetime.now(),
                         reasons=status["reasons"].map(json.dumps), indicators=status["indicators"].map(json.dumps),
                         level=status["level"].astype("Int64"))
    columns = ["day", "org", "kind", "score", "level", "reasons", "indicators", "computed_at"]
    with store.transaction() as tx:
        if tx.engine != "duckdb":  # Spark: the table is rewritten, the days kept that were not computed again
            kept = history(tx)
            kept = kept[~pd.to_datetime(kept["day"]).dt.date.between(rows["day"].min(), rows["day"].max())]
            tx.write_table(HISTORY_TABLE, pd.concat([kept[columns], rows[columns]], ignore_index=True))
            return
        con = tx.con
        con.execute(_HISTORY_DDL)
        con.execute(f"DELETE FROM {HISTORY_TABLE} WHERE day BETWEEN ? AND ?", [rows["day"].min(), rows["day"].max()])
        con.register("_icsys_opel", rows)
        con.execute(f"INSERT INTO {HISTORY_TABLE} SELECT {', '.join(columns)} FROM _icsys_opel")
        con.unregister("_icsys_opel")


def summary_lines(status: pd.DataFrame, days: int = 14, framework: Framework | None = None) -> list[str]:
    """In words: the last days' ICS level and score with each trust's level, the reasons on the last
    day for every provider, how many days the ICS spent at each level and, with the framework, the
    parameters it leaves out and why."""
    ics = status[status["kind"] == "ics"]
    trusts = status[status["kind"] == "trust"].pivot(index="day", columns="org", values="level")
    lines = []
    for row in ics.tail(days).itertuples():
        levels = "  ".join(f"{org} {int(v)}" for org, v in trusts.loc[row.day].items() if v == v)
        lines.append(f"{row.day}  ICS OPEL {int(row.level)} (score {row.score:5.1f})   {levels}")
    last = status[status["day"] == status["day"].max()]
    for row in last[last["kind"] != "ics"].itertuples():
        why = "; ".join(f"{r['name']} {r['value']:g} (OPEL {r['level']} at {r['trigger']:g})" for r in row.reasons)
        level = int(row.level) if row.level == row.level else "-"
        lines.append(f"  {row.org:6s} OPEL {level}: {why or 'no trigger reached'}")
    counts = ics["level"].value_counts().sort_index()
    lines.append("ICS days at each level: " + ", ".join(f"OPEL {int(k)}: {v}" for k, v in counts.items()))
    return lines + (framework.not_scored_lines() if framework is not None else [])


def history(store: Store) -> pd.DataFrame:
    """The system status written so far (empty if escalation has not run on this store)."""
    if not store.has_table(HISTORY_TABLE):
        return pd.DataFrame(columns=["day", "org", "kind", "score", "level", "reasons", "indicators", "computed_at"])
    return store.table(HISTORY_TABLE).order_by(["day", "kind", "org"]).execute()
