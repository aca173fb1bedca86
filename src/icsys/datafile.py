"""Reading data files (system definitions, the catalogue of standards, the escalation framework):
TOML validated by a pydantic model, every problem named with the file and the entry where it lies."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from icsys.errors import InputError

M = TypeVar("M", bound=BaseModel)


def load_validated(path: Path, model: type[M], error: type[InputError], what: str, entries: str) -> M:
    """The file at `path` as `model`; `entries` is the key of its list of entries (e.g. "standard")."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{path}: no such {what}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{path}: invalid {what}:\n{describe(exc, data, entries)}") from exc


def describe(exc: ValidationError, data: dict[str, Any], entries: str) -> str:
    """One line per problem, naming the entry by its id where it has one."""
    items = data.get(entries, []) if isinstance(data, dict) else []
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        if len(loc) >= 2 and loc[0] == entries and isinstance(loc[1], int) and loc[1] < len(items):
            item = items[loc[1]]
            name = item.get("id", "?") if isinstance(item, dict) else "?"
            where = f"{entries} {name!r} (entry {loc[1] + 1})" + "".join(f".{p}" for p in loc[2:])
        else:
            where = ".".join(str(p) for p in loc) or "(top level)"
        lines.append(f"  {where}: {err['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)
