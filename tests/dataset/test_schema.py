"""The schema is the single source of truth: it must be internally consistent."""

import duckdb
import pytest

from icsys.dataset.schema import SYSTEM_REFERENCES, TABLES, table
from icsys.dataset.store import create_schema


@pytest.mark.parametrize("name", TABLES)
def test_table_is_consistent(name: str) -> None:
    t = TABLES[name]
    assert t.primary_key in t.column_names
    assert len(set(t.column_names)) == len(t.column_names), "duplicate column names"
    for earlier, later in t.in_order:
        assert t.column(earlier).type in ("date", "timestamp")
        assert t.column(later).type in ("date", "timestamp")
    for col in t.columns:
        assert col.description.strip()
        if col.codes is not None:
            assert col.codes and all(k and v for k, v in col.codes.items())
        if col.references:
            kind, _, target = col.references.partition(":")
            if kind == "system":
                assert target in SYSTEM_REFERENCES
            else:
                ref_table, ref_col = col.references.split(".")
                assert TABLES[ref_table].primary_key == ref_col


def test_every_activity_table_links_to_person() -> None:
    linked = [t.name for t in TABLES.values() if t.name != "person"]
    assert all(TABLES[n].column("person_id").references == "person.person_id" for n in linked)


def test_issue_columns_present() -> None:
    assert {"person_id", "nhs_number", "sex", "birth_date", "practice_code", "ethnicity", "lsoa_code",
            "imd_decile", "registration_start", "death_date", "place_of_death"} <= set(TABLES["person"].column_names)
    assert {"arrival_time", "departure_time", "site_code", "department_type", "arrival_mode", "acuity",
            "disposal"} <= set(TABLES["ae_attendance"].column_names)
    assert {"admission_time", "discharge_time", "ready_for_discharge_time", "discharge_pathway",
            "admission_method", "site_code", "specialty", "primary_diagnosis", "discharge_destination"} <= set(
        TABLES["inpatient_spell"].column_names)


def test_ddl_creates_every_table() -> None:
    con = duckdb.connect()
    create_schema(con)
    names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert set(TABLES) <= names
    cols = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_name = 'inpatient_spell' ORDER BY ordinal_position").fetchall()
    assert [c for c, _ in cols] == list(TABLES["inpatient_spell"].column_names)
    assert dict(cols)["admission_time"] == "TIMESTAMP"


def test_unknown_table_lists_the_tables() -> None:
    with pytest.raises(KeyError, match=r"unknown table 'beds'.*person"):
        table("beds")
