"""`icsys population`: population health management."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icsys.cli.common import DbOption, check_out, clear_errors, err, fail, parse_date

app = typer.Typer(no_args_is_help=True, help="Population health management: frailty, multimorbidity, risk, "
                  "case finding, registers, inequalities and cohorts.")


@app.command("stratify")
def population_stratify(
    db: DbOption,
    as_of: Annotated[str, typer.Option("--as-of", help="Date the measures describe (YYYY-MM-DD).")],
) -> None:
    """Write person_measures: one row per registered person with eFI, LTC count and case-finding flags."""
    from icsys.population.stratify import stratify

    day = parse_date(as_of, "--as-of")
    with clear_errors():
        people = stratify(db, day)
    err.print(f"wrote person_measures for {people:,} registered people as of {day}", highlight=False)


@app.command("cohort")
def population_cohort(
    definition: Annotated[str, typer.Argument(help="Cohort definition: a TOML file or a shipped name "
                                              "(frail_two_emergency_admissions, making_a_difference_each_week).")],
    db: DbOption,
    as_of: Annotated[str, typer.Option("--as-of", help="Date the cohort is drawn on (YYYY-MM-DD).")] = "2026-03-31",
    out: Annotated[Path | None, typer.Option(help="Write the list to .csv or .xlsx instead of the screen.")] = None,
) -> None:
    """List the members of a cohort with the reasons each qualifies, ready for an MDT."""
    from icsys.dataset.store import audit_access
    from icsys.population.cohort import CohortError, load_cohort, run

    day = parse_date(as_of, "--as-of")
    check_out(out, (".csv", ".xlsx"))
    with clear_errors():
        try:
            cohort = load_cohort(definition)
            found = run(db, cohort, day)
        except CohortError as exc:
            fail(str(exc))
        audit_access(db, "cohort", f"{cohort.name} as of {day}", len(found), str(out or "screen"))
        if out is None:
            print(found.to_string(index=False) if len(found) else "(no members)")
        elif out.suffix.lower() == ".csv":
            found.to_csv(out, index=False)
        else:
            found.to_excel(out, index=False, sheet_name=cohort.name[:31])
    err.print(f"{cohort.name}: {len(found):,} member(s) as of {day}" + (f", written to {out}" if out else ""),
              highlight=False)
