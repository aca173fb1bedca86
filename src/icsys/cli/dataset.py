"""Commands on the linked dataset: build a synthetic one, load, export, describe, document."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from icsys.cli.common import (
    AuditOption,
    DbOption,
    SystemOption,
    clear_errors,
    err,
    fail,
    local_auditor,
    parse_date,
    progress,
)
from icsys.synth.context import DEFAULT_END

app = typer.Typer()


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

    last_day = parse_date(end, "--end")
    with clear_errors():
        check_settings(scale, years, last_day, db)  # before the slow part: bad options fail at once
        definition = load_system(system)
        with progress(quiet) as update:
            counts = synthesise(definition, db, scale=scale, years=years, seed=seed, end=last_day,
                                progress=update)
    total = sum(counts.values())
    err.print(f"built {db}: {counts['person']:,} people, {total:,} rows in {len(counts)} tables", highlight=False)


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
    audit: AuditOption = None,
) -> None:
    """Validate a file against the schema and load it: all rows or none (strict by default)."""
    from icsys.dataset.ingest import LoadError, LoadRejected
    from icsys.dataset.ingest import load as load_file
    from icsys.system import load_system

    with clear_errors():
        try:
            report = load_file(db, table, file, fmt=fmt, allow_rejects=allow_rejects, system=load_system(system),
                               auditor=local_auditor(db, audit))
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
    audit: AuditOption = None,
) -> None:
    """Write one table of the store to CSV or Parquet, as your role may see it (an analyst's is
    pseudonymised); the release is recorded in the audit database."""
    from icsys.dataset.export import check_export, export_table

    with clear_errors():
        check_export(table, out)
        rows = export_table(db, table, out, auditor=local_auditor(db, audit))
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
