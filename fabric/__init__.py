"""The Azure network model of vnetsim, built on the domain-free engine in ``simulator``.

The public Python API, for scripts and notebooks::

    import fabric
    net = fabric.load("scenarios/hub_spoke.yaml")          # or build with fabric.Fabric()
    fabric.validate(net)                                    # findings
    plane = fabric.ControlPlane(net)
    fabric.connectivity(plane, "10.1.0.4", "10.50.1.4")    # a Trace
    fabric.simulate(net, [{"name": "f", "src": "vm1", "dst": "dr-vm", ...}])
    big = fabric.generate.hub_spoke(200)                   # generated topologies (a module)
    fabric.draw(net, highlight=("vm1", "dr-vm"))            # a matplotlib Figure
    fabric.cost(net, gb_per_month=1000)                     # monthly cost per path, dated prices
"""

from __future__ import annotations

from importlib import import_module
from typing import Any


def _version() -> str:
    """The installed package's version (importlib.metadata costs ~20 ms: read on first use)."""
    from importlib import metadata

    try:
        return metadata.version("vnetsim")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


# name -> module; imported on first use so that `vnetsim --version` stays fast.
_PUBLIC = {
    "Fabric": "fabric.model",
    "Route": "fabric.model",
    "SecurityRule": "fabric.model",
    "IpsecPolicy": "fabric.model",
    "FlowSpec": "fabric.model",
    "Event": "fabric.model.events",
    "ControlPlane": "fabric.control.plane",
    "LatencyModel": "fabric.catalogue.latency",
    "sku": "fabric.catalogue.skus",
    "express_route_sku": "fabric.catalogue.skus",
    "validate": "fabric.checks",
    "connectivity": "fabric.watcher",
    "next_hop": "fabric.watcher",
    "ip_flow": "fabric.watcher",
    "resolve": "fabric.control.forwarding",
    "simulate": "fabric.sim.runs",
    "run_document": "fabric.sim.runs",
    "load": "fabric.io",
    "load_topology": "fabric.io",
    "sweep": "fabric.study.sweeps",
    "draw": "fabric.study.draw",
    "cost": "fabric.study.cost",
    "matrix": "fabric.study.matrix",
    "diff": "fabric.study.diff",
    "check": "fabric.study.intents",
    "frame": "fabric.model.frames",
}

# name -> module exposed as a whole (``fabric.generate.hub_spoke(...)``), imported on first use.
_MODULES = {"generate": "fabric.study.generate"}

__all__ = ["__version__", *_PUBLIC, *_MODULES]


def __dir__() -> list[str]:
    """The public names (resolved lazily), so that ``dir(fabric)`` and completion show them."""
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = version = _version()
        return version
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    if name in _MODULES:
        return import_module(_MODULES[name])
    raise AttributeError(f"module 'fabric' has no attribute {name!r}")
