from pathlib import Path

from icsys.dataset.dictionary import render
from icsys.dataset.schema import TABLES

DOC = Path(__file__).parents[2] / "docs" / "data-dictionary.md"


def test_committed_dictionary_matches_the_schema() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run `make dictionary` and commit docs/data-dictionary.md"


def test_every_column_and_code_is_documented() -> None:
    text = render()
    for t in TABLES.values():
        assert f"## {t.name}\n" in text
        for col in t.columns:
            assert f"| `{col.name}` | {col.type} |" in text
            for code in col.codes or {}:
                assert f"`{code}` {col.codes[code]}" in text
