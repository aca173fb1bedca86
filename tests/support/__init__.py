"""What the tests share: one command-line runner, one check of a clear error, one cache of synthetic
stores per parameter set and the fixture store checked in under tests/fixtures."""

from support.cli import assert_clear_error, icsys, icsys_json, strict_json
from support.fixture_store import FIXTURE, store_from_fixture, write_fixture

__all__ = ["FIXTURE", "assert_clear_error", "icsys", "icsys_json", "store_from_fixture", "strict_json",
           "write_fixture"]
