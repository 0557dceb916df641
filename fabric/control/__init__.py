"""The control plane: the compiled truth that every answer and every packet follows.

Owns: addressing, peering state (with the permissions a link needs across subscriptions and
tenants, and what Azure Virtual Network Manager configurations create), connections (which
tunnel is up, what each gateway learns), routing (effective routes, one FIB per subnet and per
gateway), NSG evaluation, and forwarding (``resolve``: the path a packet takes, ending Deliver,
Forward or Drop with a code).
May import: ``fabric.model``, ``fabric.catalogue``.
"""
