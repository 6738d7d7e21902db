"""The ``fastata`` command: ``fastata simulate`` (the simulator), ``fastata measure`` (the theory's claims,
measured in the simulator) and ``fastata bench`` (allocation throughput)."""

import argparse
import os
import sys

#: ``fastata simulate`` defaults; the preset and policy names are repeated here so that
#: ``fastata --help`` does not import the simulator (numba).
PRESETS = ("cifar", "quadratic", "heavy-tail", "drift", "outage", "large")
POLICIES = ("ata", "ata-empirical", "fta", "uta", "gta")
#: Every built-in policy name ``--policies`` takes (fastata.sim.NAMES).
NAMES = ("ata", "ata-empirical", "ata-bernstein", "fta", "uta", "gta")
FAMILIES = ("exponential", "shifted-exponential", "lognormal", "gamma", "uniform", "half-normal", "pareto", "trace")
PLOT_FORMATS = (".png", ".pdf", ".svg")


class _Parser(argparse.ArgumentParser):
    """Bad options give one line (``fastata simulate: error: ...``), not the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _cases(text):
    """Parse ``"4096x4096,51x23"`` into ``((4096, 4096), (51, 23))``."""
    try:
        cases = tuple(tuple(int(v) for v in item.lower().split("x")) for item in text.split(","))
    except ValueError:
        cases = ()
    if not cases or any(len(c) != 2 or c[0] < 1 or c[1] < 0 for c in cases):
        raise argparse.ArgumentTypeError(f"--cases must look like 4096x4096,51x23 (n x budget); got {text!r}")
    for n, budget in cases:
        if budget > 2**53:
            raise argparse.ArgumentTypeError(f"--cases budgets must be at most 2**53; got {budget} in {text!r}")
    return cases


def _names(allowed, option):
    """Parse ``"a,b"`` into ``("a", "b")``, each one of ``allowed``."""

    def parse(text):
        names = tuple(x.strip() for x in text.split(",") if x.strip())
        bad = [x for x in names if x not in allowed]
        if not names or bad:
            raise argparse.ArgumentTypeError(
                f"{option} must be a comma-separated list of {', '.join(allowed)}; got {text!r}"
            )
        return names

    return parse


def _counts(option, what):
    """Parse ``"a,b"`` into ``(a, b)``, each a whole number >= 1 (``what``: "a worker count", ...)."""

    def parse(text):
        try:
            counts = tuple(int(x) for x in text.split(","))
        except ValueError:
            counts = ()
        if not counts or min(counts) < 1:
            raise argparse.ArgumentTypeError(f"{option} must be {what} >= 1, or several separated by commas; got {text!r}")
        return counts

    return parse


def _distribution(text):
    """``family[:key=value,...]``, or ``trace:FILE[,order=sequential]``, into ``(family, kwargs)``."""
    family, _, rest = text.partition(":")
    family = family.strip()
    if family not in FAMILIES:
        raise argparse.ArgumentTypeError(f"--distribution must start with one of {', '.join(FAMILIES)}; got {text!r}")
    items = [x for x in rest.split(",") if x.strip()] if rest else []
    kwargs = {}
    if family == "trace":
        if not items or "=" in items[0]:
            raise argparse.ArgumentTypeError(f"--distribution trace needs a file: trace:FILE.npy or trace:FILE.csv; got {text!r}")
        kwargs["path"] = items.pop(0)
    allowed = {"lognormal": ("sigma",), "gamma": ("shape",), "pareto": ("shape",), "trace": ("order",)}.get(family, ())
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in allowed:
            hint = f"its options are {', '.join(allowed)}" if allowed else "it takes no options"
            raise argparse.ArgumentTypeError(f"--distribution {family}: {hint}; got {item!r}")
        if key == "order":
            kwargs[key] = value.strip()
            continue
        try:
            kwargs[key] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--distribution {family}: {key} must be a number; got {value!r}") from None
    return family, kwargs


def _real(name):
    def parse(text):
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number; got {text!r}") from None

    return parse


def _add_simulate(commands):
    simulate = commands.add_parser(
        "simulate",
        help="simulate ATA, ATA-Empirical, FTA, UTA and GTA on a preset; tables, plot, JSON",
        description="Simulate the policies on a preset's workers (common random numbers: every policy "
        "sees the same task times) and print, per policy, total time and total worker time (each also "
        "as a ratio to FTA and GTA) and the final proxy regret. Presets: cifar (the paper's CIFAR-100 "
        "timing model, n=51, budget=23), quadratic (SGD on the Rennala quadratic, n=17,51,153,459), "
        "heavy-tail, drift, outage, large (n=4096). alpha and eta, the spread of task times the "
        "policies' confidence bounds assume, default to the largest spread among the preset's workers "
        "(the psi_1 norm of a worker's time about its mean, and that norm over the mean; the "
        "documentation's reproduction page derives them).",
    )
    simulate.add_argument("--preset", choices=PRESETS, default="cifar", help="the setup (default: cifar)")
    simulate.add_argument("--rounds", type=int, default=None, help="rounds per policy (default: the preset's, 10000 for cifar)")
    simulate.add_argument("--seed", type=int, default=0, help="the one seed of the run (default: 0)")
    simulate.add_argument("--policies", type=_names(NAMES, "--policies"), default=POLICIES,
                          help="comma-separated list of " + ",".join(NAMES) + " (default: " + ",".join(POLICIES) + ")")
    simulate.add_argument("--policy", action="append", default=[], metavar="MODULE:CALLABLE", dest="custom",
                          help="run a policy of your own beside the others (repeatable). MODULE is imported (the "
                          "current folder is on the path) and, for each setup, CALLABLE(n_workers, budget, *, alpha, "
                          "eta, gamma, c) is called and must return a fresh policy: an object with n_workers, budget, "
                          "allocate(budget=None, *, out=None), observe(workers, durations) and set_available(ids, flag) "
                          "(fastata.policies.AllocationPolicy). alpha and eta are the workers' bounds (or --alpha, "
                          "--eta), gamma the preset's (or --gamma), c is --c or None. Its results are named "
                          "MODULE:CALLABLE")
    simulate.add_argument("--alpha", type=_real("--alpha"), default=None, help="ATA's alpha (default: the workers' psi_1 bound)")
    simulate.add_argument("--eta", type=_real("--eta"), default=None, help="ATA-Empirical's and ATA-Bernstein's eta (default: the workers' relative psi_1 bound)")
    simulate.add_argument("--gamma", type=_real("--gamma"), default=None, help="discount in (0, 1] for the adaptive policies (default: the preset's, 1 = the paper)")
    simulate.add_argument("--c", type=_real("--c"), default=None, help="the constant in the confidence width (default: each policy's theory: 2 for ata and ata-empirical, the paper's; 1 for ata-bernstein, its inequality's)")
    simulate.add_argument("--n", type=_counts("--n", "a worker count"), default=None, help="number of workers, or several separated by commas (default: the preset's)")
    simulate.add_argument("--budget", type=int, default=None, help="tasks per round (default: the preset's)")
    simulate.add_argument("--distribution", type=_distribution, default=None, metavar="FAMILY[:OPTIONS]",
                          help="worker times with the preset's means: " + ", ".join(FAMILIES[:-1])
                          + " (lognormal:sigma=1, gamma:shape=2, pareto:shape=2.5), or trace:FILE.npy|FILE.csv[,order=sequential]")
    simulate.add_argument("--shuffle", action="store_true",
                          help="renumber the workers at random (seeded): the presets number them fastest first")
    simulate.add_argument("--min-tasks", type=int, default=None, metavar="K",
                          help="every available worker takes at least K tasks a round (allocation policies; default: 0)")
    simulate.add_argument("--max-tasks", type=int, default=None, metavar="K",
                          help="no worker takes more than K tasks a round (allocation policies; default: no limit)")
    simulate.add_argument("--backend", default="auto", help="policy backend (default: auto)")
    simulate.add_argument("--plot", metavar="FILE.png", help="write the figure (needs matplotlib: pip install \"fastata[plot]\")")
    simulate.add_argument("--json", metavar="FILE", help="write the numbers as JSON")
    simulate.add_argument("--plain", action="store_true", help="plain-text tables even where rich is installed")
    simulate.add_argument("--no-progress", action="store_true", help="no progress bar")


def _reals(option, low, high):
    """Parse ``"1,0.5"`` into ``(1.0, 0.5)``, each in ``(low, high]``."""

    def parse(text):
        try:
            values = tuple(float(x) for x in text.split(","))
        except ValueError:
            values = ()
        if not values or any(not low < v <= high for v in values):
            raise argparse.ArgumentTypeError(f"{option} must be numbers in ({low:g}, {high:g}] separated by commas; got {text!r}")
        return values

    return parse


def _preset_sizes(text):
    """``"cifar,quadratic:459,large"`` into ``(("cifar", None), ("quadratic", 459), ("large", None))``."""
    out = []
    for item in text.split(","):
        name, _, size = item.strip().partition(":")
        if name not in PRESETS or (size and not (size.isdigit() and int(size) >= 1)):
            raise argparse.ArgumentTypeError(f"--presets must be preset names ({', '.join(PRESETS)}), each with an "
                                             f"optional :N worker count, separated by commas; got {text!r}")
        out.append((name, int(size) if size else None))
    return tuple(out)


ADAPTIVE = ("ata", "ata-empirical", "ata-bernstein")


def _add_measure(commands):
    measure = commands.add_parser(
        "measure",
        help="the theory's claims measured in the simulator: coverage of the bounds, regret against ln K, drift "
        "recovery, the authors' code's choices",
        description="Measure what the confidence-bound policies' analysis promises, in the simulator, and print "
        "markdown tables (docs/theory.md). coverage: the fraction of (round, worker) pairs whose lower bound "
        "exceeds the worker's true mean, beside the 1/k^2-per-round level the inequality promises. regret: the "
        "cumulative proxy regret R_K and R_K / ln K. recovery: rounds after each step change of the drift "
        "preset until the proxy loss is back within 10 % of the best allocation's. paper: the cifar preset under "
        "fastata's choices and the authors' simulation code's.",
    )
    what = measure.add_subparsers(dest="what", required=True)
    cov = what.add_parser("coverage", help="bounds above the true means, against the promised level",
                          description="For each preset, policy and constant (theory's times each --scales), "
                          "run --seeds seeds of --rounds rounds and count the (round, worker) pairs of explored "
                          "workers whose lower bound exceeds the true mean; 'allowed' is the expected count the "
                          "inequality permits, sum of min(1, 1/k^2) over the same pairs (k = completed rounds).")
    cov.add_argument("--presets", type=_preset_sizes, default=(("cifar", None), ("quadratic", 459), ("large", None)),
                     help="presets, each with an optional :N (default: cifar,quadratic:459,large)")
    cov.add_argument("--policies", type=_names(ADAPTIVE, "--policies"), default=ADAPTIVE,
                     help="comma-separated list of " + ",".join(ADAPTIVE) + " (default: all)")
    cov.add_argument("--scales", type=_reals("--scales", 0.0, 1e6), default=(1.0, 0.5, 0.25, 0.1),
                     help="multiples of each policy's theory constant c (default: 1,0.5,0.25,0.1)")
    cov.add_argument("--seeds", type=int, default=5, help="seeds 0..S-1 (default: 5)")
    cov.add_argument("--rounds", type=int, default=3000, help="rounds per run (default: 3000)")
    cov.add_argument("--tail-from", type=int, default=100, help="first round of the tail columns (default: 100)")
    reg = what.add_parser("regret", help="cumulative proxy regret R_K and R_K / ln K",
                          description="Run each adaptive policy with its theory constant on the preset's first "
                          "setup for the largest horizon, once per seed, and print the mean R_K and R_K / ln K.")
    reg.add_argument("--preset", choices=PRESETS, default="cifar", help="the setup (default: cifar)")
    reg.add_argument("--policies", type=_names(ADAPTIVE, "--policies"), default=ADAPTIVE,
                     help="comma-separated list of " + ",".join(ADAPTIVE) + " (default: all)")
    reg.add_argument("--horizons", type=_counts("--horizons", "a round count"), default=(100, 1000, 10000, 100000),
                     help="round counts K (default: 100,1000,10000,100000)")
    reg.add_argument("--seeds", type=int, default=5, help="seeds 0..S-1 (default: 5)")
    reg.add_argument("--plot", metavar="FILE.png", help="write R_K and R_K / ln K against K (needs matplotlib)")
    rec = what.add_parser("recovery", help="rounds to recover after the drift preset's step changes",
                          description="Run each policy on the drift preset (the fastest tenth 8x slower in the "
                          "middle third) for every --gammas and print the rounds after each change until the mean "
                          "proxy loss over --window rounds is within 10 % of the best allocation's.")
    rec.add_argument("--policies", type=_names(ADAPTIVE + ("fta",), "--policies"), default=ADAPTIVE + ("fta",),
                     help="comma-separated list of " + ",".join(ADAPTIVE + ("fta",)) + " (default: all)")
    rec.add_argument("--gammas", type=_reals("--gammas", 0.0, 1.0), default=(1.0, 0.999, 0.99),
                     help="discounts (default: 1,0.999,0.99)")
    rec.add_argument("--rounds", type=int, default=10000, help="rounds (default: 10000, the preset's)")
    rec.add_argument("--seed", type=int, default=0, help="the run's seed (default: 0)")
    rec.add_argument("--scale", type=_real("--scale"), default=1.0,
                     help="multiple of each adaptive policy's theory constant c (default: 1)")
    rec.add_argument("--window", type=int, default=100,
                     help="recovered when at least half of this many rounds in a row are within 10 %% (default: 100)")
    paper = what.add_parser("paper", help="the cifar preset under each of the authors' code's choices",
                            description="Run ATA and ATA-Empirical on the cifar preset with fastata's choices "
                            "(constant 2, round-robin exploration, lowest-index ties), with each choice of the "
                            "authors' simulation code alone (constant 4e, one task to each unexplored worker at "
                            "random, random ties), and with all of them (and ATA-Empirical's eta = 2, the code's "
                            "2 muhat in place of alpha); print total time and worker time against FTA and GTA.")
    paper.add_argument("--rounds", type=int, default=10000, help="rounds (default: 10000)")
    paper.add_argument("--seed", type=int, default=0, help="the run's seed (default: 0)")
    for sub in (cov, reg, rec, paper):
        sub.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")


def _measure(args):
    """Run one of ``fastata measure``'s measurements and print its markdown table."""
    from .sim import theory

    for option in ("seeds", "rounds", "window"):
        value = getattr(args, option, None)
        if value is not None and value < 1:
            raise ValueError(f"--{option} must be >= 1; got {value}")
    if getattr(args, "plot", None) is not None:
        _check_output(args.plot, "--plot")
    tick = None if args.no_progress else (lambda text: print(f"  {text}", file=sys.stderr, flush=True))
    print("$ fastata " + " ".join(args.argv))  # the command behind the table, printed with it
    if args.what == "coverage":
        rows = theory.coverage_rows(presets=args.presets, policies=args.policies, scales=args.scales,
                                    seeds=range(args.seeds), rounds=args.rounds, tail_from=args.tail_from,
                                    progress=tick)  # fmt: skip
        print(theory._coverage_markdown(rows))
    elif args.what == "regret":
        table, curves = theory.regret_rows(args.preset, policies=args.policies, seeds=range(args.seeds),
                                           horizons=args.horizons, progress=tick)  # fmt: skip
        print(theory._regret_markdown(table, args.horizons))
        if args.plot is not None:
            theory.plot_regret(curves, args.plot, title=f"{args.preset} preset, theory constants, "
                               f"mean of {args.seeds} seeds")  # fmt: skip
            print(f"wrote {args.plot}")
    elif args.what == "paper":
        from .sim import authors

        rows, fta, gta = authors.paper_rows(rounds=args.rounds, seed=args.seed, progress=tick)
        print(authors._paper_markdown(rows, fta, gta))
    else:
        changes, rows = theory.recovery_rows(policies=args.policies, gammas=args.gammas, seed=args.seed,
                                             rounds=args.rounds, scale=args.scale, window=args.window,
                                             progress=tick)  # fmt: skip
        print(theory._recovery_markdown(changes, rows, args.window))


def _check_output(path, option):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{option} must be a path in an existing folder; got {path!r}")


def _load_callable(spec):
    """``MODULE:CALLABLE`` (``--policy``) imported, with the current folder on the path."""
    import importlib

    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"--policy must look like MODULE:CALLABLE (e.g. mypolicies:make); got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"--policy must name an importable module; got {spec!r} ({type(exc).__name__}: {exc})") from None
    for part in name.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise ValueError(f"--policy must name a callable in its module; got {spec!r}")
    return target


def _simulate(args):
    """Check every option, run the preset, print the tables, write the plot and JSON."""
    if args.plot is not None:
        _check_output(args.plot, "--plot")
        if os.path.splitext(args.plot)[1].lower() not in PLOT_FORMATS:
            raise ValueError(f"--plot must end in {', '.join(PLOT_FORMATS)}; got {args.plot!r}")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ValueError('--plot needs matplotlib: pip install "fastata[plot]"') from None
    if args.json is not None:
        _check_output(args.json, "--json")
    custom = tuple((spec, _load_callable(spec)) for spec in args.custom)
    from .sim import experiment, report

    with report.Progress(f"simulating {args.preset}", enabled=not args.no_progress) as progress:
        result = experiment.run_preset(
            args.preset, rounds=args.rounds, seed=args.seed, n=args.n, budget=args.budget,
            distribution=args.distribution, policies=args.policies, alpha=args.alpha, eta=args.eta,
            gamma=args.gamma, c=args.c, shuffle=args.shuffle, min_tasks=args.min_tasks, max_tasks=args.max_tasks,
            backend=args.backend, progress=progress, custom=custom,
        )  # fmt: skip
    report.print_tables(result, plain=args.plain)
    if args.plot is not None:
        report.plot(result, args.plot)
        print(f"wrote {args.plot}")
    if args.json is not None:
        report.write_json(result, args.json)
        print(f"wrote {args.json}")


def _parser():
    from ._bench import DISTRIBUTIONS

    parser = _Parser(prog="fastata", description="Exact, fast Adaptive Task Allocation (ATA).")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_simulate(commands)
    _add_measure(commands)
    bench = commands.add_parser(
        "bench",
        help="allocation throughput per backend, with ratios against baselines measured in the same run",
        description="Time fa.allocate on every backend over a table of cases (workers x tasks, each on "
        "distributions of task times a cluster produces), with and without per-worker bounds, and print "
        "each as a ratio to baselines timed in the same run: one numpy pass over the workers into a "
        "preallocated buffer, and on small cases the textbook greedy loop and a heap greedy. Medians, "
        "with p50 and p99 of single calls. Also, unless skipped: batched allocation, import and "
        "first-call compile times, and a policy's warm rounds.",
    )
    bench.add_argument("--cases", type=_cases, default=None,
                       help="comma-separated n x budget cases (default: small cases on lognormal "
                            "times, and 4096x4096, 65536x65536, 65536x262144, 1000000x1000000, "
                            "65536x6553, 65536x58982 on every distribution)")
    bench.add_argument("--dist", type=_names(tuple(DISTRIBUTIONS), "--dist"), default=None, metavar="NAME[,NAME]",
                       help="per-task time distributions: lognormal, exponential, paper (58 i), "
                            "pareto, uniform, two-speeds, integers (1..4), equal, zeros (10 %%), "
                            "unavailable (10 %% +inf), wide (lognormal(0, 20)), one-fast (one worker "
                            "10**6 times faster), extreme (10**uniform(-300, 300)), close (lognormal(0, 0.05): "
                            "one machine type); default: all "
                            "(lognormal only with --cases)")
    bench.add_argument("--passes", action="store_true",
                       help="also count the passes over the workers each case makes, up to "
                            "n = 65536 (slow: runs the algorithm as plain Python once per case)")
    bench.add_argument("--no-warm", action="store_true",
                       help="skip the warm-start and embedded hot-path measurements (a policy's rounds; "
                            "Allocator and a policy round against their yardsticks)")
    bench.add_argument("--quick", action="store_true", help="fewer, shorter repeats (a smoke run)")
    bench.add_argument("--no-batch", action="store_true", help="skip the batched benchmark")
    bench.add_argument("--no-startup", action="store_true", help="skip import and compile timings")
    bench.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    return parser


#: The simulator's parameters that ``fastata simulate`` sets, by option: its messages start
#: with the parameter's name, which a user of the command knows by the option's.
_SIMULATE_OPTIONS = {name: "--" + name.replace("_", "-") for name in (
    "rounds", "budget", "n", "seed", "gamma", "c", "alpha", "eta", "min_tasks", "max_tasks", "policies", "backend")}


def _in_options(message):
    """``message`` with the parameter it starts with named by its option (``min_tasks must...``
    -> ``--min-tasks must...``)."""
    first, space, rest = message.partition(" ")
    return _SIMULATE_OPTIONS.get(first, first) + space + rest


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    args.argv = argv
    if args.command == "simulate":
        try:
            _simulate(args)
        except (ValueError, TypeError, OSError) as exc:
            print(f"fastata simulate: error: {_in_options(str(exc))}", file=sys.stderr)
            return 2
        except MemoryError as exc:  # --n or --rounds past what this machine holds
            print(f"fastata simulate: error: not enough memory for these --n and --rounds ({exc})", file=sys.stderr)
            return 2
    elif args.command == "measure":
        try:
            _measure(args)
        except (ValueError, TypeError, OSError, ImportError) as exc:
            print(f"fastata measure: error: {exc}", file=sys.stderr)
            return 2
    elif args.command == "bench":
        from . import _bench

        if args.json is not None:
            try:
                _check_output(args.json, "--json")
            except ValueError as exc:  # before the runs, not after them
                print(f"fastata bench: error: {exc}", file=sys.stderr)
                return 2
        _bench.run(
            cases=_bench.make_cases(args.dist, args.cases),
            batch=not args.no_batch,
            startup=not args.no_startup,
            quick=args.quick,
            json_path=args.json,
            passes=args.passes,
            warm=not args.no_warm,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
