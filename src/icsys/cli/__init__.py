"""`icsys <verb>` / `icsys <area> <verb>`: the command line. Each area has its own module of commands;
they call domain packages and turn their errors into one clear line on stderr and exit status 2."""

from __future__ import annotations

import typer

from icsys.cli import dataset, flow, performance, population, system

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="icsys: the linked dataset and tools of an NHS Integrated Care System.")
app.add_typer(dataset.app)
app.add_typer(system.app, name="system")
app.add_typer(population.app, name="population")
app.add_typer(performance.app, name="performance")
app.add_typer(flow.app, name="flow")


def main() -> None:
    app()
