"""Fixtures shared across areas: one local Spark session and one small store for the tests that run the
same Ibis expressions on DuckDB and Spark."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from icsys.synth.generate import synthesise
from icsys.system import load_system


@pytest.fixture(scope="session")
def spark_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("spark") / "km.duckdb"
    synthesise(load_system(), db, scale=0.002, years=2, seed=3)
    return db


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None:
        pytest.fail("Java is needed for the Spark tests: .ci/run installs it (apt-get install default-jre-headless)")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("icsys-test")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "4").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic store of three years (enough to train the risk model) with its model stored and no
    person_measures yet. Copy it before writing to it."""
    from icsys.dataset.store import Store
    from icsys.population import risk

    db = tmp_path_factory.mktemp("trained") / "km.duckdb"
    synthesise(load_system(), db, scale=0.002, years=3, seed=3)
    with Store.open(db, read_only=False) as store:
        risk.train(store, say=lambda _: None)
    return db
