"""What every command shares: the options for the store and system, clear errors with exit status 2
(never a traceback), date parsing and a progress bar for long jobs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from icsys.access import Auditor
    from icsys.dataset.store import Store

err = Console(stderr=True, soft_wrap=True)  # messages stay whole lines, for logs and tests
# The store, on DuckDB (--db FILE) or on Spark (--engine spark --spark-tables PATH): the last four options of
# every analytic command, turned into a Store by `store_from_options`.
DbOption = Annotated[Path | None, typer.Option("--db", help="The store: a DuckDB file.", dir_okay=False,
                                               rich_help_panel="The store")]
EngineOption = Annotated[str | None, typer.Option(
    "--engine", help="duckdb or spark (default: duckdb with --db, spark with --spark-tables).",
    rich_help_panel="The store")]
SparkMasterOption = Annotated[str, typer.Option(
    "--spark-master", help="Spark's master: local[2], spark://HOST:7077, yarn ...", rich_help_panel="The store")]
SparkTablesOption = Annotated[str | None, typer.Option(
    "--spark-tables", help="Spark: a folder of Parquet tables (as `icsys export --all` writes) or a database of "
    "the Spark catalogue.", rich_help_panel="The store")]
SPARK_MASTER = "local[2]"
DuckDbFileOption = Annotated[Path, typer.Option("--db", help="The store: a DuckDB file.", dir_okay=False)]
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


def local_auditor(store: Store | Path, audit: str | None = None) -> Auditor:
    """The command line's Auditor: the operating system user in the configured local role, writing to the
    audit database `audit` (a URL), else the configured one (ICSYS_AUDIT_URL or `audit` in the access
    configuration), else a SQLite file beside the store (its DuckDB file, or its folder of Parquet tables on
    Spark; a Spark catalogue database has no place beside it, so it needs --audit)."""
    from icsys.access import Auditor, local_actor
    from icsys.access.actor import configured_audit_url
    from icsys.access.audit import beside

    url = audit or configured_audit_url()
    if url is None:
        url = beside(_audit_place(store))
    return Auditor(local_actor(), url)


def _audit_place(store: Store | Path) -> Path:
    if isinstance(store, Path):
        return store
    if store.path is not None:
        return store.path
    if store.spark_tables is not None and Path(store.spark_tables).is_dir():
        return Path(store.spark_tables)
    fail(f"{store.location}: where should the audit go? give --audit URL (or set ICSYS_AUDIT_URL)")


def json_text(data: Any, indent: int | None = 2) -> str:
    """JSON that any tool reads: a number that is not finite (NaN, e.g. a PPV with nobody flagged) is null."""
    import json
    import math

    def finite(x: Any) -> Any:
        if isinstance(x, float):
            return x if math.isfinite(x) else None
        if isinstance(x, dict):
            return {k: finite(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [finite(v) for v in x]
        return x

    return json.dumps(finite(data), indent=indent, allow_nan=False)


def store_from_options(db: Path | None, engine: str | None = None, spark_master: str = SPARK_MASTER,
                       spark_tables: str | None = None, *, read_only: bool = True) -> Store:
    """The Store the options name, or a clear error (exit status 2) saying which option is wrong."""
    from icsys.dataset.store import Store

    if engine not in (None, "duckdb", "spark"):
        fail(f"--engine {engine!r}: use duckdb or spark")
    engine = engine or ("spark" if spark_tables is not None and db is None else "duckdb")
    if db is not None and (engine == "spark" or spark_tables is not None):
        fail("give the store once: --db FILE (DuckDB) or --engine spark --spark-tables PATH, not both")
    if engine == "duckdb" and db is None:
        fail("which store? give --db FILE (DuckDB), or --engine spark --spark-tables PATH")
    if engine == "spark" and spark_tables is None:
        fail("--engine spark needs --spark-tables: a folder of Parquet tables or a Spark catalogue database")
    with clear_errors():
        if engine == "spark":
            return Store.spark(spark_master, spark_tables, read_only=read_only)  # type: ignore[arg-type]
        return Store.open(db, read_only=read_only)  # type: ignore[arg-type]


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
