"""Findings: what validation reports, with Azure's error names where Azure has one."""

from __future__ import annotations

import attrs

ERROR = "Error"  # Azure would refuse the deployment
WARNING = "Warning"  # Azure accepts it, but it will not carry traffic as probably intended


@attrs.frozen(slots=True)
class Finding:
    """One problem: a code, a severity, a message that says how to fix it, the resources."""

    code: str
    severity: str
    message: str
    resources: tuple[str, ...] = attrs.field(converter=tuple, default=())

    def to_json(self) -> dict:
        """The shape of DESIGN.md's ``validate --json``."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "resources": list(self.resources),
        }

    def __str__(self) -> str:
        return f"{self.severity}: {self.code}: {self.message}"


def error(code: str, message: str, *resources: str) -> Finding:
    """A finding Azure would refuse."""
    return Finding(code, ERROR, message, resources)


def warning(code: str, message: str, *resources: str) -> Finding:
    """A finding Azure accepts but that will not behave as the user probably expects."""
    return Finding(code, WARNING, message, resources)
