"""`icsys report`: documents for boards and committees."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Reports: the board pack of performance against the NHS standards.")


@app.command("board")
def report_board(
    db: str = typer.Option(..., "--db", help="The store: a DuckDB file (read only)."),
    org: str = typer.Option(..., "--org", help="Organisation code: the ICS, an ICP, PCN, practice, trust or site."),
    month: str = typer.Option(..., "--month", help="The month reported, YYYY-MM (a month the store covers whole)."),
    plan: str | None = typer.Option(None, "--plan", help="Trajectories: a CSV (standard, org, month, planned) or "
                                    "a TOML file of trajectory entries (see `icsys performance trajectory`)."),
    out_dir: str = typer.Option(".", "--out-dir", help="Folder to write board-ORG-YYYY-MM.html and .pdf in."),
    months: int = typer.Option(24, "--months", help="Months of history in the SPC charts, ending with --month."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """The board pack: every standard with its SPC icons and chart, trajectories and OPEL, as HTML and PDF."""
    from pathlib import Path

    from icsys.access import local_actor
    from icsys.cli.common import clear_errors, err, progress
    from icsys.performance.board import board_pack

    with clear_errors(), progress(quiet) as update:
        html, pdf = board_pack(Path(db), org, month, out_dir=Path(out_dir), months=months,
                               plan=Path(plan) if plan else None, progress=update,
                               generated_by=str(local_actor()))
    err.print(f"wrote {html} and {pdf}", highlight=False)
    print(html)
    print(pdf)
