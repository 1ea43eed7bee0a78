"""The ``rnnbench`` command: list, run, report. Progress goes to stderr, tables to stdout."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench.config import expand, parse_assignments
from bench.errors import RnnbenchError
from bench.plugins import architectures, tasks
from bench.report import write_report
from bench.store import Store
from bench.suite import run_cells


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except RnnbenchError as exc:
        print(f"rnnbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnbench: interrupted; finished cells are stored, rerun the command to resume", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnbench", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="show registered architectures and tasks")
    listing.set_defaults(handler=cmd_list)

    runner = commands.add_parser("run", help="train and evaluate architectures x tasks x seeds")
    runner.add_argument("--arch", nargs="+", required=True, help="architecture names (see `rnnbench list`)")
    runner.add_argument("--task", nargs="+", required=True, help="task names")
    runner.add_argument("--seeds", nargs="+", type=int, default=[0], help="random seeds (default: 0)")
    runner.add_argument(
        "--set",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting: run settings, architecture or task options (prefix arch. or task. to be explicit)",
    )
    runner.add_argument("--out", help="results folder (default: results/<tasks>)")
    runner.add_argument("--retry-failed", action="store_true", help="rerun cells stored with status error")
    runner.add_argument("--no-progress", action="store_true", help="no progress bars")
    runner.set_defaults(handler=cmd_run)

    report = commands.add_parser("report", help="summarise a results folder")
    report.add_argument("directory")
    report.set_defaults(handler=cmd_report)
    return parser


def cmd_list(args: argparse.Namespace) -> int:
    for title, registry in (("architectures", architectures()), ("tasks", tasks())):
        print(f"{title}:")
        width = max((len(name) for name in registry.names()), default=0)
        for name, item, plugin in registry:
            print(f"  {name:<{width}}  {item.description}  [plugin: {plugin}]")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    cells = expand(args.arch, args.task, args.seeds, parse_assignments(args.set))
    out = args.out or f"results/{'-'.join(args.task)}"
    counts = run_cells(cells, Store(out), retry_failed=args.retry_failed, progress=not args.no_progress)
    print(
        f"{counts['ok']} ok, {counts['diverged']} diverged, {counts['error']} failed, "
        f"{counts['skipped']} already done; results in {out}",
        file=sys.stderr,
    )
    print_report(out)
    return 1 if counts["error"] else 0


def cmd_report(args: argparse.Namespace) -> int:
    if not Store(args.directory).cells.is_dir():
        raise RnnbenchError(
            f"'{args.directory}' holds no results (no cells/ folder); run `rnnbench run --out DIR` first"
        )
    print_report(args.directory)
    return 0


def print_report(directory: str) -> None:
    _, summary = write_report(directory)
    print(summary.to_markdown())
    print(f"\n(tables written to {directory}/summary.csv and {directory}/cells.csv)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
