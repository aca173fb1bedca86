"""Sections of the README and docs/ written by the code they describe, so the documents cannot drift from it.

A generated section sits between two markers that name its generator:

    <!-- generated: catalogue-thresholds (python -m icsys.reports.docs refresh) -->
    ...
    <!-- end generated: catalogue-thresholds -->

`python -m icsys.reports.docs refresh [--store STORE] [ROOT]` rewrites every such section of ROOT/README.md
and ROOT/docs/*.md from its generator; `check` says which are stale (exit 1). Generators that read only the
shipped data (the catalogue of standards, the OPEL framework) always run; the calibration table is measured
on a store, so it is rewritten only when `--store` is given (tests/docs checks its other columns against
the calibration suite's definitions).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"<!-- generated: (?P<name>[a-z0-9-]+)(?: \([^)]*\))? -->\n(?P<body>.*?)"
                    r"<!-- end generated: (?P=name) -->", re.S)
STORE_GENERATED = ("calibration",)  # measured on a store: rewritten with --store only


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def catalogue_thresholds() -> str:
    """Every standard of the shipped catalogue with each threshold: value, dates, kind, source and whether
    it was checked against its source's words or is provisional; retired standards say so."""
    from icsys.performance.catalogue import load_catalogue

    lines = ["| standard | threshold | applies | kind | source | checked |", "| --- | --- | --- | --- | --- | --- |"]
    for s in load_catalogue().standard:
        name = f"`{s.id}`" + (f" (retired {s.retired})" if s.retired else "")
        if not s.threshold:
            lines.append(f"| {name} | none | | | {_cell(s.source)} | |")
        for t in s.threshold:
            applies = f"{t.start} to {t.end}" if t.end else f"from {t.start}"
            checked = t.checked or ("provisional" if t.provisional else "")
            lines.append(f"| {name} | {t.value:g} {s.unit} | {applies} | {t.kind_in_words} | {_cell(t.source)} | "
                         f"{_cell(checked)} |")
    return "\n".join(lines) + "\n"


def not_measured() -> str:
    """The framework measures the dataset cannot support, and what they would need."""
    from icsys.performance.catalogue import load_catalogue

    lines = ["| measure | source | what the dataset would need |", "| --- | --- | --- |"]
    lines += [f"| `{n.id}` {_cell(n.name)} | {_cell(n.source)} | {_cell(n.missing)} |"
              for n in load_catalogue().not_measured]
    return "\n".join(lines) + "\n"


def opel_parameters() -> str:
    """The OPEL framework's acute parameters: scored (indicator, standard, triggers, weight) or not, and why."""
    from icsys.performance.escalation import load_framework

    framework = load_framework()
    rows: list[tuple[int, str]] = []
    local = []
    for i in framework.indicator:
        t = i.triggers
        state = "provisional" if i.provisional else "from the framework"
        row = (f"`{i.id}` ({_cell(i.name)}) | `{i.standard}` | {t.opel_2:g} / {t.opel_3:g} / {t.opel_4:g} | "
               f"{i.weight:g} | {state} |")
        if i.parameter is None:
            local.append(f"| local | {row}")
        else:
            rows.append((i.parameter, f"| {i.parameter} | {row}"))
    rows += [(n.parameter, f"| {n.parameter} | {_cell(n.name)}: not scored | | | | {_cell(n.why)} |")
             for n in framework.not_scored]
    lines = ["| parameter | indicator | standard | triggers OPEL 2 / 3 / 4 | weight | values |",
             "| --- | --- | --- | --- | --- | --- |"]
    return "\n".join(lines + [r for _, r in sorted(rows)] + local) + "\n"


def calibration(store: Path) -> str:
    import duckdb

    from icsys.synth import calibration as suite

    with duckdb.connect(str(store), read_only=True) as con:
        return suite.markdown(con, suite.measure(con)) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "catalogue-thresholds": catalogue_thresholds,
    "not-measured": not_measured,
    "opel-parameters": opel_parameters,
}


@dataclass(frozen=True)
class Section:
    path: Path
    name: str
    body: str


def documents(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def sections(path: Path) -> list[Section]:
    return [Section(path, m["name"], m["body"]) for m in MARKER.finditer(path.read_text(encoding="utf-8"))]


def generated(name: str, store: Path | None = None) -> str | None:
    """What the named generator writes now, or None if it needs a store and none is given."""
    if name in STORE_GENERATED:
        return calibration(store) if store is not None else None
    if name not in GENERATORS:
        raise KeyError(f"no generator {name!r}; generators: {', '.join([*GENERATORS, *STORE_GENERATED])}")
    return GENERATORS[name]()


def refresh(path: Path, store: Path | None = None, *, write: bool = True) -> list[str]:
    """Rewrite the generated sections of one document; the names of those that were stale."""
    text = path.read_text(encoding="utf-8")
    stale: list[str] = []

    def replace(m: re.Match[str]) -> str:
        new = generated(m["name"], store)
        if new is None or new == m["body"]:
            return m[0]
        stale.append(m["name"])
        whole, at = m[0], m.start()
        return whole[:m.start("body") - at] + new + whole[m.end("body") - at:]

    updated = MARKER.sub(replace, text)
    if write and updated != text:
        path.write_text(updated, encoding="utf-8")
    return stale


def main(argv: list[str]) -> int:
    """`python -m icsys.reports.docs refresh|check [--store STORE] [ROOT]`."""
    args = list(argv)
    store = None
    if "--store" in args:
        at = args.index("--store")
        if at + 1 >= len(args):
            print("--store needs a store file", file=sys.stderr)
            return 2
        store = Path(args.pop(at + 1))
        args.pop(at)
        if not store.is_file():
            print(f"--store {store}: no such file", file=sys.stderr)
            return 2
    if not args or args[0] not in ("refresh", "check") or len(args) > 2:
        print("usage: python -m icsys.reports.docs refresh|check [--store STORE] [ROOT]", file=sys.stderr)
        return 2
    root = Path(args[1]) if len(args) == 2 else Path.cwd()
    if not (root / "README.md").is_file():
        print(f"{root}: no README.md here (give the project's folder)", file=sys.stderr)
        return 2
    stale = [f"{p.relative_to(root)}: {n}" for p in documents(root)
             for n in refresh(p, store, write=args[0] == "refresh")]
    verb = "rewrote" if args[0] == "refresh" else "stale"
    print("\n".join(f"{verb} {s}" for s in stale) or "every generated section is up to date")
    return 1 if stale and args[0] == "check" else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
