"""`icsys flow`: whole-system capacity and flow simulation."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from icsys.cli.common import (
    SPARK_MASTER,
    DbOption,
    EngineOption,
    SparkMasterOption,
    SparkTablesOption,
    SystemOption,
    clear_errors,
    err,
    fail,
    json_text,
    parse_date,
    progress,
    store_from_options,
)

app = typer.Typer(no_args_is_help=True, help="Capacity and flow: calibrate a model of the system from the "
                  "dataset, simulate surges and interventions, compare scenarios.")

ScenarioArg = Annotated[str, typer.Argument(help="Scenario TOML file, or the name of a shipped scenario.")]
Replications = Annotated[int, typer.Option("--replications", "-n", help="Independent replications.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the random streams (same seed, same results).")]
Days = Annotated[int | None, typer.Option("--days", help="Days to report (default: the scenario's).")]
Scheduler = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address (default: local "
                                               "processes).")]
Workers = Annotated[int | None, typer.Option("--workers", help="Local processes (default: one per core).")]
AsJson = Annotated[bool, typer.Option("--json", help="Write the results as JSON to stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", help="No progress bar.")]
out = Console(width=None if sys.stdout.isatty() else 120)


@app.command("schema")
def flow_schema() -> None:
    """Print the JSON Schema a scenario file must follow."""
    from icsys.flow.model import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))


@app.command("check")
def flow_check(scenario: ScenarioArg) -> None:
    """Validate a scenario (and the base it extends) and summarise it."""
    with clear_errors():
        model = _model(scenario, None)
    s = model.scenario
    beds = sum(p.capacity for p in s.pool if p.kind == "acute")
    print(f"{s.scenario.name}: {len(s.pool)} pools ({beds:,.0f} acute beds), {len(s.arrivals)} arrival streams, "
          f"{len(s.surge)} surges, {len(s.capacity_change)} capacity changes, {len(s.intervention)} interventions; "
          f"{s.scenario.days} days from {s.scenario.start} after a {s.scenario.warm_up_days}-day warm-up")


@app.command("simulate")
def flow_simulate(
    scenario: ScenarioArg,
    replications: Replications = 20,
    seed: Seed = 1,
    as_json: AsJson = False,
    days: Days = None,
    scheduler: Scheduler = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write a STRESS-DES style report (.md).")] = None,
    workers: Workers = None,
    quiet: Quiet = False,
) -> None:
    """Run replications of a scenario: occupancy by pool, MFFD and delays, A&E 4 and 12 hours, P(> 92 %)."""
    _check_run(replications, seed, days, workers)
    _check_file(report, "--report", ".md")
    from icsys.flow.report import stress_report
    from icsys.flow.results import summarise

    with clear_errors():
        model = _model(scenario, days)
        with progress(quiet) as update:
            reps = _run(model, replications, seed, workers, scheduler, update)
        summary = summarise(model, reps, seed)
        if report is not None:
            _write(report, stress_report(model, summary, "icsys " + shlex.join(sys.argv[1:])))
    if as_json:
        print(json_text(summary, indent=1))
    else:
        _show(summary)
    if report is not None:
        err.print(f"report written to {report}", highlight=False)


@app.command("compare")
def flow_compare(
    a: Annotated[str, typer.Argument(help="Scenario A (the reference).")],
    b: Annotated[str, typer.Argument(help="Scenario B (the change).")],
    replications: Replications = 20,
    seed: Seed = 1,
    as_json: AsJson = False,
    days: Days = None,
    scheduler: Scheduler = None,
    workers: Workers = None,
    quiet: Quiet = False,
) -> None:
    """B minus A with its uncertainty: paired replication by replication (common random numbers)."""
    _check_run(replications, seed, days, workers)
    from icsys.flow.results import compare

    with clear_errors():
        model_a, model_b = _model(a, days), _model(b, days)
        shared = {s.spec.name: s.envelope for s in (*model_a.streams, *model_b.streams)}
        model_a, model_b = model_a.with_envelopes(shared), model_b.with_envelopes(shared)
        with progress(quiet) as update:
            reps_a = _run(model_a, replications, seed, workers, scheduler, _stage(update, "A"))
            reps_b = _run(model_b, replications, seed, workers, scheduler, _stage(update, "B"))
        result = compare(model_a, reps_a, model_b, reps_b)
    if as_json:
        print(json_text({"a": model_a.scenario.scenario.name, "b": model_b.scenario.scenario.name,
                          "replications": replications, "seed": seed, "differences": result}, indent=1))
        return
    _show_compare(model_a.scenario.scenario.name, model_b.scenario.scenario.name, result, replications)


@app.command("calibrate")
def flow_calibrate(
    out_file: Annotated[Path, typer.Option("--out", help="Scenario TOML to write.")],
    system: SystemOption = None,
    start: Annotated[str | None, typer.Option("--start", help="First day of the scenario (default: the day after "
                                              "the data end; a census of that day is included).")] = None,
    days: Annotated[int, typer.Option("--days", help="Days the scenario reports.")] = 365,
    report: Annotated[Path | None, typer.Option("--report", help="Write the report of fit here (.md; default: "
                                                "beside --out).")] = None,
    beds: Annotated[str, typer.Option("--beds", help="Acute and community beds: 'system' (the system definition) "
                                      "or 'observed' (the most occupied at once in the data).")] = "system",
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
) -> None:
    """Fit every rate, profile, distribution and mix of a scenario from the linked dataset."""
    _check_file(out_file, "--out", ".toml")
    _check_file(report, "--report", ".md")
    if not 1 <= days <= 3660:
        fail(f"--days {days}: must be between 1 and 3660")
    if beds not in ("system", "observed"):
        fail(f"--beds {beds}: use system or observed")
    first = parse_date(start, "--start") if start else None
    from icsys.flow.calibration import calibrate

    store = store_from_options(db, engine, spark_master, spark_tables)
    with clear_errors(), store, progress(False) as update:
        text, fit = calibrate(store, system, first, days, beds, update)
        fit_file = report or out_file.with_suffix(".fit.md")
        _write(out_file, text)
        _write(fit_file, fit)
    err.print(f"scenario written to {out_file}; report of fit in {fit_file}", highlight=False)


def _check_file(path: Path | None, option: str, suffix: str) -> None:
    """Checked before any work is done: the right kind of file, in a folder that exists."""
    if path is None:
        return
    if path.suffix.lower() != suffix:
        fail(f"{option} {path}: use a {suffix} file")
    if not path.parent.exists():
        fail(f"{option} {path}: folder {path.parent} does not exist")


def _check_run(replications: int, seed: int, days: int | None, workers: int | None) -> None:
    if not 1 <= replications <= 100_000:
        fail(f"--replications {replications}: must be between 1 and 100000")
    if seed < 0:
        fail(f"--seed {seed}: must be 0 or more")
    if days is not None and not 1 <= days <= 3660:
        fail(f"--days {days}: must be between 1 and 3660")
    if workers is not None and workers < 1:
        fail(f"--workers {workers}: must be 1 or more")


def _model(name: str, days: int | None) -> Any:
    from icsys.flow.compiled import compile_scenario
    from icsys.flow.scenario import load_scenario

    scenario = load_scenario(name)
    if days is not None:
        scenario = scenario.model_copy(update={"scenario": scenario.scenario.model_copy(update={"days": days})})
    return compile_scenario(scenario)


def _run(model: Any, replications: int, seed: int, workers: int | None, scheduler: str | None, update: Any) -> Any:
    from icsys.flow.run import run

    return run(model, replications, seed, workers=workers, scheduler=scheduler, progress=update)


def _stage(update: Any, name: str) -> Any:
    return lambda stage, done, total: update(f"{stage} {name}", done, total)


def _write(path: Path, text: str) -> None:
    """Whole or not at all: written beside, then renamed into place."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def _show(summary: dict[str, Any]) -> None:
    from icsys.flow.results import MEASURES

    info, run = summary["scenario"], summary["run"]
    table = Table(title=f"{info['name']}: {info['days']} days from {info['start']}, {run['replications']} "
                  f"replications (seed {run['seed']}), warm-up {info['warm_up_days']} days", title_justify="left")
    for column in ("measure", "mean", "95 % CI", "5th-95th percentile"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for key, (label, unit) in MEASURES.items():
        e = summary["measures"][key]
        if e["mean"] is None or (not e["mean"] and not e["p95"]):
            continue  # zero in every replication: not part of this scenario
        table.add_row(f"{label} ({unit})", _fmt(e["mean"]), f"{_fmt(e['low'])} to {_fmt(e['high'])}",
                      f"{_fmt(e['p5'])} to {_fmt(e['p95'])}")
    out.print(table)
    out.print("Measures that were zero in every replication are not shown.", style="dim")
    pools = Table(title="By pool (mean; 95 % CI of occupancy %)", title_justify="left")
    for column in ("pool", "occupied", "occupancy %", "days > 92 %", "ready, still here", "waiting", "admitted"):
        pools.add_column(column, justify="left" if column == "pool" else "right")
    for code, m in summary["pools"].items():
        pct = m["occupancy_pct"]
        pools.add_row(code, _fmt(m["occupied"]["mean"]),
                      f"{_fmt(pct['mean'])} ({_fmt(pct['low'])}-{_fmt(pct['high'])})",
                      _fmt(m["days_over_92_pct"]["mean"]), _fmt(m["delayed"]["mean"]), _fmt(m["waiting"]["mean"]),
                      _fmt(m["admitted"]["mean"], 0))
    out.print(pools)


def _show_compare(a: str, b: str, result: dict[str, Any], replications: int) -> None:
    from icsys.flow.results import MEASURES

    table = Table(title=f"{b} minus {a}: {replications} paired replications", title_justify="left")
    for column in ("measure", "A", "B", "B - A", "95 % CI (paired)", "unpaired CI would be ±"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for key, d in result.items():
        label, unit = MEASURES[key]
        table.add_row(f"{label} ({unit})", _fmt(d["a"]), _fmt(d["b"]), _fmt(d["difference"]),
                      f"{_fmt(d['low'])} to {_fmt(d['high'])}", _fmt(d["unpaired_half_width"]))
    out.print(table)
