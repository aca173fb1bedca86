"""`icsys <verb>` / `icsys <area> <verb>`: the command line. Each area has its own module of commands;
they call domain packages and turn their errors into one clear line on stderr and exit status 2."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path

import typer

from icsys.cli import audit, care, dataset, flow, performance, population, report, system

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="icsys: the linked dataset and tools of an NHS Integrated Care System.")
app.add_typer(dataset.app)
app.add_typer(system.app, name="system")
app.add_typer(population.app, name="population")
app.add_typer(performance.app, name="performance")
app.add_typer(flow.app, name="flow")
app.add_typer(report.app, name="report")
app.add_typer(audit.app, name="audit")
app.add_typer(care.app, name="care")
app.command("serve")(care.serve)


def main() -> None:
    """Run the command line. Bad input is answered by each command (exit status 2); anything unexpected
    is one line on stderr with the details kept in a log file (exit status 1), never a traceback."""
    try:
        app()
    except Exception as exc:  # the last resort: report, keep the details, exit 1
        log = Path(tempfile.gettempdir()) / f"icsys-error-{os.getpid()}.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        print(f"error: unexpected failure ({type(exc).__name__}: {exc}); details in {log}. Please report it.",
              file=sys.stderr)
        sys.exit(1)
