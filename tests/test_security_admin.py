"""AVNM security admin rules, from §5.3: evaluated before NSGs; "Allow" goes on to the NSGs,
"AlwaysAllow" and "Deny" end the evaluation. Also N8.1 (one security admin configuration per
region), N8.2 (IP prefixes across all admin rules), the managers' scope (N7), the native
format and the questions that show the deciding rule."""

from __future__ import annotations

import ipaddress
import json

import pytest

from fabric.checks import validate
from fabric.cli import main
from fabric.control.forwarding import resolve
from fabric.control.plane import ControlPlane
from fabric.io import InputError, load_topology, to_yaml
from fabric.model import AdminRule, AdminRuleCollection, Fabric, SecurityRule
from fabric.model.records import SecurityAdminConfiguration
from fabric.watcher.ipflow import ip_flow


def vnet(fabric: Fabric, name: str, prefix: str, nsg: str | None = None, **where) -> None:
    fabric.vnet(name, "westeurope", prefix, **where)
    fabric.subnet(name, "app", prefix, nsg=nsg)
    fabric.host(name, f"{name}-vm", "app", str(ipaddress.ip_network(prefix).network_address + 4))


def peered(*rules: AdminRule, nsg_rules: tuple[SecurityRule, ...] = ()) -> Fabric:
    """a (10.0/16) peered with b (10.1/16), both in group ``both`` with ``rules`` as admin
    rules; an NSG of ``nsg_rules`` on b's subnet when given."""
    fabric = Fabric()
    if nsg_rules:
        fabric.nsg("b-nsg", nsg_rules)
    vnet(fabric, "a", "10.0.0.0/16")
    vnet(fabric, "b", "10.1.0.0/16", nsg="b-nsg" if nsg_rules else None)
    fabric.peer("a", "b")
    fabric.network_group("both", ["a", "b"])
    if rules:
        fabric.security_admin_configuration("guard", "both", rules)
    return fabric


DENY_SSH_IN = AdminRule("deny-ssh", 10, "Inbound", "Deny", "Tcp", destination_port_ranges="22")
ALLOW_SSH_IN = AdminRule("allow-ssh", 10, "Inbound", "Allow", "Tcp", destination_port_ranges="22")
ALWAYS_SSH_IN = AdminRule(
    "always-ssh", 10, "Inbound", "AlwaysAllow", "Tcp", destination_port_ranges="22"
)
NSG_DENY_SSH = SecurityRule(
    "nsg-deny-ssh", 100, "Inbound", "Deny", "Tcp", destination_port_ranges="22"
)


def path(fabric: Fabric, port: int = 22):
    return resolve(ControlPlane(fabric), "10.0.0.4", "10.1.0.4", "Tcp", port)


def test_a_deny_admin_rule_drops_before_any_nsg_and_names_the_rule():
    blocked = path(peered(DENY_SSH_IN))  # no NSG anywhere: the admin rule alone decides
    assert not blocked.reachable
    assert blocked.outcome.code == "DeniedBySecurityAdminRule"
    assert "deny-ssh" in blocked.outcome.detail
    assert "guard" in blocked.outcome.detail
    assert path(peered(DENY_SSH_IN), port=443).reachable  # other ports: no rule matches


def test_allow_goes_on_to_the_nsgs_which_can_still_deny():
    fabric = peered(ALLOW_SSH_IN, nsg_rules=(NSG_DENY_SSH,))
    blocked = path(fabric)
    assert not blocked.reachable
    assert blocked.outcome.code == "DeniedByNsg"
    assert "nsg-deny-ssh" in blocked.outcome.detail


def test_always_allow_ends_the_evaluation_past_a_denying_nsg():
    fabric = peered(ALWAYS_SSH_IN, nsg_rules=(NSG_DENY_SSH,))
    assert path(fabric).reachable
    verdict = ip_flow(
        ControlPlane(fabric), "10.0.0.4", "10.1.0.4", protocol="Tcp", port=22, direction="Inbound"
    )
    assert verdict.allowed
    assert (verdict.rule_name, verdict.admin_configuration) == ("always-ssh", "guard")
    assert verdict.nsg is None


def test_the_lowest_priority_number_decides_among_admin_rules():
    allow_first = AdminRule("always", 5, "Inbound", "AlwaysAllow", "Tcp")
    fabric = peered(DENY_SSH_IN, allow_first, nsg_rules=(NSG_DENY_SSH,))
    assert path(fabric).reachable  # priority 5 AlwaysAllow before priority 10 Deny
    deny_first = AdminRule("deny-all", 1, "Inbound", "Deny")
    assert not path(peered(allow_first, deny_first)).reachable


def test_outbound_rules_apply_at_the_source_vnet_and_service_tags_match():
    out = AdminRule(
        "no-vnet-out", 10, "Outbound", "Deny", destination_address_prefixes="VirtualNetwork"
    )
    blocked = path(peered(out), port=443)
    assert blocked.outcome.code == "DeniedBySecurityAdminRule"
    assert blocked.outcome.origin == "Outbound"


def test_rules_apply_only_to_members_of_the_groups_named():
    fabric = Fabric()
    vnet(fabric, "a", "10.0.0.0/16")
    vnet(fabric, "b", "10.1.0.0/16")
    fabric.peer("a", "b")
    fabric.network_group("only-a", ["a"])
    fabric.security_admin_configuration("guard", "only-a", [DENY_SSH_IN])
    assert path(fabric).reachable  # b is not in the group: its inbound is not filtered
    back = resolve(ControlPlane(fabric), "10.1.0.4", "10.0.0.4", "Tcp", 22)
    assert back.outcome.code == "DeniedBySecurityAdminRule"


def test_any_protocol_is_spelt_any_in_arm_and_star_natively():
    assert AdminRule("r", 1, "Inbound", "Deny", "Any").protocol == "*"
    with pytest.raises(ValueError, match="access"):
        AdminRule("r", 1, "Inbound", "Block")


def test_one_security_admin_configuration_per_region():
    fabric = peered(DENY_SSH_IN)
    fabric.security_admin_configuration("second", "both", [ALLOW_SSH_IN])
    found = [f for f in validate(fabric) if f.code == "TooManySecurityAdminConfigurations"]
    assert len(found) == 1
    assert "westeurope" in found[0].message
    assert "TooManySecurityAdminConfigurations" not in [f.code for f in validate(peered())]


def test_ip_prefixes_across_all_admin_rules_are_limited():
    prefixes = [f"10.{i // 256}.{i % 256}.0/24" for i in range(20_001)]
    rule = AdminRule("big", 10, "Inbound", "Deny", source_address_prefixes=prefixes)
    codes = [f.code for f in validate(peered(rule))]
    assert "TooManyAdminRulePrefixes" in codes
    small = AdminRule("small", 10, "Inbound", "Deny", source_address_prefixes=prefixes[:100])
    assert "TooManyAdminRulePrefixes" not in [f.code for f in validate(peered(small))]


def test_a_member_outside_the_managers_scope_gets_no_rules():
    from fabric.model import NetworkManager

    fabric = Fabric()
    vnet(fabric, "a", "10.0.0.0/16", subscription="sub-a")
    vnet(fabric, "b", "10.1.0.0/16", subscription="sub-b")
    fabric.peer("a", "b")
    fabric.network_manager(
        NetworkManager("nm", subscription="sub-a", scope_subscriptions=("sub-a",))
    )
    fabric.network_group("both", ["a", "b"])
    fabric.security_admin_configuration("guard", "both", [DENY_SSH_IN], network_manager="nm")
    assert set(ControlPlane(fabric).admin_rules.by_vnet) == {"a"}  # b is out of nm's scope
    found = [f for f in validate(fabric) if f.code == "VnetNotInNetworkManagerScope"]
    assert any("security_admin_configuration/guard" in f.resources for f in found)


NATIVE = """
vnets:
  - {name: a, region: westeurope, address_prefixes: [10.0.0.0/16],
     subnets: [{name: app, address_prefix: 10.0.0.0/24}],
     hosts: [{name: a-vm, subnet: app, ip: 10.0.0.4}]}
  - {name: b, region: westeurope, address_prefixes: [10.1.0.0/16],
     subnets: [{name: app, address_prefix: 10.1.0.0/24}],
     hosts: [{name: b-vm, subnet: app, ip: 10.1.0.4}]}
peerings:
  - {name: a-to-b, from: a, to: b}
  - {name: b-to-a, from: b, to: a}
network_groups:
  - {name: both, members: [a, b]}
security_admin_configurations:
  - name: guard
    rule_collections:
      - name: baseline
        applies_to_groups: [GROUP]
        rules:
          - {name: deny-rdp, priority: 10, direction: Inbound, access: Deny, protocol: Tcp,
             destination_port_ranges: ["3389"]}
"""


def test_the_native_format_loads_round_trips_and_checks_references(tmp_path):
    source = tmp_path / "admin.yaml"
    source.write_text(NATIVE.replace("GROUP", "both"))
    fabric = load_topology(source).fabric
    config = fabric.security_admin_configurations["guard"]
    assert config == SecurityAdminConfiguration(
        "guard",
        (
            AdminRuleCollection(
                "baseline",
                ("both",),
                (
                    AdminRule(
                        "deny-rdp", 10, "Inbound", "Deny", "Tcp", destination_port_ranges="3389"
                    ),
                ),
            ),
        ),
    )
    again = tmp_path / "again.yaml"
    again.write_text(to_yaml(load_topology(source)))
    assert load_topology(again).fabric.security_admin_configurations == {"guard": config}
    broken = tmp_path / "broken.yaml"
    broken.write_text(NATIVE.replace("GROUP", "bothh"))
    with pytest.raises(InputError) as caught:
        load_topology(broken)
    assert "network group 'bothh' is not declared" in str(caught.value)
    assert "did you mean" in str(caught.value).lower() or "both" in str(caught.value)


def test_the_cli_names_the_admin_rule(tmp_path, capsys):
    source = tmp_path / "admin.yaml"
    source.write_text(NATIVE.replace("GROUP", "both"))
    code = main(
        ["ip-flow", str(source), "--src", "10.0.0.4", "--dst", "10.1.0.4", "--protocol", "Tcp",
         "--port", "3389", "--direction", "Inbound", "--json"]
    )  # fmt: skip
    answer = json.loads(capsys.readouterr().out)
    assert code == 1
    assert answer["access"] == "Deny"
    assert answer["rule_name"] == "deny-rdp"
    assert answer["security_admin_configuration"] == "guard"
    main(["connectivity", str(source), "--src", "10.0.0.4", "--dst", "10.1.0.4", "--port", "3389"])
    assert "DeniedBySecurityAdminRule" in capsys.readouterr().out
