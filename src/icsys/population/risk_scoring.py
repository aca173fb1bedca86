"""Scoring people with the stored risk model without importing scikit-learn (issue 8: start-up out of the
hot path). Importing skops and scikit-learn takes longer than scoring everyone, so `stratify` reads the
stored model's numbers itself: the skops file is a zip of a JSON description (schema.json) and NumPy arrays
(.npy). Nothing in it is run or unpickled: JSON is parsed, arrays are read with allow_pickle=False, and the
classes named must be those of the model icsys trains (else `Unreadable`, and the caller loads the model
with skops and its trusted types, which refuses anything else).

The arithmetic is scikit-learn's own, step for step, so the probabilities are identical to
`model.predict_proba` (tests/population/test_risk_scoring.py holds them equal, bit for bit):
- HistGradientBoostingClassifier: the ordinal encoding of the categorical predictors (their categories in
  the order learnt; unknown or missing is NaN), placed before the numeric ones as its ColumnTransformer
  places them; each tree walked as `_predictor.pyx` walks it (NaN goes the node's missing side, a category
  left if in the node's bitset, right if known, else the missing side; a number left if <= the threshold);
  the raw score the baseline plus each tree's leaf value, added in tree order.
- the sigmoid (Platt) recalibration: expit(-(a * raw + b)), expit as scipy computes it.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

SKOPS_PROTOCOL = 2
# The scikit-learn releases whose prediction this module repeats (its test holds them equal); a model saved by
# another is loaded with skops, so an upgrade cannot change a score unnoticed.
SKLEARN_RELEASES = ("1.9.",)
_HGB = "sklearn.ensemble._hist_gradient_boosting"
# The classes a stored model of icsys is made of (its objects' __module__.__class__ in schema.json).
KNOWN_CLASSES = {
    "sklearn.calibration.CalibratedClassifierCV", "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration", "sklearn.frozen._frozen.FrozenEstimator",
    f"{_HGB}.gradient_boosting.HistGradientBoostingClassifier", f"{_HGB}.predictor.TreePredictor",
    f"{_HGB}.binning._BinMapper", "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.preprocessing._encoders.OrdinalEncoder", "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.preprocessing._label.LabelEncoder", "sklearn._loss.loss.HalfBinomialLoss", "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
}
# What else it holds, named in schema.json and never loaded: none of it is needed to score.
OPAQUE = {
    "FunctionNode": {"sklearn.utils.validation.check_array"}, "PartialNode": {"functools.partial"},
    "LossNode": {"sklearn._loss._loss.CyHalfBinomialLoss"},
    "RandomGeneratorNode": {"numpy.random._generator.Generator"}, "SliceNode": {"builtins.slice"},
    "TypeNode": None,  # a dtype or a key's type: any is harmless unloaded
}


class Unreadable(Exception):
    """The stored model is not one this reader knows (another format or kind of model): load it with skops."""


@dataclass(frozen=True)
class TreeScorer:
    """A fitted HistGradientBoostingClassifier with sigmoid recalibration, as plain arrays."""

    feature_names: list[str]  # the model's input columns, in its order
    internal: list[int]  # the trees' column i is input column internal[i] (categorical ones first)
    categories: dict[int, list[str]]  # input column -> its categories, in the encoder's order
    baseline: float
    trees: list[tuple[np.ndarray, np.ndarray]]  # each tree's nodes and left-category bitsets
    known_bitsets: np.ndarray  # known categories of each categorical predictor
    bitset_of: np.ndarray  # tree column -> its row of known_bitsets
    a: float
    b: float

    def raw(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """The trees' raw score (log odds before recalibration) of each row of `columns` (name -> values:
        numbers as float64 with NaN for missing, categories as strings or None)."""
        x = [self._column(self.feature_names[i], i, columns) for i in self.internal]
        gaps = [bool(np.isnan(column).any()) for column in x]  # columns with a missing value somewhere
        n = len(x[0]) if x else 0
        raw = np.zeros(n)
        raw += self.baseline
        for nodes, left_bitsets in self.trees:
            raw += self._tree(nodes, left_bitsets, x, gaps, n)
        return raw

    def predict(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """The probability of the outcome for each row, as CalibratedClassifierCV.predict_proba(X)[:, 1]."""
        z = -(self.a * self.raw(columns) + self.b)
        return np.fromiter(map(_expit, z.tolist()), dtype=np.float64, count=len(z))

    def _column(self, name: str, i: int, columns: dict[str, np.ndarray]) -> np.ndarray:
        values = columns[name]
        if i not in self.categories:
            return np.asarray(values, dtype=np.float64)
        code = {c: float(k) for k, c in enumerate(self.categories[i])}
        return np.array([code.get(v, np.nan) for v in values], dtype=np.float64)

    def _tree(self, nodes: np.ndarray, left_bitsets: np.ndarray, x: list[np.ndarray], gaps: list[bool],
              n: int) -> np.ndarray:
        """Each row's leaf value, found by sending the rows at each node to its left and right child."""
        out = np.empty(n)
        stack = [(0, np.arange(n))]
        while stack:
            index, rows = stack.pop()
            node = nodes[index]
            if node["is_leaf"]:
                out[rows] = node["value"]
                continue
            value = x[node["feature_idx"]][rows]
            if not gaps[node["feature_idx"]] and not node["is_categorical"]:  # the common case, made quick
                left = value <= node["num_threshold"]
                stack.append((int(node["right"]), rows[~left]))
                stack.append((int(node["left"]), rows[left]))
                continue
            missing = np.isnan(value)
            to_missing_side = bool(node["missing_go_to_left"])
            if node["is_categorical"]:
                code = np.where(missing | (value < 0), 0, value).astype(np.uint8)
                in_left = _in_bitset(left_bitsets[node["bitset_idx"]], code)
                known = _in_bitset(self.known_bitsets[self.bitset_of[node["feature_idx"]]], code)
                as_missing = missing | (value < 0) | (~in_left & ~known)
                left = np.where(as_missing, to_missing_side, in_left)
            else:
                left = (value <= node["num_threshold"]) | (missing & to_missing_side)
            stack.append((int(node["right"]), rows[~left]))
            stack.append((int(node["left"]), rows[left]))
        return out


def _expit(z: float) -> float:
    """scipy.special.expit(z), 1 / (1 + exp(-z)), to the last digit: the C library's exp, as scipy's (NumPy's
    own vectorised exp differs in the last digit on some processors; importing scipy takes longer than this)."""
    try:
        return 1.0 / (1.0 + math.exp(-z))
    except OverflowError:  # exp(-z) is infinite in C
        return 0.0


def _in_bitset(bitset: np.ndarray, values: np.ndarray) -> np.ndarray:
    return ((bitset[values // 32] >> (values % 32)) & 1).astype(bool)


def from_skops(blob: bytes) -> TreeScorer:
    """The scorer of a model stored by `risk.train` (skops bytes); Unreadable if it is not such a model."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        schema = json.loads(archive.read("schema.json"))
        if schema.get("protocol") != SKOPS_PROTOCOL:
            raise Unreadable(f"skops protocol {schema.get('protocol')}")
        return _scorer(_decode(schema, archive))
    except Unreadable:
        raise
    except (zipfile.BadZipFile, KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise Unreadable(f"{type(exc).__name__}: {exc}") from exc


def _decode(node: dict[str, Any], archive: zipfile.ZipFile) -> Any:
    """A schema.json node as plain data: objects and dicts as dicts, lists and tuples as lists, arrays as
    NumPy arrays, what is OPAQUE as its name. Anything else (an unknown class or function) is Unreadable."""
    loader = node["__loader__"]
    name = f"{node['__module__']}.{node['__class__']}"
    if loader in OPAQUE:
        known = OPAQUE[loader]
        if known is not None and name not in known:
            raise Unreadable(f"a {name}")
        if loader == "PartialNode":
            _decode(node["content"]["func"], archive)  # what it wraps must be known too
        return name
    if loader == "JsonNode":
        return json.loads(node["content"])
    if loader == "NdArrayNode":
        if node["type"] == "numpy":
            with archive.open(node["file"]) as handle:
                return np.load(handle, allow_pickle=False)
        if node["type"] == "json":
            return np.array([_decode(v, archive) for v in node["content"]], dtype=object)
        raise Unreadable(f"array stored as {node['type']}")
    if loader in ("ListNode", "TupleNode"):
        return [_decode(v, archive) for v in node["content"]]
    if loader == "DictNode":
        return {key: _decode(v, archive) for key, v in node["content"].items()}
    if loader == "ObjectNode" and name in KNOWN_CLASSES:
        state = _decode(node["content"], archive) if "content" in node else None
        return {"__class__": name, **(state if isinstance(state, dict) else {"__state__": state})}
    raise Unreadable(f"a {name} ({loader})")


def _scorer(model: dict[str, Any]) -> TreeScorer:
    if model["__class__"] != "sklearn.calibration.CalibratedClassifierCV" or model["method"] != "sigmoid":
        raise Unreadable(f"a {model['__class__']}")
    (calibrated,) = model["calibrated_classifiers_"]
    (calibrator,) = calibrated["calibrators"]
    trees = calibrated["estimator"]["estimator"]
    if trees["__class__"] != f"{_HGB}.gradient_boosting.HistGradientBoostingClassifier":
        raise Unreadable(f"a {trees['__class__']}")
    if not str(trees.get("_sklearn_version")).startswith(SKLEARN_RELEASES):
        raise Unreadable(f"saved by scikit-learn {trees.get('_sklearn_version')}")
    if trees["n_trees_per_iteration_"] != 1 or list(trees["classes_"]) != [0, 1]:
        raise Unreadable("not a binary classifier")
    names = [str(v) for v in trees["feature_names_in_"]]
    categorical = np.asarray(trees["is_categorical_"], dtype=bool) if trees["is_categorical_"] is not None else (
        np.zeros(len(names), dtype=bool))
    # The ColumnTransformer puts the encoded categorical columns first, then the numeric ones, each in order.
    internal = [i for i in range(len(names)) if categorical[i]] + [i for i in range(len(names)) if not categorical[i]]
    categories: dict[int, list[str]] = {}
    if categorical.any():
        encoder = next(t[1] for t in trees["_preprocessor"]["transformers_"] if t[0] == "encoder")
        if encoder["handle_unknown"] != "use_encoded_value" or not np.isnan(encoder["unknown_value"]):
            raise Unreadable("an encoder of unknown categories other than NaN")
        for i, found in zip(np.flatnonzero(categorical), encoder["categories_"], strict=True):
            categories[int(i)] = [str(v) for v in found]
    return TreeScorer(
        feature_names=names, internal=internal, categories=categories,
        baseline=float(np.asarray(trees["_baseline_prediction"]).reshape(-1)[0]),
        trees=[(p["nodes"], p["raw_left_cat_bitsets"]) for (p,) in trees["_predictors"]],
        **_known_bitsets(trees["_bin_mapper"]),
        a=float(calibrator["a_"]), b=float(calibrator["b_"]))


def _known_bitsets(bin_mapper: dict[str, Any]) -> dict[str, np.ndarray]:
    """As _BinMapper.make_known_categories_bitsets: the known categories of each categorical column."""
    categorical = np.flatnonzero(np.asarray(bin_mapper["is_categorical_"], dtype=bool))
    bitset_of = np.zeros(len(bin_mapper["is_categorical_"]), dtype=np.uint32)
    bitset_of[categorical] = np.arange(len(categorical), dtype=np.uint32)
    known = np.zeros((len(categorical), 8), dtype=np.uint32)
    for row, column in enumerate(categorical):
        for value in np.asarray(bin_mapper["bin_thresholds_"][column]).astype(np.uint8):
            known[row, value // 32] |= np.uint32(1) << np.uint32(value % 32)
    return {"known_bitsets": known, "bitset_of": bitset_of}
