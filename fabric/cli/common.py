"""What every command shares: usage errors, loading FILE (any format, with its parameters or
variables), JSON that is always valid JSON, and findings printed as a table."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad usage or an unreadable input: exit code 2, with a JSON error under ``--json``."""

    def __init__(
        self, message: str, code: str = "BadUsage", file: str | None = None, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.file = file
        self.line = line

    def to_json(self) -> dict:
        """DESIGN.md's error shape: ``{"error": {"code", "message", "file", "line"}}``."""
        return {
            "error": {"code": self.code, "message": str(self), "file": self.file, "line": self.line}
        }


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, so the JSON is standard JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def emit(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> None:
    """Print ``value`` as strict JSON on stdout."""
    print(json.dumps(finite(value), indent=indent, sort_keys=sort_keys, allow_nan=False))


def add_input_arguments(command: argparse.ArgumentParser, name: str = "file") -> None:
    """FILE and the options that feed it: ARM parameters, Terraform variables, --json."""
    command.add_argument(
        name,
        help="topology: native YAML, an ARM template, az/REST JSON, a Terraform directory or "
        ".tf file, or terraform show -json output",
    )
    add_source_options(command)
    command.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def add_source_options(command: argparse.ArgumentParser) -> None:
    """The options that give an input's parameters or variables."""
    command.add_argument("--parameters", help="ARM parameters file (ARM templates only)")
    command.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an ARM parameter value, repeatable; VALUE is read as JSON when it parses "
        '(true, 3, ["a"]), else as a string; wins over --parameters',
    )
    command.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Terraform input variable, repeatable, as terraform -var",
    )


def _parameter_values(pairs: list[str]) -> dict:
    """``--parameter name=value`` pairs: the value as JSON when it parses, else a string."""
    values = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--parameter {pair!r}: write it as NAME=VALUE")
        try:
            values[name.strip()] = json.loads(text)
        except (ValueError, RecursionError):
            values[name.strip()] = text
    return values


def load_input(args: argparse.Namespace, path: str | None = None):
    """The document of FILE (or ``path``), or a UsageError naming the file and line."""
    from fabric.io import InputError, load_topology
    from fabric.io.terraform import parse_var_options

    path = path or args.file
    options = getattr(args, "var", None) or []
    try:
        variables = parse_var_options(options) if options else {}
    except (InputError, ValueError) as problem:
        raise UsageError(f"--var: {problem}") from None
    from fabric.io.cache import cached

    parameters = getattr(args, "parameters", None)
    values = _parameter_values(getattr(args, "parameter", None) or [])
    try:
        return cached(
            _cache_key(args, path),
            lambda: load_topology(
                path,
                parameters=parameters,
                parameter_values=values,
                variables=variables or None,
            ),
        )
    except InputError as problem:
        first = problem.problems[0] if problem.problems else None
        raise UsageError(
            problem.render(), "InvalidInput", problem.file, first.line if first else None
        ) from None


def _cache_key(args: argparse.Namespace, path: str) -> str | None:
    """The document cache's key for FILE as ``load_input`` loads it: a large file is loaded
    once per content (fabric/io/cache.py); Terraform (``--var``, .tf) is never cached. Worked
    out once per command and file (the key hashes the whole file; loading and validation
    both ask for it)."""
    from fabric.io.cache import entry_key

    if getattr(args, "var", None):
        return None
    known = vars(args).setdefault("_document_keys", {})
    if path not in known:
        parameters = getattr(args, "parameters", None)
        values = _parameter_values(getattr(args, "parameter", None) or [])
        known[path] = entry_key(Path(path), parameters and Path(parameters), values)
    return known[path]


def validation_of(args: argparse.Namespace, document) -> list:
    """Every finding about FILE's topology (import findings, then validation), kept in the
    document cache beside the document, so that a question about a large file pays for
    validation once."""
    from fabric.checks import validate
    from fabric.io.cache import cached

    key = _cache_key(args, args.file)
    return cached(
        key and key + "-validation",
        lambda: [*document.findings, *validate(document.fabric)],
    )


class NotAnsweredError(Exception):
    """A command that printed its whole answer early (``require_valid``): exit with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def require_valid(args: argparse.Namespace, document) -> None:
    """DESIGN.md: a question about a topology with errors is not answered: it gets the
    ``validate`` answer (its shape under ``--json``) and exit 1 (``NotAnsweredError``)."""
    from fabric.checks import has_errors

    findings = validation_of(args, document)
    if not has_errors(findings):
        return
    if args.json:
        emit({"valid": False, "findings": [f.to_json() for f in findings]})
    else:
        print_findings(args.file, findings, False)
    print(
        f"vnetsim: {args.command} not answered: {args.file} has errors Azure would refuse "
        "(listed above); fix them, or see vnetsim validate",
        file=sys.stderr,
    )
    raise NotAnsweredError(EXIT_NEGATIVE)


def print_findings(file: str, findings: list, valid: bool, stream=None) -> None:
    """A validation verdict and one line per finding."""
    stream = stream or sys.stdout
    errors = sum(1 for f in findings if f.severity == "Error")
    warnings = len(findings) - errors
    verdict = "valid" if valid else "INVALID"
    print(f"{file}: {verdict} ({errors} error(s), {warnings} warning(s))", file=stream)
    if findings:
        width = max(len(f.code) for f in findings)
        for finding in findings:
            print(f"  {finding.severity:<8}{finding.code:<{width}}  {finding.message}", file=stream)


def check_output_folder(out: str | None, force: bool) -> None:
    """Refuse an --out that is a file, cannot be written, or holds files (unless --force),
    before any work is done."""
    if out is None:
        return
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise UsageError(
            f"--out {out}: the folder is not empty and its results would be overwritten; "
            "choose an empty folder or add --force"
        )
    probe = folder
    while not probe.exists():
        probe = probe.parent
    import os

    if not os.access(probe, os.W_OK):
        raise UsageError(f"--out {out}: {probe} is not writable")


def write_output(path: str, text: str) -> None:
    """Write ``text`` to ``path``; a path that cannot be written is a usage error naming it."""
    try:
        Path(path).write_text(text)
    except OSError as problem:
        raise UsageError(f"{path}: cannot write: {problem.strerror or problem}") from None
