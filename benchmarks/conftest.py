"""Benchmarks run against the installed package; cuda only on a real GPU (never the simulator)."""
