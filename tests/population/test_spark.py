"""The same person measures on DuckDB and on a local Spark session give identical results."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pandas as pd
import pytest

from icsys.population.risk_features import features
from icsys.population.stratify import person_measures
from support.spark import spark_views

AS_OF = date(2025, 3, 31)
TABLES = ("person", "gp_registration", "clinical_event", "medication", "inpatient_spell", "ae_attendance",
          "ambulance_incident", "outpatient_appointment", "gp_appointment", "community_contact",
          "mental_health_referral", "social_care_package")


@pytest.fixture(scope="module")
def engines(spark_store: Path, spark) -> tuple:
    return spark_views(spark, spark_store, TABLES), ibis.duckdb.connect(str(spark_store), read_only=True)


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    dates = {c: "datetime64[ns]" for c in ("birth_date", "as_of") if c in df}
    return df.sort_values("person_id").reset_index(drop=True).astype(dates)


def test_person_measures_identical_on_duckdb_and_spark(engines: tuple) -> None:
    on_spark, on_duckdb = (person_measures(backend, AS_OF).execute() for backend in engines)
    assert len(on_duckdb) > 1000
    pd.testing.assert_frame_equal(normalise(on_spark), normalise(on_duckdb), check_dtype=False)


def test_risk_model_predictors_identical_on_duckdb_and_spark(engines: tuple) -> None:
    on_spark, on_duckdb = (features(backend, AS_OF).execute() for backend in engines)
    assert len(on_duckdb) > 1000 and on_duckdb["emergency_admissions_12m"].sum() > 0
    pd.testing.assert_frame_equal(normalise(on_spark), normalise(on_duckdb), check_dtype=False, check_exact=False)
