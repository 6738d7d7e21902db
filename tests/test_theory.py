"""The theory's claims, measured (fastata.sim.theory, ``fastata measure``): coverage, regret, recovery."""

import numpy as np
import pytest

import fastata as fa
from fastata import cli, sim
from fastata.sim import theory

# Exponential times: the psi_1 bound (ATA's alpha, ATA-Empirical's eta) and Bernstein's
# moment condition (scale mu <= eta mu) hold, so the theory's constants promise 1/k^2.
WORKERS = sim.Exponential(np.linspace(1.0, 6.0, 8))
FLEET = sim.Fleet(WORKERS)
BUDGET = 16
ROUNDS = 400


def make(name, c_scale=1.0):
    return sim.make_policy(name, WORKERS, BUDGET, c=c_scale * theory.theory_c(name))


def crossings_by_hand(policy, workers, rounds, seed):
    """Coverage counted independently of the simulator's loop: the run's own task times from
    fa.sim.sample, observed worker by worker as a round produces them."""
    mu = workers.means
    above = pairs = 0
    promised = 0.0
    for k in range(rounds):
        s = policy.lower_bounds
        live = policy.counts > 0
        above += int((s[live] > mu[live]).sum())
        pairs += int(live.sum())
        promised += live.sum() * min(1.0, 1.0 / max(k, 1) ** 2)
        a = policy.allocate()
        times = sim.sample(workers, 1, int(a.max()), seed=seed, start=k)[0]
        ids = np.repeat(np.arange(a.size), a)
        policy.observe(ids, np.concatenate([times[i, : a[i]] for i in range(a.size)]))
    return above, pairs, promised


@pytest.mark.parametrize("name", ["ata", "ata-empirical", "ata-bernstein"])
def test_coverage_meets_the_promised_level(name):
    total = None
    for seed in range(3):
        cov = theory.coverage(make(name), WORKERS, ROUNDS, seed=seed)
        total = cov if total is None else total.merge(cov)
    assert total.runs == 3 and total.pairs > 0
    # The inequality allows sum min(1, 1/k^2) crossings in expectation over these pairs.
    assert total.above <= total.promised
    assert total.tail_above <= max(total.tail_promised, 1.0)


@pytest.mark.parametrize("name", ["ata", "ata-empirical", "ata-bernstein"])
def test_coverage_can_fail_far_below_the_theory_constant(name):
    cov = theory.coverage(make(name, c_scale=0.02), WORKERS, ROUNDS, seed=0)
    assert cov.above > cov.promised
    assert cov.fraction > cov.level and cov.last_above >= 0


@pytest.mark.parametrize("name", ["ata-empirical", "ata-bernstein"])
def test_coverage_counts_what_an_independent_loop_counts(name):
    cov = theory.coverage(make(name, 0.05), WORKERS, 120, seed=3)
    above, pairs, promised = crossings_by_hand(make(name, 0.05), WORKERS, 120, seed=3)
    assert (cov.above, cov.pairs) == (above, pairs)
    assert cov.promised == pytest.approx(promised)
    assert cov.above > 0  # the comparison has something to compare


def test_coverage_runs_the_simulators_run():
    watched, plain = make("ata-bernstein"), make("ata-bernstein")
    theory.coverage(watched, WORKERS, 200, seed=5)
    sim.run(plain, WORKERS, 200, seed=5)
    assert np.array_equal(watched.means, plain.means) and np.array_equal(watched.counts, plain.counts)


def test_coverage_follows_drift():
    # The fast workers become 8x slower at round 50: bounds learned before cross the old means, not the new.
    drift = sim.StepDrift([(50, [0, 1], 8.0)])
    fleet = sim.Fleet(WORKERS, drift=drift)
    cov = theory.coverage(sim.make_policy("ata-empirical", fleet, BUDGET), fleet, 150, seed=0)
    assert cov.above <= cov.promised


def test_coverage_refuses():
    with pytest.raises(ValueError, match="policy.gamma must be 1"):
        theory.coverage(fa.ATAEmpirical(8, BUDGET, eta=1.6, gamma=0.99), WORKERS, 10, seed=0)
    with pytest.raises(TypeError, match="lacks lower_bounds"):
        theory.coverage(object(), WORKERS, 10, seed=0)
    a = theory.coverage(make("ata"), WORKERS, 10, seed=0)
    b = theory.coverage(make("ata"), WORKERS, 20, seed=0)
    with pytest.raises(ValueError, match="same policy, rounds"):
        a.merge(b)


def test_cumulative_regret_and_ln_ratio():
    r = sim.run(make("ata-empirical"), WORKERS, 300, seed=0)
    got = theory.cumulative_regret(r, (1, 10, 300))
    assert got.tolist() == np.cumsum(r.regret)[[0, 9, 299]].tolist()
    assert got[2] == pytest.approx(r.regret.sum())
    assert theory.ln_ratio(got[1:], (10, 300)).tolist() == [got[1] / np.log(10), got[2] / np.log(300)]
    with pytest.raises(ValueError, match=r"horizons must be round counts in \[1, 300\]"):
        theory.cumulative_regret(r, (100, 1000))


def test_regret_rows_average_the_seeds():
    table, curves = theory.regret_rows("cifar", policies=("ata-bernstein",), seeds=(0, 1), horizons=(10, 50))
    setup = sim.presets.get("cifar").setups(50)[0]
    runs = [sim.run(sim.make_policy("ata-bernstein", setup.workers, setup.budget), setup.workers, 50, seed=s)
            for s in (0, 1)]  # fmt: skip
    mean = (np.cumsum(runs[0].regret) + np.cumsum(runs[1].regret)) / 2
    assert np.allclose(curves["ata-bernstein"], mean)
    assert np.allclose(table["ata-bernstein"], mean[[9, 49]])


def test_recovery_rounds_window():
    r = sim.run(fa.FTA(WORKERS.means, BUDGET), WORKERS, 300, seed=0)
    assert theory.recovery_rounds(r, 0) == 0
    r.loss[100:180] *= 1.5
    r.loss[190:300:3] *= 1.5  # later, one round in three explores
    assert theory.recovery_rounds(r, 100, window=1) == 80
    # Rounds [100 + d, 150 + d) hold 80 - d slow ones from the first spell and a third of
    # those past 190: 25 of 50 (half within) from d = 63 (17 + 8), 20 from d = 70 (10 + 10).
    assert theory.recovery_rounds(r, 100, window=50) == 63
    assert theory.recovery_rounds(r, 100, window=50, share=1.0) is None  # every round within: never
    assert theory.recovery_rounds(r, 100, window=50, share=0.6) == 70
    assert theory.recovery_rounds(r, 100, window=1, until=150) is None
    assert theory.recovery_rounds(r, 100, within=0.6) == 0  # 1.5x is within 60 %
    with pytest.raises(ValueError, match="change must be a round"):
        theory.recovery_rounds(r, 300)
    with pytest.raises(ValueError, match="share must be in"):
        theory.recovery_rounds(r, 0, share=0.0)


def test_recovery_rows_on_a_short_drift_run():
    changes, rows = theory.recovery_rows(policies=("ata-bernstein", "fta"), gammas=(1.0, 0.99), rounds=1500,
                                         scale=0.25)  # fmt: skip
    assert changes == [0, 500, 1000]
    got = {(name, gamma): phases for name, gamma, phases in rows}
    assert set(got) == {("ata-bernstein", 1.0), ("ata-bernstein", 0.99), ("fta", 1.0)}
    # The oracle of the base means: wrong in the middle third only, by its loss ratio.
    assert [d for d, _ in got["fta", 1.0]] == [0, None, 0]
    assert got["fta", 1.0][0][1] == 1.0 and got["fta", 1.0][1][1] > 3.0
    learned, ratio = got["ata-bernstein", 1.0][0]
    assert learned is not None and 1.0 < ratio < got["fta", 1.0][1][1]
    policy = sim.make_policy("ata-bernstein", sim.presets.get("drift").setups(1500)[0].workers, 23, c=0.25)
    r = sim.run(policy, sim.presets.get("drift").setups(1500)[0].workers, 1500, seed=0)
    assert learned == theory.recovery_rounds(r, 0, until=500)


def test_cli_measure_coverage(capsys):
    assert cli.main(["measure", "coverage", "--presets", "cifar:11", "--policies", "ata-bernstein",
                     "--scales", "1,0.1", "--seeds", "1", "--rounds", "60", "--no-progress"]) == 0  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("$ fastata measure coverage --presets cifar:11")
    assert out[1].startswith("| preset | policy | c | pairs | crossings | allowed |")
    assert len(out) == 5 and "| ata-bernstein | 1 (theory) |" in out[3] and "0.1 x theory" in out[4]


def test_cli_measure_regret_and_recovery(capsys, tmp_path):
    png = tmp_path / "regret.png"
    assert cli.main(["measure", "regret", "--policies", "ata-empirical", "--horizons", "10,100", "--seeds", "1",
                     "--plot", str(png), "--no-progress"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "| policy | R_K, K = 10 | R_K, K = 100 | / ln K, K = 10 | / ln K, K = 100 |" in out
    assert png.stat().st_size > 0
    assert cli.main(["measure", "recovery", "--policies", "fta", "--rounds", "300", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| fta | 1 | 0 (1.00x) | not in the phase (3.60x) | 0 (1.00x) |" in out
    assert "at least half of 100 rounds in a row" in out
    assert cli.main(["measure", "recovery", "--policies", "fta", "--rounds", "300", "--window", "20",
                     "--no-progress"]) == 0  # fmt: skip
    assert "at least half of 20 rounds in a row" in capsys.readouterr().out


def test_cli_measure_bad_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["measure", "coverage", "--presets", "cifar,nope"])
    assert "--presets must be preset names" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["measure", "coverage", "--scales", "0"])
    assert "--scales must be numbers in (0, 1e+06]" in capsys.readouterr().err
    assert cli.main(["measure", "coverage", "--seeds", "0"]) == 2
    assert "fastata measure: error: --seeds must be >= 1; got 0" in capsys.readouterr().err
    for horizons in ("0", "10,abc"):
        with pytest.raises(SystemExit):
            cli.main(["measure", "regret", "--horizons", horizons])
        assert f"--horizons must be a round count >= 1, or several separated by commas; got '{horizons}'" in (
            capsys.readouterr().err)


# --- the authors' code's choices (fastata.sim.authors) -----------------------------------

from fastata.sim import authors  # noqa: E402

CIFAR = sim.presets.cifar_workers(51)


def test_authors_rules_with_fastatas_choices_are_the_policy_itself():
    plain = sim.run(sim.make_policy("ata-empirical", CIFAR, 23), CIFAR, 300, seed=0)
    rules = authors.AuthorsRules(sim.make_policy("ata-empirical", CIFAR, 23), exploration="round-robin", ties="lowest")
    same = sim.run(rules, CIFAR, 300, seed=0)
    assert np.array_equal(plain.allocations, same.allocations) and plain.total_time == same.total_time


def test_authors_random_exploration_samples_every_worker_first():
    rules = authors.AuthorsRules(sim.make_policy("ata", CIFAR, 23), ties="lowest", seed=1)
    r = sim.run(rules, CIFAR, 3, seed=0)
    assert r.allocations.max() == 1 and (r.allocations[:2].sum(axis=1) == 23).all()
    assert (r.tasks > 0).all()  # 23 + 23 + 5: all 51 explored within three rounds
    # fastata's round-robin over zero bounds keeps to the 23 lowest indices while every bound is 0
    own = sim.run(sim.make_policy("ata", CIFAR, 23), CIFAR, 3, seed=0)
    assert own.tasks[23:].sum() == 0


def test_authors_random_ties_are_seeded_and_keep_the_loss():
    s = np.array([1.0, 1.0, 1.0, 1.0])  # one of four equal workers takes the fifth task

    class Fixed:  # a policy whose bounds never change
        n_workers, budget, counts = 4, 5, np.ones(4)
        lower_bounds = s

        def allocate(self, budget=None):
            return fa.allocate(s, budget)

    got = {tuple(authors.AuthorsRules(Fixed(), seed=k).allocate()) for k in range(20)}
    assert len(got) > 1  # ties broken differently
    assert all(max(np.array(a) * s) == fa.proxy_loss(fa.allocate(s, 5), s) for a in got)  # all optimal
    assert authors.AuthorsRules(Fixed(), seed=3).allocate().tolist() == authors.AuthorsRules(Fixed(), seed=3).allocate().tolist()


def test_authors_rules_refuse():
    with pytest.raises(ValueError, match="exploration must be"):
        authors.AuthorsRules(fa.ATA(3, 4, alpha=1.0), exploration="greedy")
    with pytest.raises(ValueError, match="ties must be"):
        authors.AuthorsRules(fa.ATA(3, 4, alpha=1.0), ties="first")
    with pytest.raises(ValueError, match="does not take min_tasks"):
        authors.AuthorsRules(fa.ATA(3, 4, alpha=1.0)).allocate(min_tasks=1)


def test_cli_measure_paper(capsys):
    assert cli.main(["measure", "paper", "--rounds", "60", "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "$ fastata measure paper --rounds 60 --no-progress"
    assert out[3].startswith("| fastata (c = 2) | ata (alpha = 2265) | 2 |")
    assert out[-1].startswith("| | GTA | | ")
    assert len(out) == 3 + 10 + 1
