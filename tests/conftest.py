"""Fixtures shared across areas: the checked-in fixture store, one cache of synthetic stores per
parameter set, and one local Spark session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import icsys, store_from_fixture

SyntheticStore = Callable[..., Path]


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
def fixture_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store rebuilt from tests/fixtures/km_small, once a session. Read it only: copy it to change it."""
    return store_from_fixture(tmp_path_factory.mktemp("fixture") / "km.duckdb")


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory: pytest.TempPathFactory) -> SyntheticStore:
    """synthetic_store(scale, years, seed): a store built by `icsys synth` once a session per parameter set.
    The path returned is shared: open it read-only, or pass copy_to=a folder for a copy of one's own."""
    built: dict[tuple[float, int, int], Path] = {}

    def store(scale: float, years: int, seed: int, copy_to: Path | None = None) -> Path:
        key = (scale, years, seed)
        if key not in built:
            db = tmp_path_factory.mktemp(f"synth-{scale}-{years}-{seed}") / "km.duckdb"
            icsys("synth", "--db", db, "--scale", scale, "--years", years, "--seed", seed, "--quiet", check=True)
            built[key] = db
        if copy_to is None:
            return built[key]
        copy_to.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(built[key], copy_to / built[key].name))

    return store


@pytest.fixture(scope="session")
def spark_store(synthetic_store: SyntheticStore) -> Path:
    return synthetic_store(0.002, 2, 3)


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
def trained_store(synthetic_store: SyntheticStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic store of three years (enough to train the risk model) with its model stored and no
    person_measures yet. Copy it before writing to it."""
    from icsys.access import Actor, Auditor
    from icsys.access.audit import beside
    from icsys.dataset.store import Store
    from icsys.population import risk

    db = synthetic_store(0.002, 3, 3, copy_to=tmp_path_factory.mktemp("trained"))
    with Store.open(db, read_only=False) as store:
        risk.train(store, say=lambda _: None, auditor=Auditor(Actor("asha", ("analyst",)), beside(db)))
    return db
