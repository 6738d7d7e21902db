"""Tables, plots, JSON and progress for simulated runs (``fastata simulate``).

rich (tables, progress bar) and matplotlib (plots) are optional: without rich the
tables are plain text and progress is a percentage on a terminal; without matplotlib
:func:`plot` raises an ``ImportError`` that names ``pip install "fastata[plot]"``.
"""

import json
import math
import sys
import time

import numpy as np

from .. import __version__
from .experiment import TARGET_FRACTION

#: Policy labels and colours, in table order.
LABELS = {"ata": "ATA", "ata-empirical": "ATA-Empirical", "ata-bernstein": "ATA-Bernstein", "fta": "FTA (oracle)", "uta": "UTA",
          "gta": "GTA"}
COLORS = {"ata": "tab:blue", "ata-empirical": "tab:green", "ata-bernstein": "tab:purple", "fta": "black", "uta": "tab:orange",
          "gta": "tab:red"}
#: Points per plotted curve at most (keeps the PNGs small).
PLOT_POINTS = 600


def _num(x):
    if not math.isfinite(x):
        return "never" if x > 0 else "-"
    return f"{x:.4g}"


def _ratio(x, base):
    if base is None or not (math.isfinite(x) and math.isfinite(base)) or base == 0:
        return "-"
    return f"{x / base:.3f}"


def table_rows(setup_result):
    """``(header, rows)`` of one setup's table: strings, one row per policy.

    Examples
    --------
    >>> from fastata.sim import experiment, report
    >>> run = experiment.run_preset("cifar", rounds=50, seed=0, policies=("ata", "fta"))
    >>> header, rows = report.table_rows(run.setups[0])
    >>> header[:4], [row[0] for row in rows]
    (['policy', 'total time', '/ FTA', '/ GTA'], ['ATA', 'FTA (oracle)'])
    """
    results = setup_result.results
    fta, gta = results.get("fta"), results.get("gta")
    header = ["policy", "total time", "/ FTA", "/ GTA", "worker time", "/ FTA", "/ GTA", "final regret",
              "regret, last 10%"]  # fmt: skip
    sgd = setup_result.suboptimality is not None
    if sgd:
        header += ["time to 1e-3", "worker time to 1e-3"]
    rows = []
    for name, r in results.items():
        t, w = r.total_time, r.total_worker_time
        row = [
            LABELS.get(name, name),
            _num(t), _ratio(t, fta and fta.total_time), _ratio(t, gta and gta.total_time),
            _num(w), _ratio(w, fta and fta.total_worker_time), _ratio(w, gta and gta.total_worker_time),
            _num(r.final_regret), _num(r.late_regret),
        ]  # fmt: skip
        if sgd:
            row += [_num(setup_result.time_to_target(name)), _num(setup_result.time_to_target(name, worker_time=True))]
        rows.append(row)
    return header, rows


def _title(experiment, setup_result):
    s = setup_result.setup
    parts = [f"{experiment.preset}: n={s.workers.n}, budget={s.budget}, rounds={experiment.rounds}, seed={experiment.seed}"]
    if "ata" in setup_result.results:
        parts.append(f"ATA alpha={setup_result.alpha:.4g}")
    if "ata-empirical" in setup_result.results or "ata-bernstein" in setup_result.results:
        parts.append(f"eta={setup_result.eta:.4g}")
    parts.append(f"gamma={experiment.gamma:g}")
    for name in ("min_tasks", "max_tasks"):
        if getattr(experiment, name, None) is not None:
            parts.append(f"{name}={getattr(experiment, name)}")
    return ", ".join(parts)


def print_tables(experiment, file=None, plain=False):
    """Print one table per setup: rich where installed (and ``plain`` is false), else plain text.

    Examples
    --------
    >>> from fastata.sim import experiment, report
    >>> run = experiment.run_preset("cifar", rounds=50, seed=0, policies=("fta", "gta"))
    >>> report.print_tables(run, plain=True)   # doctest: +ELLIPSIS
    cifar: n=51, budget=23, rounds=50, seed=0, gamma=1
    policy        total time  / FTA  / GTA  worker time  / FTA  / GTA  final regret  regret, last 10%
    FTA (oracle) ...
    GTA ...
    workers: ShiftedExponential(shift=[29, ..., 1479], scale=[29, ..., 1479], n=51)
    """
    file = sys.stdout if file is None else file
    try:
        if plain:
            raise ImportError
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        Console = None
    for setup_result in experiment.setups:
        header, rows = table_rows(setup_result)
        title = _title(experiment, setup_result)
        caption = f"workers: {setup_result.setup.workers.describe()}"
        if setup_result.suboptimality is not None:
            caption += f"; SGD on {experiment.quadratic!r}, 'time to 1e-3' = until f - f* <= {TARGET_FRACTION:g} (f(x0) - f*)"
        if Console is None:
            print(title, file=file)
            widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(header)]
            for line in [header] + rows:
                print("  ".join(cell.rjust(w) if j else cell.ljust(w) for j, (cell, w) in enumerate(zip(line, widths))), file=file)
            print(caption, file=file)
            print(file=file)
            continue
        table = Table()
        for j, h in enumerate(header):
            table.add_column(h, justify="left" if j == 0 else "right", no_wrap=True)
        for row in rows:
            table.add_row(*row)
        console = Console(file=file, width=160, highlight=False)
        console.print(title, style="bold")
        console.print(table)
        console.print(caption)
        console.print()


# --- JSON ------------------------------------------------------------------------------


def _json_setup(setup_result):
    policies = {}
    for name, r in setup_result.results.items():
        entry = r.summary()
        entry.pop("policy")
        if setup_result.suboptimality is not None:  # null: the target was not reached
            for key, work in (("time_to_target", False), ("worker_time_to_target", True)):
                t = setup_result.time_to_target(name, worker_time=work)
                entry[key] = t if math.isfinite(t) else None
        policies[name] = entry
    out = {
        "n": setup_result.setup.workers.n,
        "budget": setup_result.setup.budget,
        "alpha": setup_result.alpha,
        "eta": setup_result.eta,
        "workers": setup_result.setup.workers.describe(),
        "policies": policies,
    }
    if setup_result.suboptimality is not None:
        curve = setup_result.suboptimality
        out["sgd"] = {
            "initial_suboptimality": float(curve[0]),
            "final_suboptimality": float(curve[-1]),
            "target": TARGET_FRACTION * float(curve[0]),
        }
    return out


def to_json(experiment):
    """The run's numbers as a JSON-ready dict.

    ``"policies"`` maps each policy to its totals (``total_time``, ``total_worker_time``,
    ``final_regret``, ...). With several setups (the quadratic preset's four sizes) each of
    those numbers becomes a list, one entry per setup in the order of ``"setups"``
    (and of ``parameters["n"]``); ``"setups"`` holds every setup's full record.

    Examples
    --------
    >>> from fastata.sim import experiment, report
    >>> run = experiment.run_preset("cifar", rounds=50, seed=0, policies=("ata", "fta"))
    >>> summary = report.to_json(run)
    >>> sorted(summary), sorted(summary["policies"])
    (['fastata', 'parameters', 'policies', 'setups'], ['ata', 'fta'])
    """
    setups = [_json_setup(s) for s in experiment.setups]
    if len(setups) == 1:
        policies = setups[0]["policies"]
    else:
        policies = {}
        for name in experiment.policies:
            entries = [s["policies"][name] for s in setups]
            policies[name] = {key: [e[key] for e in entries] for key in entries[0] if key != "params"}
            policies[name]["params"] = entries[0]["params"]
    return {
        "fastata": __version__,
        "parameters": experiment.parameters(),
        "policies": policies,
        "setups": setups,
    }


def write_json(experiment, path):
    """Write :func:`fastata.sim.report.to_json`'s dict to ``path`` as JSON.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from fastata.sim import experiment, report
    >>> run = experiment.run_preset("cifar", rounds=50, seed=0, policies=("ata", "fta"))
    >>> path = os.path.join(tempfile.mkdtemp(), "cifar.json")
    >>> report.write_json(run, path)
    >>> with open(path) as f:
    ...     json.load(f)["parameters"]["rounds"]
    50
    """
    with open(path, "w", encoding="utf-8") as f:
        json.dump(to_json(experiment), f, indent=2, allow_nan=False, default=_jsonable)
        f.write("\n")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


# --- plots -------------------------------------------------------------------------------


def _matplotlib():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError('--plot needs matplotlib: pip install "fastata[plot]"') from exc
    return plt


def _thin(x, *ys):
    """At most ``PLOT_POINTS`` points, log-spaced in the index (early rounds matter most)."""
    m = x.shape[0]
    if m <= PLOT_POINTS:
        return (x, *ys)
    idx = np.unique(np.concatenate([np.geomspace(1, m, PLOT_POINTS).astype(np.int64) - 1, [m - 1]]))
    return (x[idx], *(y[idx] for y in ys))


def _rolling(values, window):
    c = np.concatenate([[0.0], np.cumsum(values)])
    out = np.empty(values.shape[0])
    k = np.arange(1, values.shape[0] + 1)
    lo = np.maximum(k - window, 0)
    out[:] = (c[k] - c[lo]) / (k - lo)
    return out


def _allocation_panels(axes, experiment, setup_result, legend):
    rounds = np.arange(1, experiment.rounds + 1, dtype=np.float64)
    window = max(1, experiment.rounds // 100)
    for name, r in setup_result.results.items():
        style = dict(color=COLORS.get(name), label=LABELS.get(name, name), lw=1.2)
        x, t, w = _thin(rounds, r.cumulative_time, r.cumulative_worker_time)
        axes[0].plot(x, t, **style)
        axes[1].plot(x, w, **style)
        if len(axes) > 2:
            rel = _rolling(r.regret / r.oracle_loss, window)
            xr, rel = _thin(rounds, rel)
            axes[2].plot(xr, rel, **style)
    axes[0].set(xlabel="round", ylabel="cumulative time")
    totals = [r.total_worker_time for r in setup_result.results.values()]
    wide = max(totals) > 20.0 * min(totals)  # GTA at large n: only a log scale shows the others
    axes[1].set(xlabel="round", ylabel="cumulative worker time", yscale="log" if wide else "linear")
    if len(axes) > 2:
        axes[2].set(xlabel="round", ylabel=f"proxy regret / best loss\n(mean of {window} rounds)", xscale="log")
    if legend:
        axes[0].legend(fontsize=8)


def _sgd_panels(axes, setup_result):
    for name, r in setup_result.results.items():
        style = dict(color=COLORS.get(name), label=LABELS.get(name, name), lw=1.2)
        time_axis = np.concatenate([[0.0], r.cumulative_time])
        work_axis = np.concatenate([[0.0], r.cumulative_worker_time])
        t, w, s = _thin(time_axis, work_axis, setup_result.suboptimality)
        axes[0].plot(t, s, **style)
        axes[1].plot(w[1:], s[1:], **style)
    # Show the descent, not UTA's long plateau: up to twice the latest time any policy
    # needed to reach the table's target (all of it if some policy never did).
    reach = [setup_result.time_to_target(name) for name in setup_result.results]
    if all(math.isfinite(t) for t in reach):
        axes[0].set_xlim(0.0, 2.0 * max(reach))
    axes[0].set(xlabel="time", ylabel="f(x) - f*", yscale="log")
    axes[1].set(xlabel="worker time", ylabel="f(x) - f*", yscale="log", xscale="log")


def plot(experiment, path):
    """Write the run's figure to ``path`` (PNG, small).

    One row per setup: cumulative time and worker time against rounds, then either the
    proxy regret (relative to the best allocation's loss) or, for presets that couple
    training, suboptimality against time and against worker time.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastata.sim import experiment, report
    >>> run = experiment.run_preset("cifar", rounds=50, seed=0, policies=("ata", "fta"))
    >>> path = os.path.join(tempfile.mkdtemp(), "cifar.png")
    >>> report.plot(run, path)                  # needs matplotlib (extra plot)
    >>> os.path.getsize(path) > 0
    True
    """
    plt = _matplotlib()
    rows = len(experiment.setups)
    sgd = experiment.quadratic is not None
    cols = 4 if sgd else 3
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows + 0.4), squeeze=False)
    for j, setup_result in enumerate(experiment.setups):
        row = axes[j]
        if sgd:
            _sgd_panels(row[:2], setup_result)
            _allocation_panels(row[2:], experiment, setup_result, legend=False)
            row[0].legend(fontsize=7)
        else:
            _allocation_panels(row, experiment, setup_result, legend=True)
        row[0].set_title(setup_result.setup.label, fontsize=9, loc="left")
        for ax in row:
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            ax.xaxis.label.set_size(8)
            ax.yaxis.label.set_size(8)
    command = f"fastata simulate --preset {experiment.preset} --rounds {experiment.rounds} --seed {experiment.seed}"
    fig.suptitle(command + (" --shuffle" if experiment.shuffle else ""), fontsize=10)
    fig.tight_layout()
    if str(path).lower().endswith(".png"):
        _save_small_png(fig, path)
    else:
        fig.savefig(path)
    plt.close(fig)


def _save_small_png(fig, path):
    """A PNG with a 64-colour palette: a third of the size of matplotlib's RGBA, same look."""
    import io

    from PIL import Image  # a dependency of matplotlib

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


# --- progress ----------------------------------------------------------------------------


class Progress:
    """A progress callback ``(done, total)`` that shows a bar only once a run has lasted a second.

    rich's bar on stderr where rich is installed; otherwise a percentage on a terminal.

    Examples
    --------
    >>> import fastata as fa
    >>> from fastata.sim import report
    >>> progress = report.Progress("simulating")
    >>> workers = fa.sim.Exponential([1.0, 2.0])
    >>> r = fa.sim.run(fa.UTA(2, 4), workers, 100, seed=0, progress=progress)
    >>> progress.close()
    """

    DELAY = 1.0

    def __init__(self, description="simulating", enabled=True):
        self.description = description
        self.enabled = enabled
        self.start = time.perf_counter()
        self._bar = None
        self._task = None
        self._plain = False

    def __call__(self, done, total):
        if not self.enabled:
            return
        if self._bar is None and not self._plain:
            if time.perf_counter() - self.start < self.DELAY:
                return
            self._open(total)
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
        elif sys.stderr.isatty():
            print(f"\r{self.description}: {100 * done // max(total, 1):3d}%", end="", file=sys.stderr, flush=True)

    def _open(self, total):
        try:
            from rich.console import Console
            from rich.progress import BarColumn, Progress as Bar, TextColumn, TimeRemainingColumn
        except ImportError:
            self._plain = True
            return
        self._bar = Bar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                        TimeRemainingColumn(), console=Console(stderr=True), transient=True)  # fmt: skip
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=total)

    def close(self):
        if self._bar is not None:
            self._bar.stop()
        elif self._plain and sys.stderr.isatty():
            print(file=sys.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
