"""Topology loaders. Every command's FILE goes through ``load_topology``, which picks the format
from the content: native YAML (DESIGN.md), an ARM template (with ``--parameters`` and inline
``--parameter name=value`` values), or az CLI / REST JSON. JSON is read as Azure's tools read
templates: ``//`` and ``/* */`` comments and raw line breaks in strings are accepted
(``fabric.io.jsonc``). ``to_yaml`` writes any of them in the native format.

Bad input is always an ``InputError`` or a finding, never a traceback: documents nested
deeper than ``jsonc.MAX_DEPTH`` are refused, and a RecursionError or MemoryError met while
reading an input becomes an InputError naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fabric.io import jsonc
from fabric.io.errors import InputError, Problem, read_text
from fabric.io.native import NativeDocument, dump_native, load_native
from fabric.io.terraform import is_show_json, is_terraform_path
from fabric.io.yamlsource import load_yaml
from fabric.model import Fabric

__all__ = [
    "InputError",
    "NativeDocument",
    "Problem",
    "dump_native",
    "load",
    "load_topology",
    "to_yaml",
]


def detect_format(data: object) -> str:
    """``native``, ``arm``, ``arm-parameters``, ``rest`` or ``terraform-json`` from the content."""
    if is_show_json(data):
        return "terraform-json"
    if isinstance(data, dict):
        schema = str(data.get("$schema", ""))
        if "deploymentParameters" in schema:
            return "arm-parameters"
        if "deploymentTemplate" in schema or ("resources" in data and "vnets" not in data):
            return "arm"
        if str(data.get("type", "")).startswith("Microsoft.") or "/providers/" in str(
            data.get("id", "")
        ):
            return "rest"
        if isinstance(data.get("value"), list) or isinstance(data.get("responses"), dict):
            return "rest"
    if (
        isinstance(data, list)
        and data
        and all(isinstance(d, dict) and ("type" in d or "id" in d) for d in data)
    ):
        return "rest"
    return "native"


def _parse(text: str, where: str) -> object:
    """JSON with comments and raw line breaks in strings (N17.1), or YAML."""
    if jsonc.looks_like_json(text):
        try:
            return jsonc.loads(text)
        except jsonc.JsoncError as problem:
            detail = f"not valid JSON: {problem.message} (column {problem.column})"
            raise InputError(where, [Problem("", detail, problem.line)]) from None
    try:
        return load_yaml(text)
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark
        line = mark.line + 1 if mark else None
        detail = problem.problem or str(problem)
        raise InputError(where, [Problem("", f"not valid YAML/JSON: {detail}", line)]) from None
    except yaml.YAMLError as problem:
        raise InputError(where, [Problem("", f"not valid YAML/JSON: {problem}")]) from None
    except RecursionError:
        raise InputError(where, [Problem("", "nested too deeply to read")]) from None


def load_topology(
    path: str | Path,
    *,
    parameters: str | Path | None = None,
    parameter_values: dict[str, Any] | None = None,
    variables: dict | None = None,
) -> NativeDocument:
    """Load a topology or scenario file of any supported format; InputError on bad input.

    ``parameters`` is an ARM parameters file; ``parameter_values`` gives ARM parameter values
    inline (``{"vnetName": "hub"}``), as ``az deployment ... --parameters name=value`` does;
    they win over the file's. A directory or a ``.tf`` file is a Terraform configuration;
    ``variables`` gives values to its input variables (``-var NAME=VALUE``).
    """
    try:
        return _load_topology(Path(path), parameters, parameter_values, variables)
    except (RecursionError, MemoryError) as problem:
        reason = "nested too deeply" if isinstance(problem, RecursionError) else "too large"
        raise InputError(str(path), [Problem("", f"{reason} to load")]) from None


def _load_topology(
    path: Path,
    parameters: str | Path | None,
    parameter_values: dict[str, Any] | None,
    variables: dict | None,
) -> NativeDocument:
    # The ARM, REST and Terraform loaders are imported when an input needs them (start-up).
    if is_terraform_path(path):
        if parameters is not None or parameter_values:
            raise InputError(str(path), [Problem("", "--parameters applies to ARM templates only")])
        from fabric.io.terraform import load_terraform

        return load_terraform(path, variables=variables)
    if variables:
        raise InputError(
            str(path), [Problem("", "variables (-var) apply to Terraform configurations only")]
        )
    data = _parse(read_text(path), str(path))
    kind = detect_format(data)
    if kind == "arm-parameters":
        raise InputError(
            str(path),
            [
                Problem(
                    "",
                    "this is an ARM parameters file: give the template "
                    "as FILE and this file with --parameters",
                )
            ],
        )
    if parameters is not None and kind != "arm":
        raise InputError(
            str(parameters), [Problem("", "--parameters applies to ARM templates only")]
        )
    if parameter_values and kind != "arm":
        names = ", ".join(parameter_values)
        raise InputError(
            str(path), [Problem("", f"--parameter ({names}) applies to ARM templates only")]
        )
    if kind == "arm":
        from fabric.io.arm import load_arm

        values = None
        if parameters is not None:
            values = _parse(read_text(Path(parameters)), str(parameters))
            if not isinstance(values, dict):
                raise InputError(
                    str(parameters), [Problem("", "an ARM parameters file is a JSON object")]
                )
        fabric, findings = load_arm(data, values, str(path), parameter_values=parameter_values)
        return NativeDocument(fabric, findings=tuple(findings), source_format="arm")
    if kind == "terraform-json":
        from fabric.io.terraform import load_terraform_json

        return load_terraform_json(data, str(path))
    if kind == "rest":
        from fabric.io.rest import load_rest

        fabric, findings = load_rest(data, str(path))
        return NativeDocument(fabric, findings=tuple(findings), source_format="rest")
    return load_native(data, str(path))


def load(
    path: str | Path,
    *,
    parameters: str | Path | None = None,
    parameter_values: dict[str, Any] | None = None,
    variables: dict | None = None,
) -> Fabric:
    """The topology of a file of any supported format (``fabric.load("hub_spoke.yaml")``)."""
    document = load_topology(
        path, parameters=parameters, parameter_values=parameter_values, variables=variables
    )
    return document.fabric


def to_yaml(document: NativeDocument) -> str:
    """Serialise a loaded document back to native YAML; what the importer reported about the
    source travels with it as ``import_findings``."""
    data = dump_native(document.fabric, document.traffic, document.simulation, document.events)
    if document.findings:
        data["import_findings"] = [finding.to_json() for finding in document.findings]
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
