"""Who may create a peering link across subscriptions and tenants (§2.9, N7).

Creating the link A->B takes ``virtualNetworkPeerings/write`` on A and ``peer/action`` on B
(§2.9). The model of who acts, kept minimal:

* The administrators of a VNet's subscription (or, when no subscription is declared, of its
  tenant) hold every action on it. Two VNets whose declared subscriptions (or tenants) differ
  are under different administrators; a VNet that declares neither is under everyone's.
* A ``Permission`` grants the administrators of ``principal`` (a subscription or tenant) a role
  on ``scope`` (a VNet, or ``/subscriptions/<id>``). Network Contributor holds the peering
  actions (§2.9); a custom role lists its ``actions``. Across tenants the grant is the guest
  access of N7 (the principal is a guest in the scope's tenant, with the role there).
* Link A->B can be created when A's administrators may ``peer/action`` on B (the usual case:
  each side creates its own link), or B's administrators may write on A (the single-admin
  variant of N7, where one tenant's user creates both links as a guest in the other).

A link that Azure reported (``peering_state`` set, REST import) exists, so it is not checked;
nor are links to VNets outside the topology, and AVNM's own peerings, which the network
manager's scope authorises (N7). Without the permission Azure answers ``LinkedAuthorizationFailed``
(the ARM error seen in ISSUE: Azure/OpenShift#68, Azure/azure-cli#16691): the link is absent.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import attrs

from fabric.model.container import Fabric
from fabric.model.records import PEER_ACTION, PEERING_WRITE_ACTION, Peering, Permission, VNet

NETWORK_CONTRIBUTOR = "Network Contributor"
# §2.9: the role that holds the peering actions on an ARM VNet (and reading/deleting links).
ROLE_ACTIONS: dict[str, tuple[str, ...]] = {
    NETWORK_CONTRIBUTOR: (
        PEER_ACTION,
        PEERING_WRITE_ACTION,
        "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/read",
        "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/delete",
    ),
}


@attrs.frozen(slots=True)
class PermissionGap:
    """Why a link cannot be created: the action its creator lacks, on which scope."""

    link: Peering
    action: str
    scope: str  # the linked scope, as ARM names it (resource group unknown here)
    principal: str  # whose administrators would create it
    cross_tenant: bool

    @property
    def message(self) -> str:
        """The finding's sentence: the error, the action, the scope and the fix."""
        link = self.link
        remote = link.remote_vnet
        how = (
            f"; across tenants the principal must be a guest in {remote}'s tenant with the role "
            "there (N7)"
            if self.cross_tenant
            else ""
        )
        return (
            f"peering {link.vnet}/{link.name} cannot be created (LinkedAuthorizationFailed): the "
            f"administrators of {self.principal} may write peerings on {link.vnet} but lack "
            f"'{self.action}' on the linked scope '{self.scope}' (§2.9), so the link is absent "
            f"and no traffic flows. Grant it under permissions: {{name: ..., principal: "
            f"{self.principal}, scope: {remote}, role: {NETWORK_CONTRIBUTOR}}}{how}"
        )


def principals(vnet: VNet) -> tuple[str, ...]:
    """The names a grant may use for the administrators of ``vnet``."""
    return tuple(name for name in (vnet.subscription, vnet.tenant) if name)


def same_administrators(a: VNet, b: VNet) -> bool:
    """True when one set of administrators holds both VNets (see the module docstring)."""
    if a.subscription and b.subscription:
        return a.subscription == b.subscription
    if a.tenant and b.tenant:
        return a.tenant == b.tenant
    return True


def cross_tenant(a: VNet, b: VNet) -> bool:
    """True when both VNets declare a tenant and they differ."""
    return bool(a.tenant and b.tenant and a.tenant != b.tenant)


def granted_actions(grant: Permission) -> tuple[str, ...]:
    """The actions a grant holds: its role's (Network Contributor when none is named; an
    unknown role holds none, and validation says so) and its custom actions."""
    role = grant.role or (None if grant.actions else NETWORK_CONTRIBUTOR)
    return (*ROLE_ACTIONS.get(role or "", ()), *grant.actions)


def _covers(grant: Permission, target: VNet) -> bool:
    if grant.scope.startswith("/"):
        parts = grant.scope.strip("/").split("/")
        return (
            len(parts) == 2
            and parts[0].lower() == "subscriptions"
            and target.subscription is not None
            and parts[1] == target.subscription
        )
    return grant.scope == target.name


def may(fabric: Fabric, actor: VNet, action: str, target: VNet) -> bool:
    """True when the administrators of ``actor`` may perform ``action`` on ``target``."""
    if same_administrators(actor, target):
        return True
    names = principals(actor)
    return any(
        grant.principal in names
        and _covers(grant, target)
        and any(fnmatchcase(action, pattern) for pattern in granted_actions(grant))
        for grant in fabric.permissions.values()
    )


def missing_permission(fabric: Fabric, link: Peering) -> PermissionGap | None:
    """What stops ``link`` from being created, or None when it can be (or is not checked)."""
    if link.peering_state is not None:
        return None  # Azure reported it: it exists
    local = fabric.vnets.get(link.vnet)
    remote = fabric.vnets.get(link.remote_vnet)
    if local is None or remote is None or remote.external or same_administrators(local, remote):
        return None
    if may(fabric, local, PEER_ACTION, remote) or may(fabric, remote, PEERING_WRITE_ACTION, local):
        return None
    principal = principals(local)[0] if principals(local) else link.vnet
    where = f"/subscriptions/{remote.subscription}/" if remote.subscription else "/"
    scope = f"{where}providers/Microsoft.Network/virtualNetworks/{remote.name}"
    return PermissionGap(link, PEER_ACTION, scope, principal, cross_tenant(local, remote))
