"""`icsys population stratify`: one row per registered person of measures, written as the table
`person_measures` beside the dataset (the dataset itself is only read)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np

from icsys.access import Auditor, policy
from icsys.population import frailty as efi2_frailty
from icsys.population import measures, risk

if TYPE_CHECKING:
    import pyarrow as pa

    from icsys.dataset.store import Store

RESULT_TABLE = "person_measures"


def person_measures(backend: Any, as_of: date, parts: dict[str, Any] | None = None,
                    keep: Callable[[str, Any], Any] | None = None) -> Any:
    """The Ibis expression of person_measures on `backend` (DuckDB or Spark), all but the risk score,
    which comes from the stored model (`stratify`). `parts` are measures.basics(), if worked out; `keep`
    stores each measure before they are joined (as `stored_basics`)."""
    keep = keep or (lambda _name, table: table)
    parts = parts or measures.basics(backend, as_of)
    events, medication = backend.table("clinical_event"), backend.table("medication")
    people, frailty, ltc = parts["people"], parts["frailty"], parts["ltc"]
    flags = keep("case_finding", measures.case_finding(people, events, medication, ltc, as_of))
    segment = keep("segment", measures.segments(people, events, backend.table("inpatient_spell"), frailty, ltc, as_of))
    weighted = keep("efi2", efi2_frailty.efi2(people, events, medication, as_of))
    base = people.select("person_id", "practice_code", "sex", "birth_date", "ethnicity", "imd_decile")
    return (base.join(frailty, "person_id").join(ltc, "person_id").join(parts["cms"], "person_id")
            .join(segment, "person_id").join(flags, "person_id").join(weighted, "person_id")
            .mutate(as_of=ibis.literal(as_of)).order_by("person_id"))


def stored_basics(store: Store, as_of: date) -> dict[str, Any]:
    """measures.basics() worked out once into temporary tables of the connection."""
    return measures.basics(store.backend, as_of, keep=_keeper(store))


def _keeper(store: Store) -> Callable[[str, Any], Any]:
    """Each part worked out once into a temporary table: Ibis compiles many small queries far faster than
    one that holds them all, and a part used twice is not worked out twice."""
    return lambda name, table: store.temporary(f"_stratify_{name}", table)


def risk_columns(scores: pa.Table) -> pa.Table:
    """The risk and where it places a person: `risk_top_percent` is the smallest top share of the
    registered population (in %) that includes them, so a list of the top 0.5 % is `<= 0.5`."""
    import pyarrow as pa

    p = scores["risk_emergency_admission_12m"].to_numpy()
    return scores.append_column("risk_top_percent", pa.array(np.round(100 * rank_descending(p) / len(p), 4)))


def rank_descending(values: np.ndarray) -> np.ndarray:
    """1 for the highest value, tied values sharing their best rank (SQL RANK(), pandas method="min")."""
    order = np.argsort(-values, kind="stable")
    ordered = values[order]
    first_of_tie = np.r_[True, ordered[1:] != ordered[:-1]]
    best = np.maximum.accumulate(np.where(first_of_tie, np.arange(1, len(values) + 1, dtype=np.float64), 0))
    rank = np.empty(len(values))
    rank[order] = best
    return rank


def stratify(store: Store, as_of: date, retrain: bool = False, say: Callable[[str], None] = print, *,
             auditor: Auditor) -> int:
    """Compute and store person_measures; return how many people it covers. The risk model stored in
    the store is used; one is trained (with its model card) if there is none or `retrain` is set. If
    none can be trained (too little data), the risk columns are left empty and the reason is said.
    Everything is written in one transaction: a new model and person_measures are published together.
    The derivation of person-level rows is recorded by the auditor before it is published."""
    policy.require(auditor.actor, policy.DERIVE)
    with store.transaction() as tx:
        model = None if retrain else risk.latest_scorer(tx)
        if model is None:
            trained = _train(tx, retrain, say, auditor)
            model = None if trained is None else risk.scorer(trained)
        parts = stored_basics(tx, as_of)
        expr = person_measures(tx.backend, as_of, parts, keep=_keeper(tx))
        if model is None:
            expr = expr.mutate(risk_emergency_admission_12m=ibis.null("float64"), risk_top_percent=ibis.null("float64"))
        else:
            scores = ibis.memtable(risk_columns(risk.scores(tx.backend, model, as_of, parts)))
            expr = expr.left_join(scores, "person_id").drop("person_id_right").order_by("person_id")
        tx.write_table(RESULT_TABLE, expr)
        people = int(tx.table(RESULT_TABLE).count().execute())
        auditor.record(policy.DERIVE, f"{RESULT_TABLE} as of {as_of}", people=people,
                       destination=f"{store.location} table {RESULT_TABLE}")
        return people


def _train(store: Store, retrain: bool, say: Callable[[str], None], auditor: Auditor) -> risk.RiskModel | None:
    say("retraining the risk model" if retrain else "no risk model in the store yet: training one")
    try:
        trained = risk.train(store, say=say, auditor=auditor)
    except risk.RiskModelError as exc:
        if retrain:
            raise
        say(f"no risk model could be trained ({exc}); the risk columns are left empty")
        return None
    say(f"risk model {trained.card['model_id']}: AUROC {trained.card['validation']['auroc']:.3f} "
        f"on the held-out year (see `icsys population model-card --db {store.location}`)")
    return trained
