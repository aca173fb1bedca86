"""Beds are a constraint: a hospital admits no more patients than its core beds plus the escalation
beds it can open (the system definition). Run once every spell is known (after the discharge queues).

Patients are admitted in order of the decision to admit; when every bed is taken an emergency waits
(in A&E, after the decision to admit, or on the assessment unit) for the next bed to free, and its whole
spell moves later by the wait; an elective (ordinary) admission finding no bed is cancelled on the day
and rebooked one to four weeks later. Occupancy above the core beds is escalation beds open. The
waits feed back to A&E (departure after the decision to admit) and to ambulance handovers, which
lengthen with the hospital's occupancy that day (Bagust 1999: shortages regular above ~90 %).

The same hospitals at every scale: at scale 0.01 a 540-bed hospital would have five beds, which
chance alone overfills every week (a five-bed ward queues far longer than a 540-bed hospital at the
same occupancy). So below full scale each hospital is run at its full size: the build's patients
and, standing in for the rest of the population, copies of them (drawn with replacement, moved to
the same season of any year of the period). The build's patients wait as they would in the whole
hospital, and its occupancy (over the build's share of the beds) stays within sampling error of the
full build's; at full scale the cap holds exactly. Sites with fewer than MIN_POOL_BEDS beds (none in
Kent and Medway) are pooled with their trust's, or failing that the ICS's, where a few beds could not
be managed on their own.
"""

from __future__ import annotations

import heapq

import numpy as np
import pyarrow as pa

from icsys.synth.context import SynthContext
from icsys.system import System

MIN_POOL_BEDS = 25
DAY_S = 86_400
REBOOK_DAYS = (7, 28)
MAX_CANCELLATIONS = 2


def bed_pools(system: System, scale: float) -> tuple[dict[str, str], dict[str, float]]:
    """Site -> pool and pool -> beds (core + escalation, in the whole system) for every site with G&A beds:
    the finest level (site, trust, ICS) at which every pool has MIN_POOL_BEDS beds at this scale."""
    sites = [s for s in system.site if s.general_acute_beds]
    levels = [lambda s: s.code, lambda s: s.provider, lambda s: system.ics.code]
    for level in levels:
        beds: dict[str, float] = {}
        for s in sites:
            beds[level(s)] = beds.get(level(s), 0.0) + (s.general_acute_beds + s.escalation_beds)
        if min(beds.values()) * scale >= MIN_POOL_BEDS or level is levels[-1]:
            return {s.code: level(s) for s in sites}, beds
    raise AssertionError("unreachable")


def _col(table: pa.Table, name: str, dtype: str) -> np.ndarray:
    return table[name].to_numpy(zero_copy_only=False).astype(dtype)


def admit_to_beds(ctx: SynthContext, spells: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table, dict[str, str]]:
    """Move spells later where no bed was free. Returns the spells, the waits of admissions from A&E
    (attendance_id, wait_s), each site's occupancy over its core beds at each midnight (pool, day,
    occupancy) and the pool of each site."""
    rng = ctx.rng("beds")
    pool_of, beds = bed_pools(ctx.system, ctx.scale)
    n = spells.num_rows
    site = _col(spells, "site_code", str)
    admit = _col(spells, "admission_time", "datetime64[s]").astype(np.int64)
    discharge_nat = _col(spells, "discharge_time", "datetime64[s]")
    t0 = int(ctx.start_day.astype("datetime64[s]").astype(np.int64))
    end = int(ctx.end_day.astype("datetime64[s]").astype(np.int64))
    still_in = np.isnat(discharge_nat)
    # Spells open at the end hold their bed beyond it: ~5 more days for a resampled copy elsewhere in time.
    discharge = np.where(still_in, end + 5 * DAY_S, discharge_nat.astype(np.int64))
    ordinary = _col(spells, "patient_classification", str) == "1"
    elective = np.char.startswith(_col(spells, "admission_method", str), "1")
    pool = np.array([pool_of.get(s, "") for s in site], dtype=object)
    wait = np.zeros(n, np.int64)
    days = (end - t0) // DAY_S
    nights = t0 + DAY_S * np.arange(1, days + 1)
    census = []
    for code, capacity in beds.items():
        rows = np.flatnonzero((pool == code) & ordinary)
        arrival, stay, kind = _full_size(rng, admit[rows], discharge[rows] - admit[rows], elective[rows],
                                         ctx.scale, t0, end)
        waited = _admit(rng, arrival, stay, kind, round(capacity))
        wait[rows] = waited[:len(rows)]
        start = np.sort(arrival + waited)
        stop = np.sort(arrival + waited + stay)
        occupied = np.searchsorted(start, nights) - np.searchsorted(stop, nights)
        core = sum(s.general_acute_beds for s in ctx.system.site if pool_of.get(s.code) == code)
        census.append(pa.table({"pool": [code] * days, "day": (nights // DAY_S - 1).astype("datetime64[D]"),
                                "occupancy": occupied / core}))
    return _shift(spells, wait, end), _ae_waits(spells, wait), pa.concat_tables(census), pool_of


def _full_size(rng: np.random.Generator, arrival: np.ndarray, stay: np.ndarray, elective: np.ndarray,
               scale: float, t0: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The build's own admissions first, then (below full scale) copies of them, drawn with
    replacement and moved to the same season of any year of the period (up to a week either way),
    standing in for the rest of the population, so the beds are those of the whole hospital."""
    n = len(arrival)
    copies = round(n * (1 / scale - 1)) if scale < 1 and n else 0
    if not copies:
        return arrival, stay, elective
    period = end - t0
    years = max(1, round(period / (365.25 * DAY_S)))
    pick = rng.integers(0, n, copies)
    moved = (arrival[pick] - t0 + rng.integers(0, years, copies) * period // years
             + rng.integers(-7 * DAY_S, 7 * DAY_S, copies)) % period + t0
    return np.r_[arrival, moved], np.r_[stay, stay[pick]], np.r_[elective, elective[pick]]


def _admit(rng: np.random.Generator, arrival: np.ndarray, stay: np.ndarray, elective: np.ndarray,
           beds: int) -> np.ndarray:
    """Waits (seconds) for a bed, first come first served on `beds` beds; electives finding none are
    rebooked (up to MAX_CANCELLATIONS times, then admitted as the next bed frees)."""
    free = [int(arrival.min()) if len(arrival) else 0] * max(beds, 1)
    queue = list(zip(arrival.tolist(), range(len(arrival)), [0] * len(arrival), strict=True))
    heapq.heapify(queue)
    wait = np.zeros(len(arrival), np.int64)
    stay_s, planned, is_elective = stay.tolist(), arrival.tolist(), elective.tolist()
    rebook = iter(rng.integers(*REBOOK_DAYS, len(arrival) * MAX_CANCELLATIONS + 1).tolist())
    while queue:
        t, i, cancelled = heapq.heappop(queue)
        earliest = free[0]
        if earliest > t and is_elective[i] and cancelled < MAX_CANCELLATIONS:
            heapq.heappush(queue, (t + next(rebook) * DAY_S, i, cancelled + 1))
            continue
        begins = t if t >= earliest else earliest
        heapq.heapreplace(free, begins + stay_s[i])
        wait[i] = begins - planned[i]
    return wait


def _shift(spells: pa.Table, wait: np.ndarray, end: int) -> pa.Table:
    """Every time of a spell moves by its wait; a death stays on its day, a spell moved past the
    period's end stays open, and none passes the same person's next admission."""
    moved = wait > 0
    if not moved.any():
        return spells
    delta = wait.astype("timedelta64[s]")
    admit = _col(spells, "admission_time", "datetime64[s]") + delta
    ready = _col(spells, "ready_for_discharge_time", "datetime64[s]") + delta
    discharge = _col(spells, "discharge_time", "datetime64[s]")
    died = _col(spells, "discharge_destination", str) == "79"
    nxt = _col(spells, "next_admission_time", "datetime64[s]")
    later = np.where(died, discharge, discharge + delta)
    death_end = (_col(spells, "death_date", "datetime64[D]") + 1).astype("datetime64[s]") - np.timedelta64(1, "s")
    later = np.where(~np.isnat(death_end) & (later > death_end), death_end, later)
    later = np.where(~np.isnat(nxt) & (later > nxt - np.timedelta64(3600, "s")), nxt - np.timedelta64(3600, "s"),
                     later)
    admit = np.where(~np.isnat(later) & (admit > later - np.timedelta64(600, "s")),
                     later - np.timedelta64(600, "s"), admit)
    ready = np.where(np.isnat(ready) | (ready <= later), ready, later)
    nat = np.datetime64("NaT", "s")
    still_in = ~np.isnat(later) & (later.astype(np.int64) >= end)
    later = np.where(still_in, nat, later)
    ready = np.where(~np.isnat(ready) & (ready.astype(np.int64) >= end), nat, ready)
    destination = np.where(still_in, "98", _col(spells, "discharge_destination", str))
    out = spells
    for name, values in (("admission_time", admit), ("ready_for_discharge_time", ready),
                         ("discharge_time", later)):
        out = out.set_column(out.column_names.index(name), name, pa.array(values, pa.timestamp("s")))
    i = out.column_names.index("discharge_destination")
    return out.set_column(i, "discharge_destination", pa.array(destination.astype(str)))


def _ae_waits(spells: pa.Table, wait: np.ndarray) -> pa.Table:
    attendance = spells["attendance_id"].to_numpy(zero_copy_only=False)
    has = ~np.isnan(attendance.astype(float)) & (wait > 0)
    return pa.table({"attendance_id": attendance[has].astype(np.int64), "wait_s": wait[has]})
