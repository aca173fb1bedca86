"""`icsys population stratify`: one row per registered person of measures, written as the table
`person_measures` beside the dataset (the dataset itself is only read)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from icsys.access import Auditor, policy
from icsys.dataset.store import connect
from icsys.population import frailty as efi2_frailty
from icsys.population import measures, risk

RESULT_TABLE = "person_measures"


def person_measures(backend: Any, as_of: date, parts: dict[str, Any] | None = None) -> Any:
    """The Ibis expression of person_measures on `backend` (DuckDB or Spark), all but the risk score,
    which comes from the stored model (`stratify`). `parts` are measures.basics(), if worked out."""
    parts = parts or measures.basics(backend, as_of)
    events, medication = backend.table("clinical_event"), backend.table("medication")
    people, frailty, ltc = parts["people"], parts["frailty"], parts["ltc"]
    flags = measures.case_finding(people, events, medication, ltc, as_of)
    segment = measures.segments(people, events, backend.table("inpatient_spell"), frailty, ltc, as_of)
    weighted = efi2_frailty.efi2(people, events, medication, as_of)
    base = people.select("person_id", "practice_code", "sex", "birth_date", "ethnicity", "imd_decile")
    return (base.join(frailty, "person_id").join(ltc, "person_id").join(parts["cms"], "person_id")
            .join(segment, "person_id").join(flags, "person_id").join(weighted, "person_id")
            .mutate(as_of=ibis.literal(as_of)).order_by("person_id"))


def stored_basics(backend: Any, as_of: date) -> dict[str, Any]:
    """measures.basics() worked out once into temporary tables of the connection."""
    parts = measures.basics(backend, as_of)
    for name in ("frailty", "ltc", "cms", "conditions"):
        backend.create_table(f"_stratify_{name}", parts[name], temp=True, overwrite=True)
        parts[name] = backend.table(f"_stratify_{name}")
    return parts


def risk_columns(scores: pd.DataFrame) -> pd.DataFrame:
    """The risk and where it places a person: `risk_top_percent` is the smallest top share of the
    registered population (in %) that includes them, so a list of the top 0.5 % is `<= 0.5`."""
    rank = scores["risk_emergency_admission_12m"].rank(method="min", ascending=False)
    return scores.assign(risk_top_percent=(100 * rank / len(scores)).round(4))


def stratify(db: Path, as_of: date, retrain: bool = False, say: Callable[[str], None] = print, *,
             auditor: Auditor) -> int:
    """Compute and store person_measures; return how many people it covers. The risk model stored in
    the store is used; one is trained (with its model card) if there is none or `retrain` is set. If
    none can be trained (too little data), the risk columns are left empty and the reason is said. The
    derivation of person-level rows is recorded by the auditor."""
    policy.require(auditor.actor, policy.DERIVE)
    backend = connect(db, read_only=False)
    try:
        trained = None if retrain else risk.latest(backend.con)
        if trained is None:
            backend.disconnect()
            trained = _train(db, retrain, say, auditor)
            backend = connect(db, read_only=False)
        parts = stored_basics(backend, as_of)
        expr = person_measures(backend, as_of, parts)
        if trained is None:
            expr = expr.mutate(risk_emergency_admission_12m=ibis.null("float64"), risk_top_percent=ibis.null("float64"))
        else:
            scores = ibis.memtable(risk_columns(risk.score(backend, trained, as_of, parts)))
            expr = expr.left_join(scores, "person_id").drop("person_id_right").order_by("person_id")
        backend.create_table(RESULT_TABLE, expr, overwrite=True)
        people = int(backend.table(RESULT_TABLE).count().execute())
        auditor.record(policy.DERIVE, f"{RESULT_TABLE} as of {as_of}", people=people,
                       destination=f"{db} table {RESULT_TABLE}")
        return people
    finally:
        backend.disconnect()


def _train(db: Path, retrain: bool, say: Callable[[str], None], auditor: Auditor) -> risk.RiskModel | None:
    say("retraining the risk model" if retrain else "no risk model in the store yet: training one")
    try:
        trained = risk.train(Path(db), say=say, auditor=auditor)
    except risk.RiskModelError as exc:
        if retrain:
            raise
        say(f"no risk model could be trained ({exc}); the risk columns are left empty")
        return None
    say(f"risk model {trained.card['model_id']}: AUROC {trained.card['validation']['auroc']:.3f} "
        f"on the held-out year (see `icsys population model-card --db {db}`)")
    return trained
