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
    retrain: Annotated[bool, typer.Option("--retrain", help="Train a new risk model first.")] = False,
) -> None:
    """Write person_measures: one row per registered person with eFI, LTCs, Cambridge score, segment,
    risk of emergency admission and case-finding flags."""
    from icsys.population.stratify import stratify

    day = parse_date(as_of, "--as-of")
    with clear_errors():
        people = stratify(db, day, retrain=retrain, say=lambda m: err.print(m, highlight=False))
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
) -> None:
    """Train the 12-month emergency admission risk model, validate it on a later year, store it with its
    model card."""
    from icsys.population import risk

    check_out(card, (".md", ".json"))
    train_day = parse_date(train_as_of, "--train-as-of") if train_as_of else None
    validate_day = parse_date(validate_as_of, "--validate-as-of") if validate_as_of else None
    with clear_errors():
        trained = risk.train(db, train_day, validate_day, seed=seed, say=lambda m: err.print(m, highlight=False))
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
