"""The pseudonymised spine: source keys linked to one pseudonym, NHS numbers only in the re-identification
store, the three link modes and the National Data Opt-out, with real DuckDB and SQLite stores."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from icsys.access import Actor, Auditor
from icsys.access.audit import beside
from icsys.access.reidentify import ReidentificationStore
from icsys.dataset import ingest
from icsys.dataset.ingest import LoadRejected, reid_beside
from icsys.dataset.store import Store
from support import assert_clear_error, icsys
from support.extracts import MANAGER, load, write
from support.extracts import rows as sql

# 9434765919 is the NHS's published example; 9000000009 and 9000871093 are test-range numbers whose check
# digits were worked by hand (weights 10..2, 11 - sum mod 11).
PEOPLE = ("nhs_number,sex,birth_date,ethnicity,lsoa_code,imd_decile,practice_code,registration_start,"
          "registration_end,death_date,place_of_death\n"
          "9434765919,F,1950-03-01,A,E01100001,3,G82100,2000-01-01,,,\n"
          "9000000009,F,1950-03-01,A,E01100001,3,G82100,2000-01-01,,,\n")
AE = "attendance_id,{key},site_code,department_type,arrival_time,departure_time,arrival_mode,acuity,disposal\n"


def row(i: int, key: str, day: str = "2025-01-06") -> str:
    return f"{i},{key},RPA02,1,{day} 10:00:00,{day} 13:30:00,walk_in,3,discharged\n"


def reid(db: Path) -> ReidentificationStore:
    return ReidentificationStore(reid_beside(Store.open(db, read_only=False, create=True)))


@pytest.fixture
def people(tmp_path: Path) -> Path:
    """Three people, created from their registrations by NHS number: pseudonyms 1, 2, 3 in file order."""
    db = tmp_path / "store.duckdb"
    text = PEOPLE + "9000871093,M,1988-09-01,H,E01100002,7,G82100,2010-05-05,,,\n"
    report = load(db, "person", write(tmp_path / "people.csv", text))
    assert report.loaded == {"person": 3} and report.people_created == 3
    return db


def test_nhs_numbers_go_to_the_reidentification_store_only(people: Path, tmp_path: Path) -> None:
    assert sql(people, "SELECT person_id, nhs_number FROM person ORDER BY person_id") == \
        [(1, None), (2, None), (3, None)]
    link = reid(people)
    assert link.person_ids(Auditor(MANAGER, beside(people)), ["9434765919", "9000000009", "9000871093"]) == \
        {"9434765919": "1", "9000000009": "2", "9000871093": "3"}
    with duckdb.connect(str(people), read_only=True) as con:  # no NHS number anywhere in the analytical file
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            text = json.dumps(con.execute(f'SELECT * FROM "{table}"').fetchall(), default=str)
            assert "9434765919" not in text and "9000871093" not in text, table


def test_known_links_activity_by_nhs_number_and_refuses_strangers(people: Path, tmp_path: Path) -> None:
    text = AE.format(key="nhs_number") + row(1, "9000871093") + row(2, "943-476-5919") + row(3, "4000000004")
    with pytest.raises(LoadRejected) as caught:
        load(people, "ae_attendance", write(tmp_path / "ae.csv", text))
    [problem] = caught.value.report.problems
    assert (problem.row, problem.field) == (3, "nhs_number") and "not linked to a known person" in problem.reason
    report = load(people, "ae_attendance", tmp_path / "ae.csv", allow_rejects=True)
    assert report.loaded == {"ae_attendance": 2} and report.rows_unlinked == 1 and report.rows_linked == 2
    assert sql(people, "SELECT attendance_id, person_id FROM ae_attendance ORDER BY 1") == [(1, 3), (2, 1)]
    [(reasons, record)] = sql(people, "SELECT reasons, record FROM quarantine")
    assert "not linked" in reasons and "nhs_number" not in json.loads(record)  # the number is not kept


def test_the_same_person_one_pseudonym_across_sources(people: Path, tmp_path: Path) -> None:
    """A PSEUDO_HESID is linked within its source; created people get the next pseudonyms, in file order."""
    text = AE.format(key="pseudo_hesid") + row(1, "HA") + row(2, "HB") + row(3, "HA")
    report = load(people, "ae_attendance", write(tmp_path / "hes.csv", text), link="create", source="hes")
    assert report.people_created == 2
    assert sql(people, "SELECT attendance_id, person_id FROM ae_attendance ORDER BY 1") == [(1, 4), (2, 5), (3, 4)]
    assert sql(people, "SELECT source, key_kind, key_value, person_id FROM person_link ORDER BY 3") == \
        [("hes", "pseudo_hesid", "HA", 4), ("hes", "pseudo_hesid", "HB", 5)]
    again = AE.format(key="pseudo_hesid") + row(4, "HB") + row(5, "HC")
    load(people, "ae_attendance", write(tmp_path / "hes2.csv", again), link="create", source="hes")
    assert sql(people, "SELECT attendance_id, person_id FROM ae_attendance WHERE attendance_id > 3 ORDER BY 1") == \
        [(4, 5), (5, 6)]
    other = AE.format(key="pseudo_hesid") + row(6, "HA")  # the same key from another source is not the same
    with pytest.raises(LoadRejected):
        load(people, "ae_attendance", write(tmp_path / "gp.csv", other), source="gp")


def test_apart_keeps_unlinked_rows_in_their_own_table(people: Path, tmp_path: Path) -> None:
    text = AE.format(key="person_token") + row(1, "T1") + row(2, "T2")
    report = load(people, "ae_attendance", write(tmp_path / "t.csv", text), link="apart", source="tokens")
    assert report.loaded == {"ae_attendance": 0} and report.rows_unlinked == 2 and report.rows_rejected == 0
    assert sql(people, "SELECT row_number, key_kind, key_value, table_name FROM unlinked_record ORDER BY 1") == \
        [(1, "token", "T1", "ae_attendance"), (2, "token", "T2", "ae_attendance")]
    assert sql(people, "SELECT rows_unlinked, link_mode FROM load_log WHERE table_name = 'ae_attendance'") == \
        [(2, "apart")]


def test_national_data_opt_out_is_honoured(people: Path, tmp_path: Path) -> None:
    reid(people).set_opt_outs(Auditor(MANAGER, beside(people)), ["9000871093"])
    text = AE.format(key="nhs_number") + row(1, "9000871093") + row(2, "9434765919")
    report = load(people, "ae_attendance", write(tmp_path / "ae.csv", text))
    assert report.loaded == {"ae_attendance": 1} and report.rows_opted_out == 1
    assert sql(people, "SELECT person_id FROM ae_attendance") == [(1,)]
    assert sql(people, "SELECT count(*) FROM quarantine") == [(0,)]  # nothing of them is kept


def test_a_row_stating_another_person_than_its_number_is_refused(people: Path, tmp_path: Path) -> None:
    text = AE.format(key="person_id,nhs_number") + \
        "1,2,9000871093,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged\n"
    with pytest.raises(LoadRejected) as caught:
        load(people, "ae_attendance", write(tmp_path / "ae.csv", text))
    assert "linked to another person" in caught.value.report.problems[0].reason


def test_cli_link_option(people: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "ae.csv", AE.format(key="pseudo_hesid") + row(1, "HZ"))
    assert_clear_error(icsys("load", "--db", people, "--table", "ae_attendance", "--link", "maybe", path),
                       "--link maybe: unknown")
    result = icsys("load", "--db", people, "--table", "ae_attendance", "--link", "create", path)
    assert result.returncode == 0, result.stderr
    assert sql(people, "SELECT person_id FROM ae_attendance") == [(4,)]


def test_info_and_export_of_the_linkage(people: Path, tmp_path: Path) -> None:
    from icsys.access.policy import AccessDenied
    from icsys.dataset.export import export_table
    from icsys.dataset.info import describe

    path = write(tmp_path / "hes.csv", AE.format(key="pseudo_hesid") + row(1, "HA") + row(2, "HB"))
    load(people, "ae_attendance", path, link="apart", source="hes")
    load(people, "ae_attendance", write(tmp_path / "hes2.csv", AE.format(key="pseudo_hesid") + row(3, "HC")),
         link="create", source="hes")
    with Store.open(people) as store:
        assert describe(store)["linkage"] == {"source_keys": [{"source": "hes", "key_kind": "pseudo_hesid", "keys": 1}],
                                              "unlinked_rows": 2, "nhs_numbers_in_store": 0}
        analyst = Auditor(Actor("ann", ("analyst",)), beside(people))
        with pytest.raises(AccessDenied):
            export_table(store, "unlinked_record", tmp_path / "u.csv", auditor=analyst)
        assert export_table(store, "unlinked_record", tmp_path / "u.csv", auditor=Auditor(MANAGER, beside(people))) == 2


def test_a_rolled_back_load_leaves_no_link_behind(people: Path, tmp_path: Path) -> None:
    """The links to NHS numbers are written to the re-identification store only once the analytical store has
    published: a load refused after its rows were linked (a bad code on row 2) links no one, and the numbers
    get their pseudonyms from the load that succeeds, in its file order."""
    bad = AE.format(key="nhs_number") + row(1, "4000000004") + \
        "2,9000000017,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,teleport,3,discharged\n"
    with pytest.raises(LoadRejected):
        load(people, "ae_attendance", write(tmp_path / "bad.csv", bad), link="create")
    manager = Auditor(MANAGER, beside(people))
    assert sql(people, "SELECT max(person_id) FROM person") == [(3,)]
    assert reid(people).person_ids(manager, ["4000000004", "9000000017"]) == {}
    assert reid(people).count() == 3
    good = AE.format(key="nhs_number") + row(1, "9000000017") + row(2, "4000000004")
    report = load(people, "ae_attendance", write(tmp_path / "good.csv", good), link="create")
    assert report.people_created == 2
    assert sql(people, "SELECT attendance_id, person_id FROM ae_attendance ORDER BY 1") == [(1, 4), (2, 5)]
    assert reid(people).person_ids(manager, ["4000000004", "9000000017"]) == \
        {"9000000017": "4", "4000000004": "5"}


def test_a_load_failing_after_linking_leaves_no_link(people: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A load whose rows were linked and checked but whose transaction fails before it publishes (here the
    load log cannot be written) leaves neither rows nor links."""
    def broken_log(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ingest, "_log", broken_log)
    good = AE.format(key="nhs_number") + row(1, "9000000017")
    with pytest.raises(OSError, match="disk full"):
        load(people, "ae_attendance", write(tmp_path / "good.csv", good), link="create")
    assert sql(people, "SELECT count(*) FROM ae_attendance") == [(0,)]
    assert reid(people).person_ids(Auditor(MANAGER, beside(people)), ["9000000017"]) == {}


def test_a_pseudonym_already_linked_to_another_number_refuses_the_load(people: Path, tmp_path: Path) -> None:
    """Checked before the analytical commit: a refresh stating person_id 1 for a new NHS number loads nothing."""
    text = PEOPLE.replace("nhs_number,", "person_id,nhs_number,", 1).split("\n")[0] + \
        "\n1,9000000017,F,1950-03-01,A,E01100001,3,G82100,2000-01-01,,,\n"
    assert_clear_error(icsys("load", "--db", people, "--table", "person", "--refresh",
                             write(tmp_path / "p.csv", text)),
                       "person_id 1", "already linked to another NHS number")
    assert reid(people).person_ids(Auditor(MANAGER, beside(people)), ["9000000017"]) == {}


def test_cli_opt_out_list(people: Path, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.txt", "9000871093\n9000871094\n")
    path = write(tmp_path / "ae.csv", AE.format(key="nhs_number") + row(1, "9000871093") + row(2, "9434765919"))
    assert_clear_error(icsys("load", "--db", people, "--table", "ae_attendance", "--opt-out", bad, path),
                       "line 2", "check digit")
    assert sql(people, "SELECT count(*) FROM ae_attendance") == [(0,)]
    good = write(tmp_path / "opt_out.txt", "900 087 1093\n")
    result = icsys("load", "--db", people, "--table", "ae_attendance", "--opt-out", good, "--json", path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows_opted_out"] == 1
    assert sql(people, "SELECT person_id FROM ae_attendance") == [(1,)]


def test_links_that_cannot_be_written_after_the_commit_are_reported(people: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The one window left (ADR 010): the rows are published, the re-identification store then fails; the
    error says the rows are in and their people are not linked."""
    from icsys.access.reidentify import ReidentificationError
    from icsys.dataset import linkage

    def unreachable(self: linkage.Reidentification) -> None:
        raise ReidentificationError("re-identification store sqlite:///x: database is locked")

    monkeypatch.setattr(linkage.Reidentification, "commit", unreachable)
    with pytest.raises(ingest.LoadError, match=r"loaded \(load [0-9a-f]{12}\), but the NHS-number links"):
        load(people, "ae_attendance", write(tmp_path / "a.csv", AE.format(key="nhs_number") + row(1, "9000000017")),
             link="create")
    assert sql(people, "SELECT attendance_id, person_id FROM ae_attendance") == [(1, 4)]
