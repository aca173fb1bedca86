"""The emergency-admission risk model: trained on one year, validated on a later one, stored and
reloaded safely, used by stratify and the top-risk cohort; its card's figures checked against their
definitions."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from icsys.dataset.store import Store, StoreError, open_store
from icsys.population import model_card, risk
from support import assert_clear_error, icsys, strict_json


def test_stratify_trained_and_stored_a_model_validated_on_a_later_year(stratified_store: Path) -> None:
    with Store.open(stratified_store) as store:
        trained = risk.latest(store)
    card = trained.card
    assert date.fromisoformat(card["validate_as_of"]) >= date.fromisoformat(card["train_as_of"]).replace(
        year=date.fromisoformat(card["train_as_of"]).year + 1)
    v = card["validation"]
    # Real discrimination and calibration on the held-out year (a model that learned nothing gives 0.5).
    assert 0.65 < v["auroc"] < 0.95 and 0.7 < v["calibration_slope"] < 1.3
    assert abs(v["calibration_intercept"]) < 0.3 and v["expected"] == pytest.approx(v["observed"], rel=0.2)
    assert v["auroc"] > card["baselines"]["LTC count"]["auroc"]
    assert set(card["baselines"]) == {"age and sex", "LTC count", "Cambridge score"}
    assert set(card["subgroups"]) == {"age band", "sex", "ethnic group", "IMD quintile"}
    assert v["top"]["0.5%"]["ppv"] > v["observed"]  # the top of the list is richer in admissions


def test_stratify_gives_everyone_a_probability_and_a_place_in_the_ranking(stratified_store: Path) -> None:
    with duckdb.connect(str(stratified_store), read_only=True) as con:
        pm = con.execute("SELECT risk_emergency_admission_12m AS p, risk_top_percent AS top FROM person_measures"
                         ).fetchdf()
    assert pm["p"].between(0, 1).all() and pm["p"].notna().all()
    assert pm["top"].min() > 0 and pm["top"].max() == pytest.approx(100)
    top = pm.nsmallest(int(0.005 * len(pm)), "top")
    assert top["p"].min() >= pm["p"].quantile(0.99)


def test_card_metrics_follow_their_definitions() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(0.01, 0.6, 20_000)
    y = (rng.random(20_000) < p).astype(int)  # perfectly calibrated by construction
    m = model_card.metrics(y, p)
    assert m["auroc"] == pytest.approx(roc_auc_score(y, p))
    assert m["calibration_slope"] == pytest.approx(1, abs=0.08) and m["calibration_intercept"] == pytest.approx(
        0, abs=0.05)
    # Over-confident predictions (logit doubled) have a slope near 1/2.
    lp = 2 * np.log(p / (1 - p))
    assert model_card.metrics(y, 1 / (1 + np.exp(-lp)))["calibration_slope"] == pytest.approx(0.5, abs=0.05)
    top = m["top"]["5.0%"]
    flagged = np.argsort(-p)[:1000]
    assert top["flagged"] == 1000 and top["ppv"] == pytest.approx(y[flagged].mean())
    assert top["sensitivity"] == pytest.approx(y[flagged].sum() / y.sum())


def test_small_subgroups_are_suppressed_and_counts_rounded() -> None:
    shown = model_card.suppress(model_card.metrics(np.array([1] * 9 + [0] * 40), np.linspace(0.1, 0.9, 49)))
    assert shown == {"people": 50, "events": "<10", "suppressed": True}


def test_a_tampered_model_is_refused(stratified_store: Path, tmp_path: Path) -> None:
    from skops.io import dumps

    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(stratified_store.read_bytes())
    with open_store(copy) as con:
        con.execute("UPDATE risk_model SET model = ?", [dumps({"f": subprocess.run})])
    with pytest.raises(StoreError, match="does not trust"):
        risk.latest(Store.open(copy))


def test_dates_that_would_leak_or_run_off_the_data_are_refused() -> None:
    first, last = date(2023, 4, 1), date(2026, 3, 31)
    with pytest.raises(risk.RiskModelError, match="at least a year after"):
        risk.check_dates(date(2024, 3, 31), date(2024, 9, 30), first, last)
    with pytest.raises(risk.RiskModelError, match="runs past the end"):
        risk.check_dates(date(2024, 3, 31), date(2025, 6, 30), first, last)
    with pytest.raises(risk.RiskModelError, match="starts before the data"):
        risk.check_dates(date(2023, 12, 31), date(2025, 3, 31), first, last)
    assert risk.default_dates(first, last) == (date(2024, 3, 31), date(2025, 3, 31))


def test_model_card_and_top_risk_cohort_from_the_command_line(stratified_store: Path, tmp_path: Path) -> None:
    card = icsys("population", "model-card", "--db", stratified_store)
    assert card.returncode == 0 and "## On the held-out year" in card.stdout and "age and sex" in card.stdout
    as_json = strict_json(icsys("population", "model-card", "--db", stratified_store, "--json").stdout)
    assert as_json["validation"]["people"] > 1000
    out = tmp_path / "top.csv"
    listed = icsys("population", "cohort", "top_risk_not_known_to_community", "--db", stratified_store,
                   "--as-of", "2026-03-31", "--out", out)
    assert listed.returncode == 0, listed.stderr
    members = pd.read_csv(out)
    assert len(members) > 0 and (members["risk_top_percent"] <= 0.5).all()
    assert (members["community_contacts"] == 0).all() and members["reasons"].str.contains("top 0.5 %").all()
    bad = icsys("population", "train-risk", "--db", stratified_store, "--train-as-of", "2025-03-31")
    assert_clear_error(bad, "at least a year after")
    assert_clear_error(icsys("population", "model-card", "--db", tmp_path / "none.duckdb"))
