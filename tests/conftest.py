"""Fixtures shared across areas: one local Spark session and one small store for the tests that run the
same Ibis expressions on DuckDB and Spark."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from icsys.synth.generate import synthesise
from icsys.system import load_system


@pytest.fixture(scope="session", autouse=True)
def data_manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The command line runs in the tests as a data manager (may load and export identifiable tables);
    tests of other roles set ICSYS_CONFIG themselves. The audit database is the default, beside each store."""
    config = tmp_path_factory.mktemp("access") / "access.toml"
    config.write_text('role = "data_manager"\n', encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("ICSYS_CONFIG", "ICSYS_AUDIT_URL")}
    os.environ["ICSYS_CONFIG"] = str(config)
    os.environ.pop("ICSYS_AUDIT_URL", None)
    yield config
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


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
