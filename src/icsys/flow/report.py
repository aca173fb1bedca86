"""A report of a run in the shape of STRESS-DES (Monks et al. 2019, "Strengthening the reporting of
empirical simulation studies: introducing the STRESS guidelines", Journal of Simulation 13:1): the
set-up written out from the scenario itself — objectives, logic, data, experimentation,
implementation — followed by the results with their uncertainty."""

from __future__ import annotations

import platform
from datetime import date
from typing import Any

import numpy as np

from icsys.flow import distributions as dist
from icsys.flow.compiled import Model
from icsys.flow.model import Distribution, Pool
from icsys.flow.results import MEASURES, POOL_MEASURES

PATHWAY_WORDS = {"1": "P1 home with support", "2": "P2 community bed", "3": "P3 care home"}


def stress_report(model: Model, summary: dict[str, Any], command: str) -> str:
    s = model.scenario
    lines = [f"# {s.scenario.name}: capacity and flow simulation", "",
             f"Written by `icsys` on {date.today()} from `{command}`.", ""]
    if s.scenario.description:
        lines += [s.scenario.description, ""]
    for section in (_objectives, _logic, _data, _experimentation, _implementation, _results):
        lines += section(model, summary)
    return "\n".join(lines) + "\n"


def _objectives(model: Model, summary: dict[str, Any]) -> list[str]:
    return ["## 1. Objectives", "",
            "**1.1 Purpose.** Estimate what demand, surges and interventions do to acute, community and social "
            "care capacity: bed occupancy, patients medically fit for discharge (MFFD) waiting in acute beds, "
            "and A&E waits.", "",
            "**1.2 Outputs.** " + "; ".join(label for label, _ in MEASURES.values()) + ". By pool: "
            + ", ".join(label.lower() for label, _ in POOL_MEASURES.values()) + ". Daily series of occupancy by "
            "pool, MFFD and A&E 4-hour performance.", "",
            "**1.3 Experimentation aims.** " + _aims(model), ""]


def _aims(model: Model) -> str:
    s = model.scenario
    parts = [f"surge {g.name!r} ({g.start} to {g.end}, x{g.multiplier}, {g.shape})" for g in s.surge]
    parts += [f"capacity change in {c.pool!r} of {c.change:+g} from {c.start}" + (f" to {c.end}" if c.end else "")
              for c in s.capacity_change]
    parts += [f"{i.kind.replace('_', ' ')} {i.name!r}".replace(" ''", "") for i in s.intervention]
    return ("This scenario includes: " + "; ".join(parts) + ".") if parts else "The scenario as given (no surges "\
        "or interventions); compare it with others with `icsys flow compare`."


def _logic(model: Model, summary: dict[str, Any]) -> list[str]:
    return ["## 2. Logic", "", "**2.1 Overview.**", "", "```mermaid", *_diagram(model), "```", "",
            "**2.2 Base model logic.** Patients arrive in streams (non-homogeneous Poisson processes). A&E "
            "attenders not admitted spend a drawn time in A&E and leave; those admitted wait for a decision to "
            "admit, then wait in A&E for a bed (boarding), which is what makes A&E times depend on beds. Admitted "
            "patients stay their length of stay, become ready for discharge and need their pathway: P0 home, or "
            "P1-P3 a place in the pool their pathway leads to. Until that pool admits them they keep their acute "
            "bed (an MFFD delay: blocking after service). Community beds discharge onward in the same way. "
            "Escalation beds are used only when all other beds are full. Elective patients are turned away "
            "(cancelled) when no bed is free; emergencies queue.", "",
            "**2.3 Scenario logic.** Surges multiply arrival rates over dates; capacity changes add or close "
            "beds, places or care hours; a 2-hour urgent community response removes a share of eligible "
            "ambulance conveyances; frailty MDTs remove a share of a cohort's emergency attendances and "
            "admissions; a virtual ward takes eligible patients for the end of their stay when a place is free; "
            "Home First moves a share of patients to a lower pathway.", "",
            "**2.4 Algorithms.** Arrivals by inverting the cumulative rate with thinning for surges; every "
            "duration by inversion of its distribution function (one uniform number each), so that common "
            "random numbers couple scenarios patient by patient.", "",
            "**2.5 Components.**", "", *_components(model), ""]


def _diagram(model: Model) -> list[str]:
    s = model.scenario
    node = {p.code: f"P{i}" for i, p in enumerate(s.pool)}
    lines = ["flowchart LR"]
    lines += [f'  {node[p.code]}["{p.name or p.code} ({p.capacity:g} {_unit(p)})"]' for p in s.pool]
    sources: dict[str, set[str]] = {}
    for a in s.arrivals:
        if a.pool:
            sources.setdefault(a.source, set()).add(a.pool)
    for j, (source, pools) in enumerate(sorted(sources.items())):
        lines.append(f'  S{j}(["{source.replace("_", " ")}"])')
        lines += [f"  S{j} --> {node[p]}" for p in sorted(pools)]
    edges = {(p.code, q, k) for p in s.pool for k, shares in p.discharge_to.items() for q in shares
             if q in node}  # another route is no pool
    lines += [f"  {node[a]} -- P{k} --> {node[b]}" for a, b, k in sorted(edges)]
    return lines


def _unit(p: Pool) -> str:
    return "care hours a week" if p.unit == "hours" else ("beds" if p.kind in ("acute", "community") else "places")


def _components(model: Model) -> list[str]:
    s = model.scenario
    n_streams = len(s.arrivals)
    return [f"- Entities: patients, from {n_streams} arrival streams; census patients present at the start "
            f"({sum(p.census for p in s.pool):,}).",
            "- Activities: time in A&E, length of stay, arranging a discharge, stays in downstream services.",
            f"- Resources: {len(s.pool)} pools: " + "; ".join(
                f"{p.code} {p.capacity:g} {_unit(p)}" + (f" + {p.escalation:g} escalation" if p.escalation else "")
                for p in s.pool) + ".",
            "- Queues: one per pool, first come first served (someone needing more care hours than are free "
            "blocks those behind); a pool's patience, where given, ends a wait by another route.",
            "- Entry and exit: arrival streams in; home, a downstream service's end, another route, or turned "
            "away out."]


def _data(model: Model, summary: dict[str, Any]) -> list[str]:
    s = model.scenario
    lines = ["## 3. Data", "",
             "**3.1 Sources.** The scenario file; a calibrated scenario states its store and fit report "
             "(`icsys flow calibrate`).", "",
             "**3.2 Pre-processing.** Profiles are normalised to mean 1; case-mix shares to their total.", "",
             "**3.3 Input parameters.**", "",
             "| stream | source | pool | a day | when full |", "| --- | --- | --- | ---: | --- |"]
    lines += [f"| {a.name} | {a.source} | {a.pool or '-'} | {a.per_day:,.2f} | {a.when_full} |" for a in s.arrivals]
    lines += ["", "| pool | kind | capacity | escalation | stay | arranging | patience |",
              "| --- | --- | ---: | ---: | --- | --- | --- |"]
    lines += [f"| {p.code} | {p.kind} | {p.capacity:,g} {_unit(p)} | {p.escalation:g} | {_d(p.stay_days)} | "
              f"{_d(p.arranging_days)} | {_d(p.patience_days)} |" for p in s.pool]
    lines += ["", f"Case mixes: {len(s.case_mix)} ("
              + ", ".join(f"{k}: {len(v.rows)} groups" for k, v in s.case_mix.items()) + ").", "",
              "**3.4 Assumptions.** A&E majors (pools of kind ae, where a scenario has them) is one pool of "
              "interchangeable cubicles per department, first come first served with no triage by acuity, and "
              "minors has no capacity of its own; beds are interchangeable within a pool (no ward or sex "
              "segregation); queues are first come first served; the arrival rate does not depend on the state of "
              "the system; discharges are possible at any hour.", ""]
    return lines


def _d(d: Distribution | None) -> str:
    if d is None:
        return "-"
    return f"{d.distribution}, mean {dist.mean(d):.2f} d"


def _experimentation(model: Model, summary: dict[str, Any]) -> list[str]:
    info, run = summary["scenario"], summary["run"]
    start = ("from a census of " + f"{info['census']:,} people" + (f" after a {info['warm_up_days']}-day warm-up"
                                                                    if info["warm_up_days"] else ""))
    if not info["census"]:
        start = f"empty, with a {info['warm_up_days']}-day warm-up discarded before results are counted"
    return ["## 4. Experimentation", "",
            f"**4.1 Initialisation.** The model starts {start}.", "",
            f"**4.2 Run length.** {info['days']} days reported from {info['start']}.", "",
            f"**4.3 Estimation approach.** {run['replications']} independent replications (seed {run['seed']}); "
            "means with 95 % confidence intervals (Student t) and 5th-95th percentiles across replications.", ""]


def _implementation(model: Model, summary: dict[str, Any]) -> list[str]:
    run = summary["run"]
    return ["## 5. Implementation", "",
            "**5.1 Software.** icsys (Python); the event loop compiled with Numba; replications in local "
            "processes or on a Dask cluster.", "",
            "**5.2 Random sampling.** NumPy PCG64 streams from `SeedSequence(seed, spawn_key=(replication, "
            "crc32(stream name), purpose))`: independent per replication and per stream, and the same for a stream "
            "whatever else a scenario contains (common random numbers).", "",
            f"**5.3 Model execution.** Event scheduling (a binary heap). {run['events']:,} events in all, "
            f"{run['seconds_per_replication']:.2f} s per replication.", "",
            f"**5.4 System.** {platform.machine()}, Python {platform.python_version()}.", "",
            "## 6. Code access", "", "The icsys repository (`src/icsys/flow/`); the scenario file above.", ""]


def _results(model: Model, summary: dict[str, Any]) -> list[str]:
    lines = ["## Results", "", "| measure | mean | 95 % CI | 5th-95th percentile |", "| --- | ---: | --- | --- |"]
    for key, (label, unit) in MEASURES.items():
        e = summary["measures"][key]
        if e["mean"] is not None:
            lines.append(f"| {label} ({unit}) | {_n(e['mean'])} | {_n(e['low'])} to {_n(e['high'])} | "
                         f"{_n(e['p5'])} to {_n(e['p95'])} |")
    lines += ["", "**By pool** (mean across replications):", "",
              "| pool | occupied | occupancy % | days > 92 % | ready, still here | delay days | waiting | admitted |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for code, m in summary["pools"].items():
        lines.append(f"| {code} | {_n(m['occupied']['mean'])} | {_n(m['occupancy_pct']['mean'])} | "
                     f"{_n(m['days_over_92_pct']['mean'])} | {_n(m['delayed']['mean'])} | "
                     f"{_n(m['delay_days']['mean'])} | {_n(m['waiting']['mean'])} | {_n(m['admitted']['mean'])} |")
    lines += ["", *_monthly(summary)]
    return lines


def _monthly(summary: dict[str, Any]) -> list[str]:
    """Mean occupancy by month of the daily series (mean of replications)."""
    days = summary["daily"]
    months = sorted({d[:7] for d in days["dates"]})
    if len(months) < 2:
        return []
    codes = list(days["occupancy"])[:12]
    month_of = np.array([d[:7] for d in days["dates"]])
    lines = ["**Occupancy by month** (mean occupied):", "", "| month | " + " | ".join(codes) + " | MFFD |",
             "| --- |" + " ---: |" * (len(codes) + 1)]
    for m in months:
        sel = month_of == m
        cells = [_n(float(np.mean(np.array(days["occupancy"][c]["mean"], dtype=float)[sel]))) for c in codes]
        mffd = _n(float(np.mean(np.array(days["mffd"]["mean"], dtype=float)[sel])))
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {mffd} |")
    return [*lines, ""]


def _n(x: float | None) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "-"
    return f"{x:,.1f}" if abs(x) < 1000 else f"{x:,.0f}"
