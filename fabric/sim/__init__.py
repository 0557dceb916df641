"""Packets on the engine: nodes compiled from the control plane's paths, open-loop and TCP
flows, the vectorised batch path, packet capture, timed events (failures and changes during a
run), runs and their results.
May import: ``fabric.model``, ``fabric.catalogue``, ``fabric.control``, and ``simulator``.
"""
