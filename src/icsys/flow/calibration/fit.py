"""The fit: a scenario built from the data read from the store (`read`), with the estimators (`estimators`),
remembering what it saw for the report of fit (`report`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from icsys.dataset.definitions import DIED, TYPE_1_AE
from icsys.flow.calibration.estimators import (
    empirical,
    kaplan_meier,
    normalise,
    normalise_dict,
    pathway_mix,
    profile,
    weighted_count,
    within,
)
from icsys.flow.calibration.read import CARE_HOME, EMERGENCY_DIRECT, Data
from icsys.flow.distributions import mean
from icsys.flow.model import ANOTHER_ROUTE, Empirical
from icsys.system import System

MIN_GROUP = 30  # observations needed to fit a group's own stay or pathway mix
# an elective cancelled for want of a bed is rebooked one to four weeks later, not lost (as the synthetic
# generator does, `icsys.synth.beds.REBOOK_DAYS`; the data hold only the admission that happened)
REBOOK_DAYS = {"distribution": "uniform", "low": 7.0, "high": 28.0}


# --- fitting ----------------------------------------------------------------------------------------------------

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
        # what is fitted to how things are now (shares, stays, times in A&E) comes from the last year of data
        self.ae_now = self.recent(data.ae, "arrival_time")
        self.spells_now = self.recent(data.spells, "admission_time")
        # stays from the spells that ended in the last year (ready for discharge, or died): taking those admitted
        # in it would leave out the long stays still running at the end and make stays look short
        self.ae_ended = self.recent(data.ae, "bed_ready")
        self.spells_ended = self.recent(data.spells, "ready")
        self.cubicles: dict[str, int] = {}
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
        arrivals = [a | self._los_scale(a, case_mix) for a in self._arrivals(case_mix)]
        return {"scenario": info, "pool": self._pools(), "arrivals": arrivals, "case_mix": case_mix}

    def _los_scale(self, stream: dict[str, Any], case_mix: dict[str, Any]) -> dict[str, Any]:
        """The case mixes are the system's; a site's patients stay longer or shorter than its case mix alone
        says. Each stream's stays are scaled so that their mean is the mean the stream's own admissions had in
        the last year (those of its bed site and kind when it had fewer than MIN_GROUP)."""
        mix = case_mix.get(stream.get("case_mix") or "")
        if mix is None or not stream.get("pool"):
            return {}
        rows = [r for r in mix["rows"] if r.get("admitted", True)]
        weight = sum(r["share"] for r in rows)
        expected = sum(r["share"] * mean(Empirical.model_validate(r["los_days"])) for r in rows) / weight
        source, site = stream["source"], stream["pool"]
        s = self.spells_ended
        if source.startswith("ae_"):
            ae = self.ae_ended
            own = ae.loc[ae["admitted"] & (ae["site_code"] == stream["department"]) & (ae["bed_site"] == site)
                         & (ae["arrival_mode"] == source.removeprefix("ae_")), "los"]
            kind = s.loc[(s["site_code"] == site) & (s["source"] == "ae"), "los"]
        else:
            own = kind = s.loc[(s["site_code"] == site) & (s["source"] == source), "los"]
        for los in (own.dropna(), kind.dropna()):
            if len(los) >= MIN_GROUP and expected > 0:
                return {"los_scale": round(float(los.mean()) / expected, 5)}
        return {}

    def _ae_source(self, mode: str) -> pd.DataFrame:
        ae = self.ae_now
        return ae[(ae["department_type"] == TYPE_1_AE) & (ae["arrival_mode"] == mode)]

    def _admitted_only(self, source: str) -> pd.DataFrame:
        s = self.spells_now[self.spells_now["source"] == source]
        return s.assign(admitted=True)

    def _case_mix(self, df: pd.DataFrame, name: str) -> dict[str, Any] | None:
        """Groups by age band, frailty and (if admitted) specialty; small groups merged over frailty."""
        if not len(df):
            return None
        rows: list[dict[str, Any]] = []
        admitted = df[df["admitted"] & df["specialty"].notna()] if "specialty" in df else df
        not_admitted = df[~df["admitted"]] if "admitted" in df else df.iloc[:0]
        total = len(admitted) + len(not_admitted)
        for (age, frail), g in not_admitted.groupby(["age_band", "frailty"]):
            rows.append({"age_band": age, "frailty": frail, "share": round(len(g) / total, 7), "admitted": False})
        if name.startswith("ae_"):
            pool = self.ae_ended[(self.ae_ended["department_type"] == TYPE_1_AE) & self.ae_ended["admitted"]
                                 & (self.ae_ended["arrival_mode"] == name.removeprefix("ae_"))]
        else:
            pool = self.spells_ended[self.spells_ended["source"] == name]
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
                "los_days": empirical(los.to_numpy()), "pathway": normalise(pathway_mix(pathway))}

    def _minor_mix(self) -> dict[str, Any] | None:
        ae = self.data.ae
        minor = ae[ae["department_type"] != TYPE_1_AE]
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
            type1 = dtype == TYPE_1_AE and site in self.sites
            now = self.recent(g, "arrival_time")
            now = now if len(now) else g
            admitted = now[now["admitted"]]
            stream = {"name": f"{site} A&E {mode.replace('_', ' ')}" + ("" if type1 else " (minor)"),
                      "source": f"ae_{mode}" if mode in ("walk_in", "ambulance") else "ae_walk_in",
                      "pool": site if type1 else "", "department": site, "department_type": int(dtype),
                      "per_day": self.rate(g["arrival_time"]), **profile(g["arrival_time"], d.first, d.last),
                      "case_mix": (f"ae_{mode}" if type1 else "ae_minor"),
                      "admitted_share": round(len(admitted) / len(now), 5) if type1 else 0.0,
                      "ed_hours": empirical(now.loc[~now["admitted"], "hours"].to_numpy())}
            if type1:
                stream |= {"dta_hours": empirical(admitted["dta_hours"].to_numpy()),
                           "transfer_hours": empirical(admitted["transfer_hours"].to_numpy()),
                           "ae_pool": f"{site}-majors", "majors": "admitted"}
                out += self._by_bed_site(stream, admitted["bed_site"])
            elif len(g[~g["admitted"]]):
                out.append(stream)
        for source in (EMERGENCY_DIRECT, "elective"):
            s = d.spells[d.spells["source"] == source]  # all of it for the profiles; the rate is the last year's
            for site, g in s.groupby("site_code"):
                if site in self.sites and source in case_mix:
                    out.append({"name": f"{site} {'GP and SDEC' if source == EMERGENCY_DIRECT else 'elective'}",
                                "source": source, "pool": site, "per_day": self.rate(g["admission_time"]),
                                **profile(g["admission_time"], d.first, d.last), "case_mix": source,
                                **({"when_full": "rebook", "rebook_days": REBOOK_DAYS} if source == "elective"
                                   else {"when_full": "queue"})})
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
        return [*self._acute_pools(), *self._majors_pools(), *self._community_pools(), *self._council_pools()]

    def _majors_pools(self) -> list[dict[str, Any]]:
        """Each type 1 A&E's majors cubicles for the patients it admits: as many as the most of them present in
        the department at once in the last year of data, on the hour. The data's times in A&E are the model's
        service times, so with these cubicles the model queues for one only when it holds more at once than the
        data ever did (more arrivals, or longer waits for a bed). Those not admitted are not held to cubicles:
        with every ambulance arrival in them, a winter's boarders filled them and the queue behind (no one gives
        up) never cleared, while the data's own times for those not admitted carry their waits already."""
        ae = self.ae_now
        ae = ae[(ae["department_type"] == TYPE_1_AE) & ae["site_code"].isin(self.sites)]
        out = []
        for site, g in ae.groupby("site_code"):
            majors = g[g["admitted"]]
            self.cubicles[site] = max(1, self._most_present(majors["arrival_time"], majors["departure_time"]))
            out.append({"code": f"{site}-majors", "name": f"{site} A&E majors cubicles", "kind": "ae",
                        "capacity": self.cubicles[site]})
        return out

    def _most_present(self, start: pd.Series, stop: pd.Series) -> int:
        """The most present at once on any hour of the last year of data."""
        end = pd.Timestamp(self.data.last) + pd.Timedelta(days=1)
        hours = pd.date_range(max(pd.Timestamp(self.data.first), end - pd.Timedelta(days=365)), end,
                              freq="h").to_numpy()
        a = np.sort(pd.to_datetime(start).to_numpy())
        b = np.sort(pd.to_datetime(stop).fillna(end).to_numpy())
        present = np.searchsorted(a, hours, side="right") - np.searchsorted(b, hours, side="right")
        return int(present.max()) if len(present) else 0

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
            escalation = max(escalation, self._pooled_beds(code) - core)
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
                ready = within(ready, n)
            self.beds_used[code] = core
            out.append({"code": code, "name": site.name, "kind": "acute", "capacity": core,
                        "escalation": escalation, "home_days": empirical(home), "pathway_days": self._site_days(recent),
                        "discharge_to": self._routes(here), "census": n,
                        "census_ready": {k: v for k, v in ready.items() if v}})
        return out

    def _site_days(self, recent: pd.DataFrame) -> dict[str, Any]:
        """A site's own time from ready to leaving on each pathway, from those who left on it in the last year
        (where MIN_GROUP did; whether their pathway found them a place or another route was found): sites of one
        council or ICP discharge at different speeds."""
        out = {}
        for k in (1, 2, 3):
            moved = recent.loc[(recent["pathway"] == k) & (recent["discharge_destination"] != DIED), "delay"].dropna()
            if len(moved) >= MIN_GROUP:
                out[str(k)] = empirical(moved.to_numpy())
        return out

    def _pooled_beds(self, code: str) -> int:
        """A small synthetic store constrains its beds pooled over sites (a trust's, or the ICS's: its metadata
        says which), because a site of a few beds would be overfilled by chance alone. Its sites can then use
        the rest of their pool's beds at the store's scale: counted here as the site's escalation beds (used
        only when its own are full), so that no site is held tighter than the data were."""
        pools = self.data.bed_pools or {}
        pool = pools.get(code, code)
        if pool == code or self.bed_source == "observed":
            return 0
        together = [s for s in self.system.site if pools.get(s.code) == pool]
        beds = int(np.floor(sum(s.general_acute_beds + s.escalation_beds for s in together) * self.data.scale + 1e-9))
        note = (f"The store pools its beds over {', '.join(s.code for s in together)} ({pool}: {beds} beds at its "
                "scale); each of these sites may use the rest of that pool as escalation beds.")
        if note not in self.notes:
            self.notes.append(note)
        return beds

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
        g = s[(s["pathway"] == pathway) & (s["discharge_destination"] != DIED)]
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
        """The definition's beds (scaled), or the most occupied at once in the last year where that is more: a
        small store's community beds are a sample of a full-size queue (synth ADR 005), whose waits the fitted
        arranging times already hold, so the model must not queue again for a handful of beds."""
        beds = self._beds(sum(u.beds for u in units))
        peak = max(1, self._peak(here["admission_time"], here["discharge_time"]))
        if self.bed_source == "observed":
            return peak
        if peak > beds:
            self.notes.append(f"{here['pool_icp'].iloc[0]} community beds: the data hold up to {peak} at once, more "
                              f"than the definition's {beds} at this scale; the model has {peak}.")
        return max(beds, peak)

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
                # those the data show leaving by another route (no place found: a spot-purchased package, an
                # interim arrangement) take no place in the model either, or its pools would be overfed
                placed = float(g["placed"].mean()) if "placed" in g else 1.0
                target = {q: w / total * placed for q, w in target.items()}
                if placed < 1:
                    target[ANOTHER_ROUTE] = 1 - placed
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
        icp_of = self.system.hierarchy.icp_by_district
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
                "onward": normalise([1 - care_home, 0.0, 0.0, care_home]),
                "census": int(self._active(here["admission_time"], here["discharge_time"]))}
            # A small store's community beds are a sample of a full-size queue (synth ADR 005): capped here.
            pool["census"] = min(pool["census"], pool["capacity"])
            if care_home > 0:
                pool["discharge_to"] = {"3": normalise_dict({f"{k}-care-home": float(v)
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
        held = weighted_count(start, weight, grid) - weighted_count(end, weight, grid)
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


def _not_to_care_homes(stays: pd.DataFrame) -> pd.DataFrame:
    return stays[~stays["discharge_destination"].isin(CARE_HOME)]
