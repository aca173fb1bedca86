"""The board pack (`icsys report board`) as a board member and an analyst meet it: an HTML row and an
SPC chart for every standard that applies, the right Making Data Count icons for a series whose icons
are worked out by hand, a valid PDF of the expected pages, the OPEL history with its reasons, and
bad input refused with exit status 2 and nothing written."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from spec_tables import build

from icsys.dataset.store import Store
from icsys.performance.catalogue import load_catalogue
from icsys.performance.escalation import escalation
from icsys.performance.measure import applies_to, shape_of
from icsys.reports.board import pack as pack_module
from icsys.reports.board.html import render_html
from icsys.reports.board.pack import build_pack, spc_of, write_pack
from icsys.reports.board.pdf import CHARTS_PER_PAGE, ROWS_PER_PAGE
from support import assert_clear_error, icsys

CATALOGUE = load_catalogue()
MONTH = "2026-03"  # the last month of the synthetic store (April 2024 to March 2026)


def applying(kind: str) -> list[str]:
    return [s.id for s in CATALOGUE.live if applies_to(shape_of(s)[0], kind)]  # retired standards are not shown


def report_board(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return icsys("report", "board", "--quiet", *args)


def summary_rows(html: str) -> dict[str, str]:
    """The rows of the summary table, by standard."""
    table = html[html.index('<section id="standards">'):html.index('<section id="charts">')]
    return dict(re.findall(r'<tr data-standard="([a-z0-9_]+)">(.*?)</tr>', table, flags=re.S))


def pdf_pages(path: Path) -> int:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


@pytest.fixture(scope="module")
def store(synthetic_store) -> Path:
    return synthetic_store(0.005, 2, 7)


@pytest.fixture(scope="module")
def ics_pack(store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """The ICS's pack for March 2026 with a plan of two trajectories, written by the command."""
    folder = tmp_path_factory.mktemp("ics_pack")
    plan = folder / "plan.csv"
    plan.write_text("standard,org,month,planned\nae_4h,QKS,2026-01,74\nae_4h,QKS,2026-02,75\nae_4h,QKS,2026-03,76\n"
                    "rtt_18w,QKS,2026-03,60\nae_4h,RPA,2026-03,70\n")
    out = folder / "out"
    out.mkdir()
    run = report_board("--db", store, "--org", "QKS", "--month", MONTH, "--plan", plan, "--out-dir", out,
                       "--months", "18")
    assert run.returncode == 0, run.stderr
    return out / "board-QKS-2026-03.html", out / "board-QKS-2026-03.pdf", run


def test_the_command_writes_both_files_and_names_them(ics_pack) -> None:
    html, pdf, run = ics_pack
    stem = html.with_suffix("")
    exports = [stem.with_suffix(".xlsx"), Path(f"{stem}-series.csv"), Path(f"{stem}-opel.csv")]
    assert run.stdout.split() == [str(html), str(pdf), *map(str, exports)]
    assert sorted(p.name for p in html.parent.iterdir()) == sorted(p.name for p in [html, pdf, *exports])


def test_html_has_a_row_and_a_chart_for_every_standard_of_the_ics(ics_pack) -> None:
    text = ics_pack[0].read_text(encoding="utf-8")
    rows = summary_rows(text)
    assert list(rows) == applying("ics") and len(rows) == 50  # 51 in the catalogue, delayed transfers retired
    assert "delayed_transfer_rate" not in rows and "delayed_transfer_rate" not in text
    for standard in rows:
        assert f'<div class="panel" id="chart-{standard}" data-standard="{standard}">' in text
    # every row carries a variation icon where its chart has one: 18 months of data give charts for all
    # but the standards with fewer than 2 months with a value
    assert sum('data-icon="' in cells and 'class="icon variation"' in cells for cells in rows.values()) >= 35
    ae = rows["ae_4h"]
    assert "76.0%" in ae and ">78.0%<" in ae  # planned for the month; the 2025/26 target


def test_html_front_page_says_who_when_what(ics_pack) -> None:
    text = ics_pack[0].read_text(encoding="utf-8")
    assert "Board pack: NHS Kent and Medway (QKS), March 2026" in text
    assert "October 2024 to March 2026 (18 months asked)" in text  # the data period
    assert "the store covers 2024-04-01 to 2026-03-31" in text
    assert re.search(r"Generated</dt><dd>\d\d \w+ 20\d\d \d\d:\d\d", text)
    assert "icsys 0.1.0" in text
    summary = re.search(r'<p class="summary" id="summary">(.*?)</p>', text, flags=re.S).group(1)
    assert re.search(r"In March 2026, NHS Kent and Medway met \d+ of the \d+ standards with a target", summary)
    assert re.search(r"The ICS was at OPEL [1-4] on 31 March 2026", summary)
    assert re.search(r"Against the plan, [012] of 2 trajectories", summary)


def test_html_works_offline_with_plotly_inlined(ics_pack) -> None:
    text = ics_pack[0].read_text(encoding="utf-8")
    assert "<script src" not in text and "<link" not in text  # nothing fetched
    head = text[:text.index("</head>")]
    assert len(head) > 3_000_000 and "Plotly" in head  # plotly.js itself, from the installed package
    charts = text.count("Plotly.newPlot(")
    funnels = text.count('<div class="panel" id="funnel-')
    # SPC (a standard with too few months says "No chart."), 2 trajectories, the funnel plots, OPEL
    assert funnels > 0 and charts == 50 - text.count("<p class=\"muted\">No chart.</p>") + 2 + funnels + 1
    assert 'id="trajectory-ae_4h"' in text and 'id="trajectory-rtt_18w"' in text
    ids = re.findall(r'\bid="([^"]+)"', text[text.index("</head>"):])
    assert len(ids) == len(set(ids)) > 80  # a chart is drawn into its own element


def test_html_holds_no_persons_record(ics_pack, store: Path) -> None:
    text = ics_pack[0].read_text(encoding="utf-8")
    body = text[text.index("</head>"):]
    con = duckdb.connect(str(store), read_only=True)
    try:
        numbers = [n for (n,) in con.execute("SELECT nhs_number FROM person WHERE nhs_number IS NOT NULL").fetchall()]
    finally:
        con.close()
    assert len(numbers) > 1000
    assert not [n for n in numbers if n in body]


def test_pdf_is_a4_landscape_with_the_expected_pages(ics_pack) -> None:
    html, pdf = ics_pack[0].read_text(encoding="utf-8"), ics_pack[1]
    # front page, summary (16 rows a page), SPC charts (4 a page), trajectories (4 a page), the funnel plots
    # (4 a page), the ICPs side by side (16 standards a page), escalation
    funnels = html.count('<div class="panel" id="funnel-')
    icp_rows = html[html.index('<section id="icps">'):html.index('<section id="escalation">')].count("<tr>") - 1
    expected = (1 + math.ceil(50 / ROWS_PER_PAGE) + math.ceil(50 / CHARTS_PER_PAGE) + math.ceil(2 / CHARTS_PER_PAGE)
                + math.ceil(funnels / CHARTS_PER_PAGE) + math.ceil(icp_rows / ROWS_PER_PAGE) + 1)
    assert ROWS_PER_PAGE == 16 and CHARTS_PER_PAGE == 4 and funnels > 0 and icp_rows > 0
    assert pdf_pages(pdf) == expected
    assert b"/MediaBox [ 0 0 841.68 595.44 ]" in pdf.read_bytes()  # A4 landscape in points
    assert b"(Board pack: NHS Kent and Medway \\(QKS\\), March 2026)" in pdf.read_bytes()  # its title


def test_a_trust_has_its_own_standards_and_opel(store: Path, tmp_path: Path) -> None:
    pack = build_pack(Store.open(store), "RPA", MONTH, months=12)
    assert [s.id for s in pack.standards] == applying("trust")  # no population measures for a trust
    assert list(summary_rows(render_html(pack))) == applying("trust")
    assert pack.escalation.org.code == "RPA" and set(pack.escalation.days["org"]) == {"RPA", "QKS"}
    assert pack.escalation.source == "computed" and pack.escalation.latest["day"] == date(2026, 3, 31)
    _, pdf = write_pack(pack, tmp_path)
    n = len(applying("trust"))
    assert pdf_pages(pdf) == 1 + math.ceil(n / ROWS_PER_PAGE) + math.ceil(n / CHARTS_PER_PAGE) + 1


def test_a_practice_is_shown_the_ics_escalation(store: Path) -> None:
    pack = build_pack(Store.open(store), "G82100", MONTH, months=6)
    assert [s.id for s in pack.standards] == applying("practice")
    assert pack.escalation.org.code == "QKS"
    assert any("so the ICS is shown" in n for n in pack.escalation.notes)


def test_stored_opel_history_is_used_with_its_reasons(store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "km.duckdb"
    shutil.copy(store, copy)
    computed = build_pack(Store.open(copy), "QKS", MONTH, months=3).escalation
    assert computed.source == "computed"
    assert any(f"icsys performance escalation --db {copy} --from 2026-01-01 --to 2026-03-31" in n
               for n in computed.notes)
    writable = Store.open(copy, read_only=False)
    status = escalation(writable, start=date(2026, 1, 1), end=date(2026, 3, 31))  # writes opel_status
    stored = build_pack(Store.open(copy), "QKS", MONTH, months=3).escalation
    assert stored.source == "store" and any("opel_status" in n for n in stored.notes)
    last = status[(status["org"] == "QKS") & (status["day"] == "2026-03-31")].iloc[0]
    assert stored.latest["level"] == int(last["level"]) and stored.latest["score"] == pytest.approx(last["score"])
    escalated = [r["provider"] for r in last["reasons"]]
    assert escalated, "the synthetic ICS has trusts escalated on its last day"
    assert [line.split(" at OPEL")[0] for line in stored.latest["reasons"]] == escalated
    assert stored.days_at_level().sum(axis=1).tolist() == [31, 28, 31]  # every day of each month, once


# --- a series whose icons are worked out by hand ------------------------------------------------------

def four_hour_store(tmp_path: Path) -> Path:
    """RPA02, ten type 1 attendances a month, January 2024 to March 2025: 4 then 5 within 4 hours in turn
    (40 %, 50 %, ...) for 14 months, then all 10 in March 2025 (100 %).

    By hand: mean 730 / 15 = 48.67; moving ranges thirteen of 10 and one of 50, average 12.86; 50 is
    3.267 x 12.86 = 42.0 or more, so it is screened out and the average is 10; process limits
    48.67 -/+ 26.6 = 22.07 and 75.27. March 2025 is above the upper limit: special cause improvement,
    high (4 hours: higher is better). The target for March 2025 is 78 % (2024/25 planning guidance),
    above the upper limit: the process consistently fails it."""
    rows, key = [], 0
    for m in range(15):
        start = date(2024 + m // 12, m % 12 + 1, 3)
        within = 10 if m == 14 else (4 if m % 2 == 0 else 5)
        for i in range(10):
            key += 1
            arrival = datetime.combine(start + timedelta(days=i), datetime.min.time()) + timedelta(hours=9)
            stay = timedelta(hours=2 if i < within else 6)
            rows.append(f"{key} | RPA02 | 1 | {arrival:%Y-%m-%d %H:%M:%S} | {arrival + stay:%Y-%m-%d %H:%M:%S}")
    table = "person_id | site_code | department_type | arrival_time | departure_time\n" + "\n".join(rows)
    return build(tmp_path, ae_attendance=table)


def test_known_icons_and_limits_appear_in_the_pack(tmp_path: Path) -> None:
    db = four_hour_store(tmp_path)
    pack = build_pack(Store.open(db), "RPA", "2025-03", months=15)
    four = next(s for s in pack.standards if s.id == "ae_4h")
    assert four.series["value"].tolist() == [40.0, 50.0] * 7 + [100.0]
    assert (four.variation, four.assurance) == ("improvement_high", "consistently_fail")
    assert four.chart.limits.iloc[-1][["mean", "lpl", "upl"]].tolist() == pytest.approx([48.6667, 22.0667, 75.2667],
                                                                                        abs=1e-4)
    assert four.target == 78 and four.met is True  # 100 % this month: met, yet not assured
    html = render_html(pack)
    row = summary_rows(html)["ae_4h"]
    assert re.findall(r'data-icon="([a-z_]+)"', row) == ["improvement_high", "consistently_fail"]
    assert 'aria-label="Special cause improvement: high values"' in row
    panel = html[html.index('id="chart-ae_4h"'):html.index('id="chart-ae_4h_type1"')]
    assert "Mean 48.7%; process limits 22.1% to 75.3% from 15 points." in panel
    assert "The target changed over the period; assurance is judged against the latest, 78." in panel
    assert "2 standards show special cause improvement." in pack.summary  # all types and type 1 alike
    # standards with nothing to count in this tiny store say so instead of drawing a chart
    handover = next(s for s in pack.standards if s.id == "amb_handover_mean")
    assert handover.chart is None and "Too few months with a value" in " ".join(handover.notes)


def test_chart_notes_trial_limits_and_gaps() -> None:
    periods = [date(2025, m, 1) for m in range(1, 11)]
    frame = pd.DataFrame({"period": periods, "value": [5.0, 6, 5, float("nan"), 6, 5, 6, 5, 6, 5],
                          "target": [9.0] * 10})
    chart, notes = spc_of(frame, "lower")
    assert chart is not None and chart.trial and len(chart.points) == 9
    assert notes[0] == "1 month has no value (nothing to count) and is left out of the chart."
    assert notes[1].startswith("Trial limits: calculated from 9 points, fewer than 13")
    # mean 49 / 9 = 5.44, moving ranges all 1, upper limit 5.44 + 2.66 = 8.10: lower is better and the
    # target 9 lies above it, so every month passes
    assert chart.limits.iloc[0]["upl"] == pytest.approx(49 / 9 + 2.66)
    assert chart.assurance == "consistently_pass"
    none, why = spc_of(frame.assign(value=[1.0] + [float("nan")] * 9), "higher")
    assert none is None and "Too few months" in why[-1]


def test_nothing_is_left_when_writing_fails(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = build_pack(Store.open(store), "G82100", MONTH, months=4)
    out = tmp_path / "out"
    out.mkdir()
    (out / "board-G82100-2026-03.html").write_text("the pack of last month")

    def broken(pack, path: Path) -> None:
        path.write_bytes(b"%PDF-1.4 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pack_module, "render_pdf", broken)
    with pytest.raises(OSError, match="No space"):
        write_pack(pack, out)
    assert sorted(p.name for p in out.iterdir()) == ["board-G82100-2026-03.html"]
    assert (out / "board-G82100-2026-03.html").read_text() == "the pack of last month"


# --- bad input -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--org", "XYZ99", "--month", MONTH], "unknown organisation 'XYZ99'"),
    (["--org", "QKS", "--month", "2026-04"], "month 2026-04: "),
    (["--org", "QKS", "--month", "2024-03"], "use a month from 2024-04 to 2026-03"),
    (["--org", "QKS", "--month", "March"], "month 'March': use YYYY-MM"),
    (["--org", "QKS", "--month", MONTH, "--months", "1"], "--months 1: use 2 to 240"),
    (["--org", "QKS", "--month", MONTH, "--plan", "PLAN"], "row 2: standard 'ae_5h' is not in the catalogue"),
    (["--org", "QKS", "--month", MONTH, "--plan", "MISSING.csv"], "no such plan file"),
    (["--org", "QKS", "--month", MONTH, "--out-dir", "FILE"], "not a folder"),
    (["--org", "QKS", "--month", MONTH, "--out-dir", "NOWHERE"], "no such folder"),
    (["--org", "QKS", "--month", MONTH, "--funnel-period", "fortnight"],
     "--funnel-period 'fortnight': use month, quarter or year"),
    (["--org", "QKS", "--month", "2025-02", "--funnel-period", "year"],
     "the last whole year to 2025-02 runs 2023-04-01 to 2024-03-31, but the store covers"),
])
def test_bad_input_exits_2_with_nothing_written(store: Path, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    plan = tmp_path / "plan.csv"
    plan.write_text("standard,org,month,planned\nae_5h,QKS,2026-03,76\n")
    (tmp_path / "file.txt").write_text("not a folder")
    swap = {"PLAN": str(plan), "MISSING.csv": str(tmp_path / "missing.csv"), "FILE": str(tmp_path / "file.txt"),
            "NOWHERE": str(tmp_path / "nowhere")}
    args = [swap.get(a, a) for a in args]
    if "--out-dir" not in args:
        args += ["--out-dir", str(out)]
    assert_clear_error(report_board("--db", store, *args), message)
    assert list(out.iterdir()) == []


def test_a_missing_store_exits_2(tmp_path: Path) -> None:
    run = report_board("--db", tmp_path / "none.duckdb", "--org", "QKS", "--month", MONTH, "--out-dir", tmp_path)
    assert_clear_error(run, "no such store")
    assert list(tmp_path.iterdir()) == []


def test_days_without_a_level_are_not_counted() -> None:
    from icsys.performance.organisations import Organisation
    from icsys.reports.board.content import EscalationPanel

    days = pd.DataFrame({"day": [date(2026, 3, d) for d in (1, 2, 3)], "org": "RPA", "score": [10.0, None, 60.0],
                         "level": [1, None, 3]})
    panel = EscalationPanel(org=Organisation("RPA", "Medway", "trust"), first=date(2026, 3, 1),
                            last=date(2026, 3, 3), days=days, latest=None, source="computed", notes=())
    assert panel.days_at_level().loc["2026-03"].tolist() == [1, 0, 1, 0]
