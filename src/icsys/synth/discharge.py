"""Discharge queues: why people who are ready to leave hospital stay in it.

Patients needing pathway 1 (reablement or home care: their council), 2 (a community bed: their
ICP's units) or 3 (a care-home bed: their council's homes) wait, first come first served in order of
becoming ready, for a free place. Places come from the system definition at the build's scale, but
only the share that turns over to hospital discharges: most home-care hours and care-home beds are
held by long-term clients and residents, and some community beds take step-up admissions. Places
start mostly occupied. Each place stays taken for the length of its service, longer in winter (staff
absence, slower flow), when the number of discharges also rises, so delays rise in winter. Even with
a free place, arranging it takes time (assessment, family choice for care homes). Patients who wait
too long leave by another route (a spot-purchased package or placement, an interim arrangement):
this bounds the queues when demand outruns capacity, as it does in practice.

Calibration: patients with no criteria to reside occupy ~13 % of G&A beds in England and 16.5 % in
the South East, Kent's region (13,662 a day in February 2024 of ~100,000 beds: calibration.md
[S33][S34][S35]); here ~15 % of bed time is after ready for discharge, rising in winter.
"""

from __future__ import annotations

import heapq

import numpy as np
import pyarrow as pa

from icsys.synth.context import SynthContext
from icsys.synth.timing import discharge_hour
from icsys.system import System

DAY_S = 86_400
# Service length in days (median, lognormal sigma): how long a place stays taken.
SERVICE = {1: (21.0, 0.5), 2: (22.0, 0.5), 3: (550.0, 0.8)}
# How long a patient waits before another route is found (median days, sigma): pathway 1 longest.
PATIENCE = {1: (35.0, 0.9), 2: (8.0, 0.5), 3: (14.0, 0.6)}
# Arranging even an available place takes time: at least the first figure (days), on average their midpoint,
# with an exponential tail (assessment, transport, a family's choice of care home can take weeks).
ARRANGING = {1: (0.3, 2.0), 2: (0.5, 2.5), 3: (2.0, 7.0)}
HOME_CARE_HOURS_PER_PACKAGE = 10.0
DOMICILIARY_SHARE_FOR_DISCHARGES = 0.27  # of home-care packages turning over to new hospital discharges
LONG_TERM_SHARE = 0.05  # of home care started at discharge that becomes a long-term package
SHORT_TERM_DAYS = 42.0  # mean length of the short-term home care after discharge
COMMUNITY_BED_SHARE = 0.85  # the rest take step-up admissions from home
CARE_HOME_SHARE = 0.26  # care-home beds free to hospital discharges (most are long-stay residents)
INITIALLY_BUSY = 0.9
WINTER_STRETCH = 1.08  # places turn over more slowly from December to February
DESTINATION = {1: "19", 2: "51", 3: "85"}  # 51: NHS provider (community bed); 85: non-NHS care home
SERVICE_TYPES = ["domiciliary", "reablement", "residential", "nursing"]


def pools(system: System, scale: float) -> dict[tuple[int, str], float]:
    """Places open to hospital discharges per (pathway, council for 1 and 3 or ICP for 2), at this
    scale (fractional at small scales)."""
    council_of = {d.code: d.council for d in system.district}
    icp_of = system.hierarchy.icp_by_district
    out: dict[tuple[int, str], float] = {}
    for council in system.council:
        if council.social_care:
            home_care = council.domiciliary_hours_per_week / HOME_CARE_HOURS_PER_PACKAGE
            out[(1, council.code)] = council.reablement_places + DOMICILIARY_SHARE_FOR_DISCHARGES * home_care
            beds = sum(h.beds for h in system.care_home if council_of[h.district] == council.code)
            out[(3, council.code)] = beds * CARE_HOME_SHARE
    for icp in system.icp:
        beds = sum(u.beds for u in system.community_bed_unit if icp_of[u.district] == icp.code)
        out[(2, icp.code)] = beds * COMMUNITY_BED_SHARE
    return {k: v * scale for k, v in out.items()}


def _column(table: pa.Table, name: str, dtype: str | type) -> np.ndarray:
    return table[name].to_numpy(zero_copy_only=False).astype(dtype)


def resolve_discharges(ctx: SynthContext, spells: pa.Table) -> tuple[pa.Table, dict[str, pa.Table]]:
    """Give spells waiting on pathway 1-3 their discharge time after queueing for a place.

    `spells` are inpatient spells of the whole system with global spell ids, discharge_pathway 1-3
    and the hidden columns `district`, `death_date` and `next_admission_time` that
    `generate_activity` adds. Returns the spells with discharge_time (empty if still in hospital at
    the end) and discharge_destination set, and the onward tables: `community_bed_stay` (step-down
    stays for pathway 2) and `social_care_package` (reablement or home care for pathway 1, residential
    or nursing care for pathway 3). Their own ids (stay_id, package_id) are local, 1..n, for the
    orchestrator to offset; their `spell_id` is already the global spell id and must NOT be offset.
    """
    rng = ctx.rng("discharge")
    system = ctx.system
    n = spells.num_rows
    district = _column(spells, "district", str)
    pathway = _column(spells, "discharge_pathway", np.int64)
    ready = _column(spells, "ready_for_discharge_time", "datetime64[s]")
    death = _column(spells, "death_date", "datetime64[D]").astype("datetime64[s]")
    next_admission = _column(spells, "next_admission_time", "datetime64[s]")
    council_of = {d.code: d.council for d in system.district}
    icp_of = system.hierarchy.icp_by_district
    codes = np.unique(district)
    council = np.array([council_of[d] for d in codes], dtype=object)[np.searchsorted(codes, district)]
    icp = np.array([icp_of[d] for d in codes], dtype=object)[np.searchsorted(codes, district)]
    key = np.where(pathway == 2, icp, council)

    median = np.array([0, *(SERVICE[p][0] for p in (1, 2, 3))])[pathway]
    sigma = np.array([0, *(SERVICE[p][1] for p in (1, 2, 3))])[pathway]
    service_days = median * np.exp(sigma * rng.standard_normal(n))
    low = np.array([0, *(ARRANGING[p][0] for p in (1, 2, 3))])[pathway]
    high = np.array([0, *(ARRANGING[p][1] for p in (1, 2, 3))])[pathway]
    arranging = low - (high - low) / 2 * np.log1p(-rng.uniform(0, 1, n))
    wanted = ready.astype(np.int64) + (arranging * DAY_S).astype(np.int64)
    patience = np.array([0, *(PATIENCE[p][0] for p in (1, 2, 3))])[pathway] * np.exp(
        np.array([0, *(PATIENCE[p][1] for p in (1, 2, 3))])[pathway] * rng.standard_normal(n))
    # Leaving the queue: by the other route, by dying, or (rarely) by the next emergency admission.
    deadline = wanted + (patience * DAY_S).astype(np.int64)
    dies = ~np.isnat(death)
    death_s = np.where(dies, death.astype(np.int64) + rng.integers(0, DAY_S, n), np.iinfo(np.int64).max)
    deadline = np.minimum(deadline, death_s)
    month = (ready.astype("datetime64[M]").astype(np.int64) % 12) + 1
    winter = (month == 12) | (month <= 2)
    service_s = service_days * DAY_S * np.where(winter, WINTER_STRETCH, 1.0)

    start = np.empty(n, np.int64)
    placed = np.zeros(n, bool)
    capacity = pools(system, ctx.scale)
    t0 = int(ctx.start_day.astype("datetime64[s]").astype(np.int64))
    period = int(ctx.end_day.astype("datetime64[s]").astype(np.int64)) - t0
    for pool in sorted({(int(p), str(k)) for p, k in zip(pathway, key, strict=True)}):
        rows = np.flatnonzero((pathway == pool[0]) & (key == pool[1]))
        start[rows], placed[rows] = full_size_queue(rng, wanted[rows], deadline[rows], service_s[rows],
                                                    capacity.get(pool, 0.0), ctx.scale, t0,
                                                    period, SERVICE[pool[0]][0] * DAY_S)
    discharge = np.where(placed, start, deadline)
    died = dies & (death_s <= discharge)
    # Leaving for the place (or the other route) happens in the day, mostly in the afternoon.
    daytime = np.maximum(discharge_hour(rng, discharge.astype("datetime64[s]")).astype(np.int64),
                         ready.astype(np.int64) + 1800)
    discharge = np.where(died, discharge, np.minimum(daytime, np.where(dies, death_s - 1, daytime)))
    # A delayed discharge cannot pass the person's next admission (generated before the delay was known).
    cap = np.where(np.isnat(next_admission), np.iinfo(np.int64).max, next_admission.astype(np.int64) - 3600)
    discharge = np.maximum(np.minimum(discharge, cap), ready.astype(np.int64) + 600)
    end = int(ctx.end_day.astype("datetime64[s]").astype(np.int64))
    still_in = discharge >= end
    escaped = ~placed & ~died
    destination = np.array(["19", "19", "51", "85"], dtype=object)[pathway]
    destination = np.where(escaped & (pathway == 2), "19", destination)  # home with support instead
    destination = np.where(died, "79", np.where(still_in, "98", destination))
    discharge_time = np.where(still_in, np.datetime64("NaT", "s"), discharge.astype("datetime64[s]"))
    resolved = spells.set_column(spells.column_names.index("discharge_time"), "discharge_time",
                                 pa.array(discharge_time, pa.timestamp("s")))
    resolved = resolved.set_column(resolved.column_names.index("discharge_destination"), "discharge_destination",
                                   pa.array(destination.astype(str)))
    onward = ~died & ~still_in
    discharged = discharge.astype("datetime64[s]")
    beds = onward & (pathway == 2) & placed
    care = onward & ~beds
    return resolved, {
        "community_bed_stay": _community_beds(ctx, rng, spells, np.flatnonzero(beds), icp, discharged,
                                              service_days, death),
        "social_care_package": _packages(ctx, rng, spells, np.flatnonzero(care), pathway, council, district,
                                         ready, discharged, service_days, death),
    }


def full_size_queue(rng: np.random.Generator, wanted: np.ndarray, deadline: np.ndarray, service: np.ndarray,
                    places: float, scale: float, t0: int, period: int, median_service: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The queue as it runs in the whole system, whatever the build's scale. A pool of a few places
    (a 1 % build has one or two community beds per ICP) queues far longer than the real pool of a
    hundred at the same load, so below full scale the queue is run at its full size: the places
    divided by the scale, and besides the build's own patients, copies of them (drawn with
    replacement, each moved by up to a week either way, keeping the season) standing in for the rest
    of the population (in the same season, of any year). Only the build's own patients' places are returned."""
    n = len(wanted)
    copies = round(n * (1 / scale - 1)) if scale < 1 else 0
    if n == 0 or copies == 0:
        return _queue(rng, wanted, deadline, service, places, t0, median_service)
    pick = rng.integers(0, n, copies)
    # Same season of any year of the period (the period is whole years), so that the copies follow the
    # expected demand of each season rather than magnifying the chance ups and downs of one small sample.
    years = max(1, round(period / (365.25 * DAY_S)))
    moved = (wanted[pick] - t0 + rng.integers(0, years, copies) * period // years
             + rng.integers(-7 * DAY_S, 7 * DAY_S, copies)) % period + t0
    shift = moved - wanted[pick]
    start, placed = _queue(rng, np.r_[wanted, moved], np.r_[deadline, deadline[pick] + shift],
                           np.r_[service, service[pick]], places / scale, t0, median_service)
    return start[:n], placed[:n]


def _queue(rng: np.random.Generator, wanted: np.ndarray, deadline: np.ndarray, service: np.ndarray,
           places: float, t0: int, median_service: float) -> tuple[np.ndarray, np.ndarray]:
    """First come first served on `places` places. Returns when each patient's place starts and
    whether they got one before their deadline (else they leave at the deadline and the place
    stays free). A fractional number of places (small scales) is rounded, with service times
    stretched by the same ratio so the load on the service is as it would be at full scale."""
    servers = max(1, round(places))
    service = service * servers / max(places, 1e-9)
    busy = rng.random(servers) < INITIALLY_BUSY
    residual = rng.exponential(median_service * 1.2, servers) * servers / max(places, 1e-9)
    free = [t0 + int(r) if b else t0 for r, b in zip(residual, busy, strict=True)]
    heapq.heapify(free)
    order = np.argsort(wanted, kind="stable")
    start = np.empty(len(wanted), np.int64)
    placed = np.zeros(len(wanted), bool)
    for i in order.tolist():
        want = int(wanted[i])
        earliest = free[0]
        begins = want if earliest <= want else earliest
        if begins <= deadline[i]:
            heapq.heapreplace(free, begins + int(service[i]))
            start[i] = begins
            placed[i] = True
        else:
            start[i] = deadline[i]
    return start, placed


def _community_beds(ctx: SynthContext, rng: np.random.Generator, spells: pa.Table, rows: np.ndarray,
                    icp: np.ndarray, discharge: np.ndarray, service_days: np.ndarray, death: np.ndarray) -> pa.Table:
    """Step-down stays: a unit of the patient's ICP (by beds); ready to leave after ~85 % of the stay,
    then home (most), to a care home or back to hospital."""
    system = ctx.system
    icp_of = system.hierarchy.icp_by_district
    unit = np.empty(len(rows), dtype=object)
    for code in np.unique(icp[rows]):
        units = [u for u in system.community_bed_unit if icp_of[u.district] == code] or list(system.community_bed_unit)
        beds = np.array([u.beds for u in units], float)
        mask = icp[rows] == code
        unit[mask] = np.array([u.code for u in units], dtype=object)[rng.choice(len(units), int(mask.sum()),
                                                                                p=beds / beds.sum())]
    admit = discharge[rows] + (rng.uniform(1, 4, len(rows)) * 3600).astype("timedelta64[s]")
    stay = service_days[rows] * DAY_S
    ready = admit + (0.85 * stay).astype("timedelta64[s]")
    leave = admit + stay.astype("timedelta64[s]")
    end = ctx.end_day.astype("datetime64[s]")
    died_on = death[rows] + np.timedelta64(12 * 3600, "s")
    died = ~np.isnat(died_on) & (died_on < leave)
    leave = np.where(died, np.maximum(died_on, admit + np.timedelta64(3600, "s")), leave)
    open_ = leave >= end
    nat = np.datetime64("NaT", "s")
    destination = np.where(died, "79", np.array(["19", "85", "51"], dtype=object)[
        rng.choice(3, len(rows), p=[0.82, 0.1, 0.08])])
    ready = np.where((ready >= end) | died | (ready > leave), nat, ready)
    return pa.table({
        "stay_id": np.arange(1, len(rows) + 1, dtype=np.int64), "person_id": spells["person_id"].take(rows),
        "unit_code": unit.astype(str), "source": pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(len(rows), np.int32)), pa.array(["step_down", "step_up"])),
        "admission_time": admit, "ready_for_discharge_time": ready,
        "discharge_time": np.where(open_, nat, leave),
        "discharge_destination": np.where(open_, "98", destination).astype(str),
        "spell_id": spells["spell_id"].take(rows),
    })


def _packages(ctx: SynthContext, rng: np.random.Generator, spells: pa.Table, rows: np.ndarray, pathway: np.ndarray,
              council: np.ndarray, district: np.ndarray, ready: np.ndarray, discharge: np.ndarray,
              service_days: np.ndarray, death: np.ndarray) -> pa.Table:
    """Packages started by discharge: reablement (time-limited, up to ~6 weeks) or home care for
    pathway 1 and for pathway 2 patients sent home instead; a residential or nursing placement for
    pathway 3 (care home of the district, by beds; nursing homes take the frailer)."""
    system = ctx.system
    m = len(rows)
    reablement_share = {c.code: c.reablement_places / max(c.reablement_places + DOMICILIARY_SHARE_FOR_DISCHARGES
                                                          * c.domiciliary_hours_per_week
                                                          / HOME_CARE_HOURS_PER_PACKAGE, 1e-9)
                        for c in system.council}
    p3 = pathway[rows] == 3
    share = np.array([reablement_share.get(c, 0.5) for c in council[rows]])
    reablement = ~p3 & (rng.random(m) < share)
    homes = np.empty(m, dtype=object)
    nursing = np.zeros(m, bool)
    for code in np.unique(district[rows][p3]):
        options = [h for h in system.care_home if h.district == code] or list(system.care_home)
        beds = np.array([h.beds for h in options], float)
        mask = p3 & (district[rows] == code)
        chosen = rng.choice(len(options), int(mask.sum()), p=beds / beds.sum())
        homes[mask] = np.array([h.code for h in options], dtype=object)[chosen]
        nursing[mask] = np.array([h.kind == "nursing" for h in options])[chosen]
    start = discharge[rows].astype("datetime64[D]")
    # Home care after discharge is mostly short-term (discharge to assess, ~6 weeks); few go on to a
    # long-term package (the standing long-term stock is community.py's): ~0.5 % of people on a day.
    long_term = rng.random(m) < LONG_TERM_SHARE
    home_care_days = np.where(long_term, 365 * rng.exponential(1.0, m), rng.exponential(SHORT_TERM_DAYS, m))
    days = np.where(reablement, np.clip(service_days[rows], 3, 42), np.where(p3, service_days[rows],
                                                                             np.maximum(home_care_days, 3)))
    stop = start + np.round(days).astype(np.int64).astype("timedelta64[D]")
    died = death[rows].astype("datetime64[D]")
    stop = np.where(~np.isnat(died) & (died < stop), died, stop)
    stop = np.where(stop >= ctx.end_day, np.datetime64("NaT", "D"), np.maximum(stop, start))
    service = np.select([p3 & nursing, p3, reablement], [3, 2, 1], 0)
    hours = np.where(p3, np.nan, np.clip(np.where(reablement, 7.0, 10.0) * np.exp(0.5 * rng.standard_normal(m)),
                                         1.5, 50).round(1))
    return pa.table({
        "package_id": np.arange(1, m + 1, dtype=np.int64), "person_id": spells["person_id"].take(rows),
        "council_code": council[rows].astype(str),
        "service_type": pa.DictionaryArray.from_arrays(pa.array(service.astype(np.int32)), pa.array(SERVICE_TYPES)),
        "request_date": np.minimum(ready[rows].astype("datetime64[D]"), start), "start_date": start,
        "end_date": stop, "weekly_hours": pa.array(hours, from_pandas=True),
        "care_home_code": pa.array(homes, pa.string()),
    })
