"""`icsys care` and `icsys serve` on bad input: one clear line, exit status 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from test_served import clean_env


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "icsys", *args], env=clean_env(), capture_output=True, text=True,
                          timeout=120)


def test_a_missing_folder_is_named(tmp_path: Path):
    result = run("care", "demo", "--db", str(tmp_path / "nowhere" / "care.sqlite"))
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_the_demo_loads_only_into_a_new_database(tmp_path: Path):
    db = tmp_path / "care.sqlite"
    db.write_bytes(b"")
    result = run("care", "demo", "--db", str(db))
    assert result.returncode == 2 and "already exists" in result.stderr
    assert db.read_bytes() == b""


def test_a_bad_database_url_is_refused(tmp_path: Path):
    result = run("serve", "--db", "mysql://x@y/z")
    assert result.returncode == 2 and "postgresql://" in result.stderr and "Traceback" not in result.stderr
