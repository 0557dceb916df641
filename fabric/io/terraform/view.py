"""One resource instance as the azurerm mapper reads it: typed accessors that report gaps.

Each accessor returns a plain Python value or None, and says why in a finding that names the
instance's file, line and Terraform address: an unknown value, a missing required argument, a
value of the wrong type. Names are identities: an unknown name keeps its display text.
"""

from __future__ import annotations

from typing import Any

from fabric.io.azure_resources import UNKNOWN_REGION, _region, name_from_id
from fabric.io.terraform import diagnostics as codes
from fabric.io.terraform.diagnostics import Report
from fabric.io.terraform.modules import ResourceInstance
from fabric.io.terraform.values import EvalError, Unknown, to_bool, to_number, to_string


class InstanceView:
    """One instance (or nested block) as the mapper reads it: typed accessors that report
    gaps as findings naming the instance's address."""

    def __init__(self, instance: ResourceInstance, values: Any, report: Report) -> None:
        self.instance = instance
        self.values = values if isinstance(values, dict) else {}
        self.report = report

    @property
    def address(self) -> str:
        return self.instance.address

    def raw(self, key: str) -> Any:
        return self.values.get(key)

    def has(self, key: str) -> bool:
        return self.values.get(key) is not None

    def warn(self, message: str, code: str = codes.UNKNOWN_VALUE) -> None:
        self.report.warning(code, self.instance.where, self.address, message)

    def invalid(self, message: str) -> None:
        self.report.error(codes.INVALID_RESOURCE, self.instance.where, self.address, message)

    def _unknown(self, key: str, value: Unknown, consequence: str) -> None:
        self.warn(f"{key} is not known offline ({value.reason}); {consequence}")

    def text(self, key: str, *, required: bool = False, consequence: str = "") -> str | None:
        """A string argument; None (with a finding) when unset-but-required, unknown or not
        a string."""
        value = self.raw(key)
        if isinstance(value, Unknown):
            self._unknown(key, value, consequence or "it was left out")
            return None
        if value is None or value == "":
            if required:
                self.invalid(f"{key} is required; set it")
            return None
        try:
            return to_string(value)
        except EvalError:
            self.invalid(f"{key} must be a string, got {value!r}")
            return None

    def secret(self, key: str) -> str | None:
        """A secret argument (a connection's pre-shared or authorization key). One not known
        offline (a sensitive variable with no value, a ``random_password`` result) stands for
        what ``terraform apply`` supplies: the same wherever the same expression supplies it,
        so two connections keyed from one variable share one key."""
        value = self.raw(key)
        if isinstance(value, Unknown):
            check = (
                " (give the variable a value to check the key itself)"
                if value.display.startswith("${var.")
                else ""
            )
            self.warn(
                f"{key} is not known offline ({value.reason}); vnetsim takes it as the value "
                f"terraform apply supplies, the same wherever {value.display} supplies it" + check,
                codes.SECRET_ASSUMED,
            )
            return f"<secret from {value.display}>"
        return self.text(key)

    def name(self, key: str = "name") -> str | None:
        """An identity (a name): an unknown one keeps its display text, so that references
        built from the same unknown agree (the cause was reported where it arose)."""
        value = self.raw(key)
        if isinstance(value, Unknown):
            return value.display
        return self.text(key, required=True)

    def ref(self, key: str, kind: str, *, required: bool = False) -> str | None:
        """The name of the ``kind`` (e.g. ``virtualNetworks``) in the resource ID at ``key``."""
        value = self.raw(key)
        text = value.display if isinstance(value, Unknown) else value
        if text is None or text == "":
            if required:
                self.invalid(f"{key} is required; set it to the resource's id")
            return None
        found = name_from_id(text, kind)
        if found is None:
            self.invalid(f"{key} must be a resource ID naming a {kind} resource, got {text!r}")
        return found

    def strings(self, key: str, *, consequence: str = "") -> tuple[str, ...] | None:
        """A list of strings (a single string is a list of one); None when unset."""
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, Unknown):
            self._unknown(key, value, consequence or "it was left out")
            return None
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        for item in items:
            if isinstance(item, Unknown):
                self._unknown(f"an element of {key}", item, "that element was left out")
                continue
            try:
                out.append(to_string(item))
            except EvalError:
                self.invalid(f"{key} must be a list of strings, got an element {item!r}")
        return tuple(out)

    def flag(self, key: str, default: bool, *, quiet: bool = False) -> bool:
        """A bool argument; ``quiet`` when an unknown value only means Azure's default."""
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, Unknown):
            if not quiet:
                self._unknown(key, value, f"vnetsim assumed {str(default).lower()}")
            return default
        try:
            return to_bool(value)
        except EvalError:
            self.invalid(f"{key} must be true or false, got {value!r}")
            return default

    def integer(self, key: str, default: int | None) -> int | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, Unknown):
            self._unknown(key, value, f"vnetsim assumed {default}")
            return default
        try:
            number = to_number(value)
        except EvalError:
            number = None
        if not isinstance(number, int):
            self.invalid(f"{key} must be a whole number, got {value!r}")
            return default
        return number

    def blocks(self, key: str, *, quiet: bool = False) -> list[InstanceView]:
        """Nested blocks; ``quiet`` when unknown blocks are defined elsewhere anyway (a plan
        does not know a VNet's ``subnet`` list when subnets are separate resources)."""
        value = self.raw(key)
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            if isinstance(value, Unknown) and not quiet:
                self._unknown(key, value, "its blocks were left out")
            return []
        return [
            InstanceView(self.instance, item, self.report)
            for item in value
            if isinstance(item, dict)
        ]

    def region(self) -> str:
        value = self.raw("location")
        if isinstance(value, Unknown):
            return UNKNOWN_REGION
        return _region(value)
