"""`icsys <verb>` / `icsys <area> <verb>`: the command line. It calls domain packages and
turns their errors into one clear line on stderr and exit status 2 — never a traceback."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from icsys.synth.context import DEFAULT_END

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="icsys: the linked dataset and tools of an NHS Integrated Care System.")
system_app = typer.Typer(no_args_is_help=True, help="The system definition (organisations, geography).")
app.add_typer(system_app, name="system")
population_app = typer.Typer(no_args_is_help=True, help="Population health management: frailty, multimorbidity, "
                             "case finding.")
app.add_typer(population_app, name="population")

err = Console(stderr=True, soft_wrap=True)  # messages stay whole lines, for logs and tests
DbOption = Annotated[Path, typer.Option("--db", help="The store: a DuckDB file.", dir_okay=False)]
SystemOption = Annotated[
    Path | None, typer.Option("--system", help="System definition TOML (default: Kent and Medway).")
]


def fail(message: str, status: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(status)


@contextmanager
def clear_errors() -> Iterator[None]:
    """Known errors of bad input become a message and exit status 2."""
    import duckdb

    from icsys.dataset.export import ExportError
    from icsys.dataset.store import StoreError
    from icsys.synth.generate import SynthError
    from icsys.system import SystemDefinitionError

    try:
        yield
    except (SystemDefinitionError, StoreError, SynthError, ExportError) as exc:
        fail(str(exc))
    except KeyError as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror or exc}")
    except duckdb.Error as exc:  # e.g. the store is locked by another process, or the disk is full
        fail(f"the store could not be used: {str(exc).splitlines()[0]}; nothing was changed")
    except KeyboardInterrupt:
        fail("interrupted; nothing was changed", status=130)


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: not a date (use YYYY-MM-DD)")


@app.command()
def synth(
    db: DbOption,
    scale: Annotated[float, typer.Option(help="Share of the real population, 0.001 to 1.0.")] = 0.01,
    years: Annotated[int, typer.Option(help="Years of activity, ending on --end.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives identical tables.")] = 42,
    end: Annotated[str, typer.Option(help="Last day covered (YYYY-MM-DD).")] = DEFAULT_END.isoformat(),
    system: SystemOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Build a synthetic linked dataset for the system into a new store (replacing --db)."""
    from icsys.synth.generate import check_settings, synthesise
    from icsys.system import load_system

    last_day = _date(end, "--end")
    with clear_errors():
        check_settings(scale, years, last_day, db)  # before the slow part: bad options fail at once
        definition = load_system(system)
        with _progress(quiet) as progress:
            counts = synthesise(definition, db, scale=scale, years=years, seed=seed, end=last_day,
                                progress=progress)
    total = sum(counts.values())
    err.print(f"built {db}: {counts['person']:,} people, {total:,} rows in {len(counts)} tables", highlight=False)


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if quiet or not sys.stderr.isatty():
        yield lambda *_: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        yield update


@app.command()
def load(
    file: Annotated[Path, typer.Argument(help="CSV, Parquet, HES extract or FHIR Bundle to load.")],
    db: DbOption,
    table: Annotated[str | None, typer.Option(help="Table to load into (not needed for FHIR).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, parquet, hes-apc, hes-ae, hes-op or fhir; "
                                            "default from the file extension.")] = None,
    allow_rejects: Annotated[bool, typer.Option("--allow-rejects", help="Load valid rows; keep invalid rows "
                                                "with their reasons in the quarantine table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the load report as JSON.")] = False,
    system: SystemOption = None,
) -> None:
    """Validate a file against the schema and load it: all rows or none (strict by default)."""
    from icsys.dataset.ingest import LoadError, LoadRejected
    from icsys.dataset.ingest import load as load_file
    from icsys.system import load_system

    with clear_errors():
        try:
            report = load_file(db, table, file, fmt=fmt, allow_rejects=allow_rejects, system=load_system(system))
        except LoadRejected as exc:
            print(exc.report.to_json() if as_json else exc.report.to_text(), file=sys.stderr)
            raise typer.Exit(2) from None
        except LoadError as exc:
            fail(str(exc))
    print(report.to_json() if as_json else report.to_text())


@app.command()
def export(
    db: DbOption,
    table: Annotated[str, typer.Option(help="Table to export (or 'quarantine').")],
    out: Annotated[Path, typer.Option(help="Output file: .csv or .parquet.", dir_okay=False)],
) -> None:
    """Write one table of the store to CSV or Parquet."""
    from icsys.dataset.export import check_export, count_rows, export_table
    from icsys.dataset.store import audit_access

    with clear_errors():
        check_export(table, out)
        rows = count_rows(db, table)
        audit_access(db, "export", table, rows, str(out))  # recorded first: no audit, no extract
        rows = export_table(db, table, out)
    err.print(f"wrote {rows:,} rows of {table} to {out}", highlight=False)


@app.command()
def info(
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What the store holds: the system, every table's rows and the dates covered."""
    from icsys.dataset.info import describe

    with clear_errors():
        summary = describe(db)
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    _print_info(summary)


def _print_info(summary: dict) -> None:
    from rich.table import Table

    out = Console()
    system = summary["system"]
    out.print(f"[bold]{system.get('name', '?')}[/] ({system.get('code', '?')}) — "
              f"{'synthetic, scale ' + str(system.get('scale')) if system.get('synthetic') else 'loaded data'}; "
              f"covering {summary['period']['from']} to {summary['period']['to']}")
    grid = Table("table", "rows", "people", "from", "to")
    for name, t in summary["tables"].items():
        grid.add_row(name, f"{t['rows']:,}", f"{t.get('people', 0):,}", t.get("from") or "", t.get("to") or "")
    out.print(grid)


@app.command()
def dictionary(
    out: Annotated[Path, typer.Option(help="Where to write the data dictionary.")] = Path("docs/data-dictionary.md"),
) -> None:
    """Write the data dictionary (Markdown) from the schema."""
    from icsys.dataset.dictionary import render

    with clear_errors():
        out.write_text(render(), encoding="utf-8")
    err.print(f"wrote {out}", highlight=False)


@system_app.command("check")
def system_check(path: Annotated[Path, typer.Argument(help="System definition TOML.")]) -> None:
    """Validate a system definition and summarise it."""
    from icsys.system import load_system

    with clear_errors():
        definition = load_system(path)
    print(f"{definition.ics.name}: {len(definition.icp)} ICPs, {len(definition.pcn)} PCNs, "
          f"{len(definition.practice)} practices ({definition.list_size():,} registered), "
          f"{len(definition.site)} sites, {len(definition.care_home)} care homes")


@system_app.command("schema")
def system_schema() -> None:
    """Print the JSON Schema a system definition must follow."""
    from icsys.system import System

    print(json.dumps(System.model_json_schema(), indent=2))


@population_app.command("stratify")
def population_stratify(
    db: DbOption,
    as_of: Annotated[str, typer.Option("--as-of", help="Date the measures describe (YYYY-MM-DD).")],
) -> None:
    """Write person_measures: one row per registered person with eFI, LTC count and case-finding flags."""
    from icsys.population.stratify import stratify

    day = _date(as_of, "--as-of")
    with clear_errors():
        people = stratify(db, day)
    err.print(f"wrote person_measures for {people:,} registered people as of {day}", highlight=False)


@population_app.command("cohort")
def population_cohort(
    definition: Annotated[str, typer.Argument(help="Cohort definition: a TOML file or a shipped name "
                                              "(frail_two_emergency_admissions, making_a_difference_each_week).")],
    db: DbOption,
    as_of: Annotated[str, typer.Option("--as-of", help="Date the cohort is drawn on (YYYY-MM-DD).")] = "2026-03-31",
    out: Annotated[Path | None, typer.Option(help="Write the list to .csv or .xlsx instead of the screen.")] = None,
) -> None:
    """List the members of a cohort with the reasons each qualifies, ready for an MDT."""
    from icsys.dataset.store import audit_access
    from icsys.population.cohort import CohortError, load_cohort, run

    day = _date(as_of, "--as-of")
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"--out {out}: use a .csv or .xlsx file")
    if out is not None and not out.parent.exists():
        fail(f"--out {out}: folder {out.parent} does not exist")
    with clear_errors():
        try:
            cohort = load_cohort(definition)
            found = run(db, cohort, day)
        except CohortError as exc:
            fail(str(exc))
        audit_access(db, "cohort", f"{cohort.name} as of {day}", len(found), str(out or "screen"))
        if out is None:
            print(found.to_string(index=False) if len(found) else "(no members)")
        elif out.suffix.lower() == ".csv":
            found.to_csv(out, index=False)
        else:
            found.to_excel(out, index=False, sheet_name=cohort.name[:31])
    err.print(f"{cohort.name}: {len(found):,} member(s) as of {day}" + (f", written to {out}" if out else ""),
              highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
