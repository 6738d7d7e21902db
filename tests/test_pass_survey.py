"""The pass survey of cluster-shaped inputs (benchmarks/pass_survey.py) runs and compares."""

import json

import numpy as np
import pass_survey  # benchmarks/ is on pytest's path


def test_inputs_are_reproducible_clusters():
    lam, budget, least, most, description = pass_survey.cluster(1081)
    again = pass_survey.cluster(1081)
    assert np.array_equal(lam, again[0]) and budget == again[1]
    assert description == {"n": 4096, "types": 4, "order": "shuffled", "noise": 0.1, "tasks_a_worker": 0.01,
                           "bounded": True}
    assert budget == 40 and least.sum() == 0 and most.max() == 1


def test_a_run_counts_passes_and_a_comparison_finds_the_worse_input(tmp_path, capsys):
    before = tmp_path / "before.json"
    pass_survey.run(str(before), range(3))
    found = json.loads(before.read_text())
    assert sorted(found) == ["0", "1", "2"] and all(pass_survey.cost(p) >= 1 for p in found.values())
    worse = dict(found)
    worse["1"] = {**found["1"], "count": found["1"].get("count", 0) + 2}
    after = tmp_path / "after.json"
    after.write_text(json.dumps(worse))
    assert pass_survey.compare(str(before), str(after)) == 1
    assert "1 worse of 3" in capsys.readouterr().out


def test_the_timing_survey_times_clusters_and_inputs_outside_the_table(tmp_path, capsys):
    import timing_survey

    before = tmp_path / "before.json"
    timing_survey.main(["clusters", str(before), "--n", "4096", "--seeds", "2", "--backends", "numba"])
    found = json.loads(before.read_text())
    assert found["n"] == 4096 and sorted(found["inputs"]) == ["0", "1"]
    assert all(0.0 < r["numba"] < 1000.0 for r in found["inputs"].values())
    slower = {"n": 4096, "inputs": {s: {"numba": 2.0 * r["numba"]} for s, r in found["inputs"].items()}}
    after = tmp_path / "after.json"
    after.write_text(json.dumps(slower))
    timing_survey.main(["compare", str(before), str(after)])
    out = capsys.readouterr().out
    assert "numba 0:" in out and "numba 1:" in out
    lam = timing_survey.OUTSIDE["two-types-100x"](1000, np.random.default_rng(0))
    low, high = timing_survey.outside_bounds(lam, 3000)
    assert low.min() == 1 and high.max() == 6
    assert timing_survey.ratios(lam, 3000, low, high, ("numba",), min_time=0.001)["numba"] > 0.0


def test_the_timing_survey_compares_inputs_outside_the_table(tmp_path, capsys):
    import timing_survey

    rows = {"gamma 5000x5000": {"plain": {"cython": 2.0}, "bounded": {"cython": 3.0}},
            "tiny 5000x5000": {"plain": {"cython": 2.5}, "bounded": {"cython": 6.0}}}
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps({"inputs": rows}))
    rows["tiny 5000x5000"]["bounded"]["cython"] = 3.0
    after.write_text(json.dumps({"inputs": rows}))
    timing_survey.main(["compare", str(before), str(after)])
    out = capsys.readouterr().out
    assert "cython tiny 5000x5000 bounded: 6.00 -> 3.00" in out and "gamma" not in out
    assert "cython: sum 13.5 -> 10.5" in out
