"""The command line as a user meets it: a real process (`python -m icsys`), its exit status and its
output, and the one check of a clear error that every area's tests use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

Result = subprocess.CompletedProcess[str]


def icsys(*args: str | Path, check: bool = False, timeout: float = 900, cwd: Path | None = None) -> Result:
    """Run `icsys ARGS...`; with check=True a non-zero exit status fails the test with its stderr."""
    result = subprocess.run([sys.executable, "-m", "icsys", *map(str, args)], capture_output=True, text=True,
                            timeout=timeout, cwd=cwd)
    if check:
        assert result.returncode == 0, f"icsys {' '.join(map(str, args))}: exit {result.returncode}\n{result.stderr}"
    return result


def assert_clear_error(result: Result, *words: str) -> None:
    """Bad input: exit status 2, no traceback, and the message names what is wrong (every word in stderr)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in result.stderr, result.stderr


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON: a tool reading this output would fail")


def strict_json(text: str) -> Any:
    """JSON as any tool reads it: NaN, Infinity and -Infinity (Python's extensions) are refused."""
    return json.loads(text, parse_constant=_refuse)


def icsys_json(*args: str | Path, timeout: float = 900) -> Any:
    """Run a command that prints JSON and parse its output strictly."""
    return strict_json(icsys(*args, check=True, timeout=timeout).stdout)
