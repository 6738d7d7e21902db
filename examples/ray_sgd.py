"""Minibatch SGD on Ray actors: ATA-Empirical against greedy collection (GTA).

The least-squares job of ``examples/dask_sgd.py`` on Ray: each task draws a fresh minibatch
``x ~ N(0, I_d)``, ``y = x . w_true + noise`` from its own seed and returns the gradient of
``1/2 (x . w - y)^2`` at the round's ``w``; a round averages ``--batch`` such gradients and
takes one step. The actors are made unequal on purpose: actor ``i`` (in the order started)
sleeps ``--base`` seconds times a slowdown factor (1, 1, 1, 2, 2, 4, 8, 16 for 8 actors)
times a random jitter ``1 + Exp(0.2)``, so the computation looks like a heterogeneous fleet.

Run it on a local Ray with 8 actors (about a minute on 2 cores; the actors mostly sleep, so
each reserves a quarter of a CPU)::

    python examples/ray_sgd.py

or on a Ray cluster, from one of its machines::

    ray start --head                            # on one machine
    ray start --address=head-host:6379          # on each other machine
    python examples/ray_sgd.py --address auto --num-cpus 1

Prints, per executor: wall time, total worker time (ATA: the task times measured in the
actors; greedy: every actor is busy for the whole round) and the final loss.
"""

import argparse
import functools
import time

import numpy as np

#: Slowdown of each actor, in the order started (cycled if there are more than 8).
SLOWDOWN = (1.0, 1.0, 1.0, 2.0, 2.0, 4.0, 8.0, 16.0)


def gradient(seed, w, w_true, minibatch, noise, slowdown, base):
    """One task: a minibatch gradient of the least-squares loss at ``w``, on an unequal actor."""
    import time

    import numpy as np
    import ray

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((minibatch, w.shape[0]))
    y = x @ w_true + noise * rng.standard_normal(minibatch)
    g = x.T @ (x @ w - y) / minibatch
    # The simulated heterogeneity: this actor's slowdown, with random jitter.
    here = ray.get_runtime_context().get_actor_id()
    time.sleep(base * slowdown.get(here, 1.0) * (1.0 + rng.exponential(0.2)))
    return g


def loss(w, w_true, noise):
    """The expected loss ``E 1/2 (x . w - y)^2 = 1/2 (||w - w_true||^2 + noise^2)``."""
    return 0.5 * (float(np.sum((w - w_true) ** 2)) + noise**2)


def train(executor, slowdown, args, w_true, seeds):
    """``args.rounds`` SGD steps, one round of ``args.batch`` tasks each; returns the final ``w``."""
    w = np.zeros(args.dim)
    for k in range(args.rounds):
        fn = functools.partial(gradient, w=w, w_true=w_true, minibatch=args.minibatch,
                               noise=args.noise, slowdown=slowdown, base=args.base)  # fmt: skip
        grads = executor.run_round(fn, seeds[k])
        w = w - args.lr * np.mean(grads, axis=0)
    return w


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="address of a running Ray cluster, e.g. auto (default: a local Ray)")
    parser.add_argument("--workers", type=int, default=8, help="actors (default 8)")
    parser.add_argument("--num-cpus", type=float, default=0.25,
                        help="CPUs each actor reserves (default 0.25: they mostly sleep)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=120)
    parser.add_argument("--batch", type=int, default=16, help="tasks (gradients) per round")
    parser.add_argument("--minibatch", type=int, default=32, help="samples per gradient")
    parser.add_argument("--dim", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--base", type=float, default=0.02, help="seconds of the fastest actor's task")
    parser.add_argument("--eta", type=float, default=0.2,
                        help="ATA-Empirical's eta, a bound on the relative spread of task times (the jitter's is 0.2 / 1.2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import ray

    import fastata as fa
    from fastata.ray import AdaptiveExecutor, GreedyExecutor, start_workers

    if args.address:
        ray.init(address=args.address)
    else:
        # No dashboard (it would compete for the CPU on a small machine); worker logs stay in their files.
        ray.init(include_dashboard=False, log_to_driver=False)
    try:
        actors = start_workers(args.workers, num_cpus=args.num_cpus)
        ids = [a._actor_id.hex() for a in actors]
        slowdown = {a: SLOWDOWN[i % len(SLOWDOWN)] for i, a in enumerate(ids)}
        rng = np.random.default_rng(args.seed)
        w_true = rng.standard_normal(args.dim)
        n = len(actors)
        # Warm every actor up (first task: deserialisation, imports) before either executor is timed.
        warm = functools.partial(gradient, w=np.zeros(args.dim), w_true=w_true, minibatch=1, noise=0.0,
                                 slowdown={}, base=0.0)  # fmt: skip
        ray.get([a.run_task.remote(warm, 0) for a in actors])
        print(f"{n} actors, {args.rounds} rounds of {args.batch} gradients, slowdowns "
              f"{[SLOWDOWN[i % len(SLOWDOWN)] for i in range(n)]}")  # fmt: skip
        print(f"{'executor':<16}{'wall time (s)':>15}{'worker time (s)':>17}{'final loss':>12}")
        executors = {
            "ATA-Empirical": AdaptiveExecutor(actors, fa.ATAEmpirical(n, args.batch, eta=args.eta)),
            "greedy (GTA)": GreedyExecutor(actors),
        }
        for name, executor in executors.items():
            # The same task seeds for both executors: the same gradients, only the timing differs.
            seeds = np.random.default_rng(args.seed + 1).integers(2**63, size=(args.rounds, args.batch)).tolist()
            start = time.perf_counter()
            with executor:  # on exit, waits for the cancelled copies still running (greedy) to end
                w = train(executor, slowdown, args, w_true, seeds)
                wall = time.perf_counter() - start
            worker = sum(r.worker_time for r in executor.history)
            print(f"{name:<16}{wall:>15.2f}{worker:>17.2f}{loss(w, w_true, args.noise):>12.4g}")
        for actor in actors:
            ray.kill(actor)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
