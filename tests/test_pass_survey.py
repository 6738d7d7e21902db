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
