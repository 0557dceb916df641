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

    validate = commands.add_parser("validate", help="report every problem in a topology")
    _add_file_arguments(validate)

    run = commands.add_parser("run", help="simulate a scenario (default: the built-in demo)")
    run.add_argument("scenario", nargs="?", help="scenario file; omit for the demo")
    run.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _add_file_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("file", help="topology: native YAML, ARM template JSON or az/REST JSON")
    command.add_argument("--parameters", help="ARM parameters file (ARM templates only)")
    command.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def _load(args: argparse.Namespace):
    from fabric.io import InputError, load_topology

    try:
        return load_topology(args.file, parameters=args.parameters)
    except InputError as problem:
        raise UsageError(problem.render()) from None


def _cmd_validate(args: argparse.Namespace) -> int:
    from fabric.validation import has_errors, validate

    document = _load(args)
    findings = validate(document.fabric)
    valid = not has_errors(findings)
    if args.json:
        print(json.dumps({"valid": valid, "findings": [f.to_json() for f in findings]}, indent=2))
    else:
        _print_findings(args.file, findings, valid)
    return EXIT_OK if valid else EXIT_NEGATIVE


def _print_findings(file: str, findings: list, valid: bool) -> None:
    errors = sum(1 for f in findings if f.severity == "Error")
    warnings = len(findings) - errors
    verdict = "valid" if valid else "INVALID"
    print(f"{file}: {verdict} ({errors} error(s), {warnings} warning(s))")
    if findings:
        width = max(len(f.code) for f in findings)
        for finding in findings:
            print(f"  {finding.severity:<8}{finding.code:<{width}}  {finding.message}")


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


COMMANDS = {"run": _cmd_run, "validate": _cmd_validate}


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
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
