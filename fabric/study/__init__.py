"""Studies built from many runs: sweeps over grids and replications.
May import: every layer below it and ``fabric.io``.
"""
