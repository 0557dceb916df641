"""The ``vnetsim`` command line. The contract (names, JSON shapes, exit codes) is in
docs/cli.md: 0 success, 1 a negative answer or an invalid topology, 2 bad usage or unreadable
input (``{"error": ...}`` on stdout under ``--json``), 130 interrupted. Never a traceback."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

import fabric
from fabric.cli import convert, generate, policy, present, questions, simulate
from fabric.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    NotAnsweredError,
    UsageError,
    emit,
)

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting, so that ``--json``
    gets its error as JSON too."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _version_text() -> str:
    return f"vnetsim {fabric.__version__} (fabric package at {Path(fabric.__file__).parent})"


class _VersionAction(argparse.Action):
    """``--version``, whose text is read when asked for (package metadata costs start-up)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        parser._print_message(_version_text() + "\n", sys.stdout)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vnetsim",
        description="Offline simulator for Azure VNet-to-VNet connectivity. "
        "Documentation: docs/ in the project (format.md, cli.md, assumptions.md).",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show the version and the package's location"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    questions.register(commands)
    convert.register(commands)
    simulate.register(commands)
    generate.register(commands)
    present.register(commands)
    policy.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in argv
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return args.handler(args)
    except NotAnsweredError as done:
        return done.code
    except UsageError as error:
        file = getattr(args, "file", None)
        if error.file is None and isinstance(file, str) and str(error).startswith(f"{file}:"):
            error.file = file  # a problem found in FILE names it in the JSON too
        if wants_json:
            emit(error.to_json())
        print(f"vnetsim: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if wants_json:  # JSON on every path (DESIGN.md), this one too
            with contextlib.suppress(OSError):
                emit(UsageError("interrupted (Ctrl-C)", "Interrupted").to_json())
        print("vnetsim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_OK
    except RecursionError:
        message = "the input is nested too deeply to read"
        if wants_json:
            emit(UsageError(message, "InputTooDeep").to_json())
        print(f"vnetsim: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
