"""`icsys population`: population health management."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icsys.cli.common import (
    AuditOption,
    DbOption,
    SystemOption,
    check_out,
    clear_errors,
    err,
    fail,
    local_auditor,
    parse_date,
)

app = typer.Typer(no_args_is_help=True, help="Population health management: frailty, multimorbidity, risk, "
                  "case finding, registers, inequalities and cohorts.")


@app.command("stratify")
def population_stratify(
    db: DbOption,
    as_of: Annotated[str, typer.Option("--as-of", help="Date the measures describe (YYYY-MM-DD).")],
    retrain: Annotated[bool, typer.Option("--retrain", help="Train a new risk model first.")] = False,
    audit: AuditOption = None,
) -> None:
    """Write person_measures: one row per registered person with eFI, LTCs, Cambridge score, segment,
    risk of emergency admission and case-finding flags."""
    from icsys.population.stratify import stratify

    day = parse_date(as_of, "--as-of")
    with clear_errors():
        people = stratify(db, day, retrain=retrain, say=lambda m: err.print(m, highlight=False),
                          auditor=local_auditor(db, audit))
    err.print(f"wrote person_measures for {people:,} registered people as of {day}", highlight=False)


@app.command("train-risk")
def population_train_risk(
    db: DbOption,
    train_as_of: Annotated[str | None, typer.Option("--train-as-of", help="Date the model learns from "
                                                    "(default: two years before the data ends).")] = None,
    validate_as_of: Annotated[str | None, typer.Option("--validate-as-of", help="A later date it is validated "
                                                       "on (default: a year before the data ends).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the training split.")] = 42,
    card: Annotated[Path | None, typer.Option(help="Also write the model card to .md or .json.")] = None,
    audit: AuditOption = None,
) -> None:
    """Train the 12-month emergency admission risk model, validate it on a later year, store it with its
    model card."""
    from icsys.population import risk

    check_out(card, (".md", ".json"))
    train_day = parse_date(train_as_of, "--train-as-of") if train_as_of else None
    validate_day = parse_date(validate_as_of, "--validate-as-of") if validate_as_of else None
    with clear_errors():
        trained = risk.train(db, train_day, validate_day, seed=seed, say=lambda m: err.print(m, highlight=False),
                             auditor=local_auditor(db, audit))
        if card is not None:
            _write_card(trained.card, card)
    v = trained.card["validation"]
    err.print(f"risk model {trained.card['model_id']} stored: AUROC {v['auroc']:.3f}, calibration slope "
              f"{v['calibration_slope']:.2f} on {trained.card['validate_as_of']}"
              + (f"; card written to {card}" if card else ""), highlight=False)


@app.command("model-card")
def population_model_card(
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help="The card as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write it to .md or .json instead of the screen.")] = None,
) -> None:
    """Show the model card of the stored risk model."""
    import json

    from icsys.dataset.store import open_store
    from icsys.population import model_card, risk

    check_out(out, (".md", ".json"))
    with clear_errors():
        con = open_store(db, read_only=True)
        try:
            trained = risk.latest(con)
        finally:
            con.close()
        if trained is None:
            fail(f"{db}: no risk model yet (train one with `icsys population train-risk --db {db}`)")
        if out is not None:
            _write_card(trained.card, out)
            err.print(f"wrote the model card to {out}", highlight=False)
            return
    print(json.dumps(trained.card, indent=2) if as_json else model_card.render(trained.card))


def _write_card(card: dict, out: Path) -> None:
    import json

    from icsys.population import model_card

    text = json.dumps(card, indent=2) if out.suffix.lower() == ".json" else model_card.render(card)
    out.write_text(text, encoding="utf-8")


@app.command("registers")
def population_registers(
    db: DbOption,
    as_of: Annotated[str, typer.Option("--as-of", help="Date of the registers (YYYY-MM-DD).")] = "2026-03-31",
    level: Annotated[str, typer.Option(help="practice, pcn, icp, district, locality or ics.")] = "practice",
    condition: Annotated[list[str] | None, typer.Option(help="Only these registers (repeatable).")] = None,
    for_sharing: Annotated[bool, typer.Option("--for-sharing", help="Suppress counts of 1-7 and round the rest "
                                              "to 5, with the figures built on them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Rows as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write to .csv or .xlsx instead of the screen.")] = None,
    system: SystemOption = None,
) -> None:
    """Disease registers against expected prevalence: observed / expected with 95 % limits, and the gap."""
    from icsys.dataset.store import connect
    from icsys.population.disclosure import for_sharing as make_safe
    from icsys.population.registers import registers
    from icsys.system import load_system

    check_out(out, (".csv", ".xlsx"))
    day = parse_date(as_of, "--as-of")
    with clear_errors():
        definition = load_system(system)
        backend = connect(db)
        try:
            table = registers(backend, definition, day, level, condition)
        finally:
            backend.disconnect()
        if for_sharing:
            table = make_safe(table, ["population", "observed"], {"observed": [
                "ratio", "ratio_lower", "ratio_upper", "observed_prevalence", "gap"]})
        if as_json or out is not None:
            _show(table, as_json, out, "registers")
            return
        sources = table.drop_duplicates("condition").set_index("condition")["reference"]
        _show(table.drop(columns=["level", "as_of", "reference"]), False, None, "registers",
              f"Registers by {level} as of {day}; expected from: "
              + "; ".join(f"{c}: {r}" for c, r in sources.items()))


@app.command("inequalities")
def population_inequalities(
    db: DbOption,
    measure: Annotated[str, typer.Option(help="A person_measures column (yes/no or numeric), COLUMN=VALUE, or "
                                         "activity:NAME (emergency_admissions, ae_attendances, ...).")],
    by: Annotated[str, typer.Option(help="imd_quintile, ethnic_group, age_band, sex, practice, pcn, icp, "
                                    "district or locality.")] = "imd_quintile",
    crude: Annotated[bool, typer.Option("--crude", help="Crude figures, not age-standardised.")] = False,
    for_sharing: Annotated[bool, typer.Option("--for-sharing", help="Suppress counts of 1-7 and round the rest "
                                              "to 5, with the figures built on them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Rows and indices as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the rows to .csv or .xlsx.")] = None,
    system: SystemOption = None,
) -> None:
    """A measure by deprivation, ethnicity, age, sex or place, with 95 % limits, and the slope and
    relative index of inequality across IMD quintiles."""
    import json

    from icsys.dataset.store import connect
    from icsys.population.disclosure import for_sharing as make_safe
    from icsys.population.inequalities import inequalities
    from icsys.system import load_system

    check_out(out, (".csv", ".xlsx"))
    with clear_errors():
        definition = load_system(system)
        backend = connect(db)
        try:
            result = inequalities(backend, definition, measure, by, standardise=not crude)
        finally:
            backend.disconnect()
        table = result.table
        if for_sharing:
            counts = ["people", "numerator"] if result.measure.kind != "mean" else ["people"]
            table = make_safe(table, counts, {c: ["value", "lower", "upper"] for c in counts})
        how = "age-standardised (ESP 2013)" if result.standardised else "crude"
        title = f"{result.measure.text} by {by}, {how}, {result.measure.unit}, as of {result.as_of}"
        if as_json:
            print(json.dumps({"measure": result.measure.text, "unit": result.measure.unit, "by": by,
                              "as_of": result.as_of.isoformat(), "standardised": result.standardised,
                              "rows": json.loads(table.to_json(orient="records")), "index": result.index},
                             indent=2))
            return
        _show(table, False, out, "inequalities", title)
        if result.index:
            i = result.index
            print(f"slope index of inequality (most - least deprived): {i['sii']:.3f} "
                  f"({i['sii_lower']:.3f} to {i['sii_upper']:.3f}); relative index: {i['rii']:.2f} "
                  f"({i['rii_lower']:.2f} to {i['rii_upper']:.2f})")


def _show(table, as_json: bool, out: Path | None, sheet: str, title: str = "") -> None:
    """Rows to the screen, JSON or a file."""
    if out is not None:
        if out.suffix.lower() == ".csv":
            table.to_csv(out, index=False)
        else:
            table.to_excel(out, index=False, sheet_name=sheet)
        err.print(f"wrote {len(table):,} rows to {out}", highlight=False)
    elif as_json:
        print(table.to_json(orient="records", date_format="iso", indent=2))
    else:
        if title:
            print(title)
        print(table.round(3).to_string(index=False))


@app.command("cohort")
def population_cohort(
    definition: Annotated[str, typer.Argument(help="Cohort definition: a TOML file or a shipped name "
                                              "(frail_two_emergency_admissions, making_a_difference_each_week).")],
    db: DbOption,
    as_of: Annotated[str, typer.Option("--as-of", help="Date the cohort is drawn on (YYYY-MM-DD).")] = "2026-03-31",
    out: Annotated[Path | None, typer.Option(help="Write the list to .csv or .xlsx instead of the screen.")] = None,
    audit: AuditOption = None,
) -> None:
    """List the members of a cohort with the reasons each qualifies, ready for an MDT (as your role may
    see them: pseudonymised for an analyst); the list is recorded in the audit database."""
    from icsys.population.cohort import CohortError, load_cohort, run

    day = parse_date(as_of, "--as-of")
    check_out(out, (".csv", ".xlsx"))
    with clear_errors():
        try:
            cohort = load_cohort(definition)
            found = run(db, cohort, day, auditor=local_auditor(db, audit), out=out)
        except CohortError as exc:
            fail(str(exc))
        if out is None:
            print(found.to_string(index=False) if len(found) else "(no members)")
        elif out.suffix.lower() == ".csv":
            found.to_csv(out, index=False)
        else:
            found.to_excel(out, index=False, sheet_name=cohort.name[:31])
    err.print(f"{cohort.name}: {len(found):,} member(s) as of {day}" + (f", written to {out}" if out else ""),
              highlight=False)
