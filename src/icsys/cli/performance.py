"""`icsys performance`: the NHS standards, SPC charts, trajectories, escalation and the board pack."""

from __future__ import annotations

import typer

from icsys.cli.common import SPARK_MASTER, DbOption, EngineOption, SparkMasterOption, SparkTablesOption

app = typer.Typer(no_args_is_help=True, help="Performance against the NHS standards: measures, SPC charts, "
                  "trajectories, escalation (OPEL) and the board pack.")


@app.command("spc")
def performance_spc(
    file: str = typer.Argument(..., metavar="FILE.csv", help="CSV with columns period (YYYY-MM-DD or YYYY-MM), value."),
    improvement: str = typer.Option("increase", help="Direction of improvement: increase, decrease or neutral."),
    target: float | None = typer.Option(None, help="Target, for the assurance icon."),
    rebase: list[str] | None = typer.Option(  # noqa: B008
        None, help="Recalculate the limits from this date (YYYY-MM-DD); repeatable."),
    baseline: int | None = typer.Option(None, help="Limits from the first N points of each segment, then held."),
    preset: str = typer.Option("default", help="Rule treatments: default, nhsr, mdc, mdc6 or nhsr_legacy."),
    screen: bool | None = typer.Option(None, "--screen/--no-screen",
                                       help="Screen moving ranges >= 3.267 x the average (default: the preset's)."),
    setting: list[str] | None = typer.Option(  # noqa: B008
        None, "--set", metavar="NAME=VALUE", help="Override a setting, e.g. --set shift_length=6; repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: settings, icons and a row per point."),
) -> None:
    """XmR chart in the Making Data Count style: limits, special causes, variation and assurance icons."""
    from pathlib import Path

    from icsys.cli.common import clear_errors, fail, json_text, parse_date
    from icsys.performance import spc

    if improvement not in spc.DIRECTION:
        fail(f"--improvement {improvement!r}: use increase, decrease or neutral")
    changes = _spc_settings(setting or [])
    if screen is not None:
        changes["screen"] = screen
    dates = [parse_date(r, "--rebase") for r in rebase or []]
    with clear_errors():
        settings = spc.preset(preset, **changes)
        values = spc.read_csv(Path(file))
        result = spc.chart(values, improvement=improvement, target=target, settings=settings,  # type: ignore[arg-type]
                           rebase=dates, baseline=baseline)
    if as_json:
        print(json_text({"file": file, **result.to_dict()}, indent=1))
    else:
        _print_spc(result.to_dict())


def _spc_settings(pairs: list[str]) -> dict[str, object]:
    """--set NAME=VALUE pairs as typed setting values; an unknown name or a bad value is refused."""
    from dataclasses import fields

    from icsys.cli.common import fail
    from icsys.performance.spc import Settings

    known = {f.name for f in fields(Settings)}
    out: dict[str, object] = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        name = name.strip()
        if name not in known or name == "preset" or not text:
            fail(f"--set {pair!r}: use NAME=VALUE with NAME one of {', '.join(n for n in known if n != 'preset')}")
        kind = type(getattr(Settings(), name))
        if kind is bool:
            if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
                fail(f"--set {pair!r}: use true or false")
            out[name] = text.lower() in ("true", "yes", "1")
        elif kind is int:
            if not text.strip().lstrip("-").isdigit():
                fail(f"--set {pair!r}: use a whole number")
            out[name] = int(text)
        elif kind is tuple:
            out[name] = tuple(t.strip() for t in text.split(","))
        else:
            out[name] = text.strip()
    return out


def _print_spc(data: dict) -> None:
    """The chart (SpcResult.to_dict()) as a table on the screen, with the icons under it."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="XmR chart", show_lines=False)
    for name in ("period", "value", "mean", "lpl", "upl", "special cause"):
        table.add_column(name, justify="left" if name in ("period", "special cause") else "right")
    segments: dict[int, list[dict]] = {}
    for p in data["points"]:
        segments.setdefault(p["segment"], []).append(p)
        cause = "" if p["special_cause"] == "none" else f"{p['special_cause']} {p['direction']} ({p['rule']})"
        table.add_row(str(p["period"]), *(_spc_number(p[k]) for k in ("value", "mean", "lpl", "upl")), cause)
    console = Console()
    console.print(table)
    for points in segments.values():
        first, baseline = points[0], data["settings"]["baseline"]
        used = min(baseline or len(points), len(points))
        console.print(f"limits from {first['period']} on {used} point(s)" + (" (trial limits)" if first["trial"]
                      else "") + f": mean {_spc_number(first['mean'])}, process limits "
                      f"{_spc_number(first['lpl'])} to {_spc_number(first['upl'])}", highlight=False)
    console.print(f"variation: {data['variation']}   assurance: {data['assurance'] or '-'}"
                  f"   preset: {data['settings']['preset']}", highlight=False)


def _spc_number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


@app.command("standards")
def performance_standards(
    as_json: bool = typer.Option(False, "--json", help="Print the catalogue as JSON."),
    catalogue: str | None = typer.Option(None, help="A catalogue TOML file (default: the shipped one)."),
) -> None:
    """The NHS standards measured, each with its thresholds: value, dates, kind (constitutional, national,
    operational planning target of a year, contractual, professional recommendation) and source."""
    import json

    from icsys.cli.common import clear_errors
    from icsys.performance.catalogue import load_catalogue

    with clear_errors():
        cat = load_catalogue(catalogue)
    if as_json:
        print(json.dumps([s.model_dump(mode="json", by_alias=True) for s in cat.standard]
                         + [n.model_dump(mode="json") | {"measured": False} for n in cat.not_measured], indent=1))
        return
    for line in cat.lines():
        print(line)


@app.command("measure")
def performance_measure(
    standard: list[str] | None = typer.Option(  # noqa: B008
        None, "--standard", help="Standard id (see `icsys performance standards`); repeatable; all by default."),
    org: str | None = typer.Option(None, "--org", help="Organisation code: the ICS, an ICP, PCN, practice, trust "
                                   "or site; every one a standard applies to by default."),
    period: str = typer.Option("month", "--period", help="day, week (Monday to Sunday), month, quarter or year "
                               "(a financial year, April to March)."),
    date_from: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD); default: the store's."),
    date_to: str | None = typer.Option(None, "--to", help="Last day (YYYY-MM-DD); default: the store's."),
    as_json: bool = typer.Option(False, "--json", help="Print rows as JSON."),
    catalogue: str | None = typer.Option(None, help="A catalogue TOML file (default: the shipped one)."),
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
) -> None:
    """Performance against the NHS standards: numerator, denominator, value and target by period."""
    from icsys.cli.common import clear_errors, fail, json_text, parse_date, store_from_options
    from icsys.performance.catalogue import load_catalogue
    from icsys.performance.frame import PERIOD_WORDS, PERIODS
    from icsys.performance.measure import json_rows, measure_store

    if period not in PERIODS:
        fail(f"--period {period!r}: use {PERIOD_WORDS}")
    start = parse_date(date_from, "--from") if date_from else None
    end = parse_date(date_to, "--to") if date_to else None
    if start and end and start > end:
        fail(f"--from {start} is after --to {end}")
    store = store_from_options(db, engine, spark_master, spark_tables)
    with clear_errors(), store:
        cat = load_catalogue(catalogue)
        rows = measure_store(store, standards=standard or None, org=org, period=period, start=start, end=end,
                             catalogue=cat)
    if as_json:
        print(json_text(json_rows(rows), indent=1))
    else:
        print(rows.to_string(index=False) if len(rows) else "(no rows)")


@app.command("trajectory")
def performance_trajectory(
    plan: str = typer.Option(..., "--plan", help="Planned values: a CSV (standard, org, month YYYY-MM, planned) "
                             "or a TOML file of \\[\\[trajectory]] entries."),
    as_json: bool = typer.Option(False, "--json", help="Print rows as JSON."),
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
) -> None:
    """Trajectories: each planned month beside the actual value, the variance and whether it is on track."""
    from pathlib import Path

    from icsys.cli.common import clear_errors, json_text, store_from_options
    from icsys.performance.trajectory import trajectories

    store = store_from_options(db, engine, spark_master, spark_tables)
    with clear_errors(), store:
        rows = trajectories(store, Path(plan))
    if as_json:
        records = rows.astype(object).where(rows.notna(), None).to_dict("records")
        print(json_text(records, indent=1))
    else:
        shown = rows.assign(on_track=rows["on_track"].map({True: "on track", False: "off track"}).fillna("no data"))
        print(shown.to_string(index=False))


@app.command("escalation")
def performance_escalation(
    date_from: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD); default: the store's."),
    date_to: str | None = typer.Option(None, "--to", help="Last day (YYYY-MM-DD); default: the store's."),
    config: str | None = typer.Option(None, "--config", help="Indicators, triggers and weights (TOML); default: "
                                      "the shipped OPEL framework."),
    as_json: bool = typer.Option(False, "--json", help="Print every provider's and the ICS's status as JSON."),
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
) -> None:
    """OPEL 1-4 for each acute site and trust and the ICS each day, with the reasons; kept in opel_status."""
    from icsys.cli.common import clear_errors, err, fail, json_text, parse_date, store_from_options
    from icsys.performance.escalation import escalation, load_framework, summary_lines

    start = parse_date(date_from, "--from") if date_from else None
    end = parse_date(date_to, "--to") if date_to else None
    if start and end and start > end:
        fail(f"--from {start} is after --to {end}")
    store = store_from_options(db, engine, spark_master, spark_tables, read_only=False)  # opel_status is written
    with clear_errors(), store:
        framework = load_framework(config)
        status = escalation(store, start=start, end=end, framework=framework)
    if as_json:
        records = status.astype(object).where(status.notna(), None).to_dict("records")
        print(json_text([r | {"level": None if r["level"] is None else int(r["level"])} for r in records], indent=1))
    else:
        print("\n".join(summary_lines(status, framework=framework)))
    days = status["day"].nunique()
    err.print(f"wrote {len(status):,} rows of system status for {days:,} day(s) to opel_status", highlight=False)
