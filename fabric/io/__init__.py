"""Topology loaders. Every command's FILE goes through ``load_topology``, which picks the format
from the content: native YAML today (ARM templates and az/REST JSON are detected and refused
with a clear message until their importers land).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from fabric.io.errors import InputError, Problem
from fabric.io.native import NativeDocument, dump_native, load_native
from fabric.io.yamlsource import load_yaml

__all__ = ["InputError", "NativeDocument", "Problem", "dump_native", "load_topology", "to_yaml"]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(path), [Problem("", "no such file")]) from None
    except IsADirectoryError:
        raise InputError(str(path), [Problem("", "is a directory, not a topology file")]) from None
    except UnicodeDecodeError as problem:
        raise InputError(
            str(path), [Problem("", f"is not UTF-8 text ({problem.reason})")]
        ) from None
    except OSError as problem:
        raise InputError(str(path), [Problem("", f"cannot be read: {problem.strerror}")]) from None


def detect_format(data: object) -> str:
    """``native``, ``arm`` or ``rest`` from the parsed content."""
    if isinstance(data, dict):
        schema = str(data.get("$schema", ""))
        if "deploymentTemplate" in schema or ("resources" in data and "vnets" not in data):
            return "arm"
        if "type" in data and str(data.get("type", "")).startswith("Microsoft."):
            return "rest"
        if "value" in data and isinstance(data["value"], list):
            return "rest"
    if isinstance(data, list) and data and isinstance(data[0], dict) and "type" in data[0]:
        return "rest"
    return "native"


def load_topology(path: str | Path, *, parameters: str | Path | None = None) -> NativeDocument:
    """Load a topology or scenario file of any supported format; InputError on bad input."""
    path = Path(path)
    text = _read_text(path)
    try:
        data = load_yaml(text)  # YAML is a superset of JSON, so JSON files parse here too
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark
        line = mark.line + 1 if mark else None
        detail = problem.problem or str(problem)
        raise InputError(str(path), [Problem("", f"not valid YAML/JSON: {detail}", line)]) from None
    except yaml.YAMLError as problem:
        raise InputError(str(path), [Problem("", f"not valid YAML/JSON: {problem}")]) from None
    kind = detect_format(data)
    if kind != "native":
        raise InputError(
            str(path),
            [
                Problem(
                    "",
                    f"looks like an {kind.upper()} document; importing {kind} files is "
                    "not supported yet: write the topology in the native YAML format",
                )
            ],
        )
    if parameters is not None:
        raise InputError(
            str(parameters), [Problem("", "--parameters applies to ARM templates only")]
        )
    return load_native(data, str(path))


def to_yaml(document: NativeDocument) -> str:
    """Serialise a loaded document back to native YAML."""
    return yaml.safe_dump(
        dump_native(document.fabric, document.traffic, document.simulation),
        sort_keys=False,
        default_flow_style=False,
    )
