"""The shipped Kent and Medway definition and the rules every system definition must follow."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from icsys.system import DEFAULT_SYSTEM, SystemDefinitionError, load_system

DGS_PCNS = {"Dartford Central Primary Care Network", "Dartford MODEL Primary Care Network",
            "Garden City Primary Care Network", "Gravesend Alliance Primary Care Network",
            "Gravesend Central Primary Care Network", "LMN Primary Care Network",
            "Swanley & Rural Primary Care Network"}  # as seed 002 names them


def test_four_icps() -> None:
    assert {i.name for i in load_system().icp} == {"East Kent", "Dartford, Gravesham and Swanley",
                                                   "Medway and Swale", "West Kent"}


def test_dgs_pcns_as_the_seed_names_them() -> None:
    system = load_system()
    assert {p.name for p in system.pcn if p.icp == "DGS"} >= DGS_PCNS


def test_medway_localities_and_healthy_living_centres() -> None:
    medway = [loc for loc in load_system().locality if loc.healthy_living_centre]
    assert {loc.name for loc in medway} == {"Strood", "Rochester", "Chatham", "Lordswood", "Gillingham", "Rainham"}


def test_acute_sites() -> None:
    names = {s.name for s in load_system().site if s.kind == "acute"}
    for site in ("Medway Maritime", "Darent Valley", "Maidstone", "Tunbridge Wells", "William Harvey",
                 "Queen Elizabeth the Queen Mother", "Kent and Canterbury"):
        assert any(site in n for n in names), site


def test_list_sizes_match_population() -> None:
    system = load_system()
    assert abs(system.list_size() - 1_860_000) / 1_860_000 < 0.01
    by_district = Counter()
    for p in system.practice:
        by_district[p.district] += p.list_size
    for d in system.district:
        assert abs(by_district[d.code] - d.population) / d.population < 0.08, d.name


def test_capacities_add_up_to_published_figures() -> None:
    system = load_system()
    care_home_beds = sum(h.beds for h in system.care_home)
    assert 16_000 <= care_home_beds <= 19_000  # Kent ~15,900 + Medway ~1,700 (calibration.md)
    assert 2_500 <= sum(s.general_acute_beds for s in system.site) <= 3_500


def _write(tmp_path: Path, data: dict) -> Path:
    """A minimal TOML writer for the shapes a system definition uses (tables and arrays of tables)."""
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    lines = ["[ics]", *(f"{k} = {value(v)}" for k, v in data["ics"].items())]
    for key, items in data.items():
        if key == "ics":
            continue
        for item in items:
            lines += ["", f"[[{key}]]", *(f"{k} = {value(v)}" for k, v in item.items())]
    path = tmp_path / "system.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def shipped() -> dict:
    return tomllib.loads(DEFAULT_SYSTEM.read_text(encoding="utf-8"))


def test_round_trip_of_the_writer(tmp_path: Path, shipped: dict) -> None:
    assert load_system(_write(tmp_path, shipped)).list_size() == load_system().list_size()


def test_practice_with_unknown_pcn(tmp_path: Path, shipped: dict) -> None:
    shipped["practice"][0]["pcn"] = "U00000"
    expected = r"(?s)system\.toml.*practice 'G82100' refers to unknown pcn 'U00000'"
    with pytest.raises(SystemDefinitionError, match=expected):
        load_system(_write(tmp_path, shipped))


def test_duplicate_codes(tmp_path: Path, shipped: dict) -> None:
    shipped["site"].append(dict(shipped["site"][0]))
    with pytest.raises(SystemDefinitionError, match="site code 'RPA02' appears 2 times"):
        load_system(_write(tmp_path, shipped))


def test_shares_must_add_up(tmp_path: Path, shipped: dict) -> None:
    shipped["district"][0]["imd_decile_shares"] = [0.5] * 10
    with pytest.raises(SystemDefinitionError, match=r"imd_decile_shares add up to 5\.000"):
        load_system(_write(tmp_path, shipped))


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[ics\n", encoding="utf-8")
    with pytest.raises(SystemDefinitionError, match=r"bad\.toml: not valid TOML"):
        load_system(bad)
    with pytest.raises(SystemDefinitionError, match=r"none\.toml: no such system definition"):
        load_system(tmp_path / "none.toml")
