"""The shared clinical definitions: their codes are the schema's, and they answer alike on DuckDB (through Ibis)
and on pandas, as the NHS Data Dictionary reads them."""

from __future__ import annotations

import ibis
import pandas as pd

from icsys.dataset import definitions as d
from icsys.dataset.schema import ADMISSION_METHOD, AE_DEPARTMENT_TYPE, DISCHARGE_DESTINATION, PATIENT_CLASSIFICATION

METHODS = ["11", "12", "13", "21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28", "31", "32", "81", None]
EMERGENCY = [False] * 3 + [True] * 10 + [False] * 3


def test_every_code_is_in_the_schema() -> None:
    methods = (d.ELECTIVE_ADMISSION_METHODS + d.EMERGENCY_ADMISSION_METHODS + d.MATERNITY_ADMISSION_METHODS
               + d.TRANSFER_ADMISSION_METHODS + d.OTHER_ADMISSION_METHODS)
    assert sorted(methods) == sorted(ADMISSION_METHOD)  # and between them they cover every method
    assert {d.ORDINARY_ADMISSION, *d.REGULAR_ATTENDER_CLASSIFICATIONS} <= set(PATIENT_CLASSIFICATION)
    assert d.TYPE_1_AE in AE_DEPARTMENT_TYPE
    assert {d.DIED, *d.CARE_HOME_DESTINATIONS} <= set(DISCHARGE_DESTINATION)


def test_the_same_answer_on_duckdb_and_pandas() -> None:
    frame = pd.DataFrame({"admission_method": METHODS})
    table = ibis.duckdb.connect().create_table("spell", frame)
    on_duckdb = table.select(e=d.emergency_admission(table.admission_method),
                             el=d.elective_admission(table.admission_method),
                             m=d.maternity_admission(table.admission_method)).to_pandas()
    assert on_duckdb["e"].tolist()[:-1] == EMERGENCY
    assert pd.isna(on_duckdb["e"].iloc[-1])  # unknown in SQL: a filter keeps no such row
    assert d.emergency_admission(frame["admission_method"]).tolist()[:-1] == EMERGENCY
    assert on_duckdb["el"].tolist()[:-1] == [True] * 3 + [False] * 13
    assert d.maternity_admission(frame["admission_method"]).tolist() == [False] * 13 + [True] * 2 + [False] * 2
    assert not d.emergency_admission(frame["admission_method"]).iloc[-1]  # a missing method is no emergency
