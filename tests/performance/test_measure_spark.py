"""Every standard gives the same rows on DuckDB and on a local Spark session (the same Ibis rules)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pandas as pd

from icsys.performance.catalogue import load_catalogue
from icsys.performance.measure import measure
from icsys.performance.organisations import Hierarchy
from icsys.system import load_system
from support.spark import spark_views

USED = ("person", "clinical_event", "ae_attendance", "inpatient_spell", "rtt_pathway", "cancer_pathway",
        "diagnostic_wait", "ambulance_incident", "community_contact", "mental_health_referral", "gp_appointment",
        "gp_registration")


def test_every_rule_identical_on_duckdb_and_spark(spark_store: Path, spark) -> None:
    """One standard of each rule (the rest differ only in parameters), a centile among them: a Spark
    job costs seconds, so all 40 take minutes."""
    catalogue, hierarchy = load_catalogue(), Hierarchy(load_system())
    one_each = {s.rule: s.id for s in reversed(catalogue.standard)}  # the first standard of each rule
    chosen = sorted(set(one_each.values()) | {"amb_c1_90th", "delayed_transfer_rate"})  # a centile, an overlap
    asked = {"standards": chosen, "org": "QKS", "period": "month",
             "start": date(2024, 12, 1), "end": date(2025, 1, 31)}
    on_spark = measure(spark_views(spark, spark_store, USED), catalogue, hierarchy, **asked)
    on_duckdb = measure(ibis.duckdb.connect(str(spark_store), read_only=True), catalogue, hierarchy, **asked)
    assert len(on_duckdb) == 2 * len(chosen) and (on_duckdb.denominator > 0).sum() >= len(chosen)
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_dtype=False)
