"""`icsys flow calibrate`: a scenario fitted to the linked dataset, with a report of fit.

What is fitted, and from what:
- arrival streams per site: A&E type 1 by arrival mode, A&E type 3 (minor injuries and urgent
  treatment centres), emergency admissions not through A&E (GP and same-day emergency care),
  ordinary elective admissions, and step-up admissions to community beds; each with its mean a day
  and hour-of-day, day-of-week and month profiles (`ae_attendance`, `inpatient_spell`,
  `community_bed_stay`);
- case mixes by age band, eFI frailty category (computed from the GP record at the middle of the
  data) and specialty: each group's share, whether it is admitted, its length of stay from admission
  to ready for discharge (an empirical distribution) and its discharge pathway mix;
- time in A&E of those not admitted and from arrival to decision to admit;
- beds per site and community beds per ICP from the system definition (`icsys.system.load_system`);
- for each council, reablement (places), home care (care hours a week) and care-home places open to
  hospital discharges: the most held at once by people discharged from hospital in the last year
  of data (packages linked to a discharge by person and start date), shown beside what the system
  definition commissions; how long each is held (Kaplan-Meier, so packages still running count);
  the care hours each person needs; and the time from ready for discharge to moving (arranging);
- where each pathway leads from each site (by the council or ICP where patients live), and onward
  destinations from community beds;
- a census of the day the scenario starts, when the data reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from icsys.errors import InputError
from icsys.flow.distributions import mean
from icsys.flow.model import AGE_BANDS, Empirical, Scenario
from icsys.flow.toml_out import dumps
from icsys.system import System, load_system

GRID = np.linspace(0.0, 1.0, 21)  # probabilities of the fitted empirical distributions
MIN_GROUP = 30  # observations needed to fit a group's own stay or pathway mix
AGE_EDGES = [16, 65, 75, 85]
CARE_HOME = {"54", "65", "85"}  # HES DISDEST of a care home
EMERGENCY_DIRECT = "gp_sdec"


class CalibrationError(InputError):
    """The store cannot be calibrated from (too little data, missing tables)."""


@dataclass
class Data:
    first: date
    last: date
    scale: float  # a synthetic store's share of the population (1 for real data): beds are scaled by it
    ae: pd.DataFrame
    spells: pd.DataFrame
    community: pd.DataFrame
    packages: pd.DataFrame

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def calibrate(db: Path, system_path: Path | None, start: date | None, days: int, beds: str = "system",
              progress: Any = None) -> tuple[str, str]:
    """The scenario (TOML text) and the report of fit (Markdown). `beds`: "system" takes acute and community
    beds from the system definition; "observed" takes the most occupied at once in the last year of data
    (when the data show more people in beds than the definition has, as a synthetic store can)."""
    if beds not in ("system", "observed"):
        raise CalibrationError(f"beds {beds!r}: use system or observed")
    update = progress or (lambda *_: None)
    system = load_system(system_path)
    update("reading the store (eFI of everyone, admissions, attendances, stays, packages)", 0, 3)
    data = extract(db, system)
    start = start or data.last + timedelta(days=1)
    update("fitting streams, case mixes, stays and services", 1, 3)
    fit = Fit(data, system, start, days, beds)
    scenario = fit.scenario()
    update("writing the report of fit", 2, 3)
    try:
        Scenario.model_validate(scenario)
    except ValidationError as exc:  # a bug here, not bad input: say what was produced
        raise CalibrationError(f"the calibrated scenario does not validate: {exc}") from exc
    header = {"scenario": f"Calibrated by `icsys flow calibrate` from {db} ({data.first} to {data.last}).\n"
                          "See the report of fit beside this file."}
    return dumps(scenario, header), fit.report(str(db))


# --- reading the store ------------------------------------------------------------------------------------------

def extract(db: Path, system: System) -> Data:
    import ibis

    from icsys.dataset.store import connect
    from icsys.population import measures

    backend = connect(db)
    try:
        first, last = _window(backend)
        scale = _scale(backend)
        person = backend.table("person")
        middle = first + (last - first) / 2
        frailty = measures.efi(person, backend.table("clinical_event"), backend.table("medication"), middle)
        people = person.select("person_id", "birth_date", "practice_code").join(
            frailty.select("person_id", frailty="efi_category"), "person_id", how="left").select(
            "person_id", "birth_date", "practice_code", "frailty")
        spells = backend.table("inpatient_spell")
        spells = spells.filter(spells.patient_classification == "1", ~spells.admission_method.startswith("3"),
                               spells.admission_method != "81")
        spells = spells.join(people, "person_id", how="left").select(
            "spell_id", "person_id", "site_code", "admission_time", "ready_for_discharge_time", "discharge_time",
            "admission_method", "specialty", "discharge_pathway", "discharge_destination", "attendance_id",
            "birth_date", "practice_code", "frailty")
        ae = backend.table("ae_attendance").join(people, "person_id", how="left").select(
            "attendance_id", "site_code", "department_type", "arrival_time", "decision_to_admit_time",
            "departure_time", "arrival_mode", "disposal", "birth_date", "practice_code", "frailty")
        stays = backend.table("community_bed_stay").join(people, "person_id", how="left").select(
            "spell_id", "unit_code", "source", "admission_time", "ready_for_discharge_time", "discharge_time",
            "discharge_destination", "birth_date", "practice_code")
        packages = _linked_packages(backend, ibis)
        frames = [t.to_pandas() for t in (ae, spells, stays, packages)]
    finally:
        backend.disconnect()
    ae, spells, stays, packages = frames
    if len(spells) < 200 or len(ae) < 200:
        raise CalibrationError(f"{db}: too little data to calibrate from ({len(spells)} admissions, "
                               f"{len(ae)} A&E attendances)")
    spells = _spells(spells, system)
    # placed: the spell's pathway found its place (a community bed for P2, a package for P1 and P3); else
    # another route was found
    spells["placed"] = np.where(spells["pathway"] == 2, spells["spell_id"].isin(set(stays["spell_id"].dropna())),
                                spells["spell_id"].isin(set(packages["spell_id"].dropna())))
    return Data(first, last, scale, _ae(ae, spells, system), spells, _community(stays, system),
                _packages(packages))


def _scale(backend: Any) -> float:
    """The scale a synthetic store was built at (its people are that share of the system's)."""
    import json

    if "icsys_meta" not in backend.list_tables():
        return 1.0
    meta = backend.table("icsys_meta").to_pandas()
    value = meta.loc[meta["key"] == "scale", "value"]
    return float(json.loads(value.iloc[0])) if len(value) else 1.0


def _window(backend: Any) -> tuple[date, date]:
    t = backend.table("ae_attendance")
    row = t.aggregate(first=t.arrival_time.min(), last=t.arrival_time.max()).to_pandas().iloc[0]
    if pd.isna(row["first"]):
        raise CalibrationError("the store has no A&E attendances to calibrate from")
    first, last = row["first"].date(), row["last"].date()
    if last > first:  # the final day is usually part-filled (attendances that ran past midnight)
        last -= timedelta(days=1)
    return first, last


def _linked_packages(backend: Any, ibis: Any) -> Any:
    """Social care packages that started a discharge (within 3 days of leaving hospital), with the delay
    from ready for discharge to leaving; and all packages for the census."""
    spells = backend.table("inpatient_spell")
    spells = spells.filter(spells.discharge_pathway.isin([1, 2, 3]), spells.discharge_time.notnull())
    spells = spells.select("spell_id", spell_person="person_id", left_on=spells.discharge_time.date(),
                           pathway="discharge_pathway", ready="ready_for_discharge_time", left_at="discharge_time")
    p = backend.table("social_care_package")
    joined = p.join(spells, [p.person_id == spells.spell_person, p.start_date >= spells.left_on,
                             p.start_date <= spells.left_on + ibis.interval(days=3)], how="inner")
    delay = (joined.left_at.epoch_seconds() - joined.ready.epoch_seconds()) / 86_400
    return joined.select("package_id", "spell_id", "council_code", "service_type", "start_date", "end_date",
                         "weekly_hours", "pathway", delay_days=delay).distinct(on="package_id", keep="first")


def _age_band(birth: pd.Series, when: pd.Series) -> np.ndarray:
    years = (pd.to_datetime(when) - pd.to_datetime(birth)).dt.days.to_numpy() / 365.25
    index = np.searchsorted(AGE_EDGES, np.nan_to_num(years, nan=50.0), side="right")
    return np.array(AGE_BANDS)[index]


def _places(df: pd.DataFrame, system: System) -> pd.DataFrame:
    district = {p.code: p.district for p in system.practice}
    council = {d.code: d.council for d in system.district}
    icp = {d.code: d.icp for d in system.district}
    d = df["practice_code"].map(district)
    return df.assign(council=d.map(council).fillna(_main(system, "council")), icp=d.map(icp).fillna(
        _main(system, "icp")))


def _main(system: System, what: str) -> str:
    """The council or ICP of most people, for the few whose practice is not in the system definition."""
    weights: dict[str, int] = {}
    district = {d.code: d for d in system.district}
    for p in system.practice:
        key = getattr(district[p.district], what)
        weights[key] = weights.get(key, 0) + p.list_size
    return max(weights, key=lambda k: weights[k])


def _days_between(a: pd.Series, b: pd.Series) -> np.ndarray:
    return (pd.to_datetime(b) - pd.to_datetime(a)).dt.total_seconds().to_numpy() / 86_400


def _spells(s: pd.DataFrame, system: System) -> pd.DataFrame:
    s = _places(s, system)
    method = s["admission_method"].astype(str)
    source = np.where(method.str.startswith("1"), "elective",
                      np.where(s["attendance_id"].notna(), "ae", EMERGENCY_DIRECT))
    died = s["ready_for_discharge_time"].isna() & s["discharge_time"].notna()
    # a death ends the stay: it counts as a stay to the moment of death, then pathway 0 (the bed frees)
    ready = s["ready_for_discharge_time"].where(~died, s["discharge_time"])
    return s.assign(
        source=source, age_band=_age_band(s["birth_date"], s["admission_time"]),
        frailty=s["frailty"].fillna("unknown"), los=_days_between(s["admission_time"], ready),
        pathway=s["discharge_pathway"].where(~died, 0), delay=_days_between(ready, s["discharge_time"]),
        ready=ready)


def _ae(ae: pd.DataFrame, spells: pd.DataFrame, system: System) -> pd.DataFrame:
    """Attendances, with the specialty, stay and pathway of the admission each led to."""
    ae = ae.assign(age_band=_age_band(ae["birth_date"], ae["arrival_time"]),
                   frailty=ae["frailty"].fillna("unknown"),
                   hours=_days_between(ae["arrival_time"], ae["departure_time"]) * 24,
                   dta_hours=_days_between(ae["arrival_time"], ae["decision_to_admit_time"]) * 24,
                   disposed_admitted=ae["disposal"] == "admitted")
    linked = spells[spells["attendance_id"].notna()][["attendance_id", "specialty", "los", "pathway", "site_code"]]
    ae = ae.merge(linked.rename(columns={"site_code": "bed_site"}), on="attendance_id", how="left")
    # admitted, for the model: to an ordinary general and acute bed (a linked spell the model covers)
    return ae.assign(admitted=ae["specialty"].notna())


def _community(c: pd.DataFrame, system: System) -> pd.DataFrame:
    icp_of_unit = {u.code: {d.code: d.icp for d in system.district}[u.district] for u in system.community_bed_unit}
    c = _places(c, system)
    ready = c["ready_for_discharge_time"].fillna(c["discharge_time"])
    return c.assign(pool_icp=c["unit_code"].map(icp_of_unit), los=_days_between(c["admission_time"], ready),
                    delay=_days_between(ready, c["discharge_time"]))


def _packages(p: pd.DataFrame) -> pd.DataFrame:
    return p.assign(start_date=pd.to_datetime(p["start_date"]), end_date=pd.to_datetime(p["end_date"]))


# --- fitting ----------------------------------------------------------------------------------------------------

def empirical(values: np.ndarray) -> dict[str, Any] | None:
    """An empirical distribution at 21 evenly spaced probabilities; the top value is set so the fitted
    mean equals the observed one (the last segment carries the mean of the top 5 %)."""
    v = np.sort(np.asarray(values, dtype=np.float64)[np.isfinite(values)])
    v = np.maximum(v, 0.0)
    if len(v) == 0:
        return None
    q = np.quantile(v, GRID)
    top = v[v >= q[-2]]
    q[-1] = max(q[-2], 2 * top.mean() - q[-2]) if len(top) else q[-2]
    return {"distribution": "empirical", "quantiles": [round(float(x), 4) for x in q]}


def kaplan_meier(durations: np.ndarray, ended: np.ndarray) -> dict[str, Any] | None:
    """Quantiles of a duration some of whose spells have not ended (censored), by Kaplan-Meier. Where the
    estimate stops short (the longest spells are still running), an exponential tail takes over, with the
    rate of ends per day at risk beyond the median observed end."""
    d = np.asarray(durations, dtype=np.float64)
    e = np.asarray(ended, dtype=bool)
    ok = np.isfinite(d)
    d, e = np.maximum(d[ok], 0.0), e[ok]
    if len(d) == 0 or not e.any():
        return None
    order = np.argsort(d, kind="stable")
    d, e = d[order], e[order]
    survival = np.cumprod(1 - e / (len(d) - np.arange(len(d))))
    cdf = 1 - survival
    middle = np.median(d[e])
    exposure = np.clip(d - middle, 0, None).sum()
    rate = e[d > middle].sum() / exposure if exposure > 0 and e[d > middle].any() else 1 / max(d.mean(), 1e-9)
    last = np.flatnonzero(e)[-1]
    q = np.zeros(len(GRID))
    for i, p in enumerate(GRID[1:-1], start=1):
        j = np.searchsorted(cdf, p - 1e-12, side="left")
        q[i] = d[j] if j <= last else d[last] + np.log(survival[last] / (1 - p)) / rate
    beyond = d[e & (d >= q[-2])]
    q[-1] = q[-2] + 2 * ((beyond.mean() - q[-2]) if len(beyond) and cdf[last] >= GRID[-2] else 1 / rate)
    return {"distribution": "empirical", "quantiles": [round(float(x), 4) for x in np.maximum.accumulate(q)]}


def profile(times: pd.Series, first: date, last: date) -> dict[str, list[float]]:
    """Hour-of-day, day-of-week and month profiles (relative, mean 1), per calendar day available."""
    t = pd.to_datetime(times)
    days = pd.date_range(first, last, freq="D")
    by_hour = np.bincount(t.dt.hour, minlength=24).astype(float)
    by_dow = np.bincount(t.dt.weekday, minlength=7) / np.maximum(np.bincount(days.weekday, minlength=7), 1)
    by_month = np.bincount(t.dt.month - 1, minlength=12) / np.maximum(np.bincount(days.month - 1, minlength=12), 1)
    out = {}
    for name, counts in (("hour_of_day", by_hour), ("day_of_week", by_dow), ("month", by_month)):
        if counts.sum() > 0:
            # months the data do not cover take the mean, rather than zero demand
            counts = np.where(counts > 0, counts, counts[counts > 0].mean()) if name == "month" else counts
            out[name] = [round(float(x), 4) for x in counts / counts.mean()]
    return out


def _mix(pathways: pd.Series) -> list[float]:
    counts = np.bincount(pathways.fillna(0).astype(int).clip(0, 3), minlength=4).astype(float)
    return [round(float(x), 5) for x in counts / counts.sum()] if counts.sum() else [1.0, 0.0, 0.0, 0.0]


def _normalise(mix: list[float]) -> list[float]:
    total = sum(mix)
    out = [round(x / total, 5) for x in mix]
    out[int(np.argmax(out))] += round(1 - sum(out), 5)
    return [max(0.0, x) for x in out]


class Fit:
    """Builds the scenario from the data, remembering what it saw for the report of fit."""

    def __init__(self, data: Data, system: System, start: date, days: int, beds: str = "system") -> None:
        self.data, self.system, self.start, self.days, self.bed_source = data, system, start, days, beds
        self.notes: list[str] = []
        if beds == "observed":
            self.notes.append("Acute and community beds are the most occupied at once at any midnight in the last "
                              "year of data (--beds observed), not the system definition's.")
        if data.scale != 1 and beds == "system":
            self.notes.append(f"The store is a synthetic population at scale {data.scale:g}: beds from the system "
                              "definition are scaled by it.")
        self.sites = self._acute_sites()
        self.councils = [c for c in system.council if c.social_care]
        self.icps = sorted({u_icp for u_icp in data.community["pool_icp"].dropna()}) if len(data.community) else []
        self.census_day = min(start, data.last + timedelta(days=1))
        self.beds_used: dict[str, int] = {}
        self.fitted_los: dict[str, tuple[np.ndarray, list[tuple[float, dict[str, Any]]]]] = {}

    def _acute_sites(self) -> list[str]:
        used = set(self.data.spells["site_code"])
        sites = [s.code for s in self.system.site if s.kind == "acute" and s.general_acute_beds > 0]
        left_out = [s for s in sites if s not in used]
        if left_out:
            self.notes.append(f"Sites with beds but no admissions in the data are left out: {', '.join(left_out)}.")
        return [s for s in sites if s in used]

    # --- the scenario ---
    def scenario(self) -> dict[str, Any]:
        case_mix = {
            "ae_ambulance": self._case_mix(self._ae_source("ambulance"), "ae_ambulance"),
            "ae_walk_in": self._case_mix(self._ae_source("walk_in"), "ae_walk_in"),
            EMERGENCY_DIRECT: self._case_mix(self._admitted_only(EMERGENCY_DIRECT), EMERGENCY_DIRECT),
            "elective": self._case_mix(self._admitted_only("elective"), "elective"),
        }
        case_mix = {k: v for k, v in case_mix.items() if v is not None}
        minor = self._minor_mix()
        if minor:
            case_mix["ae_minor"] = minor
        info = {"name": "Kent and Medway, calibrated" if self.system.ics.code == "QKS"
                else f"{self.system.ics.name}, calibrated",
                "description": f"Fitted by icsys flow calibrate to {self.data.first} - {self.data.last}.",
                "start": self.start, "days": self.days, "warm_up_days": 0 if self.census_day == self.start else 28}
        return {"scenario": info, "pool": self._pools(), "arrivals": self._arrivals(case_mix),
                "case_mix": case_mix}

    def _ae_source(self, mode: str) -> pd.DataFrame:
        ae = self.data.ae
        return ae[(ae["department_type"] == "1") & (ae["arrival_mode"] == mode)]

    def _admitted_only(self, source: str) -> pd.DataFrame:
        s = self.data.spells[self.data.spells["source"] == source]
        return s.assign(admitted=True)

    def _case_mix(self, df: pd.DataFrame, name: str) -> dict[str, Any] | None:
        """Groups by age band, frailty and (if admitted) specialty; small groups merged over frailty."""
        if not len(df):
            return None
        spells = self.data.spells
        rows: list[dict[str, Any]] = []
        admitted = df[df["admitted"] & df["specialty"].notna()] if "specialty" in df else df
        not_admitted = df[~df["admitted"]] if "admitted" in df else df.iloc[:0]
        total = len(admitted) + len(not_admitted)
        for (age, frail), g in not_admitted.groupby(["age_band", "frailty"]):
            rows.append({"age_band": age, "frailty": frail, "share": round(len(g) / total, 7), "admitted": False})
        pool = admitted if name.startswith("ae_") else spells[spells["source"] == name]
        fitted: list[tuple[float, dict[str, Any]]] = []
        for (age, spec), g in admitted.groupby(["age_band", "specialty"]):
            small = []
            for frail, h in g.groupby("frailty"):
                if len(h) >= MIN_GROUP:
                    row = self._admitted_row(pool, age, frail, spec, len(h) / total)
                    rows.append(row)
                    fitted.append((len(h) / total, row["los_days"]))
                else:
                    small.append(h)
            if small:
                h = pd.concat(small)
                row = self._admitted_row(pool, age, "all", spec, len(h) / total)
                rows.append(row)
                fitted.append((len(h) / total, row["los_days"]))
        observed = pool["los"].to_numpy()
        self.fitted_los[name] = (observed[np.isfinite(observed)], fitted)
        return {"rows": rows}

    def _admitted_row(self, pool: pd.DataFrame, age: str, frail: str, spec: str, share: float) -> dict[str, Any]:
        g = pool[(pool["age_band"] == age) & (pool["specialty"] == spec)]
        mine = g if frail == "all" else g[g["frailty"] == frail]
        for candidate in (mine, g, pool[pool["specialty"] == spec], pool):
            los = candidate["los"].dropna()
            if len(los) >= MIN_GROUP or candidate is pool:
                break
        pathway = next(c for c in (mine, g, pool) if len(c) >= MIN_GROUP or c is pool)["pathway"]
        return {"age_band": age, "frailty": frail, "specialty": spec, "share": round(share, 7),
                "los_days": empirical(los.to_numpy()), "pathway": _normalise(_mix(pathway))}

    def _minor_mix(self) -> dict[str, Any] | None:
        ae = self.data.ae
        minor = ae[ae["department_type"] != "1"]
        if not len(minor):
            return None
        rows = [{"age_band": age, "frailty": frail, "share": round(len(g) / len(minor), 7), "admitted": False}
                for (age, frail), g in minor.groupby(["age_band", "frailty"])]
        return {"rows": rows}

    def _arrivals(self, case_mix: dict[str, Any]) -> list[dict[str, Any]]:
        d = self.data
        out: list[dict[str, Any]] = []
        ae = d.ae
        for (site, dtype, mode), g in ae.groupby(["site_code", "department_type", "arrival_mode"]):
            type1 = dtype == "1" and site in self.sites
            admitted = g[g["admitted"]]
            stream = {"name": f"{site} A&E {mode.replace('_', ' ')}" + ("" if type1 else " (minor)"),
                      "source": f"ae_{mode}" if mode in ("walk_in", "ambulance") else "ae_walk_in",
                      "pool": site if type1 else "", "department": site, "department_type": int(dtype),
                      "per_day": self.rate(g["arrival_time"]), **profile(g["arrival_time"], d.first, d.last),
                      "case_mix": (f"ae_{mode}" if type1 else "ae_minor"),
                      "admitted_share": round(len(admitted) / len(g), 5) if type1 else 0.0,
                      "ed_hours": empirical(g.loc[~g["admitted"], "hours"].to_numpy())}
            if type1:
                stream["dta_hours"] = empirical(admitted["dta_hours"].to_numpy())
                out += self._by_bed_site(stream, admitted["bed_site"])
            elif len(g[~g["admitted"]]):
                out.append(stream)
        for source in (EMERGENCY_DIRECT, "elective"):
            s = d.spells[d.spells["source"] == source]
            for site, g in s.groupby("site_code"):
                if site in self.sites and source in case_mix:
                    out.append({"name": f"{site} {'GP and SDEC' if source == EMERGENCY_DIRECT else 'elective'}",
                                "source": source, "pool": site, "per_day": self.rate(g["admission_time"]),
                                **profile(g["admission_time"], d.first, d.last), "case_mix": source,
                                "when_full": "turn_away" if source == "elective" else "queue"})
        c = d.community
        for icp, g in c[c["source"] == "step_up"].groupby("pool_icp"):
            out.append({"name": f"{icp} community step-up", "source": "step_up", "pool": f"{icp}-community",
                        "per_day": self.rate(g["admission_time"]), **profile(g["admission_time"], d.first, d.last),
                        "los_days": empirical(g["los"].to_numpy())})
        return out

    def _by_bed_site(self, stream: dict[str, Any], bed_site: pd.Series) -> list[dict[str, Any]]:
        """A department's stream split by where its admissions were bedded (a trust's site without a major
        A&E takes some of them): one stream per bed site, the attendances shared in the same proportions."""
        shares = bed_site[bed_site.isin(self.sites)].value_counts(normalize=True)
        shares = shares[shares >= 0.01] / shares[shares >= 0.01].sum()
        if len(shares) <= 1:
            return [stream]
        return [stream | {"name": stream["name"] + ("" if site == stream["pool"] else f" (bedded at {site})"),
                          "pool": site, "per_day": stream["per_day"] * float(share)}
                for site, share in shares.items()]

    # --- pools ---
    def _pools(self) -> list[dict[str, Any]]:
        return [*self._acute_pools(), *self._community_pools(), *self._council_pools()]

    def _acute_pools(self) -> list[dict[str, Any]]:
        s = self.data.spells
        sites = {x.code: x for x in self.system.site}
        census = self._acute_census()
        out = []
        for code in self.sites:
            site = sites[code]
            here = s[s["site_code"] == code]
            recent = self.recent(here, "discharge_time")
            home = recent.loc[recent["pathway"] == 0, "delay"].to_numpy()
            n, ready = census.get(code, (0, {}))
            core, escalation = self._beds(site.general_acute_beds), self._beds(site.escalation_beds, 0)
            peak = self._peak(here["admission_time"], here["discharge_time"])
            if self.bed_source == "observed":
                core = max(1, peak)
            elif peak > core + escalation:
                self.notes.append(f"{code}: the data show up to {peak:,} people in beds at once in the last year, "
                                  f"more than its {core:,} beds and {escalation:,} escalation beds: the model will "
                                  "queue them (calibrate with --beds observed to size beds from the data).")
            beds = core + escalation
            if n > beds:
                self.notes.append(f"{code}: {n} people in beds on {self.census_day} is more than its {beds} beds "
                                  "with escalation; the census is capped at that.")
                n = beds
                ready = _within(ready, n)
            self.beds_used[code] = core
            out.append({"code": code, "name": site.name, "kind": "acute", "capacity": core,
                        "escalation": escalation, "home_days": empirical(home),
                        "discharge_to": self._routes(here), "census": n,
                        "census_ready": {k: v for k, v in ready.items() if v}})
        return out

    def rate(self, times: pd.Series) -> float:
        """Arrivals a day over the last year of data (demand as it is now; the profiles use all of it)."""
        end = pd.Timestamp(self.data.last) + pd.Timedelta(days=1)
        begin = max(pd.Timestamp(self.data.first), end - pd.Timedelta(days=365))
        when = pd.to_datetime(times)
        return round(float(((when >= begin) & (when < end)).sum()) / max((end - begin).days, 1), 4)

    def recent(self, df: pd.DataFrame, column: str) -> pd.DataFrame:
        """Rows whose `column` falls in the last year of data: delays are fitted to how things are now."""
        end = pd.Timestamp(self.data.last) + pd.Timedelta(days=1)
        when = pd.to_datetime(df[column])
        return df[(when >= end - pd.Timedelta(days=365)) & (when < end)]

    def patience(self, pathway: int) -> dict[str, Any] | None:
        """How long people wait for a pathway before another route is found (a spot-purchased package, home
        with support instead of a community bed): Kaplan-Meier, those who got their place counting as
        waiting at least as long as they did. None if nobody took another route."""
        s = self.data.spells
        s = self.recent(s, "discharge_time")
        g = s[(s["pathway"] == pathway) & (s["discharge_destination"] != "79")]
        other = ~g["placed"].to_numpy()
        if other.sum() < MIN_GROUP:
            return None
        return kaplan_meier(g["delay"].to_numpy(), other)

    def _peak(self, start: pd.Series, stop: pd.Series) -> int:
        """The most people present at once at any midnight in the last year of data."""
        last = pd.Timestamp(self.data.last) + pd.Timedelta(days=1)
        midnights = pd.date_range(max(pd.Timestamp(self.data.first) + pd.Timedelta(days=30),
                                      last - pd.Timedelta(days=365)), last, freq="D").to_numpy()
        a = np.sort(pd.to_datetime(start).to_numpy())
        b = np.sort(pd.to_datetime(stop).fillna(last + pd.Timedelta(days=1)).to_numpy())
        present = np.searchsorted(a, midnights, side="left") - np.searchsorted(b, midnights, side="right")
        return int(present.max()) if len(present) else 0

    def _community_beds(self, units: list[Any], here: pd.DataFrame) -> int:
        beds = self._beds(sum(u.beds for u in units))
        if self.bed_source == "observed":
            return max(1, self._peak(here["admission_time"], here["discharge_time"]))
        return beds

    def _beds(self, beds: int, least: int = 1) -> int:
        """Beds of the system definition, scaled to a synthetic store's share of the population."""
        return max(least, round(beds * self.data.scale))

    def _routes(self, here: pd.DataFrame) -> dict[str, dict[str, float]]:
        routes: dict[str, dict[str, float]] = {}
        p1 = self.data.packages
        reablement = {c.code: self._share_reablement(p1, c.code) for c in self.councils}
        for k, key in ((1, "council"), (2, "icp"), (3, "council")):
            g = here[here["pathway"] == k]
            if not len(g):
                continue
            shares = g[key].value_counts(normalize=True)
            if k == 2:
                target = {f"{icp}-community": float(v) for icp, v in shares.items() if icp in self.icps}
            elif k == 3:
                target = {f"{c}-care-home": float(v) for c, v in shares.items()}
            else:
                target = {}
                for c, v in shares.items():
                    r = reablement.get(c, 0.5)
                    target[f"{c}-reablement"] = float(v) * r
                    target[f"{c}-home-care"] = float(v) * (1 - r)
            target = {q: w for q, w in target.items() if w > 0}
            if target:
                total = sum(target.values())
                routes[str(k)] = {q: round(w / total, 6) for q, w in target.items()}
                fix = round(1 - sum(routes[str(k)].values()), 6)
                first = next(iter(routes[str(k)]))
                routes[str(k)][first] = round(routes[str(k)][first] + fix, 6)
        return routes

    def _share_reablement(self, p: pd.DataFrame, council: str) -> float:
        mine = p[(p["council_code"] == council) & (p["pathway"] == 1)]
        return float((mine["service_type"] == "reablement").mean()) if len(mine) else 0.5

    def _community_pools(self) -> list[dict[str, Any]]:
        c = self.data.community
        icp_of = {d.code: d.icp for d in self.system.district}
        out = []
        for icp in self.icps:
            units = [u for u in self.system.community_bed_unit if icp_of[u.district] == icp]
            here = c[c["pool_icp"] == icp]
            done = here[here["discharge_destination"].notna() & (here["discharge_destination"] != "98")]
            care_home = done["discharge_destination"].isin(CARE_HOME).mean() if len(done) else 0.0
            councils = here.loc[here["discharge_destination"].isin(CARE_HOME), "council"].value_counts(normalize=True)
            if not len(councils):
                councils = here["council"].value_counts(normalize=True)
            placed = self.recent(self.data.spells, "discharge_time")
            placed = placed[(placed["pathway"] == 2) & placed["placed"] & (placed["icp"] == icp)]
            pool: dict[str, Any] = {
                "arranging_days": empirical(placed["delay"].to_numpy()), "patience_days": self.patience(2),
                "code": f"{icp}-community", "name": f"Community beds, {icp}", "kind": "community",
                "capacity": self._community_beds(units, here), "stay_days": empirical(here["los"].to_numpy()),
                "home_days": empirical(_not_to_care_homes(self.recent(here, "discharge_time"))["delay"].to_numpy()),
                "onward": _normalise([1 - care_home, 0.0, 0.0, care_home]),
                "census": int(self._active(here["admission_time"], here["discharge_time"]))}
            # A small store's community beds are a sample of a full-size queue (synth ADR 005): capped here.
            pool["census"] = min(pool["census"], pool["capacity"])
            if care_home > 0:
                pool["discharge_to"] = {"3": _normalise_dict({f"{k}-care-home": float(v)
                                                             for k, v in councils.items()})}
            out.append(pool)
        return out

    def _council_pools(self) -> list[dict[str, Any]]:
        p = self.data.packages
        out = []
        for council in self.councils:
            mine = p[p["council_code"] == council.code]
            for kind, services, unit in (("reablement", ["reablement"], "places"),
                                         ("home-care", ["domiciliary"], "hours"),
                                         ("care-home", ["residential", "nursing"], "places")):
                g = mine[mine["service_type"].isin(services)]
                out.append(self._service_pool(council, kind, g, unit, self._from_community(council.code, kind)))
        return out

    def _from_community(self, council: str, kind: str) -> float:
        """Moves a day from community beds into this council's care homes in the last year: they hold places
        too, but start no package linked to a hospital discharge."""
        if kind != "care-home" or not len(self.data.community):
            return 0.0
        c = self.data.community
        moved = c[c["discharge_destination"].isin(CARE_HOME) & (c["council"] == council)]
        return self.rate(moved["discharge_time"])

    def _service_pool(self, council: Any, kind: str, g: pd.DataFrame, unit: str,
                      other_starts: float = 0.0) -> dict[str, Any]:
        """A council service open to discharges. The delays observed are fitted as the time it takes to arrange
        a place, so the data show no shortage of places: capacity is the most held at once in the last year,
        or, where more, the steady load today's starts and stays make (Little's law: starts a day x mean stay)
        with a square-root margin of 3 (so that waiting for a place is rare), as a system that has not yet
        filled up to its steady state (stays of a year or more) will."""
        durations = (g["end_date"].fillna(pd.Timestamp(self.data.last)) - g["start_date"]).dt.days.to_numpy()
        stay = kaplan_meier(durations + 0.5, g["end_date"].notna().to_numpy()) or {
            "distribution": "exponential", "mean": 30.0}
        hours = float(g["weekly_hours"].mean()) if unit == "hours" and g["weekly_hours"].notna().any() else 1.0
        weight = g["weekly_hours"].fillna(hours).to_numpy() if unit == "hours" else np.ones(len(g))
        held = self._most_held(g, weight)
        starts = self.rate(g["start_date"]) + other_starts
        load = starts * mean(Empirical.model_validate(stay)) if stay["distribution"] == "empirical" else 0.0
        steady = (load + 3 * np.sqrt(load)) * hours
        commissioned = {"reablement": council.reablement_places, "home-care": council.domiciliary_hours_per_week,
                        "care-home": None}[kind]
        capacity = max(held, steady) if len(g) else float(commissioned or 1)
        pool: dict[str, Any] = {
            "code": f"{council.code}-{kind}", "name": f"{council.name}: {kind.replace('-', ' ')}",
            "kind": "care_home" if kind == "care-home" else "home_care", "unit": unit,
            "capacity": round(max(capacity, 1.0), 1), "stay_days": stay,
            "arranging_days": empirical(self.recent(g, "start_date")["delay_days"].to_numpy()),
            "patience_days": self.patience(3 if kind == "care-home" else 1)}
        census = int(self._active(g["start_date"], g["end_date"]))
        if unit == "hours":
            pool["need_hours"] = empirical(g["weekly_hours"].to_numpy()) or {"distribution": "fixed", "value": 10.0}
        pool["census"] = min(census, int(pool["capacity"] / hours))
        self.capacities = [*getattr(self, "capacities", []), (pool["code"], held, steady, pool["capacity"],
                                                              commissioned, unit)]
        return pool

    def _most_held(self, g: pd.DataFrame, weight: np.ndarray) -> float:
        """The most places (or hours) held at once by discharge packages on any day of the last year (a package
        holds from its start date up to, not including, its end date)."""
        if not len(g):
            return 0.0
        last = pd.Timestamp(self.data.last)
        days = pd.date_range(max(pd.Timestamp(self.data.first), last - pd.Timedelta(days=364)), last, freq="D")
        grid = days.to_numpy("datetime64[D]")
        start = g["start_date"].to_numpy("datetime64[D]")
        end = g["end_date"].fillna(last + pd.Timedelta(days=1)).to_numpy("datetime64[D]")
        held = _weighted_count(start, weight, grid) - _weighted_count(end, weight, grid)
        return float(np.ceil(held.max()))

    def _active(self, start: pd.Series, end: pd.Series) -> int:
        day = pd.Timestamp(self.census_day)
        return int(((pd.to_datetime(start) < day) & (pd.to_datetime(end).isna() | (pd.to_datetime(end) >= day))).sum())

    def _acute_census(self) -> dict[str, tuple[int, dict[str, int]]]:
        s = self.data.spells
        day = pd.Timestamp(self.census_day)
        inside = s[(s["admission_time"] < day) & (s["discharge_time"].isna() | (s["discharge_time"] >= day))]
        out = {}
        for site, g in inside.groupby("site_code"):
            ready = g[g["ready"].notna() & (g["ready"] < day)]
            out[site] = (len(g), {str(k): int(v) for k, v in ready["pathway"].fillna(0).astype(int).value_counts()
                                  .items() if k in (1, 2, 3)})
        return out

    # --- the report of fit ---
    def report(self, source: str) -> str:
        from icsys.flow.fit_report import fit_report

        return fit_report(self, source)


def _weighted_count(times: np.ndarray, weight: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """For each point of the grid, the total weight of the times at or before it."""
    order = np.argsort(times, kind="stable")
    total = np.concatenate([[0.0], np.cumsum(weight[order])])
    return total[np.searchsorted(times[order], grid, side="right")]


def _within(counts: dict[str, int], total: int) -> dict[str, int]:
    """Counts scaled down (if need be) so that they add up to no more than total."""
    have = sum(counts.values())
    if have <= total:
        return counts
    return {k: v * total // have for k, v in counts.items()}


def _not_to_care_homes(stays: pd.DataFrame) -> pd.DataFrame:
    return stays[~stays["discharge_destination"].isin(CARE_HOME)]


def _normalise_dict(shares: dict[str, float]) -> dict[str, float]:
    keys = list(shares)
    values = _normalise(list(shares.values()))
    return dict(zip(keys, values, strict=True))
