"""The 12-month emergency admission risk model: trained on the dataset itself, validated on a later year
than it was trained on, stored with its model card beside the dataset, and used by `stratify` to give
every registered person a calibrated probability.

Training: people registered on `train_as_of`, predictors from the year before it, outcome in the year
after it. A gradient-boosted tree model (scikit-learn HistGradientBoosting) learns on 80 % of them; a
logistic (Platt) recalibration is fitted on the other 20 %, so the output is a probability. Validation:
the same model on people registered a year later (`validate_as_of`), whose outcome year the model never
saw. Baselines of the card are logistic models on age and sex, LTC count and the Cambridge score.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer
from threadpoolctl import threadpool_limits

from icsys.access import Auditor, policy
from icsys.dataset.store import StoreError, connect, open_store
from icsys.errors import InputError
from icsys.population import model_card
from icsys.population.risk_features import ETHNIC_GROUP, OUTCOME, features, outcome

MODEL_TABLE = "risk_model"
NAME = "Emergency admission in the next 12 months"
YEAR = timedelta(days=365)
ETHNIC_GROUPS = sorted(set(ETHNIC_GROUP.values()))
_MODEL_DDL = f"""CREATE TABLE IF NOT EXISTS {MODEL_TABLE} (
    model_id VARCHAR PRIMARY KEY, trained_at TIMESTAMP NOT NULL, trained_by VARCHAR NOT NULL,
    train_as_of DATE NOT NULL, validate_as_of DATE NOT NULL, features VARCHAR NOT NULL,
    model BLOB NOT NULL, card VARCHAR NOT NULL)"""
# What a stored model may be made of: loading refuses anything else (skops, not pickle, so a store
# cannot run code when a model is read from it).
TRUSTED = [
    "sklearn._loss.link.Interval", "sklearn._loss.link.LogitLink", "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", "sklearn.frozen._frozen.FrozenEstimator",
    "collections.OrderedDict", "functools.partial", "sklearn.utils.validation.check_array",
]


class RiskModelError(InputError):
    """The risk model cannot be trained or used as asked, with the reason."""


@dataclass
class RiskModel:
    model: Any
    feature_names: list[str]
    card: dict[str, Any]


def _as_model_input(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    x = frame[names].copy()
    x["ethnic_group"] = pd.Categorical(x["ethnic_group"], categories=ETHNIC_GROUPS)
    return x.astype({c: "float64" for c in names if c != "ethnic_group"})


def training_frame(backend: Any, as_of: date) -> pd.DataFrame:
    """Predictors on as_of and the outcome in the year after, one row per registered person."""
    people = features(backend, as_of)
    return people.join(outcome(backend, people, as_of), "person_id").order_by("person_id").execute()


def data_period(backend: Any) -> tuple[date, date]:
    """First and last day of hospital activity in the store (the outcome's table)."""
    spells = backend.table("inpatient_spell")
    low, high = spells.admission_time.min().execute(), spells.admission_time.max().execute()
    if pd.isna(low) or pd.isna(high):
        raise RiskModelError("there are no hospital spells in the store to learn emergency admissions from")
    return pd.Timestamp(low).date(), pd.Timestamp(high).date()


def default_dates(first: date, last: date) -> tuple[date, date]:
    """The latest pair (train, validate) a year apart whose outcome years are both in the data."""
    validate = last - YEAR
    return validate - YEAR, validate


def check_dates(train_as_of: date, validate_as_of: date, first: date, last: date) -> None:
    if validate_as_of < train_as_of + YEAR:
        raise RiskModelError(f"--validate-as-of {validate_as_of} must be at least a year after --train-as-of "
                             f"{train_as_of}, so that no outcome of the validation year was seen in training")
    if train_as_of - YEAR + timedelta(days=1) < first:
        raise RiskModelError(f"--train-as-of {train_as_of}: the year of history before it starts before the "
                             f"data ({first}); use a date on or after {first + YEAR - timedelta(days=1)}")
    if validate_as_of + YEAR > last:
        raise RiskModelError(f"--validate-as-of {validate_as_of}: its outcome year runs past the end of the data "
                             f"({last}); use a date on or before {last - YEAR} (3 years of data are needed in all)")


def _fit(frame: pd.DataFrame, names: list[str], seed: int) -> Any:
    x, y = _as_model_input(frame, names), frame["admitted"].to_numpy()
    x_fit, x_cal, y_fit, y_cal = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    trees = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.08, max_leaf_nodes=31,
                                           min_samples_leaf=40, l2_regularization=1.0,
                                           categorical_features="from_dtype", early_stopping=True,
                                           validation_fraction=0.1, n_iter_no_change=20, random_state=seed)
    # Below a few hundred thousand rows a second thread gains nothing, and OpenMP threads that wait on a
    # busy core can slow a fit a hundredfold.
    with threadpool_limits(limits=1 if len(x_fit) < 200_000 else None):
        trees.fit(x_fit, y_fit)
    return CalibratedClassifierCV(FrozenEstimator(trees), method="sigmoid").fit(x_cal, y_cal)


def _baselines(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """Predictions on the test year of simple logistic models trained on the training year."""
    specs = {
        "age and sex": (["age", "female"], ColumnTransformer([("age", SplineTransformer(n_knots=6), ["age"])],
                                                            remainder="passthrough")),
        "LTC count": (["ltc_count"], OneHotEncoder(handle_unknown="ignore")),
        "Cambridge score": (["cambridge_score"], SplineTransformer(n_knots=5)),
    }
    out = {}
    for name, (columns, transform) in specs.items():
        x_train = train[columns].clip(upper=8) if name == "LTC count" else train[columns]
        x_test = test[columns].clip(upper=8) if name == "LTC count" else test[columns]
        model = make_pipeline(transform, LogisticRegression(max_iter=2000)).fit(x_train, train["admitted"])
        out[name] = model.predict_proba(x_test)[:, 1]
    return out


def train(db: Path, train_as_of: date | None = None, validate_as_of: date | None = None, seed: int = 42,
          say: Any = print, *, auditor: Auditor) -> RiskModel:
    """Train, validate, store and return the model with its card; the auditor records who trained it on
    how many people's records."""
    policy.require(auditor.actor, policy.DERIVE)
    backend = connect(db)
    try:
        first, last = data_period(backend)
        default_train, default_validate = default_dates(first, last)
        train_as_of, validate_as_of = train_as_of or default_train, validate_as_of or default_validate
        check_dates(train_as_of, validate_as_of, first, last)
        say(f"reading predictors and outcomes for {train_as_of} and {validate_as_of}")
        train_frame, test_frame = training_frame(backend, train_as_of), training_frame(backend, validate_as_of)
    finally:
        backend.disconnect()
    if train_frame["admitted"].nunique() < 2 or test_frame["admitted"].sum() < model_card.MIN_EVENTS:
        raise RiskModelError(f"{db}: too few emergency admissions to train and validate a model "
                             f"({int(train_frame['admitted'].sum())} and {int(test_frame['admitted'].sum())})")
    names = [c for c in train_frame.columns if c not in ("person_id", "admitted")]
    say(f"training on {len(train_frame):,} people")
    model = _fit(train_frame, names, seed)
    p = model.predict_proba(_as_model_input(test_frame, names))[:, 1]
    card = _card(db, model, names, train_frame, test_frame, p, train_as_of, validate_as_of, auditor.actor.user)
    trained = RiskModel(model, names, card)
    auditor.record(policy.DERIVE, f"risk model {card['model_id']} trained as of {train_as_of}, validated as of "
                   f"{validate_as_of}", people=len(set(train_frame.person_id) | set(test_frame.person_id)),
                   destination=f"{db} table {MODEL_TABLE}")
    _store(db, trained)
    return trained


def _card(db: Path, model: Any, names: list[str], train_frame: pd.DataFrame, test_frame: pd.DataFrame,
          p: np.ndarray, train_as_of: date, validate_as_of: date, trained_by: str) -> dict[str, Any]:
    y = test_frame["admitted"].to_numpy()
    validation = model_card.metrics(y, p)
    baselines = {name: model_card.metrics(y, q) for name, q in _baselines(train_frame, test_frame).items()}
    return {
        "model_id": uuid.uuid4().hex[:12], "name": NAME, "outcome": OUTCOME,
        "trained_at": datetime.now().isoformat(timespec="seconds"), "trained_by": trained_by,
        "store": str(db), "train_as_of": train_as_of.isoformat(), "validate_as_of": validate_as_of.isoformat(),
        "train_people": len(train_frame), "train_events": int(train_frame["admitted"].sum()),
        "model": "gradient-boosted trees (scikit-learn HistGradientBoostingClassifier, "
                 f"{model.calibrated_classifiers_[0].estimator.estimator.n_iter_} trees) with logistic recalibration "
                 "on a 20 % calibration split",
        "features": names, "validation": validation, "baselines": baselines,
        "subgroups": model_card.by_subgroup(test_frame, y, p),
        "standing": _standing(validation, baselines),
        "limits": LIMITS,
    }


LIMITS = [
    "Validated on the next year of the same system (temporal validation), not on another ICS.",
    "On the synthetic Kent and Medway the outcome is generated from age, frailty, long-term conditions, "
    "deprivation and a lasting personal tendency to use urgent care; a model trained on it learns those "
    "drivers, and its figures say how well they can be recovered, not how it would do on real records.",
    "People who die in the outcome year without an emergency admission count as not admitted (as in "
    "SPARRA); deaths are not a competing outcome here.",
    "A probability for a person is for planning and case finding with a clinician's review, never a decision "
    "on its own.",
]


def _standing(v: dict[str, Any], baselines: dict[str, dict[str, Any]]) -> str:
    auc = v["auroc"]
    where = "above" if auc > 0.80 else "within" if auc >= 0.76 else "below"
    best = max(baselines.items(), key=lambda kv: kv[1]["auroc"])
    return (f"AUROC {auc:.3f} on the held-out year: {where} the range of published models. "
            f"{model_card.PUBLISHED} The best simple baseline ({best[0]}) reaches {best[1]['auroc']:.3f}; the "
            f"model adds prior use of services (admissions, A&E, ambulance, bed days), which in real data and in "
            f"this synthetic data carries a person's lasting tendency to need urgent care. Calibration slope "
            f"{v['calibration_slope']:.2f} and intercept {v['calibration_intercept']:.2f} on the later year "
            f"(ideal 1 and 0): {'well calibrated' if abs(v['calibration_slope'] - 1) < 0.1 else 'recalibrate'} "
            f"for that year.")


def _store(db: Path, trained: RiskModel) -> None:
    from skops.io import dumps

    con = open_store(db)
    try:
        con.execute("BEGIN")
        con.execute(_MODEL_DDL)
        card = trained.card
        con.execute(f"INSERT INTO {MODEL_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [card["model_id"], datetime.fromisoformat(card["trained_at"]), card["trained_by"],
                     date.fromisoformat(card["train_as_of"]), date.fromisoformat(card["validate_as_of"]),
                     json.dumps(trained.feature_names), dumps(trained.model), json.dumps(card, default=_plain)])
        con.execute("COMMIT")
    finally:
        con.close()


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


def latest(con: Any) -> RiskModel | None:
    """The most recently trained model in the store, or None."""
    from skops.io import get_untrusted_types, loads

    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                         [MODEL_TABLE]).fetchone()[0]
    if not exists:
        return None
    row = con.execute(f"SELECT features, model, card FROM {MODEL_TABLE} ORDER BY trained_at DESC LIMIT 1").fetchone()
    if row is None:
        return None
    blob = bytes(row[1])
    untrusted = set(get_untrusted_types(data=blob)) - set(TRUSTED)
    if untrusted:
        raise StoreError(f"the stored risk model holds types icsys does not trust: {', '.join(sorted(untrusted))}")
    return RiskModel(loads(blob, trusted=TRUSTED), json.loads(row[0]), json.loads(row[2]))


def score(backend: Any, trained: RiskModel, as_of: date, parts: dict[str, Any] | None = None) -> pd.DataFrame:
    """person_id, risk_emergency_admission_12m for everyone registered on as_of."""
    frame = features(backend, as_of, parts).order_by("person_id").execute()
    p = trained.model.predict_proba(_as_model_input(frame, trained.feature_names))[:, 1]
    return pd.DataFrame({"person_id": frame["person_id"], "risk_emergency_admission_12m": p})
