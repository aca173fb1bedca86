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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from icsys.access import Auditor, policy
from icsys.dataset.schema import DERIVED_TABLES
from icsys.dataset.store import StoreError, table_ddl
from icsys.errors import InputError
from icsys.population.risk_features import ETHNIC_GROUP, OUTCOME, features, outcome

# pandas, scikit-learn, skops and the model card (scipy) are imported where they are used: scoring with a
# stored model needs none of them, and importing them takes longer than scoring everyone (issue 8).
if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from icsys.dataset.store import Store

MODEL_TABLE = "risk_model"
NAME = "Emergency admission in the next 12 months"
YEAR = timedelta(days=365)
ETHNIC_GROUPS = sorted(set(ETHNIC_GROUP.values()))
_MODEL_DDL = table_ddl(DERIVED_TABLES["risk_model"])
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


@dataclass
class Scorer:
    """A model ready to score: `predict` takes the predictors (name -> NumPy values, as `feature_columns`
    gives them) and returns each person's probability of the outcome."""

    feature_names: list[str]
    card: dict[str, Any]
    predict: Callable[[dict[str, np.ndarray]], np.ndarray]


def _as_model_input(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    import pandas as pd

    x = frame[names].copy()
    x["ethnic_group"] = pd.Categorical(x["ethnic_group"], categories=ETHNIC_GROUPS)
    return x.astype({c: "float64" for c in names if c != "ethnic_group"})


def training_frame(backend: Any, as_of: date) -> pd.DataFrame:
    """Predictors on as_of and the outcome in the year after, one row per registered person."""
    people = features(backend, as_of)
    return people.join(outcome(backend, people, as_of), "person_id").order_by("person_id").execute()


def data_period(backend: Any) -> tuple[date, date]:
    """First and last day of hospital activity in the store (the outcome's table)."""
    import pandas as pd

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
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

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
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, SplineTransformer

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


def train(store: Store, train_as_of: date | None = None, validate_as_of: date | None = None, seed: int = 42,
          say: Any = print, *, auditor: Auditor) -> RiskModel:
    """Train, validate, store (in a transaction of its own, or the caller's) and return the model with its
    card; the auditor records who trained it on how many people's records."""
    from icsys.population import model_card

    policy.require(auditor.actor, policy.DERIVE)
    backend = store.backend
    first, last = data_period(backend)
    default_train, default_validate = default_dates(first, last)
    train_as_of, validate_as_of = train_as_of or default_train, validate_as_of or default_validate
    check_dates(train_as_of, validate_as_of, first, last)
    say(f"reading predictors and outcomes for {train_as_of} and {validate_as_of}")
    train_frame, test_frame = training_frame(backend, train_as_of), training_frame(backend, validate_as_of)
    if train_frame["admitted"].nunique() < 2 or test_frame["admitted"].sum() < model_card.MIN_EVENTS:
        raise RiskModelError(f"{store.location}: too few emergency admissions to train and validate a model "
                             f"({int(train_frame['admitted'].sum())} and {int(test_frame['admitted'].sum())})")
    names = [c for c in train_frame.columns if c not in ("person_id", "admitted")]
    say(f"training on {len(train_frame):,} people")
    model = _fit(train_frame, names, seed)
    p = model.predict_proba(_as_model_input(test_frame, names))[:, 1]
    card = _card(store, model, names, train_frame, test_frame, p, train_as_of, validate_as_of, auditor.actor.user)
    trained = RiskModel(model, names, card)
    auditor.record(policy.DERIVE, f"risk model {card['model_id']} trained as of {train_as_of}, validated as of "
                   f"{validate_as_of}", people=len(set(train_frame.person_id) | set(test_frame.person_id)),
                   destination=f"{store.location} table {MODEL_TABLE}")
    _store(store, trained)
    return trained


def _card(store: Store, model: Any, names: list[str], train_frame: pd.DataFrame, test_frame: pd.DataFrame,
          p: np.ndarray, train_as_of: date, validate_as_of: date, trained_by: str) -> dict[str, Any]:
    from icsys.population import model_card

    y = test_frame["admitted"].to_numpy()
    validation = model_card.metrics(y, p)
    predicted = _baselines(train_frame, test_frame)
    baselines = {name: model_card.metrics(y, q) for name, q in predicted.items()}
    subgroups = model_card.by_subgroup(test_frame, y, p)
    gain = model_card.gain_over(test_frame, y, p, predicted["age and sex"])
    return {
        "model_id": uuid.uuid4().hex[:12], "name": NAME, "outcome": OUTCOME,
        "trained_at": datetime.now().isoformat(timespec="seconds"), "trained_by": trained_by,
        "store": store.location, "train_as_of": train_as_of.isoformat(), "validate_as_of": validate_as_of.isoformat(),
        "train_people": len(train_frame), "train_events": int(train_frame["admitted"].sum()),
        "model": "gradient-boosted trees (scikit-learn HistGradientBoostingClassifier, "
                 f"{model.calibrated_classifiers_[0].estimator.estimator.n_iter_} trees) with logistic recalibration "
                 "on a 20 % calibration split",
        "features": names, "validation": validation, "baselines": baselines,
        "subgroups": subgroups, "gain": gain,
        "standing": model_card.standing(validation, baselines, subgroups, gain),
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


def _store(store: Store, trained: RiskModel) -> None:
    import pyarrow as pa
    from skops.io import dumps

    card = trained.card
    row = pa.table({
        "model_id": [card["model_id"]], "trained_at": [datetime.fromisoformat(card["trained_at"])],
        "trained_by": [card["trained_by"]], "train_as_of": [date.fromisoformat(card["train_as_of"])],
        "validate_as_of": [date.fromisoformat(card["validate_as_of"])],
        "features": [json.dumps(trained.feature_names)], "model": pa.array([dumps(trained.model)], pa.binary()),
        "card": [json.dumps(card, default=_plain)]})
    with store.transaction() as tx:
        if tx.engine == "duckdb":
            tx.con.execute(_MODEL_DDL)
        tx.write_table(MODEL_TABLE, row, mode="append")


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


def latest(store: Store) -> RiskModel | None:
    """The most recently trained model in the store, loaded with skops (its trusted types only), or None."""
    row = _latest_row(store)
    return None if row is None else RiskModel(_load(row["model"]), row["features"], row["card"])


def latest_scorer(store: Store) -> Scorer | None:
    """The most recently trained model in the store, ready to score, or None. A model of the kind `train`
    stores is read without scikit-learn (risk_scoring: the same arithmetic, the same probabilities); any
    other is loaded with skops."""
    from icsys.population import risk_scoring

    row = _latest_row(store)
    if row is None:
        return None
    try:
        trees = risk_scoring.from_skops(row["model"])
    except risk_scoring.Unreadable:
        return scorer(RiskModel(_load(row["model"]), row["features"], row["card"]))
    if trees.feature_names != row["features"]:
        raise StoreError(f"the stored risk model {row['card'].get('model_id')} was trained on other predictors "
                         "than its row names")
    return Scorer(row["features"], row["card"], trees.predict)


def scorer(trained: RiskModel) -> Scorer:
    """A model in memory (scikit-learn's) as a Scorer."""
    from threadpoolctl import threadpool_limits

    def predict(columns: dict[str, np.ndarray]) -> np.ndarray:
        import pandas as pd

        x = _as_model_input(pd.DataFrame(columns), trained.feature_names)
        with threadpool_limits(limits=1 if len(x) < 200_000 else None):  # as in _fit: idle threads cost more
            return trained.model.predict_proba(x)[:, 1]

    return Scorer(trained.feature_names, trained.card, predict)


def _latest_row(store: Store) -> dict[str, Any] | None:
    if not store.has_table(MODEL_TABLE):
        return None
    models = store.table(MODEL_TABLE)
    rows = models.order_by(models.trained_at.desc()).limit(1).select("features", "model", "card").to_pyarrow()
    if rows.num_rows == 0:
        return None
    row = rows.to_pylist()[0]
    return {"features": json.loads(row["features"]), "model": bytes(row["model"]), "card": json.loads(row["card"])}


def _load(blob: bytes) -> Any:
    from skops.io import get_untrusted_types, loads

    untrusted = set(get_untrusted_types(data=blob)) - set(TRUSTED)
    if untrusted:
        raise StoreError(f"the stored risk model holds types icsys does not trust: {', '.join(sorted(untrusted))}")
    return loads(blob, trusted=TRUSTED)


def feature_columns(table: pa.Table, names: list[str]) -> dict[str, np.ndarray]:
    """The predictors of Arrow rows as the model takes them: numbers as float64 (missing: NaN), the
    ethnic group as strings (missing: None)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return {name: (table[name].to_numpy(zero_copy_only=False) if name == "ethnic_group"
                   else pc.cast(table[name], pa.float64()).to_numpy(zero_copy_only=False)) for name in names}


def scores(backend: Any, model: Scorer, as_of: date, parts: dict[str, Any] | None = None) -> pa.Table:
    """person_id, risk_emergency_admission_12m for everyone registered on as_of, read as Arrow (not pandas:
    a second frame of everyone's predictors is time scoring does not need), in person_id order."""
    import pyarrow as pa

    rows = features(backend, as_of, parts).order_by("person_id").to_pyarrow()
    p = model.predict(feature_columns(rows, model.feature_names))
    return pa.table({"person_id": rows["person_id"], "risk_emergency_admission_12m": p})


def score(backend: Any, trained: RiskModel, as_of: date, parts: dict[str, Any] | None = None) -> pd.DataFrame:
    """person_id, risk_emergency_admission_12m for everyone registered on as_of, scored by scikit-learn."""
    from threadpoolctl import threadpool_limits

    frame = features(backend, as_of, parts).order_by("person_id").execute()
    with threadpool_limits(limits=1 if len(frame) < 200_000 else None):  # as in _fit: idle threads cost more
        p = trained.model.predict_proba(_as_model_input(frame, trained.feature_names))[:, 1]
    return frame[["person_id"]].assign(risk_emergency_admission_12m=p)
