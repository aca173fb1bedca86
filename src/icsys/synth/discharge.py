"""Discharge queues: why people who are ready to leave hospital stay in it.

Patients needing pathway 1 (reablement or home care), 2 (a community bed) or 3 (a care-home bed)
wait, first come first served, for a free place in their council's or ICP's service. Capacities
come from the system definition (scaled), places start mostly occupied (services are never empty),
and each place stays taken for the length of the service. Winter brings more discharges for the
same places, so delays rise then: the no-criteria-to-reside pattern of South East hospitals.
"""

from __future__ import annotations

import heapq

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from icsys.synth.context import SynthContext
from icsys.system import System

DAY_S = 86_400
# Service length in days (median, lognormal sigma) and the share of capacity open to hospital discharges.
SERVICE = {1: (24.0, 0.55), 2: (18.0, 0.5), 3: (700.0, 0.7)}
HOME_CARE_HOURS_PER_PACKAGE = 10.0
HOME_CARE_SHARE_FOR_DISCHARGES = 0.3  # of home-care packages turning over to new hospital discharges
COMMUNITY_BED_SHARE = 0.9  # the rest take step-up admissions
CARE_HOME_SHARE = 0.35  # most care-home places go to people admitted from home
ASSESSMENT_DAYS = (0.3, 2.0)  # discharge-to-assess: arranging even an available place takes time


def pools(system: System, scale: float) -> dict[tuple[int, str], float]:
    """Places per (pathway, council or ICP), at this scale (fractional at small scales)."""
    out: dict[tuple[int, str], float] = {}
    for council in system.council:
        if council.social_care:
            home_care = council.domiciliary_hours_per_week / HOME_CARE_HOURS_PER_PACKAGE
            out[(1, council.code)] = council.reablement_places + HOME_CARE_SHARE_FOR_DISCHARGES * home_care
            beds = sum(h.beds for h in system.care_home if _council_of(system, h.district) == council.code)
            out[(3, council.code)] = beds * CARE_HOME_SHARE
    icp_of = {d.code: d.icp for d in system.district}
    for icp in system.icp:
        beds = sum(u.beds for u in system.community_bed_unit if icp_of[u.district] == icp.code)
        out[(2, icp.code)] = beds * COMMUNITY_BED_SHARE
    return {k: v * scale for k, v in out.items()}


def _council_of(system: System, district: str) -> str:
    return next(d.council for d in system.district if d.code == district)


def resolve_discharges(ctx: SynthContext, spells: pa.Table) -> tuple[pa.Table, dict[str, pa.Table]]:
    """Spells ready for discharge on pathway 1-3 (global spell ids, with hidden columns `district`
    and `death_date`) get their discharge time after queueing for a place. Returns the spells and the
    onward `community_bed_stay` (pathway 2) and `social_care_package` (pathways 1 and 3) rows, whose
    own ids are local (1..n) but whose `spell_id` is already global and must not be offset."""
    rng = ctx.rng("discharge")
    system = ctx.system
    district = spells["district"].to_numpy(zero_copy_only=False).astype(str)
    council_of = {d.code: d.council for d in system.district}
    icp_of = {d.code: d.icp for d in system.district}
    pathway = spells["discharge_pathway"].to_numpy(zero_copy_only=False).astype(np.int64)
    ready = spells["ready_for_discharge_time"].to_numpy(zero_copy_only=False).astype("datetime64[s]")
    death = spells["death_date"].to_numpy(zero_copy_only=False).astype("datetime64[s]")
    n = len(pathway)
    key = np.array([council_of[d] if p != 2 else icp_of[d] for d, p in zip(district, pathway, strict=True)],
                   dtype=object)
    median = np.array([SERVICE[p][0] for p in pathway]) if n else np.zeros(0)
    sigma = np.array([SERVICE[p][1] for p in pathway]) if n else np.zeros(0)
    service_days = median * np.exp(sigma * rng.standard_normal(n))
    assessment = rng.uniform(*ASSESSMENT_DAYS, n)
    wanted = ready.astype(np.int64) + (assessment * DAY_S).astype(np.int64)
    start = np.empty(n, np.int64)
    capacity = pools(system, ctx.scale)
    t0 = int(ctx.start_day.astype("datetime64[s]").astype(np.int64))
    for pool in {(int(p), k) for p, k in zip(pathway, key, strict=True)}:
        rows = np.flatnonzero((pathway == pool[0]) & (key == pool[1]))
        start[rows] = _queue(rng, wanted[rows], service_days[rows] * DAY_S, capacity.get(pool, 1), t0,
                             SERVICE[pool[0]][0] * DAY_S)
    discharge = start.astype("datetime64[s]")
    died = ~np.isnat(death) & (death < discharge)
    discharge = np.where(died, np.maximum(death + np.timedelta64(12 * 3600, "s"), ready), discharge)
    end = ctx.end_day.astype("datetime64[s]")
    still_in = discharge >= end
    destination = np.where(died, "79", np.array(["19", "19", "51", "85"], dtype=object)[np.clip(pathway, 0, 3)])
    destination = np.where(still_in, "98", destination)
    resolved = spells.set_column(spells.column_names.index("discharge_time"), "discharge_time",
                                 pa.array(np.where(still_in, np.datetime64("NaT", "s"), discharge)))
    resolved = resolved.set_column(resolved.column_names.index("discharge_destination"), "discharge_destination",
                                   pa.array(destination.astype(str)))
    onward = ~died & ~still_in
    return resolved, {
        "community_bed_stay": _community_beds(ctx, rng, spells, onward & (pathway == 2), discharge, service_days),
        "social_care_package": _packages(ctx, rng, spells, onward & (pathway != 2), pathway, ready, discharge,
                                         service_days, death),
    }


def _queue(rng: np.random.Generator, wanted: np.ndarray, service: np.ndarray, places: float, t0: int,
           mean_service: float) -> np.ndarray:
    """First come first served on `places` places: the time each patient's place becomes free.
    Places start 90 % occupied with residual service spread over the typical length. A fractional
    number of places (a small scale) is rounded, with service times stretched by the same ratio so
    the load on the service stays as it would be at full scale."""
    servers = max(1, round(places))
    service = service * servers / max(places, 1e-9)
    busy = rng.random(servers) < 0.9
    free = [t0 + int(r) if b else t0 for r, b in zip(rng.random(servers) * 2 * mean_service, busy, strict=True)]
    heapq.heapify(free)
    order = np.argsort(wanted, kind="stable")
    out = np.empty(len(wanted), np.int64)
    for i in order:
        begins = max(int(wanted[i]), heapq.heappop(free))
        out[i] = begins
        heapq.heappush(free, begins + int(service[i]))
    return out


def _community_beds(ctx: SynthContext, rng: np.random.Generator, spells: pa.Table, take: np.ndarray,
                    discharge: np.ndarray, service_days: np.ndarray) -> pa.Table:
    system = ctx.system
    icp_of = {d.code: d.icp for d in system.district}
    rows = np.flatnonzero(take)
    district = spells["district"].to_numpy(zero_copy_only=False).astype(str)[rows]
    unit = np.empty(len(rows), dtype=object)
    for icp in {icp_of[d] for d in district}:
        units = [u for u in system.community_bed_unit if icp_of[u.district] == icp] or list(system.community_bed_unit)
        beds = np.array([u.beds for u in units], float)
        mask = np.array([icp_of[d] == icp for d in district], bool)
        unit[mask] = np.array([u.code for u in units], dtype=object)[rng.choice(len(units), int(mask.sum()),
                                                                                p=beds / beds.sum())]
    admit = discharge[rows] + (rng.uniform(1, 4, len(rows)) * 3600).astype("timedelta64[s]")
    stay = service_days[rows] * DAY_S
    ready = admit + (0.85 * stay).astype("timedelta64[s]")
    leave = admit + stay.astype("timedelta64[s]")
    end = ctx.end_day.astype("datetime64[s]")
    death = spells["death_date"].to_numpy(zero_copy_only=False).astype("datetime64[s]")[rows]
    died = ~np.isnat(death) & (death < leave)
    leave = np.where(died, np.maximum(death, admit), leave)
    open_ = leave >= end
    nat = np.datetime64("NaT", "s")
    destination = np.where(died, "79", np.array(["19", "85", "51"], dtype=object)[
        rng.choice(3, len(rows), p=[0.8, 0.12, 0.08])])
    return pa.table({
        "stay_id": np.arange(1, len(rows) + 1, dtype=np.int64), "person_id": spells["person_id"].take(rows),
        "unit_code": unit.astype(str), "source": np.full(len(rows), "step_down"), "admission_time": admit,
        "ready_for_discharge_time": np.where((ready >= end) | died, nat, ready),
        "discharge_time": np.where(open_, nat, leave),
        "discharge_destination": np.where(open_, "98", destination).astype(str),
        "spell_id": spells["spell_id"].take(rows),
    })


def _packages(ctx: SynthContext, rng: np.random.Generator, spells: pa.Table, take: np.ndarray, pathway: np.ndarray,
              ready: np.ndarray, discharge: np.ndarray, service_days: np.ndarray, death: np.ndarray) -> pa.Table:
    system = ctx.system
    rows = np.flatnonzero(take)
    district = spells["district"].to_numpy(zero_copy_only=False).astype(str)[rows]
    council_of = {d.code: d.council for d in system.district}
    council = np.array([council_of[d] for d in district], dtype=object)
    p3 = pathway[rows] == 3
    reablement = ~p3 & (rng.random(len(rows)) < 0.6)
    homes = np.empty(len(rows), dtype=object)
    nursing = np.zeros(len(rows), bool)
    for code in np.unique(district[p3]):
        options = [h for h in system.care_home if h.district == code] or list(system.care_home)
        beds = np.array([h.beds for h in options], float)
        mask = p3 & (district == code)
        chosen = rng.choice(len(options), int(mask.sum()), p=beds / beds.sum())
        homes[mask] = np.array([h.code for h in options], dtype=object)[chosen]
        nursing[mask] = np.array([h.kind == "nursing" for h in options])[chosen]
    start = discharge[rows].astype("datetime64[D]")
    stop = start + np.round(service_days[rows]).astype("timedelta64[D]")
    died = death[rows].astype("datetime64[D]")
    stop = np.where(~np.isnat(died) & (died < stop), died, stop)
    stop = np.where(stop >= ctx.end_day, np.datetime64("NaT", "D"), np.maximum(stop, start))
    service = np.select([p3 & nursing, p3, reablement], [3, 2, 1], 0)
    hours = np.where(p3, np.nan, np.clip(8 * np.exp(0.5 * rng.standard_normal(len(rows))), 2, 40).round(1))
    return pa.table({
        "package_id": np.arange(1, len(rows) + 1, dtype=np.int64), "person_id": spells["person_id"].take(rows),
        "council_code": council.astype(str),
        "service_type": pa.DictionaryArray.from_arrays(pa.array(service.astype(np.int32)),
                                                       pa.array(["domiciliary", "reablement", "residential",
                                                                 "nursing"])),
        "request_date": ready[rows].astype("datetime64[D]"), "start_date": start, "end_date": stop,
        "weekly_hours": pa.array(hours, from_pandas=True), "care_home_code": pa.array(homes, pa.string()),
    })


_ = pc
