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
from typing import TYPE_CHECKING, Any

from fabric.io.errors import InputError, Problem

if TYPE_CHECKING:
    from fabric.io.native import NativeDocument
    from fabric.io.terraform.variables import CliText

SOURCE_FORMAT = "terraform"
# The pipeline's modules (python-hcl2, lark, the azurerm mapping) are imported when a Terraform
# input is loaded, not when fabric.io is: every other command starts ~0.1 s faster.

__all__ = [
    "is_show_json",
    "is_terraform_path",
    "load_terraform",
    "load_terraform_json",
    "parse_var_options",
]


def is_show_json(data: Any) -> bool:
    """True for the output of ``terraform show -json`` (plan or state; an empty state is only
    ``{"format_version": ...}``)."""
    return isinstance(data, dict) and "format_version" in data and "vnets" not in data


def parse_var_options(options: Iterable[str]) -> dict[str, CliText]:
    """``-var NAME=VALUE`` options as ``variables`` (``variables.parse_var_options``)."""
    from fabric.io.terraform.variables import parse_var_options as parse

    return parse(options)


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
    from fabric.io.native import NativeDocument
    from fabric.io.terraform.azurerm import build_fabric
    from fabric.io.terraform.diagnostics import Report
    from fabric.io.terraform.modules import evaluate_configuration
    from fabric.io.terraform.variables import root_values

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
    from fabric.io.native import NativeDocument
    from fabric.io.terraform.azurerm import build_fabric
    from fabric.io.terraform.diagnostics import Report
    from fabric.io.terraform.show_json import read_show_json

    report = Report()
    fabric = build_fabric(read_show_json(data, source, report), report)
    return NativeDocument(fabric, findings=tuple(report.findings), source_format=SOURCE_FORMAT)
