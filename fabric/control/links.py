"""What the connection rules answer with: why a connection is refused or down, and a route a
gateway learned. Kept apart so that ``connections`` and ``expressroute`` share them."""

from __future__ import annotations

import attrs

from fabric.control.addressing import IPNetwork, contains


@attrs.frozen(slots=True)
class TunnelProblem:
    """One reason a connection is refused by Azure (``refused``) or does not come up."""

    code: str
    message: str
    resources: tuple[str, ...] = ()
    refused: bool = False  # Azure would reject the deployment (an error, not only down)
    blocks: bool = True  # False: a problem worth a finding that leaves the tunnel up


@attrs.frozen(slots=True)
class LearnedRoute:
    """A prefix a gateway reaches through one of its connections. Over ExpressRoute also the
    connection's weight and the AS path (N1.7), and ``alternatives``: the other connections of
    equal preference, between which traffic is spread (ECMP)."""

    prefix: IPNetwork
    connection: str  # the local connection resource the traffic leaves on
    weight: int = 0
    as_path: tuple[int, ...] = ()
    alternatives: tuple[str, ...] = ()

    @property
    def connections(self) -> tuple[str, ...]:
        """Every connection the prefix may leave on, the primary first."""
        return (self.connection, *self.alternatives)


def accepted(prefix: IPNetwork, own: tuple[IPNetwork, ...]) -> bool:
    """§3.9/TC-BGP-1: never a prefix equal to or inside own space (a superset is accepted)."""
    return not any(contains(mine, prefix) for mine in own)
