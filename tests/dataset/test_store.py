"""The Store: what a store is (metadata, dates, scale), writes published whole or not at all, one writer at a
time, and readers (the web app, other commands) that keep working while a batch job writes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from icsys.dataset.store import Store, StoreError

WRITER = """
import sys, time
from datetime import date
from pathlib import Path
from icsys.access import Actor, Auditor
from icsys.access.audit import beside
from icsys.dataset.store import Store
from icsys.population.stratify import stratify

store = Store.open(sys.argv[1], read_only=False)
auditor = Auditor(Actor("asha", ("analyst",)), beside(sys.argv[1]))
with store.transaction() as tx:  # the batch job's transaction, held open until the test says go
    people = stratify(tx, date(2026, 3, 31), say=lambda _: None, auditor=auditor)
    Path(sys.argv[2]).write_text(str(people))
    while not Path(sys.argv[3]).exists():
        time.sleep(0.1)
print(people)
"""


def icsys(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "icsys", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture
def store_file(trained_store: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "km.duckdb"
    shutil.copyfile(trained_store, copy)
    return copy


def test_what_the_store_is(store_file: Path) -> None:
    with Store.open(store_file) as store:  # built by synthesise(scale=0.002, years=3, seed=3) to 2026-03-31
        assert store.engine == "duckdb" and store.read_only and store.synthetic
        assert store.scale == 0.002 and store.seed == 3 and store.meta["system_code"] == "QKS"
        assert store.covers == (date(2023, 4, 1), date(2026, 3, 31))
        assert store.has_table("person") and not store.has_table("person_measures")


def test_a_transaction_publishes_whole_or_not_at_all(store_file: Path) -> None:
    store = Store.open(store_file, read_only=False)
    rows = pd.DataFrame({"a": [1, 2, 3]})
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.write_table("scratch", rows)
        tx.write_table("scratch_2", rows)
        assert tx.table("scratch").count().execute() == 3  # the transaction sees its own writes
        raise RuntimeError("the job failed half way")
    assert not store.has_table("scratch") and not store.has_table("scratch_2")
    assert not store_file.with_name("km.duckdb.next").exists()
    with store.transaction() as tx:
        tx.write_table("scratch", rows)
        tx.write_table("scratch", rows.head(1), mode="append")
    assert store.table("scratch").a.sum().execute() == 7  # the Store reads the published store after it
    with Store.open(store_file) as other:
        assert other.table("scratch").count().execute() == 4


def test_read_only_refuses_to_write_and_one_writer_at_a_time(store_file: Path) -> None:
    with pytest.raises(StoreError, match="read-only"), Store.open(store_file).transaction():
        pass
    first, second = Store.open(store_file, read_only=False), Store.open(store_file, read_only=False)
    with first.transaction() as tx:
        with pytest.raises(StoreError, match="another job is writing"), second.transaction():
            pass
        with tx.transaction() as nested:  # a nested transaction is the same one
            assert nested is tx
    with second.transaction():  # free again once the first has published
        pass


def test_a_reader_keeps_its_view_until_it_reopens(store_file: Path) -> None:
    reader = Store.open(store_file)
    with Store.open(store_file, read_only=False).transaction() as tx:
        tx.write_table("scratch", pd.DataFrame({"a": [1]}))
    assert not reader.has_table("scratch")  # a consistent view while it is open
    reader.refresh()
    assert reader.has_table("scratch")
    with Store.open(store_file) as fresh:  # what a new request or command opens
        assert fresh.has_table("scratch")


def test_missing_and_writable_stores(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store"):
        Store.open(tmp_path / "none.duckdb")
    with pytest.raises(StoreError, match="no such store"):
        Store.open(tmp_path / "none.duckdb", read_only=False)
    new = Store.open(tmp_path / "new.duckdb", read_only=False, create=True)
    assert new.tables() == [] and new.covers is None and new.scale == 1.0
    with new.transaction() as tx:
        tx.write_table("scratch", pd.DataFrame({"a": [1]}))
    assert new.has_table("person") and new.has_table("scratch")  # created with every schema table


def test_readers_work_while_a_batch_job_writes(store_file: Path, tmp_path: Path) -> None:
    """Two processes: `stratify` writing (its transaction held open) while commands read the store."""
    wrote, go = tmp_path / "wrote", tmp_path / "go"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store_file), str(wrote), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not wrote.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert wrote.exists(), writer.stderr.read() if writer.poll() is not None else "writer too slow"
        info = icsys("info", "--db", store_file, "--json")  # a reader while the writer holds its transaction
        assert info.returncode == 0 and "Traceback" not in info.stderr, info.stderr
        assert '"person"' in info.stdout
        before = icsys("population", "inequalities", "--db", store_file, "--measure", "efi_category=severe")
        assert before.returncode == 2 and "Traceback" not in before.stderr
        assert "no person_measures in the store" in before.stderr  # the unpublished result is not seen
        again = icsys("population", "stratify", "--db", store_file, "--as-of", "2026-03-31")
        assert again.returncode == 2 and "Traceback" not in again.stderr
        assert "another job is writing" in again.stderr and f"PID {writer.pid}" in again.stderr
        go.touch()
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    finally:
        go.touch()
        writer.wait(timeout=120)
    after = icsys("population", "inequalities", "--db", store_file, "--measure", "efi_category=severe", "--json")
    assert after.returncode == 0, after.stderr
    with Store.open(store_file) as store:  # published whole: the rows the writer counted
        assert store.table("person_measures").count().execute() == int(wrote.read_text()) == int(out)
