"""Terraform configurations (``.tf`` directories or files) and ``terraform show -json``
documents as vnetsim topologies.

The pipeline: ``hcl`` parses files (python-hcl2), ``modules`` evaluates the configuration
(``expressions``, ``functions``, ``variables``), ``azurerm`` maps the azurerm resource instances
to model records; ``show_json`` reads plans and states into the same instances. Whatever cannot
be known offline is a finding naming the Terraform address; bad syntax is an ``InputError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fabric.io.errors import InputError, Problem
from fabric.io.native import NativeDocument
from fabric.io.terraform.azurerm import build_fabric
from fabric.io.terraform.diagnostics import Report
from fabric.io.terraform.modules import evaluate_configuration
from fabric.io.terraform.show_json import is_show_json, read_show_json
from fabric.io.terraform.variables import parse_var_options, root_values

SOURCE_FORMAT = "terraform"

__all__ = [
    "is_show_json",
    "is_terraform_path",
    "load_terraform",
    "load_terraform_json",
    "parse_var_options",
]


def is_terraform_path(path: Path) -> bool:
    """A directory (of ``.tf`` files) or a ``.tf`` file."""
    return path.is_dir() or path.suffix == ".tf"


def load_terraform(
    path: str | Path,
    *,
    variables: Mapping[str, Any] | None = None,
    var_files: Iterable[str | Path] = (),
) -> NativeDocument:
    """Load the Terraform configuration in directory ``path`` (or the one ``.tf`` file).

    ``variables`` are explicit values (Python values, or the strings of ``-var NAME=VALUE``:
    see ``parse_var_options``), ``var_files`` extra ``.tfvars`` files; ``terraform.tfvars`` and
    ``*.auto.tfvars`` beside the configuration are read as Terraform reads them.
    InputError when a file cannot be read or is not valid HCL.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), [Problem("", "no such file or directory")])
    if path.is_dir() and not any(p.suffix == ".tf" for p in path.iterdir()):
        raise InputError(
            str(path),
            [Problem("", "this directory has no .tf files; give a Terraform configuration")],
        )
    report = Report()
    directory = path if path.is_dir() else path.parent
    given = root_values(directory, variables, var_files)
    instances = evaluate_configuration(path, given, report)
    fabric = build_fabric(instances, report)
    return NativeDocument(fabric, findings=tuple(report.findings), source_format=SOURCE_FORMAT)


def load_terraform_json(data: dict, source: str) -> NativeDocument:
    """Load a ``terraform show -json`` document (a plan or a state) read from ``source``."""
    report = Report()
    fabric = build_fabric(read_show_json(data, source, report), report)
    return NativeDocument(fabric, findings=tuple(report.findings), source_format=SOURCE_FORMAT)
