"""eFI2 on hand-worked people: tiny record tables in a real DuckDB, each expected score summed by hand from
the published coefficients (Best K, et al. Age Ageing 2025;54(4):afaf077; /work/shared/reference/efi2.md),
typed here from the reference rather than read from codes/efi2_weights.toml."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pytest

from icsys.codes import codelists
from icsys.population import frailty

AS_OF = date(2025, 3, 31)
DIVISOR = 8.429
# The reference table, deficit label -> coefficient.
REFERENCE = {
    "activity limitation": 0.15284, "alcohol: harmful intake": 0.23107, "alcohol: no record": 0.13175,
    "alcohol: previously harmful or higher risk": 1.36434, "atrial fibrillation": 0.13025, "cancer": 0.2406,
    "cognitive impairment": 0.10985, "COPD": 0.11683, "dementia": 0.41715, "dressing and grooming problems": 0.05422,
    "environment problems": 0.11886, "falls": 0.62743, "fracture": 0.07353, "fragility fracture": 0.17425,
    "heart failure": 0.11086, "housebound": 0.33254, "hypotension or syncope": 0.18253, "liver problems": 0.23787,
    "medication management problems": 0.32125, "memory concerns": 0.11915, "mobility problems": 0.46836,
    "motor neurone disease": 0.35347, "BMI: no record": 0.25318, "BMI: underweight (< 18.5)": 0.4417,
    "palliative care": 0.5145, "parkinsonism or tremor": 0.03537, "peptic ulcer disease": 0.05427,
    "peripheral vascular disease": 0.02672, "requirement for care": 0.21428, "respiratory disease": 0.01049,
    "seizures": 0.02885, "self-harm": 0.009, "skin ulcer": 0.21935, "smoker: current": 0.10291,
    "social vulnerability": 0.23585, "stroke": 0.10565, "transient ischaemic attack": 0.02305, "weight loss": 0.19256,
    "polypharmacy: 5-9 distinct BNF sub-subchapters in 90 days": 0.32301, "polypharmacy: 10 or more": 0.50801,
}
FALLS, DEMENTIA, MEMORY, COGNITION = "161898004", "52448006", "386807006", "386806002"
BMI, UNITS_WEEK, UNITS_DAY, EX_HEAVY = "60621009", "1082641000000106", "1082631000000102", "160585006"
CURRENT, EX, NEVER = "77176002", "8517006", "266919005"
# Twelve BNF chemical substances in twelve different sub-subchapters (first 6 characters).
BNF = ["0206020A0", "0205051R0", "0202010B0", "0212000B0", "0209000A0", "0204000H0", "0601022B0", "0301011R0",
       "0208020Z0", "0202020L0", "0403030Q0", "0407010H0"]
RECENT = date(2024, 6, 1)


def born(age: int) -> date:
    """Born on 1 January, `age` on AS_OF."""
    return date(AS_OF.year - age, 1, 1)


def recorded(pid: int) -> list[tuple]:
    """A BMI of 25 and 10 units a week: both recorded, neither weighted."""
    return [(pid, RECENT, BMI, 25.0), (pid, RECENT, UNITS_WEEK, 10.0)]


def medicines(pid: int, n: int, day: date = AS_OF - timedelta(days=10)) -> list[tuple]:
    return [(pid, day, code) for code in BNF[:n]]


def score(people: dict[int, date], events: list[tuple] = (), meds: list[tuple] = ()) -> dict[int, dict]:
    con = ibis.duckdb.connect()
    person = con.create_table("person", pa.Table.from_pylist(
        [{"person_id": p, "birth_date": b} for p, b in people.items()]))
    event = con.create_table("clinical_event", pa.Table.from_pylist(
        [{"person_id": p, "event_date": d, "snomed_code": c, "value": v} for p, d, c, v in events],
        schema=pa.schema([("person_id", pa.int64()), ("event_date", pa.date32()), ("snomed_code", pa.string()),
                          ("value", pa.float64())])))
    medication = con.create_table("medication", pa.Table.from_pylist(
        [{"person_id": p, "issue_date": d, "bnf_code": c} for p, d, c in meds],
        schema=pa.schema([("person_id", pa.int64()), ("issue_date", pa.date32()), ("bnf_code", pa.string())])))
    out = frailty.efi2(person, event, medication, AS_OF).execute()
    return {int(r.person_id): r._asdict() for r in out.itertuples(index=False)}


def expect(row: dict, *coefficients: float, category: str) -> None:
    assert row["efi2_score"] == pytest.approx(sum(coefficients) / DIVISOR, abs=1e-12)
    assert row["efi2_deficits"] == len(coefficients)
    assert row["efi2_category"] == category


def test_the_weights_file_is_the_reference_table() -> None:
    with (Path(frailty.__file__).parent.parent / "codes" / "efi2_weights.toml").open("rb") as handle:
        spec = tomllib.load(handle)
    deficits = spec["deficit"]
    assert {d["label"]: d["coefficient"] for d in deficits.values()} == REFERENCE
    assert len(deficits) == 40
    # Categorical deficits count once: 3 alcohol, 2 BMI and 2 polypharmacy rows are one deficit each.
    assert len({d.get("category_of", name) for name, d in deficits.items()}) == 36
    assert sum(d["coefficient"] for d in deficits.values()) == pytest.approx(9.36775, abs=1e-9)
    assert deficits["falls"]["coefficient"] == 0.62743 and deficits["self_harm"]["coefficient"] == 0.009
    assert spec["divisor"] == DIVISOR and spec["only_from_age"] == 65
    assert spec["categories"] == {"mild": 0.0857, "moderate": 0.1624, "severe_above": 0.2392}
    assert {name for name, d in deficits.items() if d.get("hierarchy") == "dementia"} == {
        "memory_concerns", "cognitive_impairment", "dementia"}


def test_every_coded_deficit_has_codes() -> None:
    lists = codelists("efi2_deficits")
    for name, rule in frailty.weights()["deficit"].items():
        if "category_of" not in rule:
            assert lists.get(rule.get("codelist", name)), name
    for category in ("alcohol_zero", "alcohol_lower", "alcohol_higher", "alcohol_harmful", "alcohol_previous",
                     "alcohol_units_week", "alcohol_units_day", "bmi_value", "bmi_underweight",
                     "smoker_current", "smoker_ex", "smoker_never"):
        assert lists.get(category), category


def test_the_worked_example_and_the_dementia_hierarchy() -> None:
    # 70: falls + dementia + memory concerns (ignored: dementia is larger) + no BMI record + 6 BNF
    # sub-subchapters in 90 days; alcohol 10 units a week (lower risk: no weight); never smoked.
    events = [(1, RECENT, FALLS, None), (1, RECENT, DEMENTIA, None), (1, RECENT, MEMORY, None),
              (1, RECENT, UNITS_WEEK, 10.0), (1, RECENT, NEVER, None),
              # memory concerns beat cognitive impairment (0.11915 > 0.10985)
              (2, RECENT, MEMORY, None), (2, RECENT, COGNITION, None), *recorded(2)]
    rows = score({1: born(70), 2: born(80)}, events, medicines(1, 6))
    expect(rows[1], 0.62743, 0.41715, 0.25318, 0.32301, category="moderate")  # 1.62057 / 8.429 = 0.1923
    expect(rows[2], 0.11915, category="fit")


def test_only_people_65_and_over_are_scored() -> None:
    rows = score({1: date(1960, 3, 31), 2: date(1960, 4, 1), 3: born(30)}, [(3, RECENT, FALLS, None)])
    expect(rows[1], 0.25318, 0.13175, category="fit")  # 65 today, nothing recorded: no BMI, no alcohol
    for young in (2, 3):  # 64 (65 tomorrow); 30 with a fall
        assert all(pd.isna(rows[young][c]) for c in ("efi2_score", "efi2_deficits", "efi2_category"))


def test_alcohol_latest_record_within_five_years() -> None:
    bmi = [(p, RECENT, BMI, 25.0) for p in range(1, 7)]
    events = [*bmi,
              (1, date(2020, 3, 31), UNITS_WEEK, 60.0),  # exactly 5 years ago: outside, so no record
              (2, date(2020, 4, 1), UNITS_WEEK, 60.0),  # within: harmful
              (3, date(2020, 4, 1), UNITS_WEEK, 60.0), (3, RECENT, UNITS_WEEK, 0.0),  # latest zero: no weight
              (4, RECENT, UNITS_DAY, 7.0),  # 7 a day is 49 a week: harmful
              (5, RECENT, UNITS_WEEK, 48.0),  # higher risk: no weight
              (6, date(2023, 1, 1), EX_HEAVY, None)]  # previously harmful
    rows = score({p: born(75) for p in range(1, 7)}, events)
    expect(rows[1], 0.13175, category="fit")
    expect(rows[2], 0.23107, category="fit")
    expect(rows[3], category="fit")
    expect(rows[4], 0.23107, category="fit")
    expect(rows[5], category="fit")
    expect(rows[6], 1.36434, category="mild")  # 0.16186: just under moderate


def test_latest_bmi_and_smoking_record_wins() -> None:
    events = [*[e for p in range(1, 5) for e in recorded(p) if e[2] != BMI],
              (1, date(2022, 1, 1), BMI, 24.0), (1, RECENT, BMI, 18.4),  # underweight now
              (2, date(2022, 1, 1), BMI, 18.4), (2, RECENT, BMI, 18.5),  # 18.5 is not underweight
              (3, date(2020, 1, 1), CURRENT, None), (3, RECENT, EX, None), (3, RECENT, BMI, 25.0),
              (4, date(2020, 1, 1), EX, None), (4, RECENT, CURRENT, None), (4, RECENT, BMI, 25.0)]
    rows = score({p: born(80) for p in range(1, 5)}, events)
    expect(rows[1], 0.4417, category="fit")
    expect(rows[2], category="fit")
    expect(rows[3], category="fit")
    expect(rows[4], 0.10291, category="fit")


def test_polypharmacy_bands_and_the_90_day_window() -> None:
    people = {p: born(70) for p in range(1, 8)}
    events = [e for p in people for e in recorded(p)]
    meds = [*medicines(1, 4), *medicines(2, 5), *medicines(3, 9), *medicines(4, 10), *medicines(5, 12),
            *medicines(6, 4), (6, AS_OF - timedelta(days=90), BNF[4]),  # 90 days before: outside
            *medicines(7, 4), (7, AS_OF - timedelta(days=89), BNF[4]),  # 89 days before: inside
            (1, AS_OF, "0411000D0"), (1, AS_OF, "0411000V0"),  # one sub-subchapter (4.11): 5 in all
            (3, AS_OF + timedelta(days=1), BNF[11])]  # after the index date
    rows = score(people, events, meds)
    expect(rows[1], 0.32301, category="fit")
    expect(rows[2], 0.32301, category="fit")
    expect(rows[3], 0.32301, category="fit")
    expect(rows[4], 0.50801, category="fit")
    expect(rows[5], 0.50801, category="fit")
    expect(rows[6], category="fit")
    expect(rows[7], 0.32301, category="fit")


def test_falls_count_only_from_age_55() -> None:
    events = [*recorded(1), *recorded(2), (1, date(1999, 12, 31), FALLS, None), (2, date(2000, 1, 1), FALLS, None)]
    rows = score({1: date(1945, 1, 1), 2: date(1945, 1, 1)}, events)  # 54 and 55 at the fall
    expect(rows[1], category="fit")
    expect(rows[2], 0.62743, category="fit")  # 0.0744


@pytest.mark.parametrize(("value", "category"), [(0.0, "fit"), (0.08569, "fit"), (0.0857, "mild"), (0.16239, "mild"),
                                                 (0.1624, "moderate"), (0.2392, "moderate"), (0.23921, "severe")])
def test_category_edges(value: float, category: str) -> None:
    con = ibis.duckdb.connect()
    t = con.create_table("s", pa.table({"score": [value]}))
    assert t.select(c=frailty.efi2_category(t.score)).execute()["c"][0] == category


def test_synthetic_65_plus_in_a_plausible_range(stratified_store: Path) -> None:
    """eFI2 categories of people 65+ in the shared small synthetic store. No published eFI2 category
    distribution for a general population was at hand; the bounds are wide: most fit, few severe, as
    for the eFI (Clegg 2016: 50/35/12/3 %) and as eFI2's cut-points were set."""
    with duckdb.connect(str(stratified_store), read_only=True) as con:
        shares = dict(con.execute(
            "SELECT efi2_category, count(*) / sum(count(*)) OVER () FROM person_measures "
            "WHERE efi2_score IS NOT NULL GROUP BY 1").fetchall())
        unscored = con.execute(
            "SELECT count(*) FROM person_measures WHERE efi2_score IS NULL "
            "AND date_diff('year', birth_date, as_of) >= 66").fetchone()[0]
    assert set(shares) == {"fit", "mild", "moderate", "severe"}
    assert 0.45 <= shares["fit"] <= 0.90 and 0.08 <= shares["mild"] <= 0.40
    assert 0.01 <= shares["moderate"] <= 0.15 and 0.002 <= shares["severe"] <= 0.06
    assert unscored == 0
