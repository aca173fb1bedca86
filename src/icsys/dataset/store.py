"""The store: the linked dataset and what icsys derives from it, reached through one `Store` object.

DuckDB (a file) is the embedded default; the same Ibis expressions run on Spark (Parquet tables in a folder,
or a database of the Spark catalogue). A `Store` holds the Ibis connection, the metadata the store was built
with (system, synthetic or not, scale, seed, the dates it covers) and whether it may be written. Writes go
through `Store.transaction()`, which publishes all of them at once or none (see docs/adr/006-the-store.md):
on DuckDB the writer works on a copy (`STORE.next`) and renames it over the store, so readers (the web app,
other commands) never wait on a writer and never see half a write.

The functions below the class (`open_store`, `append`, `create_schema`, ...) are DuckDB's own, for the
synthetic build and the loaders, which write rows in bulk into a connection.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

from icsys.dataset.schema import DERIVED_TABLES, LOAD_TABLES, TABLES, Table
from icsys.errors import InputError

META_TABLE = "icsys_meta"
QUARANTINE_TABLE = "quarantine"
LOAD_LOG_TABLE = "load_log"

_META_DDL = f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"

class StoreError(InputError):
    """The store cannot be opened or used, with the reason."""


TableData = Any  # an Ibis table expression of the store, a pandas DataFrame or a pyarrow Table
LOCK_WAIT = 5.0  # seconds a reader waits for a store that another program holds open for writing


class Store:
    """The analytical store: an Ibis connection with the store's metadata and its write transaction.

    Open it with `Store.open(path)` (DuckDB) or `Store.spark(session_or_master, tables)`; read it with
    `table()`; write derived results inside `with store.transaction() as tx: tx.write_table(...)`, which
    publishes every write at once when the block ends, or none if it raises. A Store opened read-only
    refuses transactions. Use it as a context manager, or call `close()`.
    """

    def __init__(self, backend: Any, *, engine: str, location: str, read_only: bool,
                 path: Path | None = None, con: duckdb.DuckDBPyConnection | None = None,
                 spark: Any = None, tables: str | None = None, parent: Store | None = None) -> None:
        self.backend = backend  # the Ibis backend: what domain code reads through
        self.engine = engine  # "duckdb" or "spark"
        self.location = location  # the store as named in messages
        self.read_only = read_only
        self.path = path  # the DuckDB file (None on Spark)
        self.spark_session = spark
        self.spark_tables = tables  # the Parquet folder or catalogue database (Spark)
        self._con = con
        self._parent = parent  # set on the Store a transaction yields
        self._staged: dict[str, str] = {}  # Spark: table -> where its new rows were written
        self._meta: dict[str, Any] | None = None
        self._database: str | None = None  # DuckDB: the catalogue the store is attached as
        self._lock = threading.Lock()

    # --- opening ------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, read_only: bool = True, create: bool = False) -> Store:
        """The DuckDB store at `path`. It must exist unless `create` (writable: the first transaction creates
        it, as a first load does). Readers open the newest published store and are never blocked by a writer."""
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"{path}: is a folder, not a store file")
        if not path.exists():
            if read_only or not create:
                raise StoreError(f"{path}: no such store (build one with `icsys synth` or `icsys load`)")
            if not path.parent.exists():
                raise StoreError(f"{path}: folder {path.parent} does not exist")
            return cls(None, engine="duckdb", location=str(path), read_only=False, path=path)
        con = _connect_read_only(path)
        return cls(_ibis_duckdb(con), engine="duckdb", location=str(path), read_only=read_only, path=path, con=con)

    @classmethod
    def spark(cls, session_or_master: Any, tables: Path | str, read_only: bool = True) -> Store:
        """The store on Spark: `session_or_master` is a SparkSession or a master URL (`local[2]`,
        `spark://host:7077`); `tables` a folder of Parquet tables (`person.parquet`, ... as `icsys export
        --all` writes them) or the name of a database in the session's catalogue."""
        session = _spark_session(session_or_master)
        import ibis

        folder = Path(tables)
        if folder.is_dir():
            found = _register_parquet(session, folder)
            if not found:
                raise StoreError(f"--spark-tables {folder}: no Parquet tables in it (NAME.parquet, one a table)")
            location = f"spark:{folder}"
        elif isinstance(tables, Path) or "/" in str(tables) or str(tables).endswith(".parquet"):
            raise StoreError(f"--spark-tables {tables}: no such folder of Parquet tables")
        else:
            if not session.catalog.databaseExists(str(tables)):
                raise StoreError(f"--spark-tables {tables}: not a folder, nor a database of the Spark catalogue")
            session.catalog.setCurrentDatabase(str(tables))
            location = f"spark:{tables}"
        return cls(ibis.pyspark.connect(session), engine="spark", location=location, read_only=read_only,
                   spark=session, tables=str(tables))

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        self.backend = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.location!r}, engine={self.engine!r}, read_only={self.read_only})"

    # --- what the store is ----------------------------------------------------------------------------------

    @property
    def meta(self) -> dict[str, Any]:
        """What the store recorded when it was built (icsys_meta): system_code, synthetic, scale, seed,
        period_start, period_end, ...; empty if it recorded nothing."""
        if self._meta is None:
            self._meta = self._read_meta()
        return self._meta

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic"))

    @property
    def scale(self) -> float:
        """The share of the system's population the store holds: a synthetic store's scale, 1 for real data.
        Capacities (beds) are scaled by it."""
        return float(self.meta.get("scale", 1.0)) if self.synthetic else 1.0

    @property
    def seed(self) -> int | None:
        return self.meta.get("seed")

    @property
    def covers(self) -> tuple[date, date] | None:
        """The first and last day the store covers, as recorded when it was built (None if not recorded)."""
        try:
            return date.fromisoformat(self.meta["period_start"]), date.fromisoformat(self.meta["period_end"])
        except (KeyError, ValueError, TypeError):
            return None

    def _read_meta(self) -> dict[str, Any]:
        if self.backend is None or not self.has_table(META_TABLE):
            return {}
        if self._con is not None:
            rows = self._con.execute(f"SELECT key, value FROM {META_TABLE}").fetchall()
        else:
            rows = list(self.backend.table(META_TABLE).execute().itertuples(index=False, name=None))
        return {k: json.loads(v) for k, v in rows}

    # --- reading --------------------------------------------------------------------------------------------

    def tables(self) -> list[str]:
        return [] if self.backend is None else list(self.backend.list_tables())

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def table(self, name: str) -> Any:
        """An Ibis table of the store; StoreError naming the store if there is none of that name."""
        if not self.has_table(name):
            raise StoreError(f"{self.location}: has no table {name!r}")
        return self.backend.table(name)

    def reader(self) -> Any:
        """An Ibis backend for another thread, on the same published store (DuckDB: a cursor of this
        connection; Spark: the session's backend, which is shared). Disconnect it when done."""
        if self._con is None:
            return self.backend
        with self._lock:  # one connection's statements must not interleave across threads
            if self._database is None:
                self._database = self._con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
            cursor = self._con.cursor()
        cursor.execute("SET enable_progress_bar = false")
        cursor.execute(f'USE "{self._database}"')
        return _ibis_duckdb(cursor)

    def refresh(self) -> None:
        """Re-open the newest published store (DuckDB): a long-lived reader calls it to see a new publish."""
        if self.engine != "duckdb" or self._parent is not None or self.path is None:
            return
        self.close()
        if self.path.exists():
            self._con = _connect_read_only(self.path)
            self.backend = _ibis_duckdb(self._con)
        self._meta = None

    # --- writing --------------------------------------------------------------------------------------------

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection itself (reading; writing inside a transaction), for what is DuckDB's own:
        bulk loads, COPY to a file. StoreError on Spark."""
        if self._con is None:
            raise StoreError(f"{self.location}: this needs a DuckDB store (--db FILE)")
        return self._con

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A writable Store on which every write is published at once when the block ends, or none if it
        raises. One writer at a time: a second gets a clear StoreError. Nested, it is the same transaction."""
        if self._parent is not None:
            yield self
            return
        if self.read_only:
            raise StoreError(f"{self.location}: opened read-only; this command cannot write to it")
        if self.engine == "spark":
            yield from self._spark_transaction()
        else:
            yield from self._duckdb_transaction()

    def _duckdb_transaction(self) -> Iterator[Store]:
        assert self.path is not None
        work = self.path.with_name(self.path.name + ".next")
        with _writer_lock(self.path):
            _remove(work)  # left by a writer that was killed
            if self.path.exists():
                shutil.copyfile(self.path, work)
            con = duckdb.connect(str(work))
            writer = Store(None, engine="duckdb", location=self.location, read_only=False, path=self.path,
                           con=con, parent=self)
            try:
                con.execute("SET enable_progress_bar = false")
                create_schema(con)
                writer.backend = _ibis_duckdb(con)
                yield writer
                con.execute("CHECKPOINT")
                con.close()
                os.replace(work, self.path)  # the publish: readers opening from now on see the new store
                _sync_folder(self.path.parent)
            finally:
                if writer._con is not None:
                    writer._con.close()
                _remove(work)
        self.refresh()

    def _spark_transaction(self) -> Iterator[Store]:
        writer = Store(self.backend, engine="spark", location=self.location, read_only=False,
                       spark=self.spark_session, tables=self.spark_tables, parent=self)
        staging = f"_icsys_staging_{uuid.uuid4().hex[:8]}"
        writer._staging = staging  # type: ignore[attr-defined]
        try:
            yield writer
            _spark_publish(self.spark_session, self.spark_tables or "", writer._staged)
        finally:
            _spark_discard(self.spark_session, self.spark_tables or "", writer._staged)
        self._meta = None

    def write_table(self, name: str, data: TableData, mode: str = "replace") -> None:
        """Write `data` as table `name` (replacing it, or appending to it if mode="append"), published with
        the transaction. Only inside a transaction."""
        if self._parent is None:
            raise StoreError(f"{self.location}: write {name} inside `with store.transaction() as tx:`")
        if mode not in ("replace", "append"):
            raise ValueError(f"mode {mode!r}: use replace or append")
        if self.engine == "spark":
            self._spark_write(name, data, mode)
            return
        if mode == "append" and self.has_table(name):
            self.backend.insert(name, data)
        else:
            self.backend.create_table(name, data, overwrite=True)

    def _spark_write(self, name: str, data: TableData, mode: str) -> None:
        frame = self._spark_frame(data)
        session = self.spark_session
        if mode == "append" and self.has_table(name):
            frame = session.table(name).unionByName(frame, allowMissingColumns=True)
        staged = _spark_stage(session, self.spark_tables or "", name, frame, self._staging)  # type: ignore[attr-defined]
        self._staged[name] = staged
        _spark_view(session, self.spark_tables or "", name, staged)

    def _spark_frame(self, data: TableData) -> Any:
        """A Spark DataFrame of an Ibis expression (or of rows, through an Ibis memtable: the same types)."""
        import ibis

        expr = data if isinstance(data, ibis.Expr) else ibis.memtable(data)
        self.backend._run_pre_execute_hooks(expr)
        return self.spark_session.sql(self.backend.compile(expr))

    def temporary(self, name: str, expr: Any) -> Any:
        """`expr` worked out once and kept for this connection (not written to the store), as table `name`."""
        if self.engine == "spark":
            self._spark_frame(expr).cache().createOrReplaceTempView(name)
            return self.backend.table(name)
        return self.backend.create_table(name, expr, temp=True, overwrite=True)


def _connect_read_only(path: Path, wait: float = LOCK_WAIT) -> duckdb.DuckDBPyConnection:
    """A read-only connection; while another program holds the file open for writing (not icsys, whose
    writers publish a new file), retried for `wait` seconds, then a clear StoreError."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return _attach_read_only(path)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise StoreError(f"{path}: cannot open as a DuckDB store: {exc}") from exc
            if time.monotonic() >= deadline:
                holder = re.search(r"PID (\d+)", str(exc))
                who = f" (PID {holder.group(1)})" if holder else ""
                raise StoreError(f"{path}: locked by another program{who} that holds it open for writing; try again "
                                 "when it has finished") from exc
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise StoreError(f"{path}: cannot open as a DuckDB store: {exc}") from exc


def _attach_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """The file attached read-only to a DuckDB of its own. `duckdb.connect(path)` would hand back a database
    already open in this process under that name, which after a publish is the replaced store."""
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS store (READ_ONLY)")
        con.execute("USE store")
    except BaseException:
        con.close()
        raise
    return con


def _ibis_duckdb(con: duckdb.DuckDBPyConnection) -> Any:
    import ibis

    return ibis.duckdb.from_connection(con)


@contextmanager
def _writer_lock(path: Path) -> Iterator[None]:
    """The one-writer lock of a store (`STORE.lock`, held with flock: released if the writer dies)."""
    import fcntl

    lock = path.with_name(path.name + ".lock")
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            who = handle.read().strip()
            raise StoreError(f"{path}: another job is writing to it ({who or 'unknown'}); "
                             "try again when it has finished") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"PID {os.getpid()} since {datetime.now().isoformat(timespec='seconds')}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove(work: Path) -> None:
    work.unlink(missing_ok=True)
    work.with_name(work.name + ".wal").unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """The rename reaches the disk (a crash just after a publish keeps the new store)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Spark ---------------------------------------------------------------------------------------------------

def _spark_session(session_or_master: Any) -> Any:
    if not isinstance(session_or_master, str):
        return session_or_master
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise StoreError("--engine spark: Spark needs Java, and none was found (install a JRE or set JAVA_HOME)")
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise StoreError("--engine spark: PySpark is not installed (pip install pyspark)") from exc
    try:
        session = (SparkSession.builder.master(session_or_master).appName("icsys")
                   .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.session.timeZone", "UTC").config("spark.sql.shuffle.partitions", "8")
                   .getOrCreate())
    except Exception as exc:  # Spark reports a bad master or a failed JVM start as many kinds of error
        raise StoreError(f"--spark-master {session_or_master}: Spark could not start: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _parquet_tables(folder: Path) -> dict[str, Path]:
    return {p.name[: -len(".parquet")]: p for p in sorted(folder.iterdir())
            if p.name.endswith(".parquet") and not p.name.startswith((".", "_"))}


def _register_parquet(session: Any, folder: Path) -> list[str]:
    found = _parquet_tables(folder)
    for name, where in found.items():
        session.read.parquet(str(where)).createOrReplaceTempView(name)
    return list(found)


def _is_folder(tables: str) -> bool:
    return Path(tables).is_dir()


def _spark_stage(session: Any, tables: str, name: str, frame: Any, staging: str) -> str:
    """Write a table's new rows where the transaction keeps them until it publishes."""
    if _is_folder(tables):
        where = Path(tables) / f".{staging}" / f"{name}.parquet"
        frame.write.mode("overwrite").parquet(str(where))
        return str(where)
    staged = f"{name}{staging}"
    frame.write.mode("overwrite").saveAsTable(staged)
    return staged


def _spark_view(session: Any, tables: str, name: str, where: str) -> None:
    frame = session.read.parquet(where) if _is_folder(tables) else session.table(where)
    frame.createOrReplaceTempView(name)


def _spark_publish(session: Any, tables: str, staged: dict[str, str]) -> None:
    for name, where in staged.items():
        if _is_folder(tables):
            final = Path(tables) / f"{name}.parquet"
            old = Path(tables) / f".{name}.parquet.old"
            shutil.rmtree(old, ignore_errors=True)
            if final.exists():
                os.replace(final, old)
            os.replace(where, final)
            shutil.rmtree(old, ignore_errors=True)
            session.read.parquet(str(final)).createOrReplaceTempView(name)
        else:
            session.catalog.dropTempView(name)
            session.sql(f"DROP TABLE IF EXISTS {name}")
            session.sql(f"ALTER TABLE {where} RENAME TO {name}")
    staged.clear()


def _spark_discard(session: Any, tables: str, staged: dict[str, str]) -> None:
    """What a failed transaction wrote is removed, and the tables are read from where they were."""
    for name, where in staged.items():
        if _is_folder(tables):
            shutil.rmtree(Path(where).parent, ignore_errors=True)
            final = Path(tables) / f"{name}.parquet"
            if final.exists():
                session.read.parquet(str(final)).createOrReplaceTempView(name)
            else:
                session.catalog.dropTempView(name)
        else:
            session.sql(f"DROP TABLE IF EXISTS {where}")
            session.catalog.dropTempView(name)
    staged.clear()


def table_ddl(table: Table, name: str | None = None) -> str:
    """CREATE TABLE for a schema table. Constraints are checked by validation, not by DuckDB,
    so that a bad row is reported with its reason instead of aborting a bulk insert."""
    cols = ",\n  ".join(f'"{c.name}" {c.sql_type}' for c in table.columns)
    return f'CREATE TABLE IF NOT EXISTS "{name or table.name}" (\n  {cols}\n)'


def open_store(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the store at `path`, with every schema table present."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"{path}: no such store (build one with `icsys synth` or `icsys load`)")
    if not read_only and not path.parent.exists():
        raise StoreError(f"{path}: folder {path.parent} does not exist")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"{path}: cannot open as a DuckDB store: {exc}") from exc
    if not read_only:
        create_schema(con)
    return con


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Every schema table, and the tables a load writes (load_log, quarantine, the linkage, ...) from their
    declarations in the schema; a column a newer icsys declares is added to an older store's table."""
    con.execute(_META_DDL)
    for name in LOAD_TABLES:
        table = DERIVED_TABLES[name]
        con.execute(table_ddl(table))
        for col in table.columns:
            con.execute(f'ALTER TABLE "{name}" ADD COLUMN IF NOT EXISTS "{col.name}" {col.sql_type}')
    for table in TABLES.values():
        con.execute(table_ddl(table))


def append(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table) -> None:
    """Append an Arrow table to schema table `name`, columns matched by name and cast to the schema."""
    table = TABLES[name]
    con.register("_icsys_append", data)
    try:
        select = ", ".join(f'CAST("{c}" AS {table.column(c).sql_type}) AS "{c}"' if c in data.column_names
                           else f'NULL::{table.column(c).sql_type} AS "{c}"' for c in table.column_names)
        con.execute(f'INSERT INTO "{name}" SELECT {select} FROM _icsys_append')
    finally:
        con.unregister("_icsys_append")


def set_meta(con: duckdb.DuckDBPyConnection, **values: Any) -> None:
    for key, value in values.items():
        con.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)", [key, json.dumps(value)])


def get_meta(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                         [META_TABLE]).fetchone()
    if not exists or not exists[0]:
        return {}
    return {k: json.loads(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}").fetchall()}
