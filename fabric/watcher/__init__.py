"""An offline Network Watcher: next hop, IP flow verify, effective routes and the connectivity
trace. It renders the control plane's answers (``fabric.control.forwarding.resolve``, the FIBs,
the NSG evaluation) and never re-decides them.
May import: ``fabric.model``, ``fabric.catalogue``, ``fabric.control``.
"""

from fabric.control.plane import QuestionError
from fabric.watcher.ipflow import ip_flow
from fabric.watcher.nexthop import NextHop, next_hop
from fabric.watcher.trace import Hop, Issue, Trace, connectivity, render

__all__ = [
    "Hop",
    "Issue",
    "NextHop",
    "QuestionError",
    "Trace",
    "connectivity",
    "ip_flow",
    "next_hop",
    "render",
]
