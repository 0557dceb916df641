"""An offline Network Watcher: next hop, IP flow verify, effective routes and the connectivity
trace. It renders the control plane's answers and never re-decides them.
May import: ``fabric.model``, ``fabric.catalogue``, ``fabric.control``.
"""
