"""The Azure network model of vnetsim, built on the domain-free engine in ``simulator``.

The public Python API, for scripts and notebooks::

    import fabric
    net = fabric.Fabric.load("scenarios/hub_spoke.yaml")   # or build with fabric.Fabric()
    fabric.validate(net)                                    # findings
    plane = fabric.ControlPlane(net)
    fabric.connectivity(plane, "10.1.0.4", "10.50.1.4")    # a Trace
    fabric.simulate(net, [{"name": "f", "src": "vm1", "dst": "dr-vm", ...}])
"""

from __future__ import annotations

from importlib import import_module, metadata
from typing import Any

try:
    __version__ = metadata.version("vnetsim")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

# name -> module; imported on first use so that `vnetsim --version` stays fast.
_PUBLIC = {
    "Fabric": "fabric.topology",
    "Route": "fabric.model",
    "SecurityRule": "fabric.model",
    "IpsecPolicy": "fabric.model",
    "ControlPlane": "fabric.control",
    "LatencyModel": "fabric.latency",
    "FlowSpec": "fabric.traffic",
    "validate": "fabric.validation",
    "connectivity": "fabric.diagnose",
    "next_hop": "fabric.diagnose",
    "ip_flow": "fabric.diagnose",
    "simulate": "fabric.simulation",
    "run_document": "fabric.simulation",
    "load_topology": "fabric.io",
    "sweep": "fabric.sweeps",
    "sku": "fabric.skus",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'fabric' has no attribute {name!r}")
