"""Simulated runs: the round model, GTA with cancellation, common random numbers, reproducibility,
outages, the SGD coupling, tables and JSON. Small round counts: the whole file runs in seconds."""

import importlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastata as fa

sim = fa.sim
CIFAR = sim.presets.cifar_workers(11)  # 29 i + Exp(29 i), i = 1..11
BUDGET = 7


def test_fta_allocates_allocate_of_the_true_means_every_round():
    policy = fa.FTA(CIFAR.means, BUDGET)
    r = sim.run(policy, CIFAR, 300, seed=0, record_allocations=True)
    expected = fa.allocate(CIFAR.means, BUDGET)
    assert r.allocations.shape == (300, 11)
    assert (r.allocations == expected).all()
    np.testing.assert_array_equal(r.tasks, 300 * expected)
    assert (r.regret == 0).all()


def test_round_time_and_worker_time_follow_the_model():
    """Recompute every round from the common task times: max and sum of per-worker busy time."""
    policy = fa.ATAEmpirical(11, BUDGET, eta=0.77)
    r = sim.run(policy, CIFAR, 200, seed=4, record_allocations=True)
    x = sim.sample(CIFAR, 200, BUDGET, seed=4)
    used = np.arange(BUDGET)[None, None, :] < r.allocations[:, :, None]
    busy = np.where(used, x, 0.0).sum(axis=2)
    np.testing.assert_allclose(r.round_time, busy.max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(r.worker_time, busy.sum(axis=1), rtol=1e-12)
    loss = [fa.proxy_loss(a, CIFAR.means) for a in r.allocations]
    np.testing.assert_array_equal(r.loss, loss)
    np.testing.assert_array_equal(r.oracle_loss, fa.proxy_loss(fa.allocate(CIFAR.means, BUDGET), CIFAR.means))
    assert (r.regret >= 0).all()
    # and the policy saw exactly those samples
    assert policy.counts.sum() == 200 * BUDGET
    np.testing.assert_allclose(policy.means * policy.counts, np.where(used, x, 0.0).sum(axis=(0, 2)), rtol=1e-9)


def test_gta_worker_time_is_n_times_round_time():
    r = sim.run_greedy(CIFAR, BUDGET, 300, seed=1)
    np.testing.assert_array_equal(r.worker_time, 11 * r.round_time)
    assert r.tasks.sum() == 300 * BUDGET


def test_gta_matches_a_brute_force_event_simulation():
    r = sim.run_greedy(CIFAR, BUDGET, 50, seed=2, record_allocations=True)
    x = sim.sample(CIFAR, 50, BUDGET, seed=2)
    for k in range(50):
        done = np.cumsum(x[k], axis=1)  # completion times of each worker's tasks, from time 0
        order = np.lexsort((np.repeat(np.arange(11), BUDGET), done.ravel()))[:BUDGET]
        assert r.round_time[k] == done.ravel()[order[-1]]
        np.testing.assert_array_equal(r.allocations[k], np.bincount(order // BUDGET, minlength=11))


def test_gta_rounds_sliced_for_ctrl_c_give_the_same_results(monkeypatch):
    whole = sim.run_greedy(CIFAR, BUDGET, 40, seed=3, record_allocations=True)
    monkeypatch.setattr(importlib.import_module("fastata.sim.run"), "GREEDY_SLICE", 3)
    sliced = sim.run_greedy(CIFAR, BUDGET, 40, seed=3, record_allocations=True)
    for name in ("round_time", "worker_time", "loss", "busy", "allocations"):
        np.testing.assert_array_equal(getattr(sliced, name), getattr(whole, name))


def test_ctrl_c_stops_a_greedy_round_of_very_many_tasks(tmp_path):
    code = ("import fastata as fa; print('started', flush=True); "
            "fa.sim.run_greedy(fa.sim.Exponential([1.0, 2.0]), 2**53, 1, seed=0)")
    # Run from elsewhere than the checkout, whose fastata/ folder is not the installed package.
    # PYTHONFAULTHANDLER: if it does not stop, SIGABRT makes it print where its threads are.
    # SIGINT as a shell leaves it: a process started with it ignored keeps it ignored (Python
    # then installs no KeyboardInterrupt), and this one inherits whatever the test run left.
    inherited = signal.getsignal(signal.SIGINT)
    child = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONFAULTHANDLER="1"),
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        started = child.stdout.readline()
        if started != "started\n":
            child.kill()
            pytest.fail(f"the child did not start: {child.communicate()[1]}")
        time.sleep(1.0)  # inside the round by now (the kernels load from numba's cache)
        child.send_signal(signal.SIGINT)
        try:
            _, err = child.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGABRT)
            pytest.fail(f"the child ran on 60 s after Ctrl-C (SIGINT in the test run: {inherited}); where it "
                        f"was:\n{child.communicate(timeout=30)[1]}")
    finally:
        child.kill()
    assert "KeyboardInterrupt" in err


def test_same_seed_same_results_whatever_the_policy():
    first = sim.compare(CIFAR, BUDGET, 150, seed=7)
    again = sim.compare(CIFAR, BUDGET, 150, seed=7, policies=("gta", "uta", "fta", "ata-empirical", "ata"))
    other = sim.compare(CIFAR, BUDGET, 150, seed=8)
    for name in sim.POLICIES:
        for field in ("round_time", "worker_time", "loss", "busy", "tasks"):
            np.testing.assert_array_equal(getattr(first[name], field), getattr(again[name], field))
        assert not np.array_equal(first[name].round_time, other[name].round_time)


def test_policies_that_allocate_alike_take_the_same_time():
    """Common random numbers: the same allocation in a round takes the same time, whoever chose it."""
    workers = sim.Exponential(scale=2.0, n=11)
    fta = sim.run(fa.FTA(workers.means, BUDGET), workers, 100, seed=3, record_allocations=True)
    ata = sim.run(fa.ATA(11, BUDGET, alpha=1e6), workers, 100, seed=3, record_allocations=True)  # bounds stay 0
    np.testing.assert_array_equal(fta.allocations, ata.allocations)  # both: one task each to workers 0..6
    np.testing.assert_array_equal(fta.round_time, ata.round_time)
    uta = sim.run(fa.UTA(11, BUDGET, seed=0), workers, 100, seed=3, record_allocations=True)
    same = (uta.allocations == fta.allocations).all(axis=1)
    assert 0 < same.sum() < 100
    np.testing.assert_array_equal(uta.round_time[same], fta.round_time[same])
    assert (uta.round_time[~same] != fta.round_time[~same]).any()


def test_ata_empirical_learns_the_best_allocation():
    workers = sim.Exponential(scale=[1.0, 2.0, 4.0, 8.0, 30.0])
    r = sim.run(sim.make_policy("ata-empirical", workers, 10), workers, 3000, seed=0)
    # Lower confidence bounds keep exploring now and then, ever more rarely.
    assert (r.regret[-500:] == 0).mean() > 0.6
    assert r.regret[-500:].mean() < 0.05 * r.regret[:100].mean()
    assert r.total_time < sim.run(fa.UTA(5, 10, seed=0), workers, 3000, seed=0).total_time


def test_outages_are_told_to_the_policy_and_to_gta():
    fleet = sim.Fleet(CIFAR, outages=[sim.Outage([0, 1, 2], 10, 20)])
    for name in ("ata", "ata-empirical", "fta", "uta"):
        policy = sim.make_policy(name, fleet, BUDGET)
        r = sim.run(policy, fleet, 30, seed=0, record_allocations=True)
        assert (r.allocations[10:20, :3] == 0).all()
        assert r.allocations[20:, :3].sum() > 0 or name == "ata"  # back in service
        assert policy.available.all()  # returned at round 20
    g = sim.run_greedy(fleet, BUDGET, 30, seed=0, record_allocations=True)
    assert (g.allocations[10:20, :3] == 0).all()
    np.testing.assert_array_equal(g.worker_time[10:20], 8 * g.round_time[10:20])
    np.testing.assert_array_equal(g.worker_time[:10], 11 * g.round_time[:10])
    lam = np.where(np.arange(11) < 3, np.inf, CIFAR.means)
    assert g.oracle_loss[15] == fa.proxy_loss(fa.allocate(lam, BUDGET), lam)


def test_drift_changes_the_round_means():
    fleet = sim.Fleet(CIFAR, drift=sim.StepDrift([(5, [0], 10.0)]))
    r = sim.run(fa.FTA(CIFAR.means, BUDGET), fleet, 10, seed=0, record_allocations=True)
    mu = CIFAR.means.copy()
    mu[0] *= 10.0
    assert r.loss[7] == fa.proxy_loss(r.allocations[7], mu)
    assert r.oracle_loss[7] == fa.proxy_loss(fa.allocate(mu, BUDGET), mu)
    assert r.regret[7] > 0 and r.regret[2] == 0  # the fixed oracle is no longer optimal


def test_allocations_are_optional_and_tasks_still_add_up():
    kept = sim.run(fa.UTA(11, BUDGET, seed=1), CIFAR, 50, seed=0, record_allocations=True)
    lean = sim.run(fa.UTA(11, BUDGET, seed=1), CIFAR, 50, seed=0, record_allocations=False)
    assert lean.allocations is None
    np.testing.assert_array_equal(lean.tasks, kept.tasks)
    np.testing.assert_array_equal(lean.round_time, kept.round_time)


def test_progress_is_reported():
    calls = []
    sim.compare(CIFAR, BUDGET, 2500, seed=0, policies=("fta", "gta"), progress=lambda *a: calls.append(a))
    assert calls == [("fta", 1000, 2500), ("fta", 2000, 2500), ("fta", 2500, 2500),
                     ("gta", 1000, 2500), ("gta", 2000, 2500), ("gta", 2500, 2500)]  # fmt: skip


@pytest.mark.parametrize(
    "call, error, message",
    [(lambda p: sim.run(p, CIFAR, 0, seed=0), ValueError, "rounds must be >= 1; got 0"),
     (lambda p: sim.run(p, CIFAR, 5, seed=-1), ValueError, "seed must be >= 0; got -1"),
     (lambda p: sim.run(p, CIFAR, 5, seed=1.5), TypeError, "seed must be an integer"),
     (lambda p: sim.run(p, sim.Exponential(1.0, n=4), 5, seed=0), ValueError, "policy must have one worker per simulated worker, 4; got n_workers=11"),
     (lambda p: sim.run("ata", CIFAR, 5, seed=0), TypeError, r"policy must be a policy: a fastata policy or an object with n_workers, budget, allocate, observe, set_available \(see fastata.policies.AllocationPolicy\); got 'ata' \(type str\), which lacks n_workers, budget, allocate, observe, set_available"),
     (lambda p: sim.run(p, [1.0, 2.0], 5, seed=0), TypeError, "workers must be a fastata.sim distribution or Fleet"),
     (lambda p: sim.run(fa.FTA(np.ones(11), 3), CIFAR, 5, seed=0), ValueError, "policy must be an FTA given the simulated workers' means"),
     (lambda p: sim.run(p, CIFAR, 5, seed=0, progress=3), TypeError, "progress must be callable"),
     (lambda p: sim.run_greedy(CIFAR, -1, 5, seed=0), ValueError, r"budget must be in \[0, 2\*\*53\]; got -1"),
     (lambda p: sim.compare(CIFAR, 3, 5, seed=0, policies=("ata", "best")), ValueError, "policy must be one of 'ata', 'ata-empirical', 'ata-bernstein', 'fta', 'uta', 'gta'; got 'best'"),
     (lambda p: sim.compare(CIFAR, 3, 5, seed=0, alpha=-1.0), ValueError, "alpha must be finite and > 0; got -1.0")],
)  # fmt: skip
def test_bad_arguments_are_rejected_and_change_nothing(call, error, message):
    policy = fa.ATA(11, 3, alpha=1.0)
    with pytest.raises(error, match=message):
        call(policy)
    assert policy.rounds == 0 and policy.counts.sum() == 0


# --- SGD coupling --------------------------------------------------------------------------


def test_quadratic_minimiser_and_values():
    q = sim.Quadratic(dim=50, L=2.0, shift=0.01)
    np.testing.assert_allclose(q.matvec(q.x_star), q.b, atol=1e-12)
    x = np.random.default_rng(0).normal(size=50)
    assert q.suboptimality(x) == pytest.approx(q.value(x) - q.f_star, rel=1e-9)
    assert q.value(q.x_star) == pytest.approx(q.f_star)
    a = np.diag(np.full(50, 1.0 + 0.01)) - 0.5 * np.eye(50, k=1) - 0.5 * np.eye(50, k=-1)
    np.testing.assert_allclose(q.matvec(x), a @ x)
    np.testing.assert_array_equal(q.b[:2], [-0.5, 0.0])


def test_noiseless_sgd_converges_linearly():
    q = sim.Quadratic(dim=30, shift=0.05, noise=0.0)
    curve = q.sgd(200, 4, seed=0)
    assert (np.diff(curve) <= 0).all()
    rate = (1.0 - q.default_stepsize * q.shift) ** 2
    assert curve[200] <= rate**200 * curve[0] * (1 + 1e-9)


def test_sgd_noise_floor_shrinks_with_the_budget_and_is_seeded():
    q = sim.Quadratic(dim=100, noise=0.01)
    small, large = q.sgd(3000, 1, seed=0), q.sgd(3000, 64, seed=0)
    assert large[-500:].mean() < small[-500:].mean() / 10
    np.testing.assert_array_equal(q.sgd(100, 5, seed=3), q.sgd(100, 5, seed=3))


def test_against_time_and_time_to_reach():
    r = sim.run(fa.FTA(CIFAR.means, BUDGET), CIFAR, 20, seed=0)
    curve = np.geomspace(1.0, 1e-3, 21)
    time, work, sub = sim.sgd.against_time(curve, r)
    assert time[0] == 0 and time[-1] == pytest.approx(r.total_time) and work[-1] == pytest.approx(r.total_worker_time)
    assert sim.sgd.time_to_reach(sub, time, 1e-2) == time[np.flatnonzero(curve <= 1e-2)[0]]
    assert sim.sgd.time_to_reach(sub, time, 1e-9) == float("inf")
    with pytest.raises(ValueError, match="suboptimality must have rounds \\+ 1 = 21 entries; got 5"):
        sim.sgd.against_time(curve[:5], r)


# --- presets, tables, JSON -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(sim.presets.PRESETS))
def test_every_preset_builds(name):
    preset = sim.presets.get(name)
    setups = preset.setups(preset.rounds)
    assert [s.workers.n for s in setups] == list(preset.sizes)
    for s in setups:
        assert s.workers.alpha_bound() > 0 and s.workers.eta_bound() > 0


def test_cifar_preset_is_the_papers_setup():
    (setup,) = sim.presets.get("cifar").setups(10)
    assert setup.workers.n == 51 and setup.budget == 23
    np.testing.assert_allclose(setup.workers.means, 58.0 * np.arange(1, 52))


def test_quadratic_preset_json_lists_one_entry_per_size():
    from fastata.sim import experiment, report

    e = experiment.run_preset("quadratic", rounds=30, n=(5, 9), seed=1)
    data = json.loads(json.dumps(report.to_json(e)))
    assert data["parameters"]["n"] == [5, 9]
    assert len(data["policies"]["ata"]["total_time"]) == 2
    assert data["policies"]["gta"]["total_time"][1] == data["setups"][1]["policies"]["gta"]["total_time"]
    assert data["setups"][0]["policies"]["fta"]["time_to_target"] is None  # 30 rounds: not reached
    reached = report.to_json(experiment.run_preset("quadratic", rounds=3000, n=5, seed=1, policies=("fta",)))
    assert reached["policies"]["fta"]["time_to_target"] > 0
    assert data["setups"][0]["sgd"]["initial_suboptimality"] > data["setups"][0]["sgd"]["final_suboptimality"]


def test_table_rows_and_ratios(capsys):
    from fastata.sim import experiment, report

    e = experiment.run_preset("cifar", rounds=40, n=8, budget=5, seed=0)
    header, rows = report.table_rows(e.setups[0])
    assert header[:4] == ["policy", "total time", "/ FTA", "/ GTA"]
    fta = rows[[r[0] for r in rows].index("FTA (oracle)")]
    assert fta[2] == "1.000" and fta[5] == "1.000" and fta[7] == fta[8] == "0"
    report.print_tables(e, plain=True)
    out = capsys.readouterr().out
    assert "cifar: n=8, budget=5, rounds=40, seed=0" in out and "ATA-Empirical" in out
    data = report.to_json(e)
    assert set(data["policies"]) == set(sim.POLICIES)
    assert data["policies"]["uta"]["total_time"] == pytest.approx(e.setups[0].results["uta"].total_time)


def test_shuffle_renumbers_the_preset_workers():
    from fastata.sim import experiment

    plain = experiment.run_preset("cifar", rounds=5, seed=2, policies=("fta",))
    shuffled = experiment.run_preset("cifar", rounds=5, seed=2, policies=("fta",), shuffle=True)
    a, b = plain.setups[0].setup.workers.means, shuffled.setups[0].setup.workers.means
    assert sorted(a) == sorted(b) and not np.array_equal(a, b)


def test_a_run_refused_in_its_first_round_leaves_the_policy_available_as_it_was():
    # The outages are told before the first round; bounds they make infeasible refuse
    # that round, and the run takes back what it told.
    fleet = fa.sim.Fleet(fa.sim.Exponential(np.arange(1.0, 6.0)), outages=[fa.sim.Outage([0, 1], 0, 10)])
    policy = fa.ATAEmpirical(5, 7, eta=0.5)
    policy.set_available([4], False)
    with pytest.raises(ValueError, match="max_tasks"):
        fa.sim.run(policy, fleet, 3, seed=0, max_tasks=2)
    assert policy.available.tolist() == [True, True, True, True, False] and policy.rounds == 0


def test_the_regret_under_bounds_is_against_the_best_allocation_within_them():
    # FTA allocates the best allocation within the cap every round: no regret, although the
    # cap costs it time against the uncapped optimum (4 here, 10 under the cap).
    mu = [1.0, 1.0, 10.0, 10.0]
    workers = fa.sim.Exponential(mu)
    capped = fa.sim.run(fa.FTA(mu, 8), workers, 5, seed=0, max_tasks=3)
    assert capped.regret.tolist() == [0.0] * 5 and capped.oracle_loss.tolist() == [10.0] * 5
    assert fa.sim.run(fa.FTA(mu, 8), workers, 5, seed=0).oracle_loss.tolist() == [4.0] * 5
    # A minimum that forces every task: every policy is the oracle.
    forced = fa.sim.run(fa.ATAEmpirical(4, 8, eta=0.5), workers, 20, seed=0, min_tasks=2)
    assert forced.regret.tolist() == [0.0] * 20
    learning = fa.sim.run(fa.ATA(4, 8, alpha=2.0), workers, 50, seed=0, min_tasks=1, max_tasks=4)
    assert (learning.regret >= 0.0).all() and learning.regret[-10:].max() == 0.0
