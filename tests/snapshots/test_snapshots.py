"""Proof that nothing changed: results a user sees, computed through the command line on the fixture
store (tests/fixtures/km_small), against snapshots under tests/snapshots/data.

A change that alters one of these results updates its snapshot in the same commit and says why:
`ICSYS_UPDATE_SNAPSHOTS=1 pytest tests/snapshots` rewrites them. Every --json output is parsed strictly
(NaN and Infinity are not JSON)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from support import icsys, icsys_json
from support.snapshot import assert_snapshot

AS_OF = "2026-03-31"  # the fixture's last day
MONTH = ("2026-02-01", "2026-02-28")  # a whole month the fixture covers
# person_measures as a user reads them (the case-finding flags stand for their reasons' text)
MEASURES = ("person_id", "practice_code", "efi_deficits", "efi_score", "efi_category", "ltc_count", "cambridge_score",
            "segment", "flag_dementia_medication_no_diagnosis", "flag_raised_bp_no_hypertension",
            "flag_ltc3_no_review", "flag_ld_no_health_check", "flag_smi_no_health_check",
            "risk_emergency_admission_12m", "risk_top_percent")
CARD_OF_THE_RUN = ("model_id", "trained_at", "trained_by", "store")  # who, when and where: not results


@pytest.fixture(scope="module")
def stratified(fixture_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = Path(shutil.copy(fixture_store, tmp_path_factory.mktemp("stratified") / "km.duckdb"))
    icsys("population", "stratify", "--db", db, "--as-of", AS_OF, check=True)
    return db


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def test_person_measures(stratified: Path) -> None:
    # read with SQL: `icsys export --table person_measures` does not know the table yet (issue 8)
    with duckdb.connect(str(stratified), read_only=True) as con:
        rows = con.execute(f"SELECT {', '.join(MEASURES)}, as_of FROM person_measures ORDER BY person_id").fetchall()
    assert {r[-1] for r in rows} == {date.fromisoformat(AS_OF)}
    assert_snapshot("person_measures", {"columns": list(MEASURES), "rows": [[_plain(v) for v in r[:-1]] for r in rows]})


def test_model_card(stratified: Path) -> None:
    card = icsys_json("population", "model-card", "--db", stratified, "--json")
    assert all(card.pop(key) for key in CARD_OF_THE_RUN)
    assert_snapshot("model_card", card)


def test_every_standard_for_the_ics_every_month(fixture_store: Path) -> None:
    rows = icsys_json("performance", "measure", "--db", fixture_store, "--org", "QKS", "--json")
    assert len({r["standard"] for r in rows}) == 51 and len({r["period"] for r in rows}) == 36
    assert_snapshot("standards_ics", by_standard(rows))


def test_every_standard_for_every_organisation_one_month(fixture_store: Path) -> None:
    rows = icsys_json("performance", "measure", "--db", fixture_store, "--from", MONTH[0], "--to", MONTH[1], "--json")
    assert {"QKS", "MS", "RPA", "RPA02", "G82100"} <= {r["org"] for r in rows}
    assert_snapshot("standards_month", by_standard(rows))


def by_standard(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows of `performance measure --json` keyed "standard org period", so that a difference names them."""
    key = ("standard", "org", "period")
    figures = sorted({c for r in rows for c in r} - set(key))
    table = {" ".join(str(r[k]) for k in key): [r.get(c) for c in figures] for r in rows}
    assert len(table) == len(rows), "a standard, organisation and period given twice"
    return {"columns": figures, "rows": table}


def test_flow_comparison_with_a_fixed_seed() -> None:
    result = icsys_json("flow", "compare", "kent_and_medway", "kent_and_medway_interventions", "--seed", "1",
                        "--replications", "5", "--json", "--quiet")
    assert_snapshot("flow_compare", result)


def test_board_pack_numbers(fixture_store: Path, tmp_path: Path) -> None:
    icsys("report", "board", "--db", fixture_store, "--org", "QKS", "--month", "2026-02", "--out-dir", tmp_path,
          "--quiet", check=True)
    html = (tmp_path / "board-QKS-2026-02.html").read_text(encoding="utf-8")
    pack = board_numbers(html)
    # a standard without a chart (too few months resting on 8 or more patients) says so instead
    # 50 of the catalogue's 51: delayed transfers of care is retired (no collection since March 2020)
    assert len(pack["standards"]) == 50 and len(pack["charts"]) + html.count("<p class=\"muted\">No chart.</p>") >= 40
    assert_snapshot("board_pack", pack)


# --- reading the numbers out of the board pack's HTML -------------------------------------------------

_PLOT = re.compile(r'Plotly\.newPlot\(\s*"([^"]+)",\s*')


def board_numbers(html: str) -> dict[str, Any]:
    """The summary, the table of standards (value, target, met, icons) and every chart's series."""
    charts = {}
    for match in _PLOT.finditer(html):
        traces, _ = json.JSONDecoder().raw_decode(html, match.end())
        charts[match.group(1)] = [{k: t.get(k) for k in ("name", "x", "y")} for t in traces]
    page = _Tables()
    page.feed(html)
    return {"summary": page.summary.strip(), "standards": page.standards, "opel_days": page.opel_days,
            "charts": charts}


class _Tables(HTMLParser):
    """Text of the summary paragraph, of each standard's row and of the OPEL days table (svg titles
    included: they name the icons)."""

    def __init__(self) -> None:
        super().__init__()
        self.summary, self.standards, self.opel_days = "", {}, []
        self._in: str | None = None
        self._row: list[str] | None = None
        self._key: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "p" and a.get("id") == "summary":
            self._in = "summary"
        elif tag == "table" and a.get("id") == "opel-days":
            self._in = "opel"
        elif tag == "tr" and (a.get("data-standard") or self._in == "opel"):
            self._row, self._key = [], a.get("data-standard")
        elif tag == "td" and self._row is not None:
            self._row.append("")

    def handle_endtag(self, tag: str) -> None:
        if (tag == "p" and self._in == "summary") or (tag == "table" and self._in == "opel"):
            self._in = None
        elif tag == "tr" and self._row is not None:
            cells = [" ".join(c.split()) for c in self._row]
            if self._key:
                self.standards[self._key] = cells
            elif cells:
                self.opel_days.append(cells)
            self._row = self._key = None

    def handle_data(self, data: str) -> None:
        if self._in == "summary":
            self.summary += data
        elif self._row:
            self._row[-1] += data
