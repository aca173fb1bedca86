"""Spec tests for the Cambridge Multimorbidity Score: tiny records, the published weights (Payne et al.,
CMAJ 2020, 20-condition general-outcome score) added up by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_measures import build, person

from icsys.codes import codelists
from icsys.population.multimorbidity import cambridge_score

CMS = codelists("cambridge_multimorbidity")
PAIN = codelists("medications")["pain"][0]
# Published weights, copied from the paper's appendix: the data file must hold these.
PUBLISHED = {"hypertension": 0.08, "anxiety_depression": 0.50, "painful_condition": 0.92, "hearing_loss": 0.09,
             "irritable_bowel_syndrome": 0.21, "asthma": 0.19, "diabetes": 0.75, "coronary_heart_disease": 0.49,
             "chronic_kidney_disease": 0.53, "atrial_fibrillation": 1.34, "constipation": 1.12, "stroke_tia": 0.80,
             "copd": 1.46, "connective_tissue_disorder": 0.43, "cancer": 1.53, "alcohol_problems": 0.65,
             "schizophrenia_bipolar": 0.64, "heart_failure": 1.18, "dementia": 2.50, "epilepsy": 0.92}


def test_weights_are_the_published_ones() -> None:
    assert {c.name: c.weight for c in cambridge_score().condition} == PUBLISHED


def code(pid: int, condition: str, day: date = date(2015, 1, 1)) -> tuple:
    return (pid, day, CMS[condition][0], None)


def test_score_adds_the_weights_of_conditions_present(tmp_path: Path) -> None:
    events = [code(1, "hypertension"), code(1, "dementia"), code(1, "dementia"),  # counted once
              code(2, "copd"), code(2, "heart_failure"), code(2, "hearing_loss"),
              code(3, "schizophrenia_bipolar", date(2025, 6, 1))]                 # after the date: not yet
    out = build(tmp_path, [person(1), person(2), person(3), person(4)], events)
    assert out[1]["cambridge_score"] == pytest.approx(0.08 + 2.50)
    assert out[2]["cambridge_score"] == pytest.approx(1.46 + 1.18 + 0.09)
    assert out[3]["cambridge_score"] == 0 and out[4]["cambridge_score"] == 0


def test_cancer_counts_for_five_years(tmp_path: Path) -> None:
    events = [code(1, "cancer", date(2021, 1, 1)), code(2, "cancer", date(2019, 1, 1))]
    out = build(tmp_path, [person(1), person(2)], events)
    assert out[1]["cambridge_score"] == pytest.approx(1.53) and out[2]["cambridge_score"] == 0


def test_painful_condition_is_four_issues_of_pain_medicines_in_the_year(tmp_path: Path) -> None:
    meds = [(1, date(2024, m, 1), PAIN) for m in (4, 6, 8, 10)] + [(2, date(2024, m, 1), PAIN) for m in (4, 6, 8)]
    meds += [(3, date(2023, m, 1), PAIN) for m in (4, 6, 8, 10)]  # over a year before the date
    out = build(tmp_path, [person(1), person(2), person(3)], meds=meds)
    assert [out[p]["cambridge_score"] for p in (1, 2, 3)] == [pytest.approx(0.92), 0, 0]
