"""Policy decisions worked by hand for each local role, and the actor that cannot be anonymous."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pytest

from icsys.access import AccessDenied, Actor, ActorError, local_actor, may, require, scope
from icsys.errors import InputError

ANALYST = Actor("asha", ("analyst",))
MANAGER = Actor("dmitri", ("data_manager",))
CLINICIAN = Actor("grace", ("clinician",), organisations=("G82001", "G82002"), purpose="direct care")
OFFICER = Actor("priya", ("privacy_officer",))


@pytest.mark.parametrize("user, roles", [("", ("analyst",)), ("  ", ("analyst",)), ("asha", ()), ("asha", ("",)),
                                         (None, ("analyst",))])
def test_there_is_no_anonymous_actor(user, roles):
    with pytest.raises(ActorError):
        Actor(user, roles)


def test_actions_per_role():
    # (actor, action) -> allowed, as the table in icsys.access.policy says
    expected = {
        (ANALYST, "export"): True, (ANALYST, "load"): False, (ANALYST, "derive"): True, (ANALYST, "audit"): False,
        (MANAGER, "load"): True, (MANAGER, "export"): True, (MANAGER, "audit"): True,
        (CLINICIAN, "list"): True, (CLINICIAN, "load"): False, (CLINICIAN, "derive"): False,
        (OFFICER, "audit"): True, (OFFICER, "export"): False, (OFFICER, "list"): False,
    }
    assert {k: may(*k) for k in expected} == expected


def test_identifiable_data_only_for_roles_that_see_it():
    assert not may(ANALYST, "export", identifiable=True)
    assert may(MANAGER, "export", identifiable=True)
    assert may(CLINICIAN, "read", identifiable=True, organisation="G82001")


def test_a_clinician_is_scoped_to_its_organisations():
    assert may(CLINICIAN, "read", organisation="G82002")
    assert not may(CLINICIAN, "read", organisation="G82999")
    assert may(CLINICIAN, "read", organisation={"G82999", "G82001"})  # a person known to two of them
    assert not may(CLINICIAN, "export", all_organisations=True)
    assert not may(Actor("ned", ("clinician",)), "read")  # no organisations configured: nothing
    assert may(ANALYST, "read", organisation="G82999")  # analysts see every organisation, pseudonymised


def test_require_names_the_reason_and_is_an_input_error():
    with pytest.raises(AccessDenied, match="asha \\(analyst\\) may not load: that needs the role data_manager"):
        require(ANALYST, "load")
    with pytest.raises(AccessDenied, match="sees only G82001, G82002"):
        require(CLINICIAN, "read", organisation="G82999")
    assert issubclass(AccessDenied, InputError)


def test_no_decision_without_an_actor():
    with pytest.raises(ActorError):
        may(None, "read")  # type: ignore[arg-type]


def test_scopes():
    assert scope(ANALYST, "export").identifiable is False
    assert scope(ANALYST, "export").organisations is None
    assert scope(MANAGER, "export").identifiable is True
    clinician = scope(CLINICIAN, "list")
    assert (clinician.identifiable, clinician.organisations) == (True, frozenset({"G82001", "G82002"}))
    assert clinician.django_filter("person__practice_code") == {"person__practice_code__in": ["G82001", "G82002"]}
    assert scope(MANAGER, "list").django_filter() == {}
    with pytest.raises(AccessDenied):
        scope(OFFICER, "list")


def _people() -> ibis.Table:
    return ibis.memtable({"person_id": [1, 2, 3], "nhs_number": ["9434765919", "9434765870", "9434765862"],
                          "practice_code": ["G82001", "G82002", "G82003"],
                          "birth_date": [date(1946, 7, 1), date(1980, 1, 1), date(2001, 12, 1)],
                          "lsoa_code": ["E01024000", "E01024001", "E01024002"]})


def test_scope_as_an_ibis_filter():
    con = ibis.duckdb.connect()
    seen = con.execute(scope(CLINICIAN, "list").ibis_view(_people()))
    assert seen["person_id"].tolist() == [1, 2]
    assert "nhs_number" in seen.columns
    spells = ibis.memtable({"person_id": [1, 3, 3], "spell": ["a", "b", "c"]})
    through_person = con.execute(scope(CLINICIAN, "list").ibis_filter(spells, people=_people()))
    assert through_person["spell"].tolist() == ["a"]


def test_an_analyst_sees_pseudonymised_rows():
    con = ibis.duckdb.connect()
    seen = con.execute(scope(ANALYST, "export").ibis_view(_people()))
    assert list(seen.columns) == ["person_id", "practice_code", "birth_month", "lsoa_code"]
    assert seen["birth_month"].tolist() == ["1946-07", "1980-01", "2001-12"]


def test_local_actor_from_the_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "access.toml"
    config.write_text('role = "clinician"\norganisations = ["g82001"]\npurpose = "direct care"\n')
    monkeypatch.setenv("ICSYS_CONFIG", str(config))
    actor = local_actor()
    assert (actor.roles, actor.organisations, actor.authentication, actor.purpose) == (
        ("clinician",), ("G82001",), "os-user", "direct care")
    assert actor.user


def test_local_actor_defaults_to_analyst(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ICSYS_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert local_actor().roles == ("analyst",)


@pytest.mark.parametrize("text, words", [('role = "superuser"\n', "unknown role superuser"),
                                         ('rol = "analyst"\n', "unknown setting(s) rol"),
                                         ("role = \n", "not valid TOML")])
def test_bad_configuration_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, words: str):
    config = tmp_path / "access.toml"
    config.write_text(text)
    monkeypatch.setenv("ICSYS_CONFIG", str(config))
    with pytest.raises(ActorError, match=words.replace("(", "\\(").replace(")", "\\)")):
        local_actor()
