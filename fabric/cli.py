"""The ``vnetsim`` command line (the contract is in DESIGN.md: names, shapes, exit codes)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import fabric

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad usage or an unreadable input: reported on stderr with exit code 2."""


def _version_text() -> str:
    return f"vnetsim {fabric.__version__} (fabric package at {Path(fabric.__file__).parent})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vnetsim",
        description="Offline simulator for Azure VNet-to-VNet connectivity.",
    )
    parser.add_argument("--version", action="version", version=_version_text())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="simulate a scenario (default: the built-in demo)")
    run.add_argument("scenario", nargs="?", help="scenario file; omit for the demo")
    run.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    if args.scenario is not None:
        raise UsageError(
            f"{args.scenario}: running scenario files needs the packet dataplane, "
            "which is not built yet; run 'vnetsim run' for the engine demo"
        )
    from fabric.demo import engine_demo

    report = engine_demo()
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print(report["text"])
    return EXIT_OK


COMMANDS = {"run": _cmd_run}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        print(f"vnetsim: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
