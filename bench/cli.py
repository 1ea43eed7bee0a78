"""rnnbench: benchmark recurrent architectures against tasks. Progress goes to stderr, tables to stdout."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from bench.architecture import Architecture
from bench.catalog import TABLES
from bench.cell import Cell
from bench.checks import run_checks
from bench.config import RunConfig, coerce, parse_assignments
from bench.environment import installed_version
from bench.errors import ConfigError, RnnbenchError, unknown_name
from bench.executors import ExecutorOptions, executor, executors
from bench.horizon import horizon_cells, horizon_table
from bench.planner import expand
from bench.plugins import architectures, tasks
from bench.probe import probes
from bench.published import write_documents
from bench.record import STATUSES
from bench.report import figure_count, write_reports
from bench.results import Results
from bench.scaffold import write_plugin
from bench.standing import copy_references, print_standing, standing_cells
from bench.store import Store, StoreWarning
from bench.suite import run_and_confirm
from bench.sweep import load_sweep
from bench.tables import markdown
from bench.task import Task
from bench.trackers import trackers


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer()
            return args.handler(args)
    except RnnbenchError as exc:
        print(f"rnnbench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like, before anything ran
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print("rnnbench: interrupted; finished cells are stored, rerun the command to resume", file=sys.stderr)
        return 130


def _warning_printer() -> Callable[..., None]:
    """Warnings as plain lines; each damaged-results warning once, however many readers
    (tables, figures, HTML) met the same files."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if category is StoreWarning and str(message) in shown:
            return
        shown.add(str(message))
        print(f"rnnbench: warning: {message}", file=sys.stderr)

    return show


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnbench", description=__doc__)
    parser.add_argument("--version", action="version", version=f"rnnbench {installed_version()}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    listing = commands.add_parser(
        "list", help="show what is registered: architectures, tasks, probes, executors, trackers, and their plugins"
    )
    listing.set_defaults(handler=cmd_list)

    runner = commands.add_parser("run", help="train and evaluate architectures x tasks x seeds")
    runner.add_argument("--task", nargs="+", required=True, help="task names")
    add_cell_options(runner)
    runner.set_defaults(handler=cmd_run)

    horizon = commands.add_parser("horizon", help="sweep sequence length T: the longest T each architecture solves")
    horizon.add_argument("--task", required=True, help="a task with a T option and a solved threshold")
    horizon.add_argument("--T", nargs="+", type=int, default=[10, 20, 50, 100, 200], help="sequence lengths")
    add_cell_options(horizon)
    horizon.set_defaults(handler=cmd_horizon)

    check = commands.add_parser("check", help="run the encoder contract checks on architectures")
    check.add_argument("arch", nargs="*", help="architecture names (default: every registered one)")
    check.add_argument(
        "--set",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="architecture options to check with (num_layers=2, say); each architecture takes those it has",
    )
    check.set_defaults(handler=cmd_check)

    scaffold = commands.add_parser("new-plugin", help="write a skeleton architecture plugin package")
    scaffold.add_argument("name", help="the architecture's name (a Python identifier)")
    scaffold.add_argument("--dir", default=".", help="where to create rnnbench-NAME/ (default: here)")
    scaffold.set_defaults(handler=cmd_new_plugin)

    data = commands.add_parser("data", help="download a task's data (for example: rnnbench data imdb)")
    data.add_argument("task")
    data.set_defaults(handler=cmd_data)

    sweep = commands.add_parser("sweep", help="run a sweep file (TOML); see bench/sweep.py for the format")
    sweep.add_argument("file", help="the sweep file: architectures, tasks, seeds, settings and grids")
    sweep.add_argument("--out", help="results folder (default: results/<the sweep's name>)")
    sweep.add_argument("--dry-run", action="store_true", help="check the file and print the plan; run nothing")
    add_execution_options(sweep)
    sweep.set_defaults(handler=cmd_sweep)

    report = commands.add_parser("report", help="summarise a results folder")
    report.add_argument("directory")
    report.add_argument("--html", action="store_true", help="also write report.html (self-contained) and report.md")
    report.set_defaults(handler=cmd_report)

    standing = commands.add_parser(
        "standing", help="where an architecture stands: a standard suite beside the built-ins' committed records"
    )
    standing.add_argument("arch", help="the architecture to place")
    standing.add_argument("--suite", default="quick", help="quick (about 15 minutes), or a sweep file (default: quick)")
    standing.add_argument(
        "--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", help="the architecture's options"
    )
    standing.add_argument("--out", help="results folder (default: results/standing-<suite>)")
    add_execution_options(standing)
    standing.set_defaults(handler=cmd_standing)

    documents = commands.add_parser(
        "tables", help="write the tables marked in markdown files (README, docs) again from results/published"
    )
    documents.add_argument("files", nargs="+", help="markdown files with <!-- table: FOLDER TABLE ... --> blocks")
    documents.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table differs")
    documents.set_defaults(handler=cmd_tables)
    return parser


def add_cell_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", nargs="+", required=True, help="architecture names (see `rnnbench list`)")
    parser.add_argument(
        "--seeds", nargs="+", type=int, help="random seeds (default: 0 .. n-1, n = the tasks' default_seeds)"
    )
    parser.add_argument(
        "--set",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting: run settings, architecture or task options (prefix arch. or task. to be explicit)",
    )
    parser.add_argument(
        "--match",
        metavar="KIND=N",
        help="equal budgets: each architecture's hidden size is chosen so that its encoder has about N parameters "
        "(params=N) or carries N numbers of recurrent state between steps (state=N)",
    )
    parser.add_argument(
        "--tune",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=V1,V2",
        help="run every value (several keys: every combination) and report, per architecture and experiment, the "
        "one with the best mean validation metric; any run setting or architecture option, e.g. lr=1e-3,3e-3",
    )
    parser.add_argument(
        "--confirm-seeds",
        nargs="+",
        type=int,
        default=[],
        metavar="SEED",
        help="with --tune: run each selected setting again on these fresh seeds; the tables report them, and the "
        "tuning seeds stay in the tuning table",
    )
    parser.add_argument(
        "--unequal-tuning",
        action="store_true",
        help="accept a tuning grid that gives some architectures more settings than others (refused by default)",
    )
    parser.add_argument("--out", help="results folder (default: results/<tasks>)")
    add_execution_options(parser)


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rerun",
        nargs="+",
        default=[],
        choices=[*STATUSES, "all"],
        metavar="STATUS",
        help="compute stored cells with these statuses again: error, diverged, ok, or all (after fixing a plugin, "
        "say); by default a stored cell is never redone",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars (the default when stderr is not a terminal)"
    )
    registered = executors()
    parser.add_argument(
        "--executor",
        choices=registered.names(),
        default="local",
        help="where cells run: " + "; ".join(f"{name}: {spec.description}" for name, spec, _ in registered),
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="with the local executor: N cells at once, each in its own process, the cores split between them",
    )
    parser.add_argument("--address", help="with --executor ray: an existing cluster (default: start a local one)")
    tracking = trackers()
    parser.add_argument(
        "--track",
        nargs="+",
        action="extend",
        default=[],
        choices=tracking.names(),
        metavar="TRACKER",
        help="follow every cell live: " + "; ".join(f"{name}: {spec.description}" for name, spec, _ in tracking),
    )


def tune_arguments(items: list[str]) -> dict[str, str]:
    """``["lr=1e-3,3e-3"]`` -> ``{"lr": "1e-3,3e-3"}`` (a key given twice is an error)."""
    return {key: values for key, values in parse_assignments(items, "--tune").items()}


def default_seeds(task_names: list[str]) -> list[int]:
    return list(range(max(tasks().get(name).default_seeds for name in task_names)))


def cmd_list(args: argparse.Namespace) -> int:
    registries = (
        ("architectures", architectures()),
        ("tasks", tasks()),
        ("probes", probes()),
        ("executors", executors()),
        ("trackers", trackers()),
    )
    for title, registry in registries:
        print(f"{title}:")
        width = max((len(name) for name in registry.names()), default=0)
        for name, item, plugin in registry:
            print(f"  {name:<{width}}  {item.description}  [plugin: {plugin}]")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    seeds = args.seeds or default_seeds(args.task)
    cells = expand(
        args.arch,
        args.task,
        seeds,
        parse_assignments(args.set),
        args.match,
        tune_arguments(args.tune),
        unequal_tuning=args.unequal_tuning,
    )
    out = args.out or f"results/{'-'.join(args.task)}"
    return run_and_report(cells, out, args, confirm_seeds=args.confirm_seeds)


def cmd_horizon(args: argparse.Namespace) -> int:
    seeds = args.seeds or default_seeds([args.task])
    cells = horizon_cells(
        args.arch,
        args.task,
        args.T,
        seeds,
        parse_assignments(args.set),
        args.match,
        tune_arguments(args.tune),
        unequal_tuning=args.unequal_tuning,
    )
    out = args.out or f"results/horizon-{args.task}"

    def print_horizon(results: Results) -> None:
        print(f"\nMemory horizon on {args.task} (seeds solved at each T; horizon: longest T solved by")
        print("at least half the seeds, every shorter T too):\n")
        print(horizon_table(results.chosen()).to_markdown())

    return run_and_report(cells, out, args, then=print_horizon, confirm_seeds=args.confirm_seeds)


def cmd_sweep(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.file)
    out = args.out or f"results/{sweep.name}"
    if args.dry_run:
        store = Store(out)
        print(f"{len(sweep.cells)} cells -> {out}\n")
        warn_if_large(sweep.cells)
        print("| id | arch | task | seed | settings | stored |\n|---|---|---|---|---|---|")
        arch_registry, task_registry = architectures(), tasks()
        for cell in sweep.cells[:PLAN_ROWS]:
            record = store.get(cell.id)
            settings = _describe(cell, arch_registry.get(cell.arch), task_registry.get(cell.task))
            print(
                f"| {cell.id} | {cell.arch} | {cell.task} | {cell.seed} | {settings} | "
                f"{record['status'] if record else '-'} |"
            )
        if len(sweep.cells) > PLAN_ROWS:
            print(f"\n(the first {PLAN_ROWS} of {len(sweep.cells):,} cells)")
        return 0
    return run_and_report(sweep.cells, out, args, confirm_seeds=sweep.confirm_seeds)


def warn_if_large(cells: list[Cell]) -> None:
    if len(cells) > LARGE_PLAN:
        print(
            f"rnnbench: warning: this plan has {len(cells):,} cells; a grid may be larger than meant "
            f"(every [grid] list multiplies the count)",
            file=sys.stderr,
        )


def _describe(cell: Cell, arch: Architecture, task: Task) -> str:
    """The settings of a cell that differ from their defaults, for the plan."""
    run_defaults = {**RunConfig.defaults(), **task.train_defaults}
    changed = {k: v for k, v in dataclasses.asdict(cell.run).items() if run_defaults.get(k) != v}
    changed.update({k: v for k, v in cell.arch_options.items() if arch.defaults.get(k) != v})
    changed.update({k: v for k, v in cell.task_options.items() if task.defaults.get(k) != v})
    return " ".join(f"{k}={v}" for k, v in changed.items()) or "defaults"


def run_and_report(
    cells: list,
    out: str,
    args: argparse.Namespace,
    then: Callable[[Results], None] | None = None,
    confirm_seeds: Sequence[int] = (),
) -> int:
    """Run the cells, print the folder's tables (and ``then`` whatever the command adds); the
    exit code is 1 when a cell failed."""
    warn_if_large(cells)
    options = ExecutorOptions(address=args.address, jobs=args.jobs, track=tuple(args.track), folder=Path(out))
    counts = run_and_confirm(
        cells,
        Store(out),
        confirm_seeds,
        rerun=args.rerun or (),
        progress=not args.no_progress and sys.stderr.isatty(),  # bars in a log file are noise
        executor=executor(args.executor, options),
    )
    print(
        f"{counts['ok']} ok, {counts['diverged']} diverged, {counts['error']} failed, "
        f"{counts['skipped']} already done; results in {out}",
        file=sys.stderr,
    )
    with _stdout_may_close():
        results = print_report(out)
        if then is not None:
            then(results)
    return 1 if counts["error"] else 0


@contextlib.contextmanager
def _stdout_may_close() -> Iterator[None]:
    """The tables go to stdout; if its reader went away (``| head``), the rest is dropped
    and the command still exits with the code of what it ran."""
    try:
        yield
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush finds no closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def cmd_check(args: argparse.Namespace) -> int:
    registry = architectures()
    names = args.arch or registry.names()
    for name in names:
        registry.get(name)  # an unknown name is one clear error before any check runs
    settings = parse_assignments(args.set)
    known = {key for name in names for key in registry.get(name).defaults}
    for key in settings:
        if key not in known:
            raise unknown_name("option", key, known)
    options = {name: check_options(registry.get(name), settings) for name in names}
    failed = 0
    for name in names:
        given = ", ".join(f"{k}={v}" for k, v in options[name].items())
        print(f"{name} (plugin: {registry.plugin_of(name)}{'; ' + given if given else ''})")
        for result in run_checks(registry.get(name), options[name]):
            mark = {True: "pass", False: "FAIL", None: "skip"}[result.passed]
            print(f"  {mark}  {result.check:<28} {result.detail}")
            if result.passed is False:
                print(f"        fix: {result.fix}")
                failed += 1
    print(f"\n{failed} check(s) failed" if failed else "\nall checks passed", file=sys.stderr)
    return 1 if failed else 0


def check_options(arch: Architecture, settings: dict[str, str]) -> dict[str, object]:
    """The ``--set`` options ``arch`` has, in their defaults' types and checked; a setting no
    checked architecture has is an error (unknown setting, with a "did you mean")."""
    taken = {key: coerce(key, value, arch.defaults[key]) for key, value in settings.items() if key in arch.defaults}
    problems = arch.check_options(arch.resolve_options(taken))
    if problems:
        raise ConfigError(f"{arch.name}: " + "; ".join(problems))
    return taken


def cmd_new_plugin(args: argparse.Namespace) -> int:
    root = write_plugin(args.name, Path(args.dir))
    print(f"wrote {root}; next: pip install -e {root} && rnnbench check {args.name}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    location = tasks().get(args.task).download()
    if location is None:
        print(f"task '{args.task}' generates its data; there is nothing to download", file=sys.stderr)
    else:
        print(location)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    with _stdout_may_close():
        print_report(args.directory, html=args.html)
    if args.html:
        print(f"wrote {Path(args.directory) / 'report.html'} and {Path(args.directory) / 'report.md'}")
    return 0


def cmd_standing(args: argparse.Namespace) -> int:
    name, cells = standing_cells(args.arch, args.suite, parse_assignments(args.set))
    out = Path(args.out or f"results/{name}")
    copied = copy_references(name, out)
    print(f"{copied} reference record(s) of {name} copied into {out}; only {args.arch}'s cells run", file=sys.stderr)
    return run_and_report(cells, str(out), args, then=lambda results: print_standing(results, args.arch))


def cmd_tables(args: argparse.Namespace) -> int:
    changed = write_documents([Path(f) for f in args.files], Path.cwd(), check=args.check)
    for path in changed:
        verb = "differs from its records" if args.check else "written again"
        print(f"{path}: {verb}", file=sys.stderr)
    return 1 if changed and args.check else 0


PLAN_ROWS = 200  # cells a --dry-run lists
LARGE_PLAN = 10_000  # cells beyond which a plan is worth a second look


def print_report(directory: str, html: bool = False) -> Results:
    """Write a folder's reports and print its tables (those of `bench.catalog.TABLES` that are printed)."""
    results, tables = write_reports(directory, html=html)
    for spec in TABLES:
        table = tables.get(spec.name)
        if spec.printed and table is not None and not table.empty:
            print(f"\n{spec.title}:\n")
            print(markdown(table))
            if spec.note:
                print(f"\n{spec.note}")
    figures = figure_count(directory)
    print(f"\n(tables: {directory}/*.csv; figures: {figures} in {directory}/figures)", file=sys.stderr)
    return results


if __name__ == "__main__":
    sys.exit(main())
