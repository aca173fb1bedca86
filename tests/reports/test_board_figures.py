"""The board pack's figures as an analyst checks them: limits within what a measure can take, months on
too few patients kept out of the chart and flagged, commentary that follows from the figures (bad news
included), the performance lead's notes, the source on every page and every series in Excel and CSV."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from icsys.dataset.store import Store
from icsys.performance.catalogue import load_catalogue
from icsys.performance.organisations import Organisation
from icsys.reports.board.content import BoardPack, EscalationPanel, StandardPanel
from icsys.reports.board.pack import BoardError, build_pack, pack_files, read_notes, spc_of, write_pack
from icsys.reports.board.pdf import figures
from support import assert_clear_error, icsys

MONTHS = [date(2025 + (m + 1) // 12, (m + 1) % 12 + 1, 1) for m in range(14)]  # Feb 2025 .. Mar 2026


def series(values: list[float], denominators: list[float], target: float | None = None) -> pd.DataFrame:
    """Monthly rows ending March 2026; numerators are value x denominator / 100."""
    months = MONTHS[-len(values):]
    numerators = [v * d / 100 for v, d in zip(values, denominators, strict=True)]
    return pd.DataFrame({"period": months, "numerator": numerators,
                         "denominator": denominators, "value": values, "target": target, "planned": float("nan"),
                         "variance": float("nan"), "on_track": None})


def panel(frame: pd.DataFrame, direction: str = "higher", unit: str = "%") -> StandardPanel:
    chart, notes = spc_of(frame, direction, unit)
    return StandardPanel(id="ae_4h", name="A&E 4 hours, all types", domain="urgent and emergency care", unit=unit,
                         direction=direction, series=frame, month=date(2026, 3, 1), chart=chart, notes=tuple(notes))


def test_a_percentages_limits_are_kept_within_0_and_100() -> None:
    # 10 %, 90 % in turn: mean 50, every moving range 80, limits 50 -/+ 2.66 x 80 = -162.8 and 262.8.
    frame = series([10.0, 90.0] * 7, [100.0] * 14)
    chart, _ = spc_of(frame, "higher", "%")
    assert chart.limits.iloc[-1][["mean", "lpl", "upl"]].tolist() == [50.0, 0.0, 100.0]
    assert chart.points["lpl"].min() == 0 and chart.points["upl"].max() == 100
    minutes, _ = spc_of(frame, "lower", "minutes")  # a mean time: 0 and up, no ceiling
    assert minutes.limits.iloc[-1][["lpl", "upl"]].tolist() == [0.0, pytest.approx(262.8)]


def test_a_month_on_too_few_patients_is_flagged_and_shows_no_signal() -> None:
    # Thirteen months of 20 patients, then March 2026 with 4 (3 seen in time): 75 % from 4 patients.
    frame = series([50.0, 55.0] * 6 + [50.0, 75.0], [20.0] * 13 + [4.0], target=78.0)
    p = panel(frame)
    assert len(p.chart.points) == 13 and p.chart.points["period"].iloc[-1] == pd.Timestamp(2026, 2, 1)
    assert p.small and p.counts == "3 of 4" and p.variation is None and p.assurance is None
    assert "1 month rests on fewer than 8 patients or events" in " ".join(p.notes)
    assert p.commentary == ("75.0% in March 2026 (3 of 4), better than February 2026 (50.0%), not meeting the "
                            "target of 78.0%. Fewer than 8 patients or events: too few to read as a rate, so no "
                            "SPC signal is shown.")
    one = panel(series([0.0], [1.0], target=60.0))  # EIP: one referral, not seen in 2 weeks
    assert one.chart is None and one.small and one.counts == "0 of 1" and one.small_flag.startswith("small number")


def test_commentary_says_the_bad_news() -> None:
    # 79 and 81 in turn for 13 months, then 40 of 100. Moving ranges: twelve of 2 and one of 41, average 5;
    # 41 >= 3.267 x 5 is screened out, so the average is 2; mean 1079 / 14 = 77.07, limits 77.07 -/+ 5.32
    # = 71.75 and 82.39: March is below the lower limit (concern, low), and the 78 % target lies within
    # the limits (hit and miss).
    frame = series([79.0, 81.0] * 6 + [79.0, 40.0], [100.0] * 14, target=78.0)
    p = panel(frame)
    assert p.chart.limits.iloc[-1]["lpl"] == pytest.approx(1079 / 14 - 5.32)
    assert (p.variation, p.assurance, p.change, p.met) == ("concern_low", "hit_and_miss", "worse", False)
    assert p.commentary == (
        "40.0% in March 2026 (40 of 100), worse than February 2026 (79.0%), not meeting the target of 78.0%. "
        "Special cause concern (low values): a change in the process to investigate. The target lies within the "
        "process limits: it will be met in some months and missed in others.")
    pack = BoardPack(org=Organisation("QKS", "NHS Kent and Medway", "ics"), ics_name="NHS Kent and Medway",
                     month=date(2026, 3, 1), months=14, store=Path("demo.duckdb"), covered=None,
                     first=MONTHS[0], last=MONTHS[-1], standards=[p], source={"synthetic": True, "scale": 0.01,
                                                                              "seed": 42},
                     escalation=EscalationPanel(org=Organisation("QKS", "NHS Kent and Medway", "ics"),
                                                first=date(2026, 3, 1), last=date(2026, 3, 31),
                                                days=pd.DataFrame(columns=["day", "org", "score", "level"]),
                                                latest=None, source="none", notes=()))
    assert ("met 0 of the 1 standards" in pack.summary and "1 standard is not meeting the target: A&E 4 hours"
            in pack.summary and "1 standard is worse (A&E 4 hours, all types)" in pack.summary
            and "1 standard shows special cause concern" in pack.summary)
    assert pack.provenance_line.startswith("SYNTHETIC DATA, not real patients (icsys synth, scale 0.01, seed 42)")


def test_the_leads_notes_from_toml_and_csv(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    toml = tmp_path / "notes.toml"
    toml.write_text('[standard.ae_4h]\nowner = "Director of Operations"\ncommentary = "Escalation beds open."\n')
    assert read_notes(toml, catalogue) == {"ae_4h": {"owner": "Director of Operations",
                                                     "commentary": "Escalation beds open."}}
    csv = tmp_path / "notes.csv"
    csv.write_text("standard,owner,commentary\nrtt_18w,Elective lead,Validation sprint\n")
    assert read_notes(csv, catalogue)["rtt_18w"]["owner"] == "Elective lead"
    bad = tmp_path / "bad.toml"
    bad.write_text('[standard.ae_5h]\nowner = "x"\n[standard.ae_4h]\nowners = "x"\n')
    with pytest.raises(BoardError, match=r"\[standard.ae_5h\]: standard 'ae_5h' is not in the catalogue; "
                                         r"\[standard.ae_4h\]: unknown field\(s\) owners"):
        read_notes(bad, catalogue)
    with pytest.raises(BoardError, match=r"use a \.toml or \.csv file"):
        read_notes(_touch(tmp_path / "notes.txt"), catalogue)


def _touch(path: Path) -> Path:
    path.write_text("")
    return path


@pytest.fixture(scope="module")
def store(synthetic_store) -> Path:
    return synthetic_store(0.005, 2, 7)  # the board tests' store


@pytest.fixture(scope="module")
def written(store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[BoardPack, list[Path]]:
    out = tmp_path_factory.mktemp("pack")
    notes = out / "notes.toml"
    notes.write_text('[standard.ae_4h]\nowner = "Director of Operations"\ncommentary = "Escalation beds open."\n')
    pack = build_pack(Store.open(store), "QKS", "2026-03", months=12, notes=notes)
    write_pack(pack, out)
    return pack, pack_files(pack, out)


def test_every_page_says_where_the_data_come_from(written) -> None:
    pack, files = written
    assert pack.synthetic and pack.source["scale"] == 0.005
    line = pack.provenance_line
    assert "SYNTHETIC DATA" in line and "data 01 Apr 2024 to 31 Mar 2026" in line
    pages = figures(pack)
    assert len(pages) >= 14 and all(line in [t.get_text() for t in fig.texts] for fig in pages)
    html = files[0].read_text(encoding="utf-8")
    assert html.count(pack.provenance) == 2  # the banner under the title and the footer printed on every page
    assert "Owner:</strong> Director of Operations" in html and "Escalation beds open." in html


def test_every_series_is_in_the_workbook_and_the_csv(written) -> None:
    pack, files = written
    book = openpyxl.load_workbook(files[2], read_only=True)
    assert book.sheetnames == ["About", "Summary", "Series", "OPEL"]
    rows = list(book["Series"].values)
    assert len(rows) - 1 == sum(len(s.series) for s in pack.standards) == len(pd.read_csv(files[3]))
    header = rows[0]
    four = [dict(zip(header, r, strict=True)) for r in rows[1:] if r[header.index("standard")] == "ae_4h"]
    panel = next(s for s in pack.standards if s.id == "ae_4h")
    assert [r["value"] for r in four] == pytest.approx(panel.series["value"].tolist())
    assert [r["numerator"] / r["denominator"] * 100 for r in four] == pytest.approx([r["value"] for r in four])
    assert {r["source"] for r in four} == {"km.duckdb"} and {r["synthetic"] for r in four} == {True}
    summary = pd.read_excel(files[2], sheet_name="Summary").set_index("standard")
    assert summary.loc["ae_4h", "owner"] == "Director of Operations"
    assert summary.loc["ae_4h", "commentary"] == panel.commentary
    assert len(pd.read_csv(files[4])) == len(pack.escalation.days)


def test_a_bad_notes_file_exits_2_with_nothing_written(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    notes = tmp_path / "notes.csv"
    notes.write_text("standard,owner\nae_9h,someone\n")
    run = icsys("report", "board", "--db", store, "--org", "QKS", "--month", "2026-03", "--notes", notes,
                "--out-dir", out, "--quiet")
    assert_clear_error(run, "row 2: standard 'ae_9h' is not in the catalogue")
    assert list(out.iterdir()) == []


def test_no_text_on_the_escalation_page_runs_over_its_chart(written) -> None:
    """The notes under the OPEL chart (what is not scored, and why) once ran over its dates: every text of the
    page is measured against the chart's whole extent, its date labels included."""
    pack, _ = written
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    page = figures(pack)[-1]
    assert any(t.get_text().startswith("Escalation (OPEL)") for t in page.texts)
    renderer = FigureCanvasAgg(page).get_renderer()
    chart = page.axes[0].get_tightbbox(renderer)
    notes = [t for t in page.texts if "is not scored" in t.get_text()]
    assert notes and pack.escalation.latest is not None
    for text in page.texts:
        box = text.get_window_extent(renderer)
        if text.get_text().strip() and box.width:
            assert not box.overlaps(chart), f"{text.get_text()[:60]!r} overlaps the chart"
