"""`icsys report`: documents for boards and committees."""

from __future__ import annotations

import typer

from icsys.cli.common import SPARK_MASTER, DbOption, EngineOption, SparkMasterOption, SparkTablesOption

app = typer.Typer(no_args_is_help=True, help="Reports: the board pack of performance against the NHS standards.")


@app.command("board")
def report_board(
    org: str = typer.Option(..., "--org", help="Organisation code: the ICS, an ICP, PCN, practice, trust or site."),
    month: str = typer.Option(..., "--month", help="The month reported, YYYY-MM (a month the store covers whole)."),
    plan: str | None = typer.Option(None, "--plan", help="Trajectories: a CSV (standard, org, month, planned) or "
                                    "a TOML file of trajectory entries (see `icsys performance trajectory`)."),
    notes: str | None = typer.Option(None, "--notes", help="The performance lead's owner and commentary for each "
                                     "standard: a TOML file of [standard.ID] tables or a CSV (standard, owner, "
                                     "commentary); see docs/board-pack.md."),
    out_dir: str = typer.Option(".", "--out-dir", help="Folder to write board-ORG-YYYY-MM.html, .pdf, .xlsx and "
                                "the -series.csv and -opel.csv in."),
    months: int = typer.Option(24, "--months", help="Months of history in the SPC charts, ending with --month."),
    funnel_period: str = typer.Option("month", "--funnel-period", help="What the funnel plots and ICPs compare: "
                                      "month (--month), quarter or year (the last whole quarter or financial "
                                      "year, April to March, ending with --month or before it)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    db: DbOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = SPARK_MASTER,
    spark_tables: SparkTablesOption = None,
) -> None:
    """The board pack: every standard with its counts, SPC icons and chart, commentary, trajectories and OPEL, as
    HTML and PDF, with every series in an Excel workbook and CSV."""
    from pathlib import Path

    from icsys.access import local_actor
    from icsys.cli.common import clear_errors, err, progress, store_from_options
    from icsys.reports.board.pack import build_pack, check_out_dir, pack_files, write_pack

    store = store_from_options(db, engine, spark_master, spark_tables)
    with clear_errors(), store, progress(quiet) as update:
        check_out_dir(out_dir)
        pack = build_pack(store, org, month, months=months, plan=Path(plan) if plan else None,
                          notes=Path(notes) if notes else None, progress=update, generated_by=str(local_actor()),
                          funnel_period=funnel_period)
        write_pack(pack, out_dir, update)
    files = pack_files(pack, out_dir)
    err.print("wrote " + ", ".join(str(f) for f in files), highlight=False)
    for path in files:
        print(path)
