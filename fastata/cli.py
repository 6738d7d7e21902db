"""The ``fastata`` command: ``fastata bench`` (allocation throughput per backend)."""

import argparse
import sys


def _cases(text):
    """Parse ``"4096x4096,51x23"`` into ``((4096, 4096), (51, 23))``."""
    try:
        cases = tuple(tuple(int(v) for v in item.lower().split("x")) for item in text.split(","))
    except ValueError:
        cases = ()
    if not cases or any(len(c) != 2 or c[0] < 1 or c[1] < 0 for c in cases):
        raise argparse.ArgumentTypeError(f"--cases must look like 4096x4096,51x23 (n x budget); got {text!r}")
    return cases


def _parser():
    parser = argparse.ArgumentParser(prog="fastata", description="Exact, fast Adaptive Task Allocation (ATA).")
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser(
        "bench",
        help="allocation throughput per backend, with ratios against baselines measured in the same run",
    )
    bench.add_argument("--cases", type=_cases, default=None,
                       help="comma-separated n x budget cases (default: the issue's table)")
    bench.add_argument("--quick", action="store_true", help="fewer, shorter repeats (a smoke run)")
    bench.add_argument("--no-batch", action="store_true", help="skip the batched benchmark")
    bench.add_argument("--no-startup", action="store_true", help="skip import and compile timings")
    bench.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "bench":
        from . import _bench

        _bench.run(
            cases=args.cases or _bench.CASES,
            batch=not args.no_batch,
            startup=not args.no_startup,
            quick=args.quick,
            json_path=args.json,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
