"""The random search of the public API (benchmarks/random_search.py): inputs drawn again from
their seeds, every backend agreeing and canonical on a short run, and a wrong answer reported."""

import numpy as np
import random_search  # benchmarks/ is on pytest's path


def test_an_input_is_drawn_again_from_its_seed():
    first, again = random_search.draw(4, 17), random_search.draw(4, 17)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1] and np.array_equal(first[2], again[2]) and np.array_equal(first[3], again[3])


def test_a_short_search_finds_the_backends_agreeing_and_canonical():
    assert random_search.run(seed=0, cases=150) == []


def test_a_wrong_answer_is_reported(monkeypatch):
    real = random_search.answers

    def one_task_moved(lam, budget, low, high):
        found = real(lam, budget, low, high)
        last = list(found)[-1]
        if not isinstance(found[last], str):
            found[last] = found[last].copy()
            found[last][0] += 1  # one task too many: differs from the others, and not canonical
        return found

    monkeypatch.setattr(random_search, "answers", one_task_moved)
    failures = random_search.run(seed=0, cases=20)
    assert failures
    problems = [p for _, _, found in failures for p in found]
    assert any("differs" in p for p in problems) or any("canonical" in p for p in problems)
