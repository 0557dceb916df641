"""The scenario library: YAML scenarios (topology + traffic + simulation) and the scripts that
build, run and plot them. Installed as ``fabric.scenarios``; run a script with
``python scenarios/<name>.py`` or ``python -m fabric.scenarios.<name>``.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DEMO = "peering_vs_vpn_same_region"


def path(name: str) -> Path:
    """The YAML file of scenario ``name`` (without the .yaml suffix)."""
    candidate = HERE / f"{name}.yaml"
    if not candidate.exists():
        known = ", ".join(names())
        raise FileNotFoundError(f"no scenario named {name!r}; the library has: {known}")
    return candidate


def names() -> list[str]:
    """Names of the YAML scenarios in the library."""
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def output_dir(name: str) -> Path:
    """Where a scenario script writes its figures: ./out/<name> (printed by the script)."""
    out = Path.cwd() / "out" / name
    out.mkdir(parents=True, exist_ok=True)
    return out
