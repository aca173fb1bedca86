"""Writing a scenario as TOML (the standard library reads TOML but does not write it). Tables of
scalars become `[name]`, lists of tables `[[name]]`, and anything nested inside them an inline table,
so a calibrated scenario reads like a hand-written one."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np


def dumps(data: dict[str, Any], comments: dict[str, str] | None = None) -> str:
    comments = comments or {}
    lines: list[str] = []
    for key, value in data.items():
        if comments.get(key):
            lines += [f"# {line}" for line in comments[key].splitlines()]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                lines += [f"[[{key}]]", *_body(item), ""]
        elif isinstance(value, dict) and _tables_inside(value):
            for name, sub in value.items():
                lines += [f"[{key}.{_key(name)}]", *_body(sub), ""]
        elif isinstance(value, dict):
            lines += [f"[{key}]", *_body(value), ""]
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    return "\n".join(lines).rstrip() + "\n"


def _tables_inside(d: dict[str, Any]) -> bool:
    return bool(d) and all(isinstance(v, dict) for v in d.values()) and any(
        isinstance(x, list) for v in d.values() for x in v.values())


def _body(d: dict[str, Any]) -> list[str]:
    lines = []
    for k, v in d.items():
        if v is None:
            continue
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            lines.append(f"{_key(k)} = [")
            lines += [f"  {_value(x)}," for x in v]
            lines.append("]")
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    return lines


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else _string(k)


def _string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _value(v: Any) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v} to TOML")
        return repr(round(v, 6)) if v != int(v) or abs(v) >= 1e15 else f"{v:.1f}"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")
