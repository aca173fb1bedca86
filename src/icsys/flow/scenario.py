"""Read a scenario from TOML, apply the base it extends, and validate it against the schema.

An overlay names its base in `[scenario] extends` and changes only what differs: pools merge by
code and arrival streams by name (field by field), case mixes are replaced by name, and surges,
capacity changes and interventions are added to the base's.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from icsys.errors import InputError
from icsys.flow.model import Scenario

SHIPPED = Path(__file__).with_name("scenarios")
_KEYED = {"pool": "code", "arrivals": "name"}
_ADDED = ("surge", "capacity_change", "intervention")


class ScenarioError(InputError):
    """A scenario that cannot be used: the message names the file, the entry and the field."""


def shipped_scenarios() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def resolve(name: str | Path, relative_to: Path | None = None) -> Path:
    """A scenario file, or the name of a shipped one."""
    path = Path(name)
    if relative_to is not None and not path.is_absolute():
        candidate = relative_to.parent / path
        if candidate.exists():
            return candidate
    if path.exists():
        return path
    shipped = SHIPPED / (path.name if path.suffix == ".toml" else f"{path.name}.toml")
    if shipped.exists():
        return shipped
    raise ScenarioError(f"{name}: no such scenario file, nor a shipped scenario "
                        f"({', '.join(shipped_scenarios())})")


def load_scenario(name: str | Path) -> Scenario:
    path = resolve(name)
    data = _raw(path, ())
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: invalid scenario:\n{describe(exc, data)}") from exc


def _raw(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    if path.resolve() in seen:
        raise ScenarioError(f"{path}: extends itself (through {' -> '.join(str(p) for p in seen)})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not a text file ({exc.reason})") from exc
    base_name = data.get("scenario", {}).get("extends") if isinstance(data.get("scenario"), dict) else None
    if not base_name:
        return data
    base = _raw(resolve(base_name, relative_to=path), (*seen, path.resolve()))
    return merge(base, data)


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """The base with the overlay applied (neither is changed)."""
    out = {k: v for k, v in base.items()}
    for key, value in overlay.items():
        if key == "scenario":
            out[key] = {**base.get(key, {}), **{k: v for k, v in value.items() if k != "extends"}}
        elif key in _KEYED and isinstance(value, list):
            out[key] = _merge_keyed(base.get(key, []), value, _KEYED[key])
        elif key in _ADDED and isinstance(value, list):
            out[key] = [*base.get(key, []), *value]
        elif key == "case_mix" and isinstance(value, dict):
            out[key] = {**base.get(key, {}), **value}
        else:
            out[key] = value
    return out


def _merge_keyed(base: list[Any], overlay: list[Any], key: str) -> list[Any]:
    merged = [dict(item) if isinstance(item, dict) else item for item in base]
    index = {item.get(key): i for i, item in enumerate(merged) if isinstance(item, dict)}
    for item in overlay:
        if isinstance(item, dict) and item.get(key) in index:
            merged[index[item[key]]] = {**merged[index[item[key]]], **item}
        else:
            merged.append(item)
    return merged


def describe(exc: ValidationError, data: dict[str, Any]) -> str:
    """One line per problem, naming the entry by its code or name: `pool 'RPA02' (pool[3]).capacity: ...`."""
    lines = []
    for err in exc.errors():
        lines.append(f"  {_where(err['loc'], data)}: {err['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def _where(loc: tuple[Any, ...], data: Any) -> str:
    if not loc:
        return "(scenario)"
    parts: list[str] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(part, int) and isinstance(node, list):
            item = node[part] if part < len(node) else None
            label = item.get("code") or item.get("name") if isinstance(item, dict) else None
            section = str(loc[i - 1]) if i else ""
            parts[-1:] = [f"{section} {label!r} ({section}[{part + 1}])" if label else f"{section}[{part + 1}]"]
            node = item
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts)
