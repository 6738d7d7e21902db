"""``fastata simulate`` end to end on small runs: tables, plot, JSON, options, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

import fastata as fa
from fastata import cli

SMALL = ["simulate", "--preset", "cifar", "--rounds", "150", "--n", "9", "--budget", "4", "--no-progress"]


def test_cifar_end_to_end_writes_plot_and_json(tmp_path, capsys):
    plot, data = tmp_path / "run.png", tmp_path / "run.json"
    assert cli.main(SMALL + ["--plot", str(plot), "--json", str(data)]) == 0
    out = capsys.readouterr().out
    for label in ("ATA", "ATA-Empirical", "FTA (oracle)", "UTA", "GTA", "total time", "/ GTA", "final regret"):
        assert label in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size < 150_000
    numbers = json.loads(data.read_text())
    assert set(numbers["policies"]) == {"ata", "ata-empirical", "fta", "uta", "gta"}
    for entry in numbers["policies"].values():
        assert entry["total_time"] > 0 and entry["total_worker_time"] > 0
    gta = numbers["policies"]["gta"]
    assert gta["total_worker_time"] == pytest.approx(9 * gta["total_time"])
    params = numbers["parameters"]
    assert (params["preset"], params["rounds"], params["seed"], params["n"], params["budget"]) == ("cifar", 150, 0, 9, 4)
    assert params["eta"] == pytest.approx(0.7657, abs=1e-4)


def test_quadratic_preset_plots_suboptimality(tmp_path, capsys):
    plot = tmp_path / "q.png"
    argv = ["simulate", "--preset", "quadratic", "--rounds", "120", "--n", "5,9", "--no-progress", "--plain"]
    assert cli.main(argv + ["--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "quadratic: n=5" in out and "quadratic: n=9" in out and "time to 1e-3" in out
    assert plot.stat().st_size > 1000


def test_options_reach_the_run(tmp_path):
    data = tmp_path / "o.json"
    argv = SMALL + ["--policies", "ata,gta", "--alpha", "3.5", "--gamma", "0.9", "--c", "1.5", "--seed", "4",
                    "--distribution", "gamma:shape=3", "--shuffle", "--json", str(data)]  # fmt: skip
    assert cli.main(argv) == 0
    numbers = json.loads(data.read_text())
    assert set(numbers["policies"]) == {"ata", "gta"}
    assert numbers["policies"]["ata"]["params"] == {"alpha": 3.5, "c": 1.5, "gamma": 0.9}
    assert numbers["parameters"]["seed"] == 4 and numbers["parameters"]["shuffle"] is True
    assert "Gamma(shape=3" in numbers["setups"][0]["workers"]


def test_trace_distribution(tmp_path, capsys):
    np.save(tmp_path / "t.npy", np.array([[1.0, 5.0, 2.0], [2.0, 7.0, 2.5], [1.5, 6.0, np.nan]]))
    argv = ["simulate", "--rounds", "50", "--budget", "3", "--no-progress", "--plain",
            "--distribution", f"trace:{tmp_path / 't.npy'},order=sequential"]  # fmt: skip
    assert cli.main(argv) == 0
    assert "Trace(n=3, records=8, order='sequential')" in capsys.readouterr().out


def test_a_trace_with_another_number_of_workers_is_refused(tmp_path, capsys):
    # A trace's workers are its columns: --n can only repeat that number.
    np.save(tmp_path / "t.npy", np.array([[1.0, 5.0], [2.0, 7.0]]))
    argv = ["simulate", "--rounds", "5", "--budget", "3", "--no-progress", "--plain",
            "--distribution", f"trace:{tmp_path / 't.npy'}"]  # fmt: skip
    assert cli.main(argv + ["--n", "7"]) == 2
    assert "n must be left out with a trace, or be its number of workers (2); got 7" in capsys.readouterr().err
    assert cli.main(argv + ["--n", "2"]) == 0


def test_same_seed_same_numbers(tmp_path):
    for name in ("a.json", "b.json"):
        assert cli.main(SMALL + ["--json", str(tmp_path / name)]) == 0
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert a == b


@pytest.mark.parametrize(
    "extra, message",
    [(["--rounds", "0"], "--rounds must be >= 1; got 0"),
     (["--rounds", "ten"], "argument --rounds: invalid int value: 'ten'"),
     (["--preset", "imagenet"], "argument --preset: invalid choice: 'imagenet'"),
     (["--policies", "ata,best"], "--policies must be a comma-separated list of ata, ata-empirical, ata-bernstein, fta, uta, gta; got 'ata,best'"),
     (["--policies", "ata,ata"], "--policies must not repeat a policy"),
     (["--gamma", "1.5"], "--gamma must be in (0, 1]; got 1.5"),
     (["--alpha", "-2"], "--alpha must be finite and > 0; got -2.0"),
     (["--eta", "x"], "--eta must be a number; got 'x'"),
     (["--n", "0"], "--n must be a worker count >= 1"),
     (["--budget", "0"], "--budget must be >= 1; got 0"),
     (["--seed", "-3"], "--seed must be >= 0; got -3"),
     (["--distribution", "weibull"], "--distribution must start with one of exponential"),
     (["--distribution", "gamma:sigma=2"], "--distribution gamma: its options are shape; got 'sigma=2'"),
     (["--distribution", "pareto:shape=0.5"], "shape must be finite and > 1; got 0.5"),
     (["--distribution", "trace:/nonexistent/t.npy"], "No such file or directory"),
     (["--plot", "/nonexistent/folder/p.png"], "--plot must be a path in an existing folder"),
     (["--plot", "p.txt"], "--plot must end in .png, .pdf, .svg; got 'p.txt'"),
     (["--min-tasks", "1"], "--min-tasks must sum to at most budget (4); got a sum of 9"),
     (["--max-tasks", "0"], "--max-tasks of the available workers (lam < inf) must sum to at least budget (4); got a sum of 0"),
     (["--backend", "fortran"], "--backend must be 'auto' or one of the available backends")],
)  # fmt: skip
def test_bad_options_give_one_line(capsys, extra, message):
    try:
        rc = cli.main(SMALL + extra)
    except SystemExit as exc:  # argparse's own checks
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("fastata simulate: error: ")
    assert message in err
    assert "Traceback" not in err


def test_plot_without_matplotlib(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert cli.main(SMALL + ["--plot", str(tmp_path / "p.png")]) == 2
    assert capsys.readouterr().err == 'fastata simulate: error: --plot needs matplotlib: pip install "fastata[plot]"\n'


def test_tables_without_rich(monkeypatch, capsys):
    for name in ("rich", "rich.console", "rich.table"):
        monkeypatch.setitem(sys.modules, name, None)
    assert cli.main(SMALL) == 0
    out = capsys.readouterr().out
    assert "policy" in out and "FTA (oracle)" in out and "┃" not in out


def test_progress_bar_appears_only_on_long_runs(monkeypatch, capsys):
    from fastata.sim import report

    quick = report.Progress()
    quick(10, 100)  # under a second: nothing
    assert quick._bar is None
    quick.close()
    monkeypatch.setattr(report.Progress, "DELAY", 0.0)
    with report.Progress() as slow:
        slow(10, 100)
        slow(100, 100)
        assert slow._bar is not None and slow._bar.tasks[0].completed == 100
    with report.Progress(enabled=False) as off:
        off(10, 100)
        assert off._bar is None


def test_installed_command_from_a_neutral_folder(tmp_path):
    """The console entry point, as a user runs it (and from outside the checkout)."""
    argv = [sys.executable, "-m", "fastata.cli", *SMALL, "--json", "out.json"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.json").read_text())["policies"]["fta"]["total_time"] > 0


def test_import_fastata_stays_light(tmp_path):
    code = ("import sys, fastata; heavy = ('fastata.sim', 'matplotlib', 'rich', 'numba'); "
            "print([m for m in heavy if m in sys.modules]); fastata.sim; print('fastata.sim' in sys.modules)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.stdout.split("\n")[:2] == ["[]", "True"], done.stderr


def test_cli_names_match_the_simulator():
    assert cli.PRESETS == tuple(fa.sim.presets.PRESETS)
    assert cli.POLICIES == fa.sim.POLICIES
    assert cli.FAMILIES[:-1] == tuple(fa.sim.workers.FAMILIES) and cli.FAMILIES[-1] == "trace"


def test_bench_refuses_a_budget_past_2_to_the_53_and_a_json_path_in_no_folder(capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        cli.main(["bench", "--cases", "3x9007199254740993", "--quick"])
    assert stop.value.code == 2
    assert "--cases budgets must be at most 2**53; got 9007199254740993" in capsys.readouterr().err
    # Checked before the runs, which would otherwise take minutes and then fail to write.
    assert cli.main(["bench", "--cases", "10x10", "--quick", "--json", str(tmp_path / "no" / "x.json")]) == 2
    assert "--json must be a path in an existing folder" in capsys.readouterr().err


def test_bench_command_still_parses():
    args = cli._parser().parse_args(["bench", "--quick", "--cases", "51x23", "--no-batch"])
    assert (args.command, args.cases, args.quick, args.no_batch) == ("bench", ((51, 23),), True, True)

