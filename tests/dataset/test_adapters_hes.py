"""HES extracts as an ICS receives them: APC episodes assembled into spells, every HES code of the fields
mapped, the HES null dates, each delimiter, compression, encoding and line ending, and Parquet told by its
content. The answers were worked by hand from the fixture files in tests/fixtures/extracts/."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from icsys.dataset.adapters.mapping import formats
from icsys.dataset.ingest import LoadError, LoadRejected
from icsys.dataset.schema import TABLES
from support.extracts import load, rows, store_with_people

EXTRACTS = Path(__file__).parents[1] / "fixtures" / "extracts"
SPELLS = [  # hes_apc_episodes.csv: three episodes, two spells
    (1, 1, "RPA02", "2025-03-01 09:30:00", "2025-03-09 14:00:00", "21", "1", "430", "J189", "19"),
    (2, 2, "RN707", "2025-04-10 00:00:00", None, "82", "5", "501", "Z380", "52"),
]
SPELL_SQL = ("SELECT spell_id, person_id, site_code, admission_time::VARCHAR, discharge_time::VARCHAR, "
             "admission_method, patient_classification, specialty, primary_diagnosis, discharge_destination "
             "FROM inpatient_spell ORDER BY spell_id")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return store_with_people(tmp_path)


def _variant(kind: str, source: Path, out: Path) -> Path:
    """The same extract written another way."""
    text = source.read_text(encoding="utf-8")
    if kind == "pipe":
        out.write_text(text.replace(",", "|"), encoding="utf-8")
    elif kind == "tab":
        out.write_text(text.replace(",", "\t"), encoding="utf-8")
    elif kind == "cp1252-crlf":  # Windows-1252 (a curly apostrophe, 0x92) and CRLF line endings
        out.write_bytes(text.replace("Menieres", "Ménière’s").replace("\n", "\r\n").encode("cp1252"))
    elif kind == "latin1":
        out.write_bytes(text.replace("Menieres", "Ménière").encode("latin-1"))
    elif kind == "gzip":
        out.write_bytes(gzip.compress(text.encode("utf-8")))
    elif kind == "zstd":
        with pa.CompressedOutputStream(str(out), "zstd") as f:
            f.write(text.encode("utf-8"))
    elif kind == "parquet-named-csv":  # Parquet told by its content, whatever the name says
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT * FROM read_csv('{source}', all_varchar = true)) TO '{out}' (FORMAT parquet)")
    return out


@pytest.mark.parametrize("kind", ["csv", "pipe", "tab", "cp1252-crlf", "latin1", "gzip", "zstd",
                                  "parquet-named-csv"])
def test_apc_episodes_become_spells_in_every_layout(store: Path, tmp_path: Path, kind: str) -> None:
    source = EXTRACTS / "hes_apc_episodes.csv"
    path = source if kind == "csv" else _variant(kind, source, tmp_path / "apc.csv")
    report = load(store, None, path, fmt="hes-apc")
    assert report.loaded == {"inpatient_spell": 2} and report.rows_rejected == 0
    # spell 1: episode 1 (row 2, TRETSPEF '&' -> MAINSPEF 430, J189) gives the admission, episode 2 the discharge
    assert rows(store, SPELL_SQL) == SPELLS
    warnings = [p for p in report.problems if p.reason.startswith("warning")]
    assert [(w.field, w.row) for w in warnings] == [("DISDATE", None)] and "first at row 3" in warnings[0].reason


def test_apc_codes_checked_in_hes_terms_strict_and_with_rejects(store: Path) -> None:
    path = EXTRACTS / "hes_apc_bad.csv"
    with pytest.raises(LoadRejected) as caught:
        load(store, None, path, fmt="hes-apc")
    found = {(p.row, p.field): p.reason for p in caught.value.report.problems}
    assert set(found) == {(2, "ADMIMETH"), (3, "TRETSPEF"), (4, "NEWNHSNO")}
    assert found[(2, "ADMIMETH")].startswith("'7X' is not a code of HES ADMIMETH (method of admission) (codes: "
                                             "11 Elective: from waiting list, 12 Elective: booked")
    assert found[(3, "TRETSPEF")] == "missing required value"
    assert found[(4, "NEWNHSNO")].startswith("not linked to a known person (load the people first")
    assert rows(store, "SELECT count(*) FROM inpatient_spell") == [(0,)]
    report = load(store, None, path, fmt="hes-apc", allow_rejects=True)
    assert report.loaded == {"inpatient_spell": 1} and report.rows_rejected == 3
    # ADMIMETH 99, CLASSPAT 9 and DISDEST 89 are HES codes: loaded as they are
    assert rows(store, "SELECT admission_method, patient_classification, discharge_destination FROM inpatient_spell"
                ) == [("99", "9", "89")]
    quarantined = rows(store, "SELECT row_number, record FROM quarantine ORDER BY row_number")
    assert [r for r, _ in quarantined] == [2, 3, 4]
    assert json.loads(quarantined[0][1])["first_episode"]["ADMIMETH"] == "7X"


def test_ae_codes_and_times(store: Path) -> None:
    assert load(store, None, EXTRACTS / "hes_ae.csv", fmt="hes-ae").loaded == {"ae_attendance": 3}
    got = rows(store, "SELECT attendance_id, person_id, site_code, department_type, arrival_time::VARCHAR, "
                      "initial_assessment_time::VARCHAR, treatment_time::VARCHAR, departure_time::VARCHAR, "
                      "arrival_mode, disposal FROM ae_attendance ORDER BY attendance_id")
    assert got == [
        (701, 2, "RPA02", "1", "2025-03-02 23:10:00", "2025-03-02 23:22:00", "2025-03-03 00:45:00",
         "2025-03-03 04:00:00", "ambulance", "admitted"),
        # SITETRET empty: PROCODE5; AEDEPTTYPE 99 and arrival mode 9 are HES "not known"; 14 is "other"
        (702, 1, "RVV01", "9", "2025-03-04 08:05:00", None, None, "2025-03-04 08:50:00", "not_known", "discharged"),
        # codes written without their leading zero ("1", "3") are read as 01 and 03
        (703, 1, "RPA02", "1", "2025-03-05 12:00:00", "2025-03-05 12:05:00", "2025-03-05 12:30:00",
         "2025-03-05 14:00:00", "walk_in", "discharged"),
    ]


def test_op_firstatt_and_attended(store: Path) -> None:
    assert load(store, None, EXTRACTS / "hes_op.csv", fmt="hes-op").loaded == {"outpatient_appointment": 3}
    got = rows(store, "SELECT appointment_id, specialty, first_attendance, consultation_medium, status "
                      "FROM outpatient_appointment ORDER BY appointment_id")
    assert got == [(801, "110", None, "not_known", "attended"), (802, "130", False, "telephone", "attended"),
                   (803, "130", True, "telephone", "dna")]


@pytest.mark.parametrize(("fmt", "sample", "rows_in"), [("hes-apc", "artificial_hes_apc_0102_sample.csv", 5),
                                                        ("hes-ae", "artificial_hes_ae_0708_sample.csv", 5),
                                                        ("hes-op", "artificial_hes_op_0304_sample.csv", 5)])
def test_artificial_hes_files_are_read_with_their_pseudonymised_key(store: Path, fmt: str, sample: str,
                                                                     rows_in: int) -> None:
    """NHS England's artificial HES files carry PSEUDO_HESID, not NEWNHSNO, and HES codes icsys refused before
    (AEDEPTTYPE 99, FIRSTATT 9...): the file is read, and no row is refused for a HES code."""
    report = load(store, None, EXTRACTS / sample, fmt=fmt, allow_rejects=True)
    coded = {c.values.name for c in formats()[fmt].columns.values() if c.values}
    assert report.problems and not [p for p in report.problems if p.field in coded]
    assert {p.field for p in report.problems if "link" in p.reason} == {"PSEUDO_HESID"}
    assert report.rows_rejected <= rows_in


def test_no_person_key_refused_whole(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "apc.csv"
    path.write_text("EPIKEY,SITETRET,ADMIDATE\n1,RPA02,2025-01-01\n", encoding="utf-8")
    with pytest.raises(LoadError, match="no person key; it needs one of the fields NEWNHSNO, PSEUDO_HESID"):
        load(store, None, path, fmt="hes-apc")


def test_every_mapped_code_is_a_dataset_code() -> None:
    """Each layout's value sets map every source code to a code the dataset column allows (or to nothing)."""
    for fmt in formats().values():
        for col in fmt.columns.values():
            allowed = TABLES[fmt.table].column(col.column).codes
            if not col.values:
                continue
            for code in col.values.codes:
                target = col.dataset_code(code)
                assert not target or allowed is None or target in allowed, (fmt.format, col.column, code, target)


def test_extract_layout_told_by_its_header(store: Path, tmp_path: Path) -> None:
    """No --format and no --table: the HES APC fields say what the file is, whatever its name."""
    path = _variant("gzip", EXTRACTS / "hes_apc_episodes.csv", tmp_path / "apc_extract.txt.gz")
    report = load(store, None, path)
    assert report.format == "hes-apc" and report.loaded == {"inpatient_spell": 2}
