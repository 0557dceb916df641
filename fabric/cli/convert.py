"""``vnetsim import``: any input format written as native YAML, with what could not be
modelled on stderr; exit 1 when that includes an error (the YAML may then not validate)."""

from __future__ import annotations

import argparse
import sys

from fabric.cli.common import (
    EXIT_NEGATIVE,
    EXIT_OK,
    UsageError,
    add_source_options,
    emit,
    load_input,
    write_output,
)


def register(commands) -> None:
    convert = commands.add_parser(
        "import", help="convert an ARM template, az/REST JSON or Terraform to native YAML"
    )
    convert.add_argument("file", help="ARM template, az/REST JSON, Terraform, or native YAML")
    add_source_options(convert)
    convert.add_argument("--to", choices=["yaml"], default="yaml", help="output format")
    convert.add_argument("--output", "-o", help="write here instead of stdout")
    convert.add_argument(
        "--json", action="store_true", help="print the findings (and where it wrote) as JSON"
    )
    convert.set_defaults(handler=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from fabric.checks import has_errors
    from fabric.io import to_yaml

    document = load_input(args)
    try:
        text = to_yaml(document)
    except Exception as problem:
        raise UsageError(f"{args.file}: cannot be written as YAML: {problem}") from None
    findings = list(document.findings)
    for finding in findings:
        print(f"vnetsim: {finding}", file=sys.stderr)
    if args.output:
        write_output(args.output, text)
    elif not args.json:
        sys.stdout.write(text)
    if args.json:
        emit(
            {
                "written": [args.output] if args.output else [],
                "yaml": None if args.output else text,
                "findings": [f.to_json() for f in findings],
            }
        )
    return EXIT_NEGATIVE if has_errors(findings) else EXIT_OK
