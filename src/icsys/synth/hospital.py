"""Hospital provider spells: emergency (through A&E or direct), elective and day case, maternity and
the final admissions of people who die in hospital; with clinical length of stay, the moment the
patient is ready for discharge and the discharge pathway they need.

Length of stay is set so that patients in hospital at midnight fill ~93 % of the system's G&A beds
on average (calibration.md [S38]): overnight emergency stays average ~5 days, half as long again at 85+,
and 35-40 % of emergency admissions stay 0-1 day. (The published 9.1 days for overnight emergency stays,
Health Foundation 2022, cannot be met with England's ~100,000 G&A beds at ~93 % and ~6.4 M emergency
admissions a year; the beds are what flow and escalation depend on.) Pathway mix for people 65+ near the discharge to
assess model (P0 ~55 %, P1 ~30 %, P2 ~6 %, P3 ~2 %). Delays for pathways 1-3 are added later, by
the discharge queues (`icsys.synth.discharge`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from icsys.codes import codelists
from icsys.synth.context import Population, SynthContext
from icsys.synth.timing import at_seconds, discharge_hour, inside_the_ics

DAY = np.timedelta64(86_400, "s")
# Specialty (treatment function) mixes and their ICD-10 primary diagnoses.
EMERGENCY_ADULT = {"300": 0.40, "100": 0.22, "110": 0.10, "320": 0.10, "340": 0.08, "430": 0.10}
EMERGENCY_OLDER = {"300": 0.32, "430": 0.28, "110": 0.10, "100": 0.10, "320": 0.10, "340": 0.10}
# ICD-10 primary diagnoses by treatment function: icsys/codes/admission_diagnoses.csv.
DIAGNOSES = codelists("admission_diagnoses")
PATHWAY_DESTINATION = {0: "19", 1: "19", 2: "51", 3: "85"}


def pick_specialty(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    out = np.empty(len(age), dtype=object)
    for mask, mix in ((age < 16, {"420": 1.0}), ((age >= 16) & (age < 70), EMERGENCY_ADULT),
                      (age >= 70, EMERGENCY_OLDER)):
        keys = list(mix)
        p = np.array([mix[k] for k in keys])
        out[mask] = np.array(keys, dtype=object)[rng.choice(len(keys), size=int(mask.sum()), p=p / p.sum())]
    return out


def diagnoses(rng: np.random.Generator, specialty: np.ndarray) -> np.ndarray:
    out = np.empty(len(specialty), dtype=object)
    for code in np.unique(specialty.astype(str)):
        mask = specialty == code
        options = DIAGNOSES.get(code, DIAGNOSES["other"])
        out[mask] = np.array(options, dtype=object)[rng.integers(0, len(options), int(mask.sum()))]
    return out


def emergency_stay_days(rng: np.random.Generator, age: np.ndarray, frailty: np.ndarray) -> np.ndarray:
    """Clinical length of stay (admission to ready for discharge), in days: a same- or next-day group
    (ambulatory care, ~40 % of emergency admissions, fewer in old age) and a lognormal tail whose
    median rises with age and frailty, so that with the discharge delays added the beds run at ~93 %
    (see the module's note)."""
    n = len(age)
    short = rng.random(n) < np.interp(age, [0, 16, 40, 65, 85], [0.72, 0.64, 0.58, 0.44, 0.32])
    median = np.interp(age, [0, 16, 40, 65, 85], [1.05, 1.35, 2.0, 2.95, 3.8]) * (1 + 1.2 * frailty)
    long = median * np.exp(0.85 * rng.standard_normal(n))
    return np.where(short, rng.uniform(0.05, 0.8, n), np.clip(long, 1.2, 200))


def discharge_pathway(rng: np.random.Generator, age: np.ndarray, frailty: np.ndarray, care_home: np.ndarray,
                      emergency: np.ndarray) -> np.ndarray:
    """Pathway 0-3 needed at discharge. For emergency admissions of people 65+ the mix is near
    P0 ~55 %, P1 ~32 %, P2 ~6 %, P3 ~2 % (the discharge-to-assess model aims at P0 >= 50 %, P1 <= 45 %,
    P2 ~4 %, P3 ~1 %; South East hospitals run above it for P2 and P3), rising with age and frailty;
    younger people and elective patients nearly all go home; care-home residents return to their home."""
    n = len(age)
    old = np.clip((age - 60) / 30, 0, 1)
    frail = np.clip(frailty / 0.3, 0, 2)
    p1 = (0.02 + 0.38 * old + 0.12 * frail) * np.where(emergency, 1.0, 0.12)
    p2 = (0.002 + 0.05 * old + 0.03 * frail) * np.where(emergency, 1.0, 0.1)
    p3 = (0.0005 + 0.012 * old + 0.012 * frail) * np.where(emergency, 1.0, 0.05)
    u = rng.random(n)
    pathway = np.select([u < p3, u < p3 + p2, u < p3 + p2 + p1], [3, 2, 1], 0)
    return np.where(care_home, 0, pathway).astype(np.int8)


def build_spells(ctx: SynthContext, pop: Population, parts: list[dict[str, np.ndarray]],
                 key: str = "spells") -> dict[str, np.ndarray]:
    """Join admission parts (each with owner, admission_time, admission_method, site_code and
    optionally attendance_row, classpat, specialty, stay_days, died) into spells with clinical
    length of stay, ready-for-discharge time, pathway and (for pathway 0 and deaths) discharge."""
    rng = ctx.rng(key, pop.chunk)
    cols = ("owner", "admission_time", "admission_method", "site_code")
    spell = {c: np.concatenate([p[c] for p in parts]) for c in cols}
    n = len(spell["owner"])
    for name, fill, dtype in (("attendance_row", -1, np.int64), ("classpat", "1", object), ("specialty", None, object),
                              ("stay_days", np.nan, float), ("died", False, bool), ("diagnosis", None, object)):
        spell[name] = np.concatenate([p.get(name, np.full(len(p["owner"]), fill, dtype=dtype)) for p in parts])
    owner = spell["owner"]
    age = (spell["admission_time"].astype("datetime64[D]") - pop.birth_date[owner]).astype(int) / 365.25
    frailty = pop.frailty[owner]
    emergency = np.char.startswith(spell["admission_method"].astype(str), "2")
    missing = spell["specialty"] == None  # noqa: E711 - elementwise on an object array
    spell["specialty"][missing] = pick_specialty(rng, age[missing])
    missing = spell["diagnosis"] == None  # noqa: E711
    spell["diagnosis"][missing] = diagnoses(rng, spell["specialty"][missing])
    stay = np.where(np.isnan(spell["stay_days"]), emergency_stay_days(rng, age, frailty), spell["stay_days"])
    ready = spell["admission_time"] + (stay * 86_400).astype("timedelta64[s]")
    pathway = discharge_pathway(rng, age, frailty, pop.care_home[owner], emergency)
    pathway = np.where(spell["died"], -1, pathway)
    # Pathway 0 goes home within hours of being ready; deaths end the spell on the death date.
    # Discharges happen in the day, most in the afternoon (HES discharge times): at an hour from the
    # profile near ready + the time to arrange going home, never before ready.
    home_hours = np.where(stay < 1, rng.uniform(0.3, 3, n), rng.uniform(1, 16, n))
    home = discharge_hour(rng, ready + (home_hours * 3600).astype("timedelta64[s]"))
    home = np.maximum(home, ready + np.timedelta64(1800, "s"))
    death = pop.death_date[owner]
    died_at = at_seconds(np.where(np.isnat(death), ready.astype("datetime64[D]"), death), rng.integers(0, 86_400, n))
    # Someone whose death comes before they would have left dies in this spell, on the death date.
    death_end = (death + 1).astype("datetime64[s]")
    dies_here = ~spell["died"] & ~np.isnat(death) & (home >= death_end)
    room = np.where(dies_here, (np.where(dies_here, death_end, spell["admission_time"])
                                - spell["admission_time"]).astype(np.int64), 0)
    last_moment = spell["admission_time"] + (room * rng.random(n)).astype(np.int64).astype("timedelta64[s]")
    died_at = np.where(dies_here, last_moment, died_at)
    spell["died"] = spell["died"] | dies_here
    pathway = np.where(dies_here, -1, pathway)
    discharge = np.where(spell["died"], died_at, home)
    ready = np.where(spell["died"], np.datetime64("NaT", "s"), ready)
    spell |= {"ready_for_discharge_time": ready, "discharge_time": discharge, "discharge_pathway": pathway,
              "death_date": death, "emergency": emergency}
    return spell


def readmissions(ctx: SynthContext, pop: Population, spell: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Emergency readmissions within 30 days of an emergency discharge home (pathway 0), more likely
    for older and frailer people: with the admissions that fall within 30 days by chance they make
    ~12-15 % of emergency discharges readmitted (QualityWatch; ~14 % nationally recently). Spells on
    pathways 1-3 get none here, as their discharge time is only known after the queues."""
    rng = ctx.rng("readmissions", pop.chunk)
    owner = spell["owner"]
    age = (spell["admission_time"].astype("datetime64[D]") - pop.birth_date[owner]).astype(int) / 365.25
    # A quarter of what it was: people's lasting propensities (population.py) bring most readmissions by chance.
    p = 0.25 * (0.07 + 0.1 * np.clip((age - 40) / 45, 0, 1) + 0.25 * pop.frailty[owner])
    base = spell["emergency"] & (spell["discharge_pathway"] == 0)
    take = np.flatnonzero(base & (rng.random(len(owner)) < p))
    gap = np.minimum(rng.exponential(9.0, len(take)), 29.5)
    admit = spell["discharge_time"][take] + (gap * 86_400 + 3600).astype("timedelta64[s]")
    # Method 28 ("other means") was retired from HES in 2013: 2D is its successor.
    method = np.array(["21", "22", "23", "2D"], dtype=object)[rng.choice(4, size=len(take), p=[0.6, 0.2, 0.05, 0.15])]
    return {"owner": owner[take], "admission_time": admit, "admission_method": method,
            "site_code": spell["site_code"][take]}


def finish_spells(ctx: SynthContext, pop: Population, groups: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join built spell groups, keep those starting in the period and within the person's life and
    registration, drop overlaps and note each spell's next admission of the same person (which a
    delayed discharge must not pass)."""
    spell = {k: np.concatenate([g[k] for g in groups]) for k in groups[0]}
    first, last = pop.alive_days(ctx.start_day, ctx.end_day)
    owner = spell["owner"]
    day = spell["admission_time"].astype("datetime64[D]")
    keep = (day >= first[owner]) & (day < last[owner])
    spell = _drop_overlaps({k: v[keep] for k, v in spell.items()})
    owner = spell["owner"]
    same = np.r_[owner[1:] == owner[:-1], False]
    spell["next_admission_time"] = np.where(same, np.r_[spell["admission_time"][1:], np.datetime64("NaT", "s")],
                                            np.datetime64("NaT", "s"))
    return spell


def _drop_overlaps(spell: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A person is in one hospital at a time: drop a spell that starts before their previous one ends
    (a final spell ending in death is kept in preference: it is placed first in its tie)."""
    order = np.lexsort((~spell["died"], spell["admission_time"], spell["owner"]))
    owner = spell["owner"][order]
    start = spell["admission_time"][order].astype(np.int64)
    end = spell["discharge_time"][order].astype(np.int64)
    keep = np.ones(len(order), bool)
    same = np.r_[False, owner[1:] == owner[:-1]]
    # Running maximum of the previous ends within each person (spells are few per person: iterate passes).
    prev_end = np.r_[0, end[:-1]]
    for _ in range(4):
        clash = same & (start < prev_end) & keep
        if not clash.any():
            break
        keep &= ~clash
        group_start = np.maximum.accumulate(np.where(~same, np.arange(len(owner)), 0))
        running = _group_cummax(np.where(keep, end, 0), group_start)
        prev_end = np.r_[0, running[:-1]]
    idx = order[keep]
    return {k: v[idx] for k, v in spell.items()}


def _group_cummax(values: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """Running maximum restarting at each group: offset each group above the previous one's values
    (values are epoch seconds, well below 2**40), accumulate, and take the offsets off again."""
    group = np.cumsum(group_start == np.arange(len(values))) * (1 << 40)
    return np.maximum.accumulate(values + group) - group


def spell_table(ctx: SynthContext, pop: Population, spell: dict[str, np.ndarray],
                attendance_ids: np.ndarray) -> pa.Table:
    """The spells as rows: spells still open at the end of the period have no discharge (DISDEST 98)."""
    end = ctx.end_day.astype("datetime64[s]")
    pathway = spell["discharge_pathway"]
    open_at_end = spell["discharge_time"] >= end
    died = pathway < 0
    destination = np.where(died, "79", np.array([PATHWAY_DESTINATION[p] for p in range(4)], dtype=object)[
        np.clip(pathway, 0, 3)])
    destination = np.where(pop.care_home[spell["owner"]] & (pathway == 0), "85", destination)
    waiting = (pathway >= 1) & ~open_at_end  # resolved later by the discharge queues
    destination = np.where(open_at_end, "98", destination)
    ready = spell["ready_for_discharge_time"]
    ready = np.where(ready >= end, np.datetime64("NaT", "s"), ready)
    discharge = np.where(open_at_end, np.datetime64("NaT", "s"), spell["discharge_time"])
    row = spell["attendance_row"]
    return pa.table({
        "spell_id": np.arange(1, len(row) + 1, dtype=np.int64), "person_id": pop.person_id[spell["owner"]],
        "site_code": spell["site_code"].astype(str), "admission_time": spell["admission_time"],
        "ready_for_discharge_time": ready, "discharge_time": discharge,
        "admission_method": spell["admission_method"].astype(str),
        "patient_classification": spell["classpat"].astype(str),
        "specialty": spell["specialty"].astype(str), "primary_diagnosis": spell["diagnosis"].astype(str),
        "discharge_pathway": pa.array(np.maximum(pathway, 0).astype(np.int64), mask=died | np.isnat(ready)),
        "discharge_destination": destination.astype(str),
        "attendance_id": pa.array(np.where(row >= 0, attendance_ids[np.maximum(row, 0)], 0), mask=row < 0),
        "death_date": spell["death_date"], "awaiting_pathway": waiting,
        "next_admission_time": spell["next_admission_time"], **inside_the_ics(len(row)),
    })

