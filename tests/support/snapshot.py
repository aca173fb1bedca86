"""Snapshots of results a user sees, kept as JSON under tests/snapshots/ and compared with a relative
tolerance of 1e-9 for numbers (so that a change of summation order does not count, a change of result
does). `ICSYS_UPDATE_SNAPSHOTS=1 pytest tests/snapshots` writes them afresh instead: a change that alters
a result updates its snapshot in the same commit and says why in the message."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).parent.parent / "snapshots" / "data"
RELATIVE, ABSOLUTE = 1e-9, 1e-12


def updating() -> bool:
    return os.environ.get("ICSYS_UPDATE_SNAPSHOTS", "") not in ("", "0")


def assert_snapshot(name: str, data: Any) -> None:
    """`data` (plain JSON values) equals the snapshot `name`, numbers within the tolerance."""
    path = SNAPSHOTS / f"{name}.json"
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(data) + "\n", encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path}: make it with ICSYS_UPDATE_SNAPSHOTS=1"
    expected = json.loads(path.read_text(encoding="utf-8"))
    differences = list(_differences(expected, data, name))
    assert not differences, f"{len(differences)} difference(s) from {path}:\n" + "\n".join(differences[:30])


def dumps(data: Any, depth: int = 0) -> str:
    """JSON with a list of plain values on one line (a table's row, a chart's series), so that a change
    to a result is a readable diff. NaN is refused: it is not JSON."""
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(data, dict) and data:
        items = [f"{inner}{json.dumps(str(k))}: {dumps(v, depth + 1)}" for k, v in sorted(data.items())]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(data, list) and any(isinstance(v, dict | list) for v in data):
        return "[\n" + ",\n".join(f"{inner}{dumps(v, depth + 1)}" for v in data) + f"\n{pad}]"
    return json.dumps(data, allow_nan=False)


def _differences(expected: Any, actual: Any, where: str) -> Any:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                yield f"{where}.{key}: missing"
            elif key not in expected:
                yield f"{where}.{key}: not in the snapshot ({actual[key]!r})"
            else:
                yield from _differences(expected[key], actual[key], f"{where}.{key}")
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            yield f"{where}: {len(actual)} items, the snapshot has {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            yield from _differences(e, a, f"{where}[{i}]")
    elif _number(expected) and _number(actual):
        if not math.isclose(expected, actual, rel_tol=RELATIVE, abs_tol=ABSOLUTE):
            yield f"{where}: {actual!r}, the snapshot has {expected!r}"
    elif expected != actual or type(expected) is not type(actual):
        yield f"{where}: {actual!r}, the snapshot has {expected!r}"


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)
