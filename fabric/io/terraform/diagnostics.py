"""Findings of the Terraform loader: one collector, so every message has the same shape.

A message reads ``file:line: address: what is wrong; what to do``; the finding's resources name
the Terraform address (``module.hub.azurerm_subnet.fw``). The same message is reported once.
"""

from __future__ import annotations

from fabric.model.findings import ERROR, WARNING, Finding

# Codes shared with the ARM/REST importers keep their meaning here.
INVALID_RESOURCE = "ImportInvalidResource"  # a resource vnetsim cannot build (Error)
NOT_MODELLED = "ResourceNotModelled"  # a resource type vnetsim leaves out (Warning)
VNET_NOT_IN_INPUT = "VnetNotInInput"  # a VNet referenced but defined elsewhere (Warning)
# Terraform-specific codes.
EXPRESSION_ERROR = "TerraformExpressionError"  # Terraform would fail to evaluate it (Error)
INVALID_CONFIGURATION = "TerraformInvalidConfiguration"  # Terraform would reject it (Error)
UNKNOWN_ARGUMENT = "TerraformUnknownArgument"  # not an argument of the type, probably a typo
VARIABLE_NOT_SET = "TerraformVariableNotSet"  # a variable with no value offline
UNDECLARED_VARIABLE = "TerraformUndeclaredVariable"  # a value for a variable never declared
DATA_SOURCE_NOT_READ = "TerraformDataSourceNotRead"  # read from Azure at plan time
MODULE_NOT_LOADED = "TerraformModuleNotLoaded"  # a remote module that is not on disk
UNKNOWN_VALUE = "TerraformUnknownValue"  # a modelled field whose value is not known offline
SECRET_ASSUMED = "TerraformSecretAssumed"  # a key not known offline, read as what apply gives
PROVIDER_IGNORED = "TerraformProviderIgnored"  # resources of other providers
FILE_NOT_READ = "TerraformFileNotRead"  # a file in the directory vnetsim does not read


class Report:
    """Collects findings in the order they are met, without repeating one."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str]] = set()

    def _add(self, severity: str, code: str, where: str, address: str, message: str) -> None:
        parts = [p for p in (where, address) if p]
        text = ": ".join([*parts, message])
        if (code, text) in self._seen:
            return
        self._seen.add((code, text))
        self.findings.append(Finding(code, severity, text, (address,) if address else ()))

    def error(self, code: str, where: str, address: str, message: str) -> None:
        """Something Terraform (or Azure) would refuse."""
        self._add(ERROR, code, where, address, message)

    def warning(self, code: str, where: str, address: str, message: str) -> None:
        """Something loaded with a gap or an assumption the user should know about."""
        self._add(WARNING, code, where, address, message)
