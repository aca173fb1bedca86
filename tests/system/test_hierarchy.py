"""The one organisation hierarchy: a small hand-drawn definition whose answers are read off the drawing, the
refusal of a practice whose PCN and district sit in different ICPs, and every shipped code resolving.

The drawing (ICS Q1):

    ICP A: district D1 (council C1), locality L1 > PCN P1 > practice G1 (in D1); SPoA SP1; hospice H1 (in D1)
    ICP B: districts D2 (council C1) and U1 (the unitary authority U1 is its own council);
           PCN P2 > practices G2 (in D2) and G3 (in U1)
    trust T1 > site S1 (in D2), community unit CU1 (in D1), team CT1 (serving B); SPoA SP2 (all of the ICS)
    care home CH1 in U1; hospice H2 (in D2, serving A and B); home-care provider HC1 (council U1)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from icsys.performance.organisations import Hierarchy as PerformanceHierarchy
from icsys.system import DEFAULT_SYSTEM, SystemDefinitionError, load_system
from icsys.system.hierarchy import UnknownOrganisation, practice_places
from icsys.system.model import System


def _district(code: str, icp: str, council: str) -> dict[str, Any]:
    return {"code": code, "name": f"District {code}", "icp": icp, "council": council, "population": 1000,
            "share_65_plus": 0.2, "share_0_15": 0.2, "imd_decile_shares": [0.1] * 10,
            "ethnicity_shares": {"White": 1.0}, "lsoa_count": 1}


def small() -> dict[str, Any]:
    return {
        "ics": {"code": "Q1", "name": "Small ICS", "region": "South East", "population_year": 2024},
        "icp": [{"code": "A", "name": "ICP A"}, {"code": "B", "name": "ICP B"}],
        "council": [{"code": "C1", "name": "County", "kind": "county", "social_care": True},
                    {"code": "U1", "name": "Unitary", "kind": "unitary", "social_care": True}],
        "district": [_district("D1", "A", "C1"), _district("D2", "B", "C1"), _district("U1", "B", "U1")],
        "locality": [{"code": "L1", "name": "Locality 1", "icp": "A"}],
        "pcn": [{"code": "P1", "name": "PCN 1", "icp": "A", "locality": "L1"},
                {"code": "P2", "name": "PCN 2", "icp": "B"}],
        "practice": [{"code": "G1", "name": "Practice 1", "pcn": "P1", "district": "D1", "list_size": 10},
                     {"code": "G2", "name": "Practice 2", "pcn": "P2", "district": "D2", "list_size": 10},
                     {"code": "G3", "name": "Practice 3", "pcn": "P2", "district": "U1", "list_size": 10}],
        "provider": [{"code": "T1", "name": "Trust 1", "kind": "acute"}],
        "site": [{"code": "S1", "name": "Site 1", "provider": "T1", "kind": "acute", "district": "D2"}],
        "community_bed_unit": [{"code": "CU1", "name": "Unit 1", "provider": "T1", "district": "D1", "beds": 5}],
        "care_home": [{"code": "CH1", "name": "Home 1", "district": "U1", "kind": "nursing", "beds": 5}],
        "spoa": [{"code": "SP1", "name": "SPoA A", "provider": "T1", "icp": "A"},
                 {"code": "SP2", "name": "SPoA ICS", "provider": "T1"}],
        "hospice": [{"code": "H1", "name": "Hospice 1", "district": "D1", "icps": ["A"]},
                    {"code": "H2", "name": "Hospice 2", "district": "D2", "icps": ["A", "B"]}],
        "home_care_provider": [{"code": "HC1", "name": "Home care 1", "council": "U1", "districts": ["U1"],
                                "service": "domiciliary"}],
        "community_team": [{"code": "CT1", "name": "Team 1", "provider": "T1", "icp": "B",
                            "service": "rapid_response"}],
    }


@pytest.fixture
def tree() -> Any:
    return System.model_validate(small()).hierarchy


def codes(orgs: list[Any]) -> list[str]:
    return [o.code for o in orgs]


def test_registered_hierarchy(tree: Any) -> None:
    assert codes(tree.parents("G1")) == ["P1", "L1", "A", "Q1"]
    assert codes(tree.parents("G3")) == ["P2", "B", "Q1"]
    assert tree.icp_of_practice("G3") == "B" and tree.pcn_of_practice("G3") == "P2"
    assert tree.icp_of_pcn("P1") == "A" and tree.system.icp_of_pcn("P2") == "B"


def test_resident_hierarchy(tree: Any) -> None:
    assert tree.icp_of_district("D1") == "A" and tree.system.icp_of_district("U1") == "B"
    assert tree.council_of_district("D2") == "C1" and tree.council_of_district("U1") == "U1"
    assert tree.district_of_practice("G3") == "U1"


def test_a_unitary_code_names_its_district_and_its_council(tree: Any) -> None:
    assert tree.kinds_of("U1") == ("council", "district")
    with pytest.raises(UnknownOrganisation, match="names a council and a district"):
        tree.get("U1")
    assert tree.get("U1", "district").parent == "B"
    assert tree.parent("CH1").kind == "district"  # a care home stands in the district
    assert tree.parent("HC1").kind == "council"  # a home-care provider answers to the council


def test_children_and_descendants(tree: Any) -> None:
    assert codes(tree.children("A")) == ["D1", "L1", "SP1", "H1"]
    assert codes(tree.children("T1")) == ["S1", "CU1", "CT1"]
    assert codes(tree.children("Q1")) == ["A", "B", "C1", "U1", "T1", "SP2", "H2"]
    assert codes(tree.descendants("A")) == ["D1", "L1", "P1", "G1", "SP1", "H1"]
    assert [o.code for o in tree.descendants("B") if o.kind == "practice"] == ["G2", "G3"]


def test_icp_of_any_organisation(tree: Any) -> None:
    expected = {"G1": "A", "P1": "A", "L1": "A", "D2": "B", "S1": "B", "CU1": "A", "CH1": "B", "SP1": "A",
                "SP2": None, "H1": "A", "H2": None, "CT1": "B", "T1": None, "C1": None, "Q1": None, "HC1": None}
    assert {code: tree.icp_of(code) for code in expected} == expected


def test_kind_of_and_unknown_codes(tree: Any) -> None:
    assert tree.kind_of("CU1") == "community_unit" and tree.kind_of("T1") == "trust"
    assert codes(tree.of_kind("practice")) == ["G1", "G2", "G3"]
    with pytest.raises(UnknownOrganisation, match="unknown organisation 'ZZ9'"):
        tree.get("ZZ9")
    with pytest.raises(UnknownOrganisation, match="no district 'P1'"):
        tree.icp_of_district("P1")


def test_practice_places_from_the_hierarchy() -> None:
    places = practice_places(System.model_validate(small())).set_index("practice")
    assert places.loc["G1", ["pcn", "icp", "district", "locality", "ics"]].tolist() == ["P1", "A", "D1", "L1", "Q1"]
    assert places.loc["G3", "icp_name"] == "ICP B"


def test_performance_sees_only_what_it_measures() -> None:
    view = PerformanceHierarchy(System.model_validate(small()))
    assert {o.kind for o in view.organisations.values()} == {"ics", "icp", "pcn", "practice", "trust", "site"}
    assert view.practice_parents("G1") == {"practice": "G1", "pcn": "P1", "icp": "A", "ics": "Q1"}
    with pytest.raises(UnknownOrganisation, match="not the ICS, an ICP"):
        view.get("D1")


def test_a_practice_in_two_icps_is_refused() -> None:
    definition = small()
    definition["practice"][0]["district"] = "D2"  # PCN P1 is in ICP A, district D2 in ICP B
    with pytest.raises(ValueError, match=r"practice 'G1' \(Practice 1\) is in ICP 'A' through its PCN 'P1' but in "
                                         r"ICP 'B' through its district 'D2'"):
        System.model_validate(definition)


def test_other_crossings_are_refused() -> None:
    definition = small()
    definition["pcn"][1]["locality"] = "L1"  # PCN P2 in ICP B, locality L1 in ICP A
    definition["home_care_provider"][0]["districts"] = ["D1"]  # D1's council is C1, not U1
    definition["site"][0]["code"] = "G2"  # a site and a practice with one code
    with pytest.raises(ValueError) as refused:
        System.model_validate(definition)
    message = str(refused.value)
    assert "pcn 'P2' (PCN 2) is in ICP 'B' but its locality 'L1' is in ICP 'A'" in message
    assert "home_care_provider 'HC1' (Home care 1) serves district 'D1'" in message
    assert "code 'G2' is used by a practice and a site" in message


def test_unknown_references_of_the_new_kinds() -> None:
    definition = small()
    definition["spoa"][0]["icp"] = "Z"
    definition["hospice"][1]["icps"] = ["A", "Y"]
    with pytest.raises(ValueError, match=r"spoa 'SP1' refers to unknown icp 'Z'.*hospice 'H2' refers to unknown "
                                         r"icp 'Y'"):
        System.model_validate(definition)


def test_system_check_refuses_a_practice_in_two_icps(tmp_path: Path) -> None:
    text = DEFAULT_SYSTEM.read_text(encoding="utf-8")
    practice = load_system().practice[0]
    other = next(d for d in load_system().district if d.icp != load_system().icp_of_practice(practice.code))
    block = (f'code = "{practice.code}"\nname = "{practice.name}"\npcn = "{practice.pcn}"\n'
             f'district = "{practice.district}"')
    assert block in text
    path = tmp_path / "two_icps.toml"
    path.write_text(text.replace(block, block.replace(f'district = "{practice.district}"',
                                                      f'district = "{other.code}"')), encoding="utf-8")
    with pytest.raises(SystemDefinitionError, match=f"practice '{practice.code}'"):
        load_system(path)
    result = subprocess.run([sys.executable, "-m", "icsys", "system", "check", str(path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"practice '{practice.code}'" in result.stderr and "through its district" in result.stderr


def test_every_shipped_code_resolves() -> None:
    system = load_system()
    tree = system.hierarchy
    for org in tree.organisations:
        assert tree.get(org.code, org.kind) == org
        chain = tree.parents(org.code, org.kind)
        assert (chain[-1] if chain else org) == tree.ics, org
    for p in system.practice:
        assert tree.icp_of_practice(p.code) == tree.icp_of_district(p.district), p.code
    assert len(tree.of_kind("spoa")) == 5 and {tree.icp_of(s.code) for s in system.spoa} == {"EK", "DGS", "MS",
                                                                                              "WK", None}
    assert {h.name for h in system.hospice} >= {"Pilgrims Hospices in East Kent", "Heart of Kent Hospice",
                                                "ellenor", "Wisdom Hospice", "Hospice in the Weald"}
