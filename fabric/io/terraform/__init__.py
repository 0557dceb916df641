"""Terraform configurations (``.tf`` directories or files) as vnetsim topologies.

``hcl`` parses files (python-hcl2); ``expressions`` and ``functions`` evaluate Terraform
expressions over the parse tree, with ``Unknown`` standing for what is not known offline.
"""
