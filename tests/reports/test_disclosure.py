"""The disclosure rules worked by hand: suppression of 1-7, rounding to 5, the true counts a shared figure
allows, and the differencing of a total against its parts that `protect` must defeat."""

from __future__ import annotations

import math

import pytest

from icsys.disclosure import SMALL_NUMBER, bounds, disclosed, feasible, place_groups, protect, round_count


@pytest.mark.parametrize(("true", "shared"), [(0, 0), (1, None), (7, None), (8, 10), (12, 10), (13, 15),
                                              (22, 20), (23, 25), (1002, 1000), (1003, 1005)])
def test_suppress_1_to_7_and_round_to_5(true: int, shared: int | None) -> None:
    got = round_count(true)
    assert (math.isnan(got) if shared is None else got == shared)


def test_what_a_shared_figure_allows() -> None:
    assert SMALL_NUMBER == 8
    assert bounds(0) == (0, 0)  # 1 and 2 are suppressed, not rounded to 0: a 0 is a true 0
    assert bounds(float("nan")) == (1, 7)
    assert bounds(10) == (8, 12)  # 8-12 round to 10 (never below 8: 1-7 would be suppressed)
    assert bounds(25) == (23, 27)


def test_differencing_four_practices_against_their_pcn_is_caught() -> None:
    # Four practices of 12 each are shown as 10; their PCN of 48 as 50, so it is at least 48; the
    # practices sum to at most 4 x 12 = 48: every practice must be 12 and the PCN 48.
    true = {"practice:A": 12, "practice:B": 12, "practice:C": 12, "practice:D": 12, "pcn:P": 48}
    groups = [("pcn:P", ["practice:A", "practice:B", "practice:C", "practice:D"])]
    naive = {k: round_count(v) for k, v in true.items()}
    assert feasible(naive, groups)["practice:A"] == (12, 12)
    assert disclosed(naive, groups) == sorted(true)
    shared = protect(true, groups)
    assert math.isnan(shared["pcn:P"]) and shared["practice:A"] == 10
    assert disclosed({k: v for k, v in shared.items() if not math.isnan(v)}, groups) == []


def test_a_suppressed_practice_is_not_recovered_from_its_pcn() -> None:
    # 3 (suppressed: 1-7) and 20 (shown 20: 18-22) make 23 (shown 25: 23-27): differencing says the first
    # is 23 - 22 = 1 to 27 - 18 = 9, no more than its suppression says. Nothing is pinned or withheld.
    true = {"practice:A": 3, "practice:B": 20, "pcn:P": 23}
    groups = [("pcn:P", ["practice:A", "practice:B"])]
    assert feasible({k: round_count(v) for k, v in true.items()}, groups)["practice:A"] == (1, 7)
    assert protect(true, groups) == {"practice:A": pytest.approx(float("nan"), nan_ok=True),
                                     "practice:B": 20.0, "pcn:P": 25.0}


def test_levels_are_chained_through_the_practices() -> None:
    import pandas as pd

    places = pd.DataFrame({"practice": ["A", "B", "C"], "pcn": ["P", "P", "Q"], "icp": ["I", "I", "I"]})
    assert place_groups(places, ["pcn", "icp"]) == [("pcn:P", ["practice:A", "practice:B"]),
                                                    ("pcn:Q", ["practice:C"]),
                                                    ("icp:I", ["practice:A", "practice:B", "practice:C"])]
