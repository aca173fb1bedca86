"""Commands on the linked dataset: build a synthetic one, load, export, describe, document."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from icsys.cli.common import (
    SPARK_MASTER,
    AuditOption,
    DbOption,
    DuckDbFileOption,
    EngineOption,
    SparkMasterOption,
    SparkTablesOption,
    SystemOption,
    clear_errors,
    err,
    fail,
    json_text,
    local_auditor,
    parse_date,
    progress,
    store_from_options,
)

app = typer.Typer()


@app.command()
def synth(
    db: DuckDbFileOption,
    scale: Annotated[float, typer.Option(help="Share of the real population, 0.001 to 1.0.")] = 0.01,
    years: Annotated[int, typer.Option(help="Years of activity, ending on --end.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives identical tables.")] = 42,
    end: Annotated[str | None, typer.Option(help="Last day covered (YYYY-MM-DD; default: the end of the "
                                            "synthetic period, 2026-03-31).")] = None,
    system: SystemOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Build a synthetic linked dataset for the system into a new store (replacing --db)."""
    from icsys.synth.context import DEFAULT_END  # here, not at the top: it imports pandas
    from icsys.synth.generate import check_settings, synthesise
    from icsys.system import load_system

    last_day = parse_date(end, "--end") if end else DEFAULT_END
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
    db: DuckDbFileOption,
    table: Annotated[str | None, typer.Option(help="Table to load into (not needed for FHIR).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, parquet, fhir, or an extract layout: hes-apc, "
                                            "hes-ae, hes-op, ecds, gp-events, gp-medicines, gp-registration, mhsds, "
                                            "ascc (docs/data-dictionary.md, Extract formats); default from the "
                                            "file's header, else its extension.")] = None,
    allow_rejects: Annotated[bool, typer.Option("--allow-rejects", help="Load valid rows; keep invalid rows "
                                                "with their reasons in the quarantine table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the load report as JSON.")] = False,
    link: Annotated[str | None, typer.Option(help="Rows whose person key (nhs_number, pseudo_hesid, person_token) "
                                             "links to no one: known (refuse them), create (new people) or apart "
                                             "(keep them in unlinked_record). Default: create for the person "
                                             "table, known for the rest.")] = None,
    source: Annotated[str | None, typer.Option(help="The source the person keys belong to (a token means "
                                               "something only within its source; default FORMAT:TABLE).")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="The file restates the months it covers: it "
                                          "replaces every stored row of those months, and of the keys it restates "
                                          "(listed in load_replaced).")] = False,
    reid: Annotated[str | None, typer.Option("--reid", help="The re-identification store NHS numbers are linked "
                                             "through: sqlite:///PATH or postgresql://... (default: "
                                             "STORE.reid.sqlite beside the store).")] = None,
    opt_out: Annotated[Path | None, typer.Option("--opt-out", help="A file of NHS numbers on the National Data "
                                                 "Opt-out (one a line): replaces the list the loads honour.")] = None,
    system: SystemOption = None,
    audit: AuditOption = None,
) -> None:
    """Validate a file against the schema, link its people to the spine and load it: all rows or none (strict
    by default). NHS numbers go to the re-identification store, never to the analytical store."""
    from icsys.dataset.ingest import LoadError, LoadRejected
    from icsys.dataset.ingest import load as load_file
    from icsys.dataset.store import Store
    from icsys.system import load_system

    with clear_errors():
        store = Store.open(db, read_only=False, create=True)
        auditor = local_auditor(db, audit)
        try:
            if opt_out is not None:
                _set_opt_outs(opt_out, reid, store, auditor)
            report = load_file(store, table, file, fmt=fmt, allow_rejects=allow_rejects, system=load_system(system),
                               auditor=auditor, link=link, source=source, refresh=refresh, reid=reid)
        except LoadRejected as exc:
            print(exc.report.to_json() if as_json else exc.report.to_text(), file=sys.stderr)
            raise typer.Exit(2) from None
        except LoadError as exc:
            fail(str(exc))
    print(report.to_json() if as_json else report.to_text())


def _set_opt_outs(path: Path, reid: str | None, store, auditor) -> None:
    from icsys.access.reidentify import NhsNumberError, check_nhs_number, open_reidentification
    from icsys.dataset.ingest import reid_beside

    if not path.is_file():
        fail(f"--opt-out {path}: no such file")
    numbers = []
    for i, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if line.strip():
            try:
                numbers.append(check_nhs_number(line.strip(), allow_synthetic=True))
            except NhsNumberError as exc:
                fail(f"--opt-out {path}: line {i}: {exc}")
    count = open_reidentification(reid or reid_beside(store)).set_opt_outs(auditor, numbers)
    err.print(f"National Data Opt-out: {count:,} NHS numbers", highlight=False)


@app.command("data-quality")
def data_quality(
    out: Annotated[Path, typer.Option(help="Folder for data_quality.csv, .json and .html.")],
    db: DuckDbFileOption,
    load_id: Annotated[str | None, typer.Option("--load", help="One load's figures (its load_id); default: "
                                                "every load in the store.")] = None,
) -> None:
    """Data quality by source, table and month: completeness, validity, timeliness and linkage rate, and what
    was quarantined and why, as a table (CSV, JSON) and a page to share with the data provider."""
    from icsys.dataset import quality
    from icsys.dataset.store import Store

    with clear_errors():
        if out.exists() and not out.is_dir():
            fail(f"--out {out}: is a file; give a folder")
        with Store.open(db) as store:
            figures = quality.report(store, load_id)
        paths = quality.write(figures, out)
    err.print(f"wrote {', '.join(str(p) for p in paths)}: {len(figures['by_month'])} source-months", highlight=False)


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="Output file: .csv or .parquet (a folder with --all).")],
    table: Annotated[str | None, typer.Option(help="Table to export (or 'quarantine').")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every table as FOLDER/NAME.parquet, the tables a Spark "
                                        "store reads (--engine spark --spark-tables FOLDER).")] = False,
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
    audit: AuditOption = None,
) -> None:
    """Write one table of the store to CSV or Parquet, as your role may see it (an analyst's is
    pseudonymised), or every table to a folder of Parquet; the release is recorded in the audit database."""
    from icsys.dataset.export import check_export, check_export_all, export_all, export_table

    if (table is None) == (not every):
        fail("say what to export: --table NAME, or --all")
    with clear_errors():
        check_export_all(out) if every else check_export(table, out)  # type: ignore[arg-type]
        store = store_from_options(db, engine, spark_master, spark_tables)
        with store:
            auditor = local_auditor(store, audit)
            if every:
                counts = export_all(store, out, auditor=auditor)
                err.print(f"wrote {len(counts)} tables to {out}", highlight=False)
                return
            rows = export_table(store, table, out, auditor=auditor)  # type: ignore[arg-type]
    err.print(f"wrote {rows:,} rows of {table} to {out}", highlight=False)


@app.command()
def info(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
) -> None:
    """What the store holds: the system, every table's rows and the dates covered."""
    from icsys.dataset.info import describe

    store = store_from_options(db, engine, spark_master, spark_tables)
    with clear_errors(), store:
        summary = describe(store)
    if as_json:
        print(json_text(summary))
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
    if summary.get("derived"):
        derived = Table("derived table (icsys writes it)", "rows", "people")
        for name, t in summary["derived"].items():
            derived.add_row(name, f"{t['rows']:,}", f"{t.get('people', 0):,}")
        out.print(derived)


@app.command()
def dictionary(
    out: Annotated[Path, typer.Option(help="Where to write the data dictionary.")] = Path("docs/data-dictionary.md"),
) -> None:
    """Write the data dictionary (Markdown) from the schema."""
    from icsys.dataset.dictionary import render

    with clear_errors():
        out.write_text(render(), encoding="utf-8")
    err.print(f"wrote {out}", highlight=False)
