"""What every command shares: the options for the store and system, clear errors with exit status 2
(never a traceback), date parsing and a progress bar for long jobs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from icsys.access import Auditor

err = Console(stderr=True, soft_wrap=True)  # messages stay whole lines, for logs and tests
DbOption = Annotated[Path, typer.Option("--db", help="The store: a DuckDB file.", dir_okay=False)]
SystemOption = Annotated[
    Path | None, typer.Option("--system", help="System definition TOML (default: Kent and Medway).")
]
AuditOption = Annotated[str | None, typer.Option("--audit", help="The audit database: sqlite:///PATH or "
                                                 "postgresql://... (default: ICSYS_AUDIT_URL, the access "
                                                 "configuration, else STORE.audit.sqlite beside the store).")]


def fail(message: str, status: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(status)


@contextmanager
def clear_errors() -> Iterator[None]:
    """Known errors of bad input become a message and exit status 2."""
    import duckdb

    from icsys.errors import InputError

    try:
        yield
    except InputError as exc:
        fail(str(exc))
    except KeyError as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror or exc}")
    except duckdb.Error as exc:  # e.g. the store is locked by another process, or the disk is full
        fail(f"the store could not be used: {str(exc).splitlines()[0]}; nothing was changed")
    except KeyboardInterrupt:
        fail("interrupted; nothing was changed", status=130)


def local_auditor(db: Path, audit: str | None = None) -> Auditor:
    """The command line's Auditor: the operating system user in the configured local role, writing to the
    audit database `audit` (a URL), else the configured one (ICSYS_AUDIT_URL or `audit` in the access
    configuration), else a SQLite file beside the store."""
    from icsys.access import Auditor, local_actor
    from icsys.access.actor import configured_audit_url
    from icsys.access.audit import beside

    return Auditor(local_actor(), audit or configured_audit_url() or beside(db))


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: not a date (use YYYY-MM-DD)")


def check_out(out: Path | None, suffixes: tuple[str, ...]) -> None:
    """An output file must have a known type and a folder to go in; checked before any work is done."""
    if out is None:
        return
    if out.suffix.lower() not in suffixes:
        fail(f"--out {out}: use a {' or '.join(suffixes)} file")
    if not out.parent.exists():
        fail(f"--out {out}: folder {out.parent} does not exist")


@contextmanager
def progress(quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """update(stage, done, total) drives a progress bar on a terminal; silent otherwise."""
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
