"""Checks: every problem Azure would refuse (errors) or that would not carry traffic as intended
(warnings), as findings. May import: ``fabric.model``, ``fabric.catalogue``, ``fabric.control``.
"""
