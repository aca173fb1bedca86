"""Scoring with the stored risk model without scikit-learn (risk_scoring): the same probabilities as
scikit-learn's predict_proba, bit for bit, on the model `stratify` trained; the same ranking as pandas';
a model it does not know is left to skops, which still refuses what it does not trust."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from icsys.dataset.store import Store, StoreError, open_store
from icsys.population import risk, risk_scoring
from icsys.population.risk_features import features
from icsys.population.stratify import rank_descending

AS_OF = "2026-03-31"


def _blob(db: Path) -> bytes:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT model FROM risk_model ORDER BY trained_at DESC LIMIT 1").fetchone()[0]


@pytest.fixture(scope="module")
def scored(stratified_store: Path) -> tuple[risk.RiskModel, pd.DataFrame, dict[str, np.ndarray]]:
    """The stored model as scikit-learn loads it, everyone's predictors as pandas, and as the fast path reads them."""
    with Store.open(stratified_store) as store:
        trained = risk.latest(store)
        rows = features(store.backend, pd.Timestamp(AS_OF).date()).order_by("person_id")
        frame, table = rows.execute(), rows.to_pyarrow()
    return trained, frame, risk.feature_columns(table, trained.feature_names)


def test_the_fast_path_gives_scikit_learns_probabilities_bit_for_bit(stratified_store: Path, scored) -> None:
    trained, frame, columns = scored
    reference = trained.model.predict_proba(risk._as_model_input(frame, trained.feature_names))[:, 1]
    fast = risk_scoring.from_skops(_blob(stratified_store))
    assert fast.feature_names == trained.feature_names and len(fast.trees) > 1
    assert np.array_equal(fast.predict(columns), reference)
    # what stratify stored came from the fast path: the same numbers, and the same ranking as pandas gives
    with duckdb.connect(str(stratified_store), read_only=True) as con:
        stored = con.execute("SELECT risk_emergency_admission_12m, risk_top_percent FROM person_measures "
                             "ORDER BY person_id").fetchnumpy()
    assert np.array_equal(stored["risk_emergency_admission_12m"], reference)
    rank = pd.Series(reference).rank(method="min", ascending=False)
    assert np.array_equal(stored["risk_top_percent"], (100 * rank / len(rank)).round(4).to_numpy())


def test_missing_and_unknown_values_go_where_scikit_learn_sends_them(stratified_store: Path, scored) -> None:
    trained, _, columns = scored
    few = {name: values[:60].copy() for name, values in columns.items()}
    few["ethnic_group"][:20] = None  # missing
    few["ethnic_group"][20:40] = "not a census group"  # unknown to the model
    for name in ("imd_decile", "days_since_emergency_admission", "age", "efi_deficits"):
        few[name][::3] = np.nan
    reference = risk.scorer(trained).predict(few)
    assert np.array_equal(risk_scoring.from_skops(_blob(stratified_store)).predict(few), reference)


def _saved_by(blob: bytes, version: str) -> bytes:
    """The same model, its schema saying another scikit-learn release saved it."""
    source, out = zipfile.ZipFile(io.BytesIO(blob)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for name in source.namelist():
            data = source.read(name)
            if name == "schema.json":
                data = re.sub(rb'\\"1\.9\.\d+\\"', lambda _: b'\\"' + version.encode() + b'\\"', data)
            copy.writestr(name, data)
    return out.getvalue()


def test_ranks_are_shared_by_ties_highest_first() -> None:
    assert rank_descending(np.array([0.2, 0.5, 0.5, 0.1, 0.7])).tolist() == [4, 2, 2, 5, 1]


def test_a_model_of_another_kind_is_left_to_skops_which_refuses_what_it_does_not_trust(
        stratified_store: Path, tmp_path: Path) -> None:
    from skops.io import dumps

    with pytest.raises(risk_scoring.Unreadable, match=r"subprocess\.run"):
        risk_scoring.from_skops(dumps({"f": subprocess.run}))
    with pytest.raises(risk_scoring.Unreadable):
        risk_scoring.from_skops(b"not a zip")
    with pytest.raises(risk_scoring.Unreadable, match=r"saved by scikit-learn 0\.1\.0"):
        risk_scoring.from_skops(_saved_by(_blob(stratified_store), "0.1.0"))
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(stratified_store.read_bytes())
    with open_store(copy) as con:
        con.execute("UPDATE risk_model SET model = ?", [dumps({"f": subprocess.run})])
    with Store.open(copy) as store, pytest.raises(StoreError, match="does not trust"):
        risk.latest_scorer(store)


def test_stratify_with_a_stored_model_imports_neither_scikit_learn_nor_skops(stratified_store: Path,
                                                                             tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(stratified_store.read_bytes())
    code = ("import sys; from datetime import date; from icsys.cli.common import local_auditor; "
            "from icsys.dataset.store import Store; from icsys.population.stratify import stratify; "
            f"store = Store.open({str(copy)!r}, read_only=False); "
            f"stratify(store, date.fromisoformat({AS_OF!r}), say=print, auditor=local_auditor(store)); "
            "print(sorted(m for m in ('sklearn', 'skops', 'scipy.optimize') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_sigmoid_is_scipys_to_the_last_digit() -> None:
    from scipy.special import expit

    z = np.concatenate([np.random.default_rng(3).normal(0, 4, 100_000), np.linspace(-800, 800, 20_001),
                        [0.0, -0.0, 709.7, 709.8, -709.8, -745.2, 1e308, -1e308]])
    assert np.array_equal(np.array([risk_scoring._expit(v) for v in z.tolist()]), expit(z))
