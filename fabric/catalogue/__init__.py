"""The catalogue: Azure's published numbers as data tables with their sources.

Owns: gateway SKUs, limits, the region latency table and the named latency assumptions, service
tags. May import: ``fabric.model``.
"""
