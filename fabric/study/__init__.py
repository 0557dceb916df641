"""Studies built from many runs and ways of showing a design: sweeps over grids and
replications, topology diagrams (draw, diagram, render), the one-file HTML report and the
monthly cost.
May import: every layer below it and ``fabric.io``.
"""
