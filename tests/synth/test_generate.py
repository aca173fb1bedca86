"""End to end: `icsys synth` builds the whole linked dataset, reproducibly, with every link intact."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from icsys.access import open_audit
from icsys.access.audit import beside
from icsys.dataset.schema import TABLES
from icsys.system import load_system
from support import assert_clear_error, strict_json
from support import icsys as run

SCALE, YEARS = "0.003", "2"


def icsys(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(*args, check=check)


def fingerprints(db: Path) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent hash of every row, per table."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: con.execute(f'SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM "{name}" t').fetchone()
                for name in TABLES}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("synth") / "km.duckdb"
    icsys("synth", "--scale", SCALE, "--years", YEARS, "--seed", "7", "--db", db)
    return db


@pytest.fixture(scope="module")
def con(store: Path):
    with duckdb.connect(str(store), read_only=True) as connection:
        yield connection


def test_every_table_is_filled(con) -> None:
    empty = [n for n in TABLES if con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] == 0]
    assert empty == []


def test_people_match_list_sizes(con) -> None:
    system = load_system()
    expected = sum(max(1, round(p.list_size * float(SCALE))) for p in system.practice)
    at_start = con.execute("SELECT count(*) FROM person WHERE registration_start <= DATE '2024-04-01'").fetchone()[0]
    assert 0.9 * expected <= at_start <= 1.02 * expected


@pytest.mark.parametrize("name", TABLES)
def test_primary_keys_unique(con, name: str) -> None:
    pk = TABLES[name].primary_key
    rows, distinct, nulls = con.execute(
        f'SELECT count(*), count(DISTINCT "{pk}"), count(*) - count("{pk}") FROM "{name}"').fetchone()
    assert rows == distinct and nulls == 0


@pytest.mark.parametrize("name", TABLES)
def test_references_resolve(con, name: str) -> None:
    system = load_system()
    for col in TABLES[name].columns:
        if not col.references:
            continue
        kind, _, target = col.references.partition(":")
        if kind == "system":
            codes = {item.code for item in getattr(system, target)}
            used = {r[0] for r in con.execute(f'SELECT DISTINCT "{col.name}" FROM "{name}" WHERE "{col.name}" '
                                              "IS NOT NULL").fetchall()}
            assert used <= codes, f"{name}.{col.name}: unknown {sorted(used - codes)[:5]}"
        else:
            ref_table, ref_col = col.references.split(".")
            orphans = con.execute(
                f'SELECT count(*) FROM "{name}" a WHERE a."{col.name}" IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM "{ref_table}" b WHERE b."{ref_col}" = a."{col.name}")').fetchone()[0]
            assert orphans == 0, f"{name}.{col.name}: {orphans} rows point nowhere"


@pytest.mark.parametrize("name", TABLES)
def test_dates_in_order_and_codes_valid(con, name: str) -> None:
    table = TABLES[name]
    for earlier, later in table.in_order:
        bad = con.execute(f'SELECT count(*) FROM "{name}" WHERE "{earlier}" > "{later}"').fetchone()[0]
        assert bad == 0, f"{name}: {bad} rows with {earlier} after {later}"
    for col in table.columns:
        if col.codes:
            used = {str(r[0]) for r in con.execute(f'SELECT DISTINCT "{col.name}" FROM "{name}" '
                                                   f'WHERE "{col.name}" IS NOT NULL').fetchall()}
            assert used <= set(col.codes), f"{name}.{col.name}: {sorted(used - set(col.codes))}"
        if col.required:
            nulls = con.execute(f'SELECT count(*) FROM "{name}" WHERE "{col.name}" IS NULL').fetchone()[0]
            assert nulls == 0, f"{name}.{col.name}: {nulls} missing required values"


@pytest.mark.parametrize("name", [n for n in TABLES if n != "person"])
def test_no_activity_after_death(con, name: str) -> None:
    table = TABLES[name]
    when = table.time_columns[0]
    late = con.execute(f'SELECT count(*) FROM "{name}" a JOIN person p USING (person_id) '
                       f'WHERE p.death_date IS NOT NULL AND a."{when}"::DATE > p.death_date').fetchone()[0]
    assert late == 0


def test_info_json(store: Path, con) -> None:
    info = strict_json(icsys("info", "--db", store, "--json").stdout)
    assert info["system"]["code"] == "QKS" and info["system"]["synthetic"] is True
    assert info["period"] == {"from": "2024-04-01", "to": "2026-03-31"}
    for name in TABLES:
        assert info["tables"][name]["rows"] == con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    ae = info["tables"]["ae_attendance"]
    assert "2024-04-01" <= ae["from"] <= ae["to"] <= "2026-03-31"


def test_a_and_e_four_hours_in_the_seventies(con) -> None:
    within = con.execute("SELECT avg((departure_time - arrival_time <= INTERVAL 4 HOUR)::INT) "
                         "FROM ae_attendance").fetchone()[0]
    assert 0.65 <= within <= 0.85


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_round_trip(store: Path, con, tmp_path: Path, suffix: str) -> None:
    work = tmp_path / "km.duckdb"  # a copy: the export writes its audit record into the store
    work.write_bytes(store.read_bytes())
    out = tmp_path / f"spells{suffix}"
    icsys("export", "--db", work, "--table", "inpatient_spell", "--out", out)
    reader = "read_csv_auto" if suffix == ".csv" else "read_parquet"
    back = duckdb.sql(f"SELECT count(*), sum(spell_id) FROM {reader}('{out}')").fetchone()
    assert back == con.execute("SELECT count(*), sum(spell_id) FROM inpatient_spell").fetchone()


def test_export_bad_requests(store: Path, tmp_path: Path) -> None:
    work = tmp_path / "km.duckdb"
    work.write_bytes(store.read_bytes())
    store = work
    for args, word in ((["--table", "person", "--out", tmp_path / "p.xlsx"], ".xlsx"),
                       (["--table", "beds", "--out", tmp_path / "p.csv"], "unknown table"),
                       (["--table", "person", "--out", tmp_path / "no" / "p.csv"], "does not exist")):
        assert_clear_error(icsys("export", "--db", store, *args, check=False), word)


def test_same_seed_same_tables_other_seed_differs(store: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    icsys("synth", "--scale", SCALE, "--years", YEARS, "--seed", "7", "--db", again)
    assert fingerprints(again) == fingerprints(store)
    other = tmp_path / "other.duckdb"
    icsys("synth", "--scale", SCALE, "--years", YEARS, "--seed", "8", "--db", other)
    assert fingerprints(other)["person"] != fingerprints(store)["person"]


def test_killed_build_leaves_the_old_store(store: Path, tmp_path: Path) -> None:
    db = tmp_path / "km.duckdb"
    db.write_bytes(store.read_bytes())
    before = fingerprints(db)
    proc = subprocess.Popen([sys.executable, "-m", "icsys", "synth", "--scale", "0.05", "--seed", "9",
                             "--db", str(db), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = db.with_name(f".{db.name}.partial")
    deadline = time.monotonic() + 120
    while not partial.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let it write some of the new store
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the build finished before it could be killed"
    assert fingerprints(db) == before


def test_domain_code_reads_the_store_through_ibis(store: Path, con) -> None:
    from icsys.dataset.store import Store

    backend = Store.open(store).backend
    spells = backend.table("inpatient_spell")
    emergency = spells.filter(spells.admission_method.startswith("2")).count().execute()
    assert emergency == con.execute("SELECT count(*) FROM inpatient_spell WHERE admission_method LIKE '2%'"
                                    ).fetchone()[0]


def test_exports_are_audited(store: Path, tmp_path: Path) -> None:
    work = tmp_path / "km.duckdb"
    work.write_bytes(store.read_bytes())
    out = tmp_path / "people.csv"
    icsys("export", "--db", work, "--table", "person", "--out", out)
    with duckdb.connect(str(work), read_only=True) as con:
        people = con.execute("SELECT count(*) FROM person").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    log = [(r["action"], r["what"], r["people"], r["destination"]) for r in open_audit(beside(work)).records()]
    assert log == [("export", "table person", people, str(out))]
    assert "access_log" not in tables  # the audit log is never in the analytical store


def test_registration_history(con) -> None:
    """gp_registration holds every registration: the latest is the person table's, earlier ones (a practice
    change within the ICS) end the day the next begins, and none overlap."""
    latest = con.execute("""SELECT count(*), count(*) FILTER (WHERE g.practice_code = p.practice_code
            AND g.registration_start = p.registration_start
            AND g.registration_end IS NOT DISTINCT FROM p.registration_end) FROM person p JOIN (
            SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY registration_start DESC) AS k
            FROM gp_registration) g ON g.person_id = p.person_id AND g.k = 1""").fetchone()
    people = con.execute("SELECT count(*) FROM person").fetchone()[0]
    assert latest == (people, people)
    changes = con.execute("""SELECT count(*), count(*) FILTER (WHERE a.registration_end = b.registration_start
            AND a.practice_code <> b.practice_code) FROM gp_registration a JOIN gp_registration b
            ON a.person_id = b.person_id AND a.registration_start < b.registration_start""").fetchone()
    assert 0.01 * people < changes[0] == changes[1] < 0.1 * people
    left = con.execute("SELECT count(*) FROM gp_registration WHERE registration_end IS NOT NULL").fetchone()[0]
    assert left > changes[0]  # people who moved out of the ICS or died have an ended registration too


@pytest.mark.parametrize("failing", ["medication", "gp_appointment"])  # one table on each writer lane
def test_a_failed_append_on_either_lane_stops_the_build(failing: str, store: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import icsys.synth.generate as generate

    real = generate.append

    def append(con, name, data):
        if name == failing:
            raise duckdb.IOException(f"disk full writing {name}")
        real(con, name, data)

    monkeypatch.setattr(generate, "append", append)
    db = tmp_path / "km.duckdb"
    db.write_bytes(store.read_bytes())
    before = fingerprints(db)
    with pytest.raises(duckdb.IOException, match=f"disk full writing {failing}"):
        generate.synthesise(load_system(None), db, scale=0.003, years=1, seed=3)
    assert fingerprints(db) == before
    assert not db.with_name(f".{db.name}.partial").exists()
