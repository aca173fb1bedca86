"""One source for every documented figure (issue 10, item 8): the README and docs/ quote figures that their
scripts print or that the code holds, and these tests hold each quote to its source, so the documents cannot
drift from the code or from each other.

- generated sections (between `<!-- generated: NAME -->` markers) equal what their generator writes now;
- the README's Figures table names benchmark scripts that exist and whose printed targets are the table's,
  and a doc quoting a benchmark's output agrees with the README's result;
- the calibration table's definitions (measure, published figure, tolerance, source) are the suite's;
- names of code (standards, tables, commands and their options) quoted in the docs exist, and the lists the
  docs claim are complete (every standard, every derived table) are;
- key figures said in words (thresholds in the glossary, counts of standards, tables and organisations)
  are the code's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from icsys.cli import app
from icsys.dataset.schema import DERIVED_TABLES, TABLES
from icsys.performance.catalogue import load_catalogue
from icsys.reports import docs
from icsys.synth import calibration
from icsys.system import load_system

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
DOCS = docs.documents(ROOT)
CATALOGUE = load_catalogue()
NUMBER_WORDS = {"fifteen": 15, "sixteen": 16, "seventeen": 17, "four": 4, "seven": 7, "eight": 8}


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def section(markdown: str, heading: str) -> str:
    """The text under a `## heading` up to the next heading of that level."""
    start = markdown.index(f"\n## {heading}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:end if end > 0 else None]


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every table row, header and rule lines left out."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not set(line) <= set("|- "):
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


# --- (b) generated sections -------------------------------------------------------------------------------

def test_every_marker_opens_and_closes_a_known_generator() -> None:
    for path in DOCS:
        body = text(path)
        opened = re.findall(r"<!-- generated: ([a-z0-9-]+)", body)
        closed = re.findall(r"<!-- end generated: ([a-z0-9-]+) -->", body)
        assert opened == closed == [s.name for s in docs.sections(path)], f"{path.name}: unbalanced markers"
        for name in opened:
            assert name in docs.GENERATORS or name in docs.STORE_GENERATED, f"{path.name}: no generator {name!r}"


def test_generated_sections_are_what_their_generators_write() -> None:
    found = [s for p in DOCS for s in docs.sections(p) if s.name in docs.GENERATORS]
    assert {s.name for s in found} == set(docs.GENERATORS)  # each generator's table is in the docs
    for s in found:
        assert s.body == docs.generated(s.name), (f"{s.path.name}: section {s.name} is stale; run "
                                                  "`python -m icsys.reports.docs refresh`")


def test_refresh_rewrites_a_stale_section_and_check_reports_it(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("intro\n<!-- generated: opel-parameters -->\nOLD BODY\n"
                                        "<!-- end generated: opel-parameters -->\nafter\n", encoding="utf-8")
    assert docs.main(["check", str(tmp_path)]) == 1
    assert docs.main(["refresh", str(tmp_path)]) == 0
    body = text(tmp_path / "README.md")
    assert body.startswith("intro\n<!-- generated: opel-parameters -->\n| parameter |") and body.endswith(
        "<!-- end generated: opel-parameters -->\nafter\n") and "OLD BODY" not in body
    assert docs.main(["check", str(tmp_path)]) == 0
    assert docs.main(["refresh", "--store", str(tmp_path / "missing.duckdb"), str(tmp_path)]) == 2


def test_the_calibration_table_holds_the_suite_s_definitions() -> None:
    (found,) = [s for s in docs.sections(README) if s.name == "calibration"]
    assert "(`python -m icsys.synth.calibration STORE --markdown`)" in found.body.splitlines()[0]
    rows = table_rows(found.body)[1:]
    assert [r[0] for r in rows] == [c.name for c in calibration.CHECKS]
    for row, check in zip(rows, calibration.CHECKS, strict=True):
        measure, synthetic, published, tolerance, source = row
        assert (published, source) == (check.reference, check.source), measure
        assert tolerance == f"{check.shown(check.low)} - {check.shown(check.high)}", measure
        pattern = r"-?[\d,]+\.\d %" if check.unit == "%" else r"-?[\d,]+(\.\d+)?"
        assert re.fullmatch(pattern, synthetic), f"{measure}: {synthetic!r} is not a value the suite prints"


# --- (a) the README's Figures and the benchmarks -------------------------------------------------------------

def figures() -> dict[str, tuple[str, str]]:
    """Script -> (figure with its target, result) from the README's Figures table."""
    out = {}
    first_table = section(text(README), "Figures").split("\n\n| ", 2)[1]  # the figures, not the model card
    for figure, command, result in table_rows("| " + first_table)[1:]:
        (script,) = re.findall(r"benchmarks/[a-z_]+\.py", command)
        out[script] = (figure, result)
    return out


def bounds(words: str) -> set[tuple[str, float]]:
    """Each (<= or >=, value) a text states, in one spelling: '≤ 90 s', '<= 90 s', '>= 1,000,000', '≥ 1 M'."""
    spelled = words.replace("≤", "<=").replace("≥", ">=")
    out = set()
    for op, number, million in re.findall(r"(<=|>=|<)\s*([\d][\d,]*(?:\.\d+)?)\s*(M\b|million)?", spelled):
        out.add((op, float(number.replace(",", "")) * (1e6 if million else 1)))
    return out


def test_every_benchmark_is_in_the_figures_table_and_every_row_names_one() -> None:
    assert sorted(figures()) == sorted(f"benchmarks/{p.name}" for p in (ROOT / "benchmarks").glob("*.py"))


def test_each_figure_s_target_is_the_one_its_script_prints() -> None:
    for script, (figure, _) in figures().items():
        target = re.search(r"\(([^()]*)\)\s*$", figure)
        stated = bounds(target.group(1)) if target else set()
        printed = bounds(text(ROOT / script))
        assert stated <= printed, f"{script}: the README's target {sorted(stated)} is not what it prints"


def test_docs_quoting_a_benchmark_s_output_agree_with_the_readme() -> None:
    """A doc that shows a benchmark's output shows the run whose headline result the README gives."""
    results = figures()
    for path in DOCS[1:]:
        for script, block in re.findall(r"```\n\$ \.venv/bin/python (benchmarks/[a-z_]+\.py)[^\n]*\n(.*?)```",
                                        text(path), re.S):
            headline = re.findall(r"\*\*([^*]+)\*\*", results[script][1]) or [results[script][1].split(" ", 2)[0]]
            number = re.match(r"[\d.,]*\d", headline[0]).group(0)
            assert re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d,]|\.\d)", block), (
                f"{path.name} quotes {script} without the README's {number}")


# --- (c) names of code, and complete lists ----------------------------------------------------------------

def expanded_ids(cell: str) -> list[str]:
    """`amb_handover_mean`, `_15`, `_30` in a docs table: a name starting with _ replaces the last part of
    the full name before it."""
    out: list[str] = []
    base = ""
    for name in re.findall(r"`([a-z0-9_]+)`", cell):
        if name.startswith("_"):
            out.append(base.rsplit("_", 1)[0] + name)
        else:
            base = name
            out.append(name)
    return out


def test_performance_md_lists_every_standard_and_only_those() -> None:
    body = text(ROOT / "docs" / "performance.md")
    listed = body[body.index("| area | standards (id) |"):body.index("### Every threshold")]
    ids = [i for row in table_rows(listed)[1:] for i in expanded_ids(row[1])]
    assert sorted(ids) == sorted(CATALOGUE.ids)
    for n in CATALOGUE.not_measured:
        assert f"`{n.id}`" in body


def test_the_data_dictionary_has_every_table_and_derived_table() -> None:
    headings = set(re.findall(r"^## ([a-z_]+)$", text(ROOT / "docs" / "data-dictionary.md"), re.M))
    assert set(TABLES) | set(DERIVED_TABLES) <= headings


def test_the_readme_lists_every_dataset_table() -> None:
    listed = {i for row in table_rows(section(text(README), "The linked dataset"))[1:]
              for i in re.findall(r"`([a-z_]+)`", row[0])}
    assert listed == set(TABLES)
    said = re.search(r"(\w+) tables, described once", text(README)).group(1).lower()
    assert NUMBER_WORDS.get(said, said) == len(TABLES)


def code_names() -> set[str]:
    from icsys.performance.escalation import load_framework

    columns = {c.name for t in [*TABLES.values(), *DERIVED_TABLES.values()] for c in t.columns}
    framework = load_framework()
    return ({*TABLES, *DERIVED_TABLES, *columns, *CATALOGUE.ids, *(n.id for n in CATALOGUE.not_measured),
             *(i.id for i in framework.indicator)})


def test_the_glossary_s_names_of_code_exist() -> None:
    names = code_names()
    for term, meaning in table_rows(text(ROOT / "docs" / "glossary.md"))[1:]:
        for name in re.findall(r"`([a-z][a-z0-9_]*)`", meaning):
            assert name in names, f"glossary {term}: `{name}` is no table, column, standard or indicator"


def commands() -> dict[str, set[str]]:
    """Each command line ('performance measure', 'synth') and its options."""
    root = typer.main.get_command(app)
    out: dict[str, set[str]] = {}

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):  # a group
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
        else:
            out[" ".join(path)] = {o for p in cmd.params for o in getattr(p, "opts", [])} | {"--help"}

    walk(root, ())
    return out


def test_every_command_and_option_the_docs_show_exists() -> None:
    known = commands()
    for path in DOCS:
        for block in re.findall(r"```(?:sh)?\n(.*?)```", text(path), re.S):
            for line in block.splitlines():
                line = line.split("#", 1)[0].strip()
                m = re.match(r"(?:\$ )?(?:\.venv/bin/)?icsys ((?:[a-z][a-z-]* ?)+)(.*)", line)
                if not m:
                    continue
                words = m.group(1).split()
                command = next((" ".join(words[:n]) for n in (2, 1) if " ".join(words[:n]) in known), None)
                assert command, f"{path.name}: `icsys {m.group(1).strip()}` is no command"
                for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line):
                    assert option in known[command], f"{path.name}: `icsys {command}` has no {option}"


# --- (d) key figures said in words ---------------------------------------------------------------------

# glossary term -> the standard whose thresholds its figures are, and the figures it gives
GLOSSARY_FIGURES = {
    "**4-hour standard**": ("ae_4h", [95, 78]),
    "**Dementia diagnosis rate**": ("dementia_diagnosis_rate", [66.7]),
    "**EIP**": ("eip_2w", [60]),
    "**RTT**": ("rtt_18w", [92]),
    "**UCR**": ("ucr_2h", [70]),
    "**NHS Talking Therapies**": ("talking_therapies_recovery", [50]),
}


def test_the_glossary_s_thresholds_are_the_catalogue_s() -> None:
    rows = {term: meaning for term, meaning in table_rows(text(ROOT / "docs" / "glossary.md"))[1:]}
    for term, (standard, values) in GLOSSARY_FIGURES.items():
        held = {t.value for t in CATALOGUE.get(standard).threshold}
        for value in values:
            assert f"{value:g} %" in rows[term], f"glossary {term} does not say {value:g} %"
            assert value in held, f"glossary {term}: {value:g} % is no threshold of {standard}"


def test_counts_of_standards_are_the_catalogue_s() -> None:
    for path in DOCS:
        for said in re.findall(r"(\d+) standards as data", text(path)):
            assert int(said) == len(CATALOGUE.standard), f"{path.name} says {said} standards"


def test_the_readme_s_organisations_are_the_system_definition_s() -> None:
    system = load_system()
    intro = text(README)[:800]
    acute = [s for s in system.site if s.kind == "acute" and s.general_acute_beds]
    assert f"{len(system.pcn)} PCNs" in intro and f"{len(system.practice)} practices" in intro
    assert re.search(r"(\w+) ICPs", intro).group(1) in ("four", str(len(system.icp))) and len(system.icp) == 4
    assert re.search(r"(\w+) acute hospital sites", intro).group(1) in ("seven", str(len(acute))) and len(acute) == 7
    people = sum(p.list_size for p in system.practice) / 1e6
    assert f"{people:.2f} million" in intro


@pytest.mark.parametrize("doc", ["performance.md", "population.md", "board-pack.md", "glossary.md"])
def test_no_doc_keeps_figures_the_code_no_longer_gives(doc: str) -> None:
    """Figures once stated and since outdated (issue 10: performance.md said 120-190 % occupancy)."""
    body = text(ROOT / "docs" / doc)
    for stale in ("120-190 %", "120–190 %", "eFI2 is not computed", "constraint is pooled over the ICS",
                  "delays over 30 and 60"):
        assert stale not in body, f"{doc} still says {stale!r}"


def test_frailty_and_disclosure_figures_are_the_code_s() -> None:
    import tomllib

    from icsys.disclosure import SMALL_NUMBER

    weights = tomllib.loads(text(ROOT / "src" / "icsys" / "codes" / "efi2_weights.toml"))
    rows = {term: meaning for term, meaning in table_rows(text(ROOT / "docs" / "glossary.md"))[1:]}
    efi2 = rows["**eFI2**"]
    cuts = weights["categories"]
    assert f"/ {weights['divisor']:g}" in efi2 and f"{weights['only_from_age']}+" in efi2
    assert f"< {cuts['mild']:g}" in efi2 and f"< {cuts['moderate']:g}" in efi2 and f"> {cuts['severe_above']:g}" in efi2
    deficits = {v.get("category_of", k) for k, v in weights["deficit"].items()}  # a category's rows are one deficit
    assert f"{len(deficits)} weighted deficits" in efi2
    for doc in ("population.md", "board-pack.md"):
        for said in re.findall(r"SMALL_NUMBER = (\d+)", text(ROOT / "docs" / doc)):
            assert int(said) == SMALL_NUMBER, f"{doc} says SMALL_NUMBER = {said}"
    assert f"1 to {SMALL_NUMBER - 1} suppressed" in rows["**Disclosure control**"]
