"""The same commands on a local Spark session as on DuckDB: a small synthetic store exported to Parquet,
then stratify, a cohort and the standards run from the command line on each, with identical results."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from icsys.dataset.store import Store

SPARK = ("--engine", "spark", "--spark-master", "local[2]", "--spark-tables")


def icsys(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "icsys", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def both(trained_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The DuckDB store and its Parquet tables, each stratified by its own engine."""
    if shutil.which("java") is None:
        pytest.fail("Java is needed for the Spark tests: .ci/run installs it (apt-get install default-jre-headless)")
    work = tmp_path_factory.mktemp("engines")
    db, tables = work / "km.duckdb", work / "tables"
    shutil.copyfile(trained_store, db)
    ok(icsys("export", "--db", db, "--all", "--out", tables))  # the stored risk model goes with it
    assert (tables / "person.parquet").exists() and (tables / "risk_model.parquet").exists()
    ok(icsys("population", "stratify", "--db", db, "--as-of", "2026-03-31"))
    ok(icsys("population", "stratify", *SPARK, tables, "--as-of", "2026-03-31"))
    return db, tables


def test_stratify_on_spark_equals_duckdb(both: tuple[Path, Path]) -> None:
    db, tables = both
    with Store.open(db) as store:
        on_duckdb = store.table("person_measures").execute()
    on_spark = pd.read_parquet(tables / "person_measures.parquet")
    assert len(on_duckdb) > 3000 and on_duckdb["risk_emergency_admission_12m"].notna().all()
    key = on_duckdb.columns.tolist()
    left = on_duckdb.sort_values("person_id").reset_index(drop=True)
    right = on_spark[key].sort_values("person_id").reset_index(drop=True)
    for column in ("birth_date", "as_of"):
        left[column], right[column] = pd.to_datetime(left[column]), pd.to_datetime(right[column])
    pd.testing.assert_frame_equal(right, left, check_dtype=False, check_exact=False, rtol=1e-9)


def test_a_cohort_on_spark_equals_duckdb(both: tuple[Path, Path], tmp_path: Path) -> None:
    db, tables = both
    args = ("population", "cohort", "frail_two_emergency_admissions", "--as-of", "2026-03-31", "--out")
    ok(icsys(*args, tmp_path / "duckdb.csv", "--db", db))
    ok(icsys(*args, tmp_path / "spark.csv", *SPARK, tables))
    on_duckdb, on_spark = pd.read_csv(tmp_path / "duckdb.csv"), pd.read_csv(tmp_path / "spark.csv")
    assert len(on_duckdb) > 0
    pd.testing.assert_frame_equal(on_spark, on_duckdb)


def test_the_standards_on_spark_equal_duckdb(both: tuple[Path, Path]) -> None:
    db, tables = both
    args = ("performance", "measure", "--org", "QKS", "--standard", "ae_4h", "--standard", "rtt_18w",
            "--standard", "bed_occupancy", "--from", "2026-01-01", "--json")
    on_duckdb = json.loads(ok(icsys(*args, "--db", db)))
    on_spark = json.loads(ok(icsys(*args, *SPARK, tables)))
    assert len(on_duckdb) == 9 and all(r["denominator"] > 0 for r in on_duckdb)
    assert _same(on_spark, on_duckdb)


def _same(a: list[dict], b: list[dict]) -> bool:
    assert [{k: v for k, v in r.items() if not isinstance(v, float)} for r in a] == \
        [{k: v for k, v in r.items() if not isinstance(v, float)} for r in b]
    for x, y in zip(a, b, strict=True):
        for k, v in x.items():
            if isinstance(v, float):
                assert v == pytest.approx(y[k], rel=1e-9)
    return True


def test_clear_errors_naming_the_store_options(tmp_path: Path) -> None:
    for args, words in [
        (("--db", tmp_path / "x.duckdb", *SPARK, tmp_path), "not both"),
        (("--engine", "spark"), "--spark-tables"),
        (("--engine", "oracle", "--db", tmp_path / "x.duckdb"), "--engine 'oracle'"),
        ((*SPARK, tmp_path / "missing"), "no such folder"),
        ((*SPARK, tmp_path), "no Parquet tables"),
    ]:
        result = icsys("performance", "measure", *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert words in result.stderr, result.stderr
