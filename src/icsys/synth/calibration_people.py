"""Calibration checks on people (issue 9, items 3-4): how people differ and how their past predicts their
future, births and the youngest ages, frequent use of A&E, place of death, polypharmacy (the death rate is
a headline row of icsys.synth.calibration).

The same form as icsys.synth.calibration (each a published reference with its source and a tolerance
that allows for the sampling error of a build at scale 0.005); `measure_people` runs them, the AUROC of
age and sex for next year's emergency admission computed with scikit-learn. Run as
`python -m icsys.synth.calibration_people DB`.
"""

from __future__ import annotations

import sys

import duckdb
import numpy as np
from sklearn.metrics import roc_auc_score

from icsys.synth.calibration import EMERGENCY, END, PERSON_YEARS, START, Check, table

AGE_SEX_AUROC = "age and sex alone: AUROC for an emergency admission next year"
YEAR_1 = f"{START} + INTERVAL 1 YEAR"
YEAR_2 = f"{START} + INTERVAL 2 YEAR"

AFTER_THE_PERIOD = "inpatient spells admitted after the period"
PEOPLE_CHECKS: list[Check] = [
    Check(AFTER_THE_PERIOD, f"SELECT count(*) FROM inpatient_spell WHERE admission_time >= {END}", 0, 0,
          "0 (a store covers its period; a wait for a bed must not move a spell beyond it)",
          "the store's period (icsys_meta)", unit="0"),
    Check("people aged 0-4 (whole years of age)", f"SELECT avg((birth_date > {END} - INTERVAL 5 YEAR)::INT) "
          "FROM person WHERE registration_end IS NULL AND death_date IS NULL", 0.045, 0.065, "5.5 % (Kent 5.6 %)",
          "ONS mid-2022 population estimates"),
    Check("births per 1,000 people a year", f"SELECT (SELECT count(*) FROM person WHERE birth_date >= {START}) / "
          f"{PERSON_YEARS} * 1000", 9.0, 12.5, "10.3 England and Wales 2023; Kent ~10.5, Medway ~12",
          "ONS Births in England and Wales 2023; births by local authority 2022", unit="1"),
    Check("deaths in hospital", f"SELECT avg((place_of_death = 'hospital')::INT) FROM person WHERE death_date >= "
          f"{START} AND death_date < {END}", 0.38, 0.50, "43.4 % (home 28.7 %, care home 20.5 %)",
          "OHID Palliative and end of life care profile, place of death 2022 [S8]"),
    Check("A&E attenders in a year attending 3 or more times", "SELECT avg((n >= 3)::INT) FROM ae_year", 0.06, 0.14,
          "9.5 % (73.5 % once)", "Greenfield et al., Frequent attendances at emergency departments in England, "
          "EMJ 2020 (HES A&E 2016-17)"),
    Check("A&E attendances by people attending 3 or more times in the year",
          "SELECT sum(n) FILTER (WHERE n >= 3) / sum(n) FROM ae_year", 0.18, 0.36, "27.1 %", "Greenfield et al. 2020"),
    Check("another emergency admission next year: after one, over people without (all ages)",
          "SELECT avg(again::INT) FILTER (WHERE had) / avg(again::INT) FILTER (WHERE NOT had) FROM repeat_all",
          3.5, 12.0, "~5-8 x (a recent emergency admission is the strongest predictor of the next)",
          "Billings et al., BMJ 2006 (PARR); SPARRA (Liley et al. 2021): prior emergency admissions lead", unit="1"),
    Check(AGE_SEX_AUROC, "", 0.66, 0.74, "0.68-0.72 (published record-based models reach 0.76-0.80)",
          "issue 9; QAdmissions (Hippisley-Cox and Coupland, BMJ Open 2013), SPARRAv4 (Liley et al. 2021)",
          unit="3"),
    Check("people 65+ with 5 or more medicines (distinct, issued in 90 days)",
          f"SELECT avg((n >= 5)::INT) FROM (SELECT p.person_id, count(DISTINCT m.dmd_code) AS n FROM person p "
          f"LEFT JOIN medication m ON m.person_id = p.person_id AND m.issue_date >= {END} - INTERVAL 90 DAY "
          f"WHERE date_diff('day', p.birth_date, {END}) >= 65 * 365.25 AND p.registration_end IS NULL AND "
          "p.death_date IS NULL GROUP BY 1)", 0.35, 0.55, "~45 % of people 65+ (49 % of 75+)",
          "Health Survey for England 2016, prescribed medicines"),
    Check("people 65+ with 8 or more medicines (distinct, issued in 90 days)",
          f"SELECT avg((n >= 8)::INT) FROM (SELECT p.person_id, count(DISTINCT m.dmd_code) AS n FROM person p "
          f"LEFT JOIN medication m ON m.person_id = p.person_id AND m.issue_date >= {END} - INTERVAL 90 DAY "
          f"WHERE date_diff('day', p.birth_date, {END}) >= 65 * 365.25 AND p.registration_end IS NULL AND "
          "p.death_date IS NULL GROUP BY 1)", 0.08, 0.20, "over 1 in 10 people 65+ (nearly 1 in 4 of 85+)",
          "Age UK, More harm than good (2019), from Health Survey for England 2016"),
]


def prepare_people(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary views: A&E attendances per attender in the first year; emergency admission in years 1 and 2."""
    con.execute(f"""CREATE OR REPLACE TEMP VIEW ae_year AS SELECT person_id, count(*) AS n FROM ae_attendance
        WHERE arrival_time >= {START} AND arrival_time < {YEAR_1} GROUP BY 1""")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW people_two_years AS
        WITH adm AS (SELECT person_id, max((admission_time < {YEAR_1})::INT) AS y1,
                            max((admission_time >= {YEAR_1})::INT) AS y2
            FROM inpatient_spell WHERE {EMERGENCY} AND admission_time >= {START} AND admission_time < {YEAR_2}
            GROUP BY 1)
        SELECT p.person_id, p.sex, least(date_diff('day', p.birth_date, {YEAR_1}) // 1826, 18) AS band,
            coalesce(a.y1, 0) = 1 AS had, coalesce(a.y2, 0) = 1 AS again
        FROM person p LEFT JOIN adm a USING (person_id)
        WHERE p.registration_start <= {START} AND coalesce(p.registration_end, {END}) > {YEAR_2}
            AND coalesce(p.death_date, {END}) > {YEAR_1}""")
    con.execute("CREATE OR REPLACE TEMP VIEW repeat_all AS SELECT had, again FROM people_two_years")


def age_sex_auroc(con: duckdb.DuckDBPyConnection) -> float:
    """Each five-year age band x sex's rate of emergency admission in year 1 as the prediction for year 2
    (people registered through both years; those who die in year 2 are kept, as in a real cohort)."""
    rows = con.execute("""SELECT again::INT, avg(had::INT) OVER (PARTITION BY band, sex) FROM people_two_years"""
                       ).fetchnumpy()
    outcome, predicted = (np.asarray(v, float) for v in rows.values())
    if outcome.min(initial=0) == outcome.max(initial=0):
        return float("nan")
    return float(roc_auc_score(outcome, predicted))


def measure_people(con: duckdb.DuckDBPyConnection) -> list[tuple[Check, float]]:
    prepare_people(con)
    out = []
    for c in PEOPLE_CHECKS:
        value = age_sex_auroc(con) if c.name == AGE_SEX_AUROC else con.execute(c.sql).fetchone()[0]
        out.append((c, float(value or 0.0)))
    return out


def main(argv: list[str]) -> int:
    with duckdb.connect(argv[0], read_only=True) as con:
        results = measure_people(con)
    print(table(results))
    return 0 if all(c.low <= v <= c.high for c, v in results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
