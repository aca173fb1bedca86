"""Beds are a constraint: a hospital admits no more patients than its core beds plus the escalation
beds it can open (the system definition). Run once every spell is known (after the discharge queues).

Patients are admitted in order of the decision to admit. A full hospital does what real ones do, in
this order: it opens escalation beds (occupancy above the core beds, up to core + escalation); brings
forward the discharge of the patient ready for discharge longest (to an interim arrangement or the
discharge lounge, in the day: 08:00-20:00), or else of the patient due to leave next, if within a day
(the morning discharge a full hospital pushes for); cancels an ordinary elective admission on the day
where even so no bed frees within hours (rebooked one to four weeks later, at most twice); and only
then does an emergency wait, in A&E after the decision to admit, for the next bed to free, its whole
spell moving later by the wait. The waits feed back to A&E (departure after the decision to admit)
and to ambulance handovers, which lengthen with the hospital's occupancy over the week (Bagust 1999:
shortages regular above ~90 %).

The same hospitals at every scale (ADR 005), in two passes over each pool of beds:
1. At full size: at scale 0.01 a 540-bed hospital has five beds, which chance alone overfills every
   week, so the queue runs at the pool's full size with, besides the build's own patients, copies of
   them (drawn with replacement, moved to the same season of any year of the period) standing in for
   the rest of the population. This gives the waits a whole hospital has at that load.
2. On the build's own patients, against the pool's beds at the build's scale (rounded down): the
   build's own occupancy varies by sampling error around the full hospital's (±8 % a month at 0.01),
   so the same rules trim the excess, and what an analyst measures (occupied beds over the build's
   share of beds, `icsys performance ... bed_occupancy`) never exceeds core + escalation. At full scale
   the first pass is exact and the second changes nothing.
Where a site would have under MIN_POOL_BEDS beds at the build's scale the constraint is pooled at its
trust's level, or failing that the ICS's (at 0.01 and 0.005, the whole ICS; at 0.1 and 1.0, each site).
The pools and the beds used are written to the store's metadata (`bed_pools`).
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pyarrow as pa
from numba import njit

from icsys.synth.context import SynthContext
from icsys.system import System

MIN_POOL_BEDS = 25
DAY_S = 86_400
REBOOK_DAYS = (7, 28)
MAX_CANCELLATIONS = 2
DAY_OPENS, DAY_CLOSES = 8 * 3600, 20 * 3600  # discharges brought forward happen in the day
MORNING_SPREAD_S = 5 * 3600  # those that must wait for the morning go from 08:00 to 13:00
ELECTIVE_GRACE_S = 4 * 3600  # an elective is cancelled only if no bed can be found within hours
EXPEDITE_S = DAY_S  # a patient due to leave within a day can leave earlier in the day
# Trimming a small build's own chance excess: discharges due within days come forward, so that the waits
# stay those of the whole hospital (pass 1) rather than of a 30-bed one.
TRIM_EXPEDITE_S = 6 * DAY_S
NEVER = np.iinfo(np.int64).max // 4
OUT = -1  # not in a bed
MATERNITY_SPECIALTIES = ("501", "560")  # obstetrics; midwife episode (as performance.rules reads them)


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


def beds_at_scale(beds: float, scale: float) -> int:
    """The pool's beds at the build's scale, rounded down so occupancy never reads above the cap."""
    return max(1, math.floor(beds * scale + 1e-9))


def _col(table: pa.Table, name: str, dtype: str) -> np.ndarray:
    return table[name].to_numpy(zero_copy_only=False).astype(dtype)


def admit_to_beds(ctx: SynthContext, spells: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table, dict]:
    """Move spells later where no bed was free and discharges earlier where a full hospital brought them
    forward. Returns the spells, the waits of admissions from A&E (attendance_id, wait_s), each pool's
    occupancy over its core beds at each midnight (pool, day, occupancy, escalation_open, cancelled) and
    the pooling (metadata: site -> pool, each pool's core, escalation and scaled beds)."""
    rng = ctx.rng("beds")
    pool_of, beds = bed_pools(ctx.system, ctx.scale)
    n = spells.num_rows
    site = _col(spells, "site_code", str)
    admit = _col(spells, "admission_time", "datetime64[s]").astype(np.int64)
    discharge_nat = _col(spells, "discharge_time", "datetime64[s]")
    ready_nat = _col(spells, "ready_for_discharge_time", "datetime64[s]")
    t0 = int(ctx.start_day.astype("datetime64[s]").astype(np.int64))
    end = int(ctx.end_day.astype("datetime64[s]").astype(np.int64))
    still_in = np.isnat(discharge_nat)
    # Spells open at the end hold their bed beyond it: ~5 more days for a resampled copy elsewhere in time.
    discharge = np.where(still_in, end + 5 * DAY_S, discharge_nat.astype(np.int64))
    # Time from admission to ready for discharge; never for deaths and spells open at the end.
    died = _col(spells, "discharge_destination", str) == "79"  # some die waiting for their pathway
    ready = np.where(np.isnat(ready_nat) | still_in | died, NEVER, ready_nat.astype(np.int64) - admit)
    # In a bed at midnight: ordinary admissions, and day cases kept in (waiting for a pathway).
    ordinary = (_col(spells, "patient_classification", str) == "1") | (discharge // DAY_S > admit // DAY_S)
    # Maternity spells are in maternity beds (KH03 keeps them apart), never in the G&A pools.
    maternity = np.char.startswith(_col(spells, "admission_method", str), "3") | np.isin(
        _col(spells, "specialty", str), MATERNITY_SPECIALTIES)
    ordinary &= ~maternity
    elective = np.char.startswith(_col(spells, "admission_method", str), "1")
    pool = np.array([pool_of.get(s, "") for s in site], dtype=object)
    wait, cut = np.zeros(n, np.int64), np.zeros(n, np.int64)
    days = (end - t0) // DAY_S
    nights = t0 + DAY_S * np.arange(1, days + 1)
    census, meta = [], {"level": _level(pool_of, ctx.system), "pools": {}}
    for code, capacity in beds.items():
        rows = np.flatnonzero((pool == code) & ordinary)
        stay = discharge[rows] - admit[rows]
        arrival, stays, readies, kind = _full_size(rng, admit[rows], stay, ready[rows], elective[rows],
                                                   ctx.scale, t0, end)
        full = _admit(rng, arrival, stays, readies, kind, round(capacity))
        own = len(rows)
        w, c, cancelled = full[0][:own], full[1][:own], full[2][:own]
        cap = beds_at_scale(capacity, ctx.scale)
        if ctx.scale < 1:
            w2, c2, cancelled2 = _admit(rng, admit[rows] + w, stay - c, ready[rows], elective[rows], cap,
                                        TRIM_EXPEDITE_S)
            w, c, cancelled = w + w2, c + c2, cancelled + cancelled2
        wait[rows], cut[rows] = w, c
        start = np.sort(admit[rows] + w)
        stop = np.sort(admit[rows] + w + stay - c)
        occupied = np.searchsorted(start, nights) - np.searchsorted(stop, nights)
        core = sum(s.general_acute_beds for s in ctx.system.site if pool_of.get(s.code) == code) * ctx.scale
        day_of = ((admit[rows] - t0) // DAY_S).clip(0, days - 1)
        census.append(pa.table({"pool": [code] * days, "day": (nights // DAY_S - 1).astype("datetime64[D]"),
                                "occupancy": occupied / core, "pressure": _weekly(occupied / core),
                                "escalation_open": np.maximum(occupied - core, 0),
                                "cancelled": np.bincount(day_of, weights=cancelled, minlength=days)}))
        meta["pools"][code] = {"core_beds": round(core / ctx.scale), "escalation_beds": round(capacity - core
                                                                                             / ctx.scale),
                               "beds_at_scale": cap, "core_beds_at_scale": round(core, 3)}
    meta["sites"] = pool_of
    # A wait for a bed ends inside the period and by the person's death: one still waiting at the period's
    # end is admitted in its last second (open at the end), one dying waiting is admitted on the day.
    death = _col(spells, "death_date", "datetime64[D]")
    last = np.where(np.isnat(death), end, (death + 1).astype("datetime64[s]").astype(np.int64).clip(max=end))
    wait = np.minimum(wait, np.maximum(last - 1 - admit, 0))
    return _shift(spells, wait, cut, end), _ae_waits(spells, wait), pa.concat_tables(census), meta


def _weekly(occupancy: np.ndarray) -> np.ndarray:
    """The week's mean occupancy around each day: what staff feel as pressure (a small build's own
    midnight counts jump by chance from night to night)."""
    padded = np.r_[occupancy[:3][::-1], occupancy, occupancy[-3:][::-1]]
    return np.convolve(padded, np.ones(7) / 7, "valid")


def _level(pool_of: dict[str, str], system: System) -> str:
    pools = set(pool_of.values())
    return "site" if pools == set(pool_of) else "ics" if pools == {system.ics.code} else "trust"


def _full_size(rng: np.random.Generator, arrival: np.ndarray, stay: np.ndarray, ready: np.ndarray,
               elective: np.ndarray, scale: float, t0: int, end: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The build's own admissions first, then (below full scale) copies of them, drawn with
    replacement and moved to the same season of any year of the period (up to a week either way),
    standing in for the rest of the population, so the beds are those of the whole hospital."""
    n = len(arrival)
    copies = round(n * (1 / scale - 1)) if scale < 1 and n else 0
    if not copies:
        return arrival, stay, ready, elective
    period = end - t0
    years = max(1, round(period / (365.25 * DAY_S)))
    pick = rng.integers(0, n, copies)
    moved = (arrival[pick] - t0 + rng.integers(0, years, copies) * period // years
             + rng.integers(-7 * DAY_S, 7 * DAY_S, copies)) % period + t0
    return np.r_[arrival, moved], np.r_[stay, stay[pick]], np.r_[ready, ready[pick]], np.r_[elective, elective[pick]]


@njit(cache=True)
def _in_the_day(t: int, late: int = 0) -> int:
    """t if in the day (08:00-20:00), else the next morning, `late` seconds after 08:00."""
    second = t % DAY_S
    if second < DAY_OPENS:
        return t - second + DAY_OPENS + late
    return t if second < DAY_CLOSES else t - second + DAY_S + DAY_OPENS + late


def _admit(rng: np.random.Generator, arrival: np.ndarray, stay: np.ndarray, ready: np.ndarray,
           elective: np.ndarray, beds: int, expedite_s: int = EXPEDITE_S) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First come first served on `beds` beds (escalation beds included). A patient finding none: the
    patient ready for discharge longest leaves early (in the day) to make room, or the next due to leave
    alive (if within `expedite_s`), or the patient waits for the next bed to free, whichever comes first;
    an elective with no bed within ELECTIVE_GRACE_S is rebooked instead (up to MAX_CANCELLATIONS times).
    `ready` is each stay's time from admission to ready for discharge (NEVER for deaths and stays open at
    the end). Returns each patient's wait for a bed, how much earlier they left, and their cancellations."""
    n = len(arrival)
    rebook = rng.integers(*REBOOK_DAYS, n * MAX_CANCELLATIONS + 1)
    morning = rng.integers(0, MORNING_SPREAD_S, n)  # a night's wait ends as the wards discharge
    return _first_come_first_served(np.asarray(arrival, np.int64), np.asarray(stay, np.int64),
                                    np.asarray(ready, np.int64), np.asarray(elective, np.bool_),
                                    rebook.astype(np.int64), morning.astype(np.int64), max(int(beds), 1),
                                    int(expedite_s))


# A full-size hospital's three years are millions of heap operations: compiled, as the flow engine is.
@njit(cache=True)
def _first_come_first_served(planned, stay_s, ready_s, is_elective, rebook, morning, beds, expedite_s):
    n = len(planned)
    wait, cut, cancels = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    queue = [(planned[i], np.int64(i), np.int64(0)) for i in range(n)]  # (time, patient, cancellations)
    heapq.heapify(queue)
    leaving = np.full(n, OUT, np.int64)  # a patient in a bed (or with one held for them) -> discharge
    in_beds, rebooked = 0, 0
    started = np.zeros(n, np.int64)
    # (time, patient) heaps, cleaned lazily against `leaving`: every discharge; those of patients who will
    # leave alive; and each stay's ready for discharge. Seeded so Numba knows their type.
    leaves, movable, readies = [(np.int64(0), np.int64(0))], [(np.int64(0), np.int64(0))], [(np.int64(0),
                                                                                              np.int64(0))]
    leaves.pop(), movable.pop(), readies.pop()
    while queue:
        t, i, cancelled = heapq.heappop(queue)
        while leaves and leaves[0][0] <= t:
            d, j = heapq.heappop(leaves)
            if leaving[j] == d:
                leaving[j] = OUT
                in_beds -= 1
        begins = t
        if in_beds >= beds:
            while leaving[leaves[0][1]] != leaves[0][0]:
                heapq.heappop(leaves)
            freed_at, first = leaves[0]
            while readies and not (leaving[readies[0][1]] != OUT and readies[0][0] < leaving[readies[0][1]]):
                heapq.heappop(readies)
            early = _in_the_day(max(t, readies[0][0]), morning[i]) if readies else NEVER
            while movable and leaving[movable[0][1]] != movable[0][0]:
                heapq.heappop(movable)
            soon = NEVER
            if movable:  # the next to leave goes in the day, not before their own admission
                soon = max(_in_the_day(t, morning[i]), movable[0][0] - expedite_s, started[movable[0][1]] + 600)
            begins = min(freed_at, early, soon)
            if is_elective[i] and cancelled < MAX_CANCELLATIONS and begins > t + ELECTIVE_GRACE_S:
                cancels[i] += 1
                heapq.heappush(queue, (t + rebook[rebooked] * DAY_S, i, cancelled + 1))
                rebooked += 1
                continue
            j = first if begins == freed_at else readies[0][1] if begins == early else movable[0][1]
            cut[j] += leaving[j] - begins
            leaving[j] = OUT
            in_beds -= 1
        wait[i] = begins - planned[i]
        leaving[i], started[i] = begins + stay_s[i], begins
        in_beds += 1
        heapq.heappush(leaves, (leaving[i], i))
        if ready_s[i] < NEVER:
            heapq.heappush(movable, (leaving[i], i))
        if ready_s[i] < stay_s[i]:
            heapq.heappush(readies, (begins + ready_s[i], i))
    return wait, cut, cancels


def _shift(spells: pa.Table, wait: np.ndarray, cut: np.ndarray, end: int) -> pa.Table:
    """Every time of a spell moves by its wait and its discharge comes `cut` earlier; a death stays on
    its day, a spell moved past the period's end stays open, and none passes the same person's next
    admission or death."""
    if not (wait > 0).any() and not (cut > 0).any():
        return spells
    delta = wait.astype("timedelta64[s]")
    admit = _col(spells, "admission_time", "datetime64[s]") + delta
    ready = _col(spells, "ready_for_discharge_time", "datetime64[s]") + delta
    discharge = _col(spells, "discharge_time", "datetime64[s]")
    died = _col(spells, "discharge_destination", str) == "79"
    nxt = _col(spells, "next_admission_time", "datetime64[s]")
    later = np.where(died, discharge, discharge + delta - cut.astype("timedelta64[s]"))
    death_end = (_col(spells, "death_date", "datetime64[D]") + 1).astype("datetime64[s]") - np.timedelta64(1, "s")
    later = np.where(~np.isnat(death_end) & (later > death_end), death_end, later)
    later = np.where(~np.isnat(nxt) & (later > nxt - np.timedelta64(3600, "s")), nxt - np.timedelta64(3600, "s"),
                     later)
    # Never in a bed before it was free: a spell squeezed by a death or the next admission is kept short.
    later = np.where(~np.isnat(later) & (later < admit + np.timedelta64(600, "s")), admit + np.timedelta64(600, "s"),
                     later)
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
