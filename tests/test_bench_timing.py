"""The benchmark's timing: ratios taken within rounds that time every function in turn."""

import json

import pytest

from fastata import _bench


def test_interleaved_times_loops_every_function_once_a_round():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    samples = _bench.interleaved_times(fns, min_time=0.0, repeat=4)
    assert {name: len(s) for name, s in samples.items()} == {"a": 4, "b": 4, "c": 4}
    assert all(t >= 0 for s in samples.values() for t in s)
    # One call each to size the loops and to warm up, then the rounds: a, b, c, a, b, c, ...
    timed = [name for name in calls[-12:]]
    assert timed == ["a", "b", "c"] * 4


def test_a_ratio_is_the_median_of_the_rounds_ratios_not_the_ratio_of_medians():
    # The machine ran 4x slower in round two and 3x slower for "a" alone in round three:
    # "a" took half of "b"'s time in two rounds of three.
    row = {"seconds": {"a": 3.0, "b": 2.0},
           "seconds per round": {"a": [1.0, 4.0, 3.0], "b": [2.0, 8.0, 1.0]}}
    assert _bench._ratio_in(row)("a", "b") == 0.5
    assert _bench._ratio_in({"seconds": row["seconds"]})("a", "b") == 1.5  # a row without rounds


def test_the_report_keeps_every_round_and_its_ratios(tmp_path):
    path = tmp_path / "bench.json"
    _bench.run(cases=((64, 64, "two-speeds"),), batch=False, startup=False, quick=True, warm=False,
               json_path=str(path), stream=open(tmp_path / "report.txt", "w"))
    found = json.loads(path.read_text())
    row = found["cases"][0]
    for name, seconds in row["seconds"].items():
        assert len(row["seconds per round"][name]) == 3
        assert seconds == pytest.approx(sorted(row["seconds per round"][name])[1])
    for b in _bench.compiled_backends():
        rounds = row["seconds per round"]
        expected = sorted(x / y for x, y in zip(rounds[f"fa.allocate[{b}]"], rounds["numpy pass"]))[1]
        assert found["ratios"][f"n=64, budget=64, two-speeds: {b} / numpy pass"] == pytest.approx(expected)
