"""ARM templates as Azure reads them: comments and string booleans, parameters (files in any
case, inline values, missing and mistyped ones), nested deployments, copy limits, duplicate
resources, and the network resources beyond VNets (site-to-site, Azure Firewall, ASGs,
ExpressRoute and legacy gateways, Route Server, service endpoints)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.checks import validate
from fabric.cli import main
from fabric.control.plane import ControlPlane
from fabric.io import NativeDocument, load_topology, to_yaml
from fabric.io.arm import MAX_COPY_COUNT, load_arm
from fabric.watcher import connectivity, next_hop

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
PARAMETERS_SCHEMA = (
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
)


def write(tmp_path: Path, text: str | dict, name: str = "azuredeploy.json") -> Path:
    path = tmp_path / name
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    return path


def template(*resources: dict, parameters: dict | None = None, **sections) -> dict:
    return {
        "$schema": SCHEMA,
        "parameters": parameters or {},
        **sections,
        "resources": list(resources),
    }


def vnet(name: str, prefix: str, *subnets: tuple[str, str], **properties) -> dict:
    return {
        "type": "Microsoft.Network/virtualNetworks",
        "apiVersion": "2023-09-01",
        "name": name,
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": [prefix]},
            "subnets": [{"name": n, "properties": {"addressPrefix": p}} for n, p in subnets],
            **properties,
        },
    }


def subnet_id(vnet_name: str, subnet: str) -> str:
    """The resourceId() expression of a subnet."""
    return f"[resourceId('Microsoft.Network/virtualNetworks/subnets', '{vnet_name}', '{subnet}')]"


def codes(document) -> list[str]:
    return [f.code for f in document.findings]


def errors(document) -> list:
    return [f for f in document.findings if f.severity == "Error"]


# -- the JSON dialect -----------------------------------------------------------------------------

COMMENTED = """// Two peered VNets, written the way people write templates for az deployment.
{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  /* Parameters: the hub's space is a parameter. */
  "parameters": {
    "hubPrefix": { "type": "string", "defaultValue": "10.0.0.0/16" } // the hub
  },
  "variables": {
    "spokeName": "[concat(
        'spoke',
        '-',
        'one')]"
  },
  "resources": [
    {
      "type": "Microsoft.Network/virtualNetworks",
      "apiVersion": "2023-09-01",
      "name": "hub",
      "location": "westeurope",
      "properties": {
        "addressSpace": { "addressPrefixes": [ "[parameters('HUBPREFIX')]" ] },
        "subnets": [ { "name": "default", "properties": { "AddressPrefix": "10.0.0.0/24" } } ]
      }
    },
    {
      "Type": "Microsoft.Network/virtualNetworks",
      "apiVersion": "2023-09-01",
      "Name": "[variables('spokeName')]",
      "location": "westeurope",
      "Properties": {
        "addressSpace": { "addressPrefixes": [ "10.1.0.0/16" ] },
        "subnets": [ { "name": "default", "properties": { "addressPrefix": "10.1.0.0/24" } } ]
      }
    },
    {
      "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
      "apiVersion": "2023-09-01",
      "name": "[concat('hub/to-', variables('spokeName'))]",
      "dependsOn": [ "hub" ],
      "properties": {
        "remoteVirtualNetwork": {
          "id": "[resourceId('Microsoft.Network/virtualNetworks', variables('spokeName'))]"
        },
        "allowVirtualNetworkAccess": "True",
        "allowForwardedTraffic": "false",
        "allowGatewayTransit": "FALSE",
        "useRemoteGateways": false
      }
    },
    {
      "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
      "apiVersion": "2023-09-01",
      "name": "[concat(variables('spokeName'), '/to-hub')]",
      "properties": {
        "remoteVirtualNetwork": {
          "id": "[resourceId('Microsoft.Network/virtualNetworks', 'hub')]"
        },
        "allowVirtualNetworkAccess": "true",
        "allowForwardedTraffic": "false"
      }
    },
    {
      "type": "Microsoft.Network/networkSecurityGroups",
      "apiVersion": "2023-09-01",
      "name": "nsg",
      "location": "westeurope",
      "properties": {
        "securityRules": [
          {
            "name": "deny-web",
            "properties": {
              "priority": "200",
              "direction": "inbound",
              "access": "deny",
              "protocol": "tcp",
              "sourceAddressPrefix": "*",
              "sourcePortRange": "*",
              "destinationAddressPrefix": "*",
              "destinationPortRange": 80
            }
          }
        ]
      }
    }
  ]
}
"""


def test_commented_multiline_template_with_string_booleans_validates_clean(tmp_path):
    document = load_topology(write(tmp_path, COMMENTED))
    fabric = document.fabric
    assert document.findings == ()
    assert validate(fabric) == []
    assert set(fabric.vnets) == {"hub", "spoke-one"}
    assert fabric.vnets["hub"].subnet("default").address_prefix == "10.0.0.0/24"  # AddressPrefix
    links = {p.name: p for p in fabric.peerings.values()}
    assert links["to-spoke-one"].allow_virtual_network_access is True
    assert links["to-spoke-one"].allow_forwarded_traffic is False  # "false" is never true
    assert links["to-spoke-one"].allow_gateway_transit is False
    (rule,) = fabric.nsgs["nsg"].security_rules
    assert (rule.priority, rule.direction, rule.access, rule.protocol) == (
        200,
        "Inbound",
        "Deny",
        "Tcp",
    )
    assert rule.destination_port_ranges == ("80",)


@pytest.mark.parametrize("value", ["yes", "0", "", "off", 1])
def test_a_boolean_property_that_is_not_a_boolean_is_a_finding(value):
    peering = {
        "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        "name": "a/to-b",
        "properties": {
            "remoteVirtualNetwork": {
                "id": "/subscriptions/s/resourceGroups/g/providers/"
                "Microsoft.Network/virtualNetworks/b"
            },
            "allowForwardedTraffic": value,
        },
    }
    fabric, findings = load_arm(template(vnet("a", "10.0.0.0/16"), peering), None, "t.json")
    (finding,) = [f for f in findings if f.severity == "Error"]
    assert "allowForwardedTraffic must be true or false" in finding.message
    assert "resources[1]" in finding.message
    assert not fabric.peerings  # never loaded with a guessed value


# -- parameters -----------------------------------------------------------------------------------

PARAMETERISED = template(
    vnet("[parameters('vnetName')]", "[parameters('prefix')]"),
    parameters={
        "vnetName": {"type": "string"},
        "prefix": {"type": "string", "defaultValue": "10.0.0.0/16"},
        "deploy": {"type": "bool", "defaultValue": True},
    },
)


def test_parameter_file_keys_match_the_template_ignoring_case(tmp_path):
    path = write(tmp_path, PARAMETERISED)
    values = write(
        tmp_path,
        {"$schema": PARAMETERS_SCHEMA, "parameters": {"VNETNAME": {"value": "hub"}}},
        "p.json",
    )
    document = load_topology(path, parameters=values)
    assert set(document.fabric.vnets) == {"hub"}
    assert document.findings == ()


def test_a_missing_required_parameter_names_itself_and_how_to_pass_it(tmp_path):
    document = load_topology(write(tmp_path, PARAMETERISED))
    (warning,) = [f for f in document.findings if f.code == "ArmMissingParameter"]
    assert "vnetName" in warning.message
    assert "--parameter vnetName=VALUE" in warning.message
    assert "--parameters" in warning.message
    (used,) = errors(document)  # where the VNet needs it, it is an error
    assert "vnetName" in used.message


def test_inline_parameter_values_win_over_the_file(tmp_path):
    path = write(tmp_path, PARAMETERISED)
    values = write(tmp_path, {"parameters": {"vnetName": {"value": "from-file"}}}, "p.json")
    document = load_topology(
        path, parameters=values, parameter_values={"vnetname": "inline", "prefix": "10.9.0.0/16"}
    )
    assert document.fabric.vnets["inline"].address_prefixes == ("10.9.0.0/16",)
    assert document.findings == ()


def test_cli_parameter_flag_parses_json_values(tmp_path, capsys):
    path = write(tmp_path, PARAMETERISED)
    argv = ["validate", str(path), "--json", "--parameter", "vnetName=cli-vnet"]
    assert main([*argv, "--parameter", "deploy=false"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"]
    # 'False' is not JSON, so it stays a string: Azure's InvalidTemplate for a bool parameter
    assert main([*argv, "--parameter", "deploy=False"]) == 1
    report = json.loads(capsys.readouterr().out)
    (finding,) = [f for f in report["findings"] if f["severity"] == "Error"]
    assert finding["code"] == "InvalidTemplate"
    assert "Expected 'Boolean'. Actual 'String'" in finding["message"]
    assert main(["validate", str(path), "--parameter", "novalue"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_a_string_for_a_bool_parameter_is_invalid_template():
    body = template(
        {**vnet("a", "10.0.0.0/16"), "condition": "[parameters('deploy')]"},
        parameters={"deploy": {"type": "bool"}},
    )
    fabric, findings = load_arm(body, {"parameters": {"deploy": {"value": "false"}}}, "t.json")
    assert [f.code for f in findings if f.severity == "Error"] == [
        "InvalidTemplate",
        "ArmExpressionError",
    ]
    assert fabric.vnets == {}


def test_parameters_the_template_does_not_declare_are_invalid_template():
    fabric, findings = load_arm(
        PARAMETERISED, None, "t.json", parameter_values={"vnetName": "a", "extra": 1}
    )
    (finding,) = [f for f in findings if f.severity == "Error"]
    assert finding.code == "InvalidTemplate"
    assert "extra" in finding.message
    assert "vnetName" in finding.message  # the declared ones are listed
    assert "a" in fabric.vnets


# -- nested deployments ---------------------------------------------------------------------------


def nested(scope: str | None, inner_template: dict, **properties) -> dict:
    options = {"expressionEvaluationOptions": {"scope": scope}} if scope else {}
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "nested",
        "properties": {"mode": "Incremental", **options, "template": inner_template, **properties},
    }


@pytest.mark.parametrize(
    ("scope", "name"), [("inner", "from-nested"), ("outer", "from-parent"), (None, "from-parent")]
)
def test_nested_template_scope_decides_whose_variables_it_sees(scope, name):
    """The documented exampleVar example: inner scope sees the nested template's variable,
    outer (the default) the parent's."""
    inner = template(
        vnet("[variables('exampleVar')]", "10.0.0.0/16"), variables={"exampleVar": "from-nested"}
    )
    body = template(nested(scope, inner), variables={"exampleVar": "from-parent"})
    fabric, findings = load_arm(body, None, "t.json")
    assert set(fabric.vnets) == {name}
    assert findings == []


def test_inner_nested_template_gets_its_parameters_from_the_deployment():
    inner = template(
        vnet("[parameters('name')]", "[parameters('prefix')]"),
        parameters={"name": {"type": "string"}, "prefix": {"type": "string"}},
        outputs={"space": {"type": "string", "value": "[parameters('prefix')]"}},
    )
    body = template(
        nested(
            "inner",
            inner,
            parameters={
                "name": {"value": "[concat('spoke-', parameters('n'))]"},
                "prefix": {"value": "10.7.0.0/16"},
            },
        ),
        vnet("[concat('copy-of-', reference('nested').outputs.space.value)]", "10.8.0.0/16"),
        parameters={"n": {"type": "int", "defaultValue": 3}},
    )
    fabric, findings = load_arm(body, None, "t.json")
    assert fabric.vnets["spoke-3"].address_prefixes == ("10.7.0.0/16",)
    assert "copy-of-10.7.0.0/16" in fabric.vnets
    assert findings == []


def test_a_nested_deployment_missing_a_parameter_says_where_to_pass_it():
    inner = template(
        vnet("[parameters('name')]", "10.0.0.0/16"), parameters={"name": {"type": "string"}}
    )
    _, findings = load_arm(template(nested("inner", inner)), None, "t.json")
    (missing,) = [f for f in findings if f.code == "ArmMissingParameter"]
    assert "properties.parameters of deployment 'nested'" in missing.message
    assert "resources[0].properties.template.parameters.name" in missing.message


def test_linked_templates_are_reported_not_fetched():
    link = {
        "type": "Microsoft.Resources/deployments",
        "name": "linked",
        "properties": {
            "mode": "Incremental",
            "templateLink": {"uri": "https://example.com/t.json"},
        },
    }
    _, findings = load_arm(template(link), None, "t.json")
    (finding,) = findings
    assert finding.code == "ArmLinkedTemplate"
    assert "https://example.com/t.json" in finding.message


def test_nested_deployments_stop_at_the_nesting_limit():
    body = template(vnet("deepest", "10.0.0.0/16"))
    for _ in range(15):
        body = template(nested("inner", body))
    fabric, findings = load_arm(body, None, "t.json")
    assert "ImportTooDeep" in [f.code for f in findings]
    assert fabric.vnets == {}


# -- copy loops, duplicates and hostile templates -------------------------------------------------


def copied(count) -> dict:
    return {
        **vnet("[concat('v', copyIndex())]", "[concat('10.', copyIndex(), '.0.0/16')]"),
        "copy": {"name": "loop", "count": count},
    }


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (MAX_COPY_COUNT + 1, "from 0 to 800"),
        (-1, "from 0 to 800"),
        (2.5, "whole number"),
        ("[div(7, 2)]", None),  # 3: integer division
        ("3", None),
        (0, None),
    ],
)
def test_copy_counts_are_whole_numbers_up_to_800(count, message):
    fabric, findings = load_arm(template(copied(count)), None, "t.json")
    if message is None:
        assert findings == []
        assert len(fabric.vnets) == {"[div(7, 2)]": 3, "3": 3, 0: 0}[count]
        return
    (finding,) = findings
    assert finding.severity == "Error"
    assert message in finding.message
    assert "resources[0].copy" in finding.message


def test_variable_copy_loops_and_property_copy_loops_in_variables():
    variables = {
        "copy": [
            {
                "name": "prefixes",
                "count": 2,
                "input": "[concat('10.', copyIndex('prefixes'), '.0.0/16')]",
            }
        ],
        "subnets": {
            "copy": [
                {
                    "name": "list",
                    "count": 2,
                    "input": {
                        "name": "[concat('s', copyIndex('list'))]",
                        "properties": {
                            "addressPrefix": "[concat('10.0.', copyIndex('list'), '.0/24')]"
                        },
                    },
                }
            ]
        },
    }
    body = template(
        vnet("a", "[variables('prefixes')[0]]")
        | {
            "properties": {
                "addressSpace": {"addressPrefixes": "[variables('prefixes')]"},
                "subnets": "[variables('subnets').list]",
            }
        },
        variables=variables,
    )
    fabric, findings = load_arm(body, None, "t.json")
    assert findings == []
    assert fabric.vnets["a"].address_prefixes == ("10.0.0.0/16", "10.1.0.0/16")
    assert fabric.vnets["a"].subnet_names == ("s0", "s1")


def test_two_vnets_of_one_name_are_an_error_not_a_merge():
    body = template(vnet("hub", "10.0.0.0/16"), vnet("HUB", "10.1.0.0/16"))
    fabric, findings = load_arm(body, None, "t.json")
    (finding,) = findings
    assert (finding.code, finding.severity) == ("DuplicateResource", "Error")
    assert "resources[1]" in finding.message
    assert "resources[0]" in finding.message
    assert fabric.vnets["hub"].address_prefixes == ("10.0.0.0/16",)


def test_a_peering_declared_inline_and_as_a_resource_with_other_settings_is_said():
    remote = {"id": "[resourceId('Microsoft.Network/virtualNetworks', 'b')]"}
    inline = {"name": "to-b", "properties": {"remoteVirtualNetwork": remote}}
    child = {
        "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        "name": "a/to-b",
        "properties": {"remoteVirtualNetwork": remote, "allowForwardedTraffic": True},
    }
    body = template(vnet("a", "10.0.0.0/16", virtualNetworkPeerings=[inline]), child)
    fabric, findings = load_arm(body, None, "t.json")
    assert [f.code for f in findings] == ["VnetNotInInput", "PeeringDeclaredTwice"]
    assert fabric.peerings[("a", "to-b")].allow_forwarded_traffic is False  # the first


def test_a_nested_deployment_that_redeploys_a_subnet_with_an_nsg_wins():
    """Templates update what they created by deploying it again from a nested deployment
    (a subnet, now with its NSG): each deployment is its own template, so it is no duplicate,
    and the later definition is the end state."""
    subnet = {
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "name": "hub/app",
        "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', 'hub')]"],
        "properties": {"addressPrefix": "10.0.1.0/24"},
    }
    nsg_id = "[resourceId('Microsoft.Network/networkSecurityGroups', 'app-nsg')]"
    update = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "add-nsg",
        "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks/subnets', 'hub', 'app')]"],
        "properties": {
            "mode": "Incremental",
            "template": template(
                {
                    "type": "Microsoft.Network/networkSecurityGroups",
                    "name": "app-nsg",
                    "location": "westeurope",
                    "properties": {"securityRules": []},
                },
                {
                    **subnet,
                    "properties": {**subnet["properties"], "networkSecurityGroup": {"id": nsg_id}},
                },
            ),
        },
    }
    fabric, findings = load_arm(template(vnet("hub", "10.0.0.0/16"), subnet, update), None, "t")
    assert [f.code for f in findings] == ["ResourceRedeployed"]
    assert "resources[1]" in findings[0].message
    assert fabric.vnets["hub"].subnet("app").nsg == "app-nsg"


def test_a_copy_loop_that_repeats_a_name_is_a_duplicate():
    loop = {
        **vnet("same", "[concat('10.', copyIndex(), '.0.0/16')]"),
        "copy": {"name": "l", "count": 2},
    }
    _, findings = load_arm(template(loop), None, "t.json")
    assert [f.code for f in findings] == ["DuplicateResource"]


def test_variables_that_double_a_string_stop_at_the_size_limit():
    variables = {"v0": "xxxxxxxxxxxxxxxx"}
    for i in range(1, 40):
        variables[f"v{i}"] = f"[concat(variables('v{i - 1}'), variables('v{i - 1}'))]"
    body = template(vnet("[variables('v39')]", "10.0.0.0/16"), variables=variables)
    fabric, findings = load_arm(body, None, "t.json")
    (finding,) = findings
    assert "string of" in finding.message
    assert fabric.vnets == {}


@pytest.mark.parametrize(
    "variables",
    [
        {f"v{i}": f"[variables('v{i + 1}')]" for i in range(300)} | {"v300": "x"},
        {"v0": "[variables('v1')]", "v1": "[variables('v0')]"},
    ],
)
def test_long_or_circular_variable_chains_are_clear_errors(variables):
    body = template(vnet("[variables('v0')]", "10.0.0.0/16"), variables=variables)
    fabric, findings = load_arm(body, None, "t.json")
    (finding,) = findings
    assert "refer" in finding.message
    assert fabric.vnets == {}


def test_huge_values_in_a_template_are_findings_and_json_output_stays_json(tmp_path, capsys):
    body = template(
        vnet("[padLeft('v', 2000000000, 'x')]", "10.0.0.0/16"),
        vnet("[string(range(0, 100000000))]", "10.1.0.0/16"),
        copied(10**9),
    )
    path = write(tmp_path, body)
    assert main(["validate", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert len([f for f in report["findings"] if f["severity"] == "Error"]) == 3


def test_deep_json_is_an_input_error_on_the_command_line(tmp_path, capsys):
    path = write(tmp_path, '{"resources": ' + "[" * 50000 + "]" * 50000 + "}")
    assert main(["validate", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert "nested deeper" in captured.err
    assert "Traceback" not in captured.err


# -- site-to-site ---------------------------------------------------------------------------------

SITE_TO_SITE = template(
    vnet(
        "azureVnet", "10.3.0.0/16", ("Subnet1", "10.3.1.0/24"), ("GatewaySubnet", "10.3.200.0/29")
    ),
    {
        "type": "Microsoft.Network/localNetworkGateways",
        "apiVersion": "2023-09-01",
        "name": "localGateway",
        "location": "westeurope",
        "properties": {
            "localNetworkAddressSpace": {"addressPrefixes": ["192.168.0.0/16"]},
            "gatewayIpAddress": "[parameters('localGatewayIpAddress')]",
        },
    },
    {
        "type": "Microsoft.Network/virtualNetworkGateways",
        "apiVersion": "2023-09-01",
        "name": "azureGateway",
        "location": "westeurope",
        "properties": {
            "ipConfigurations": [
                {
                    "name": "vnetGatewayConfig",
                    "properties": {"subnet": {"id": subnet_id("azureVnet", "GatewaySubnet")}},
                }
            ],
            "sku": {"name": "VpnGw1", "tier": "VpnGw1"},
            "gatewayType": "Vpn",
            "vpnType": "RouteBased",
            "enableBgp": "false",
        },
    },
    {
        "type": "Microsoft.Network/connections",
        "apiVersion": "2023-09-01",
        "name": "s2s",
        "location": "westeurope",
        "properties": {
            "virtualNetworkGateway1": {
                "id": "[resourceId('Microsoft.Network/virtualNetworkGateways', 'azureGateway')]"
            },
            "localNetworkGateway2": {
                "id": "[resourceId('Microsoft.Network/localNetworkGateways', 'localGateway')]"
            },
            "connectionType": "IPsec",
            "routingWeight": "10",
            "sharedKey": "[parameters('sharedKey')]",
            "enableBgp": "False",
            "usePolicyBasedTrafficSelectors": "true",
            "dpdTimeoutSeconds": 45,
            "connectionProtocol": "ikev1",
            "ipsecPolicies": [
                {
                    "saLifeTimeSeconds": 3600,
                    "saDataSizeKilobytes": "102400000",
                    "ipsecEncryption": "AES256",
                    "ipsecIntegrity": "SHA256",
                    "ikeEncryption": "AES256",
                    "ikeIntegrity": "SHA384",
                    "dhGroup": "DHGroup24",
                    "pfsGroup": "PFS24",
                }
            ],
        },
    },
    parameters={
        "localGatewayIpAddress": {"type": "string", "defaultValue": "203.0.113.10"},
        "sharedKey": {"type": "securestring"},
    },
)


def test_site_to_site_template_gives_a_local_network_gateway_and_an_ipsec_connection():
    fabric, findings = load_arm(
        SITE_TO_SITE, {"parameters": {"sharedKey": {"value": "k3y"}}}, "s2s.json"
    )
    assert findings == []
    site = fabric.local_network_gateways["localGateway"]
    assert (site.address_prefixes, site.gateway_ip_address, site.region) == (
        ("192.168.0.0/16",),
        "203.0.113.10",
        "westeurope",
    )
    assert fabric.gateways["azureGateway"].enable_bgp is False  # "false" as a string
    connection = fabric.connections["s2s"]
    assert (connection.from_gateway, connection.to_gateway, connection.connection_type) == (
        "azureGateway",
        "localGateway",
        "IPsec",
    )
    assert connection.shared_key == "k3y"
    assert connection.enable_bgp is False
    assert connection.use_policy_based_traffic_selectors is True
    assert (connection.dpd_timeout_seconds, connection.routing_weight) == (45, 10)
    assert connection.connection_protocol == "IKEv1"
    assert connection.ipsec_policy.sa_lifetime_seconds == 3600


def test_site_to_site_with_bgp_settings_on_the_local_gateway():
    body = json.loads(json.dumps(SITE_TO_SITE))
    body["resources"][1]["properties"]["bgpSettings"] = {
        "asn": "65050",
        "bgpPeeringAddress": "192.168.255.254",
        "peerWeight": 0,
    }
    fabric, _ = load_arm(body, {"parameters": {"sharedKey": {"value": "k"}}}, "s2s.json")
    bgp = fabric.local_network_gateways["localGateway"].bgp_settings
    assert (bgp.asn, bgp.bgp_peering_address) == (65050, "192.168.255.254")


# -- secrets: a connection's key from a secure parameter or Key Vault --------------------------


def vnet_to_vnet(key_one: str, key_two: str, **parameters: dict) -> dict:
    """Two VNets with a VPN gateway each and a connection each way, keyed by the expressions
    ``key_one`` and ``key_two``."""
    resources: list[dict] = []
    for i, name in enumerate(("one", "two")):
        resources.append(
            vnet(
                name,
                f"10.{i}.0.0/16",
                ("app", f"10.{i}.1.0/24"),
                ("GatewaySubnet", f"10.{i}.255.0/27"),
            )
        )
        resources.append(
            {
                "type": "Microsoft.Network/virtualNetworkGateways",
                "apiVersion": "2023-09-01",
                "name": f"{name}-gw",
                "location": "westeurope",
                "properties": {
                    "ipConfigurations": [
                        {
                            "name": "ip",
                            "properties": {"subnet": {"id": subnet_id(name, "GatewaySubnet")}},
                        }
                    ],
                    "sku": {"name": "VpnGw1", "tier": "VpnGw1"},
                    "gatewayType": "Vpn",
                    "vpnType": "RouteBased",
                },
            }
        )
    for here, there, key in (("one", "two", key_one), ("two", "one", key_two)):
        gateway = "[resourceId('Microsoft.Network/virtualNetworkGateways', '{}-gw')]"
        resources.append(
            {
                "type": "Microsoft.Network/connections",
                "apiVersion": "2023-09-01",
                "name": f"{here}-to-{there}",
                "location": "westeurope",
                "properties": {
                    "virtualNetworkGateway1": {"id": gateway.format(here)},
                    "virtualNetworkGateway2": {"id": gateway.format(there)},
                    "connectionType": "Vnet2Vnet",
                    "sharedKey": key,
                },
            }
        )
    return template(*resources, parameters=parameters)


def tunnel_problems(fabric) -> list[str]:
    return sorted(f.code for f in validate(fabric) if f.code.startswith("SharedKey"))


def test_a_key_from_a_secure_parameter_without_a_value_connects_both_sides():
    """A template's key is a secure parameter, which no file gives offline: both connections
    take it from that parameter, so they share the key the deployment will supply."""
    body = vnet_to_vnet(
        "[parameters('vpnKey')]", "[parameters('VPNKEY')]", vpnKey={"type": "secureString"}
    )
    fabric, findings = load_arm(body, None, "v2v.json")
    assert sorted(f.code for f in findings) == [
        "ArmMissingParameter",  # on the parameter itself
        "ArmSecretAssumed",
        "ArmSecretAssumed",
    ]
    assert all(f.severity == "Warning" for f in findings)
    assumed = [f for f in findings if f.code == "ArmSecretAssumed"]
    assert {f.resources for f in assumed} == {
        ("resources[4].properties.sharedKey",),
        ("resources[5].properties.sharedKey",),
    }
    keys = {c.shared_key for c in fabric.connections.values()}
    assert len(keys) == 1
    assert "vpnKey" in keys.pop()
    assert tunnel_problems(fabric) == []
    trace = connectivity(ControlPlane(fabric), "10.0.1.4", "10.1.1.4", protocol="Tcp", port=22)
    assert trace.reachable


def test_keys_from_two_secure_parameters_are_taken_as_different():
    body = vnet_to_vnet(
        "[parameters('keyOne')]",
        "[parameters('keyTwo')]",
        keyOne={"type": "securestring"},
        keyTwo={"type": "securestring"},
    )
    fabric, findings = load_arm(body, None, "v2v.json")
    assert "ArmSecretAssumed" in [f.code for f in findings]
    assert tunnel_problems(fabric) == ["SharedKeyMismatch", "SharedKeyMismatch"]
    given, _ = load_arm(
        body, {"parameters": {"keyOne": {"value": "k"}, "keyTwo": {"value": "k"}}}, "v2v.json"
    )
    assert tunnel_problems(given) == []  # with the values, the keys are compared themselves


def test_a_key_from_key_vault_is_the_same_secret_on_both_sides():
    body = vnet_to_vnet(
        "[parameters('vpnKey')]", "[parameters('vpnKey')]", vpnKey={"type": "securestring"}
    )
    reference = {
        "keyVault": {
            "id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
        },
        "secretName": "vpn",
    }
    fabric, findings = load_arm(
        body, {"parameters": {"vpnKey": {"reference": reference}}}, "v2v.json"
    )
    assumed = [f for f in findings if f.code == "ArmSecretAssumed"]
    assert len(assumed) == 2
    assert all("Key Vault" in f.message for f in assumed)
    assert tunnel_problems(fabric) == []


def test_a_key_from_a_plain_parameter_without_a_value_is_still_an_error():
    """Only a secure parameter stands for a secret the deployment supplies: a plain string
    parameter without a value is a template that cannot be deployed as it is."""
    body = vnet_to_vnet(
        "[parameters('vpnKey')]", "[parameters('vpnKey')]", vpnKey={"type": "string"}
    )
    _, findings = load_arm(body, None, "v2v.json")
    assert [f.code for f in findings if f.severity == "Error"] == ["ArmExpressionError"] * 2
    assert "ArmSecretAssumed" not in [f.code for f in findings]


def test_a_secure_parameter_read_anywhere_but_a_secret_is_still_an_error():
    """The stand-in is for keys alone: a secure parameter naming a subnet has no value."""
    body = vnet_to_vnet("k", "k", where={"type": "securestring"})
    body["resources"][0]["properties"]["subnets"][0]["name"] = "[parameters('where')]"
    _, findings = load_arm(body, None, "v2v.json")
    assert "ArmSecretAssumed" not in [f.code for f in findings]
    assert "ArmExpressionError" in [f.code for f in findings]


def test_a_key_read_through_a_variable_is_the_same_secret():
    body = vnet_to_vnet("[variables('key')]", "[variables('key')]", vpnKey={"type": "secureString"})
    body["variables"] = {"key": "[parameters('vpnKey')]"}
    fabric, findings = load_arm(body, None, "v2v.json")
    assert not [f for f in findings if f.severity == "Error"]
    assert tunnel_problems(fabric) == []
    assert "vpnKey" in fabric.connections["one-to-two"].shared_key


def test_a_secure_parameter_whose_default_needs_a_missing_plain_one_is_an_error():
    """The stand-in is for a secure parameter that has no value: one whose default reads a
    plain parameter without a value cannot be deployed as it is."""
    body = vnet_to_vnet(
        "[parameters('vpnKey')]",
        "[parameters('vpnKey')]",
        vpnKey={"type": "secureString", "defaultValue": "[parameters('plain')]"},
        plain={"type": "string"},
    )
    _, findings = load_arm(body, None, "v2v.json")
    assert "ArmSecretAssumed" not in [f.code for f in findings]
    assert [f.code for f in findings if f.severity == "Error"] == ["ArmExpressionError"] * 2


def test_a_stand_in_is_never_cached_for_other_reads():
    """A variable read for a key holds the stand-in; read elsewhere (a subnet name here) it is
    still the missing parameter's error, not the stand-in."""
    body = vnet_to_vnet("[variables('key')]", "[variables('key')]", vpnKey={"type": "secureString"})
    body["variables"] = {"key": "[parameters('vpnKey')]"}
    body["resources"][0]["properties"]["subnets"][0]["name"] = "[variables('key')]"
    fabric, findings = load_arm(body, None, "v2v.json")
    assert "ArmExpressionError" in [f.code for f in findings]
    assert not [n for v in fabric.vnets.values() for n in v.subnet_names if "secret" in n]


def test_a_site_to_site_key_from_a_secure_parameter_is_set():
    """An IPsec connection keyed from a secure parameter has a key (the deployment gives it,
    and the same to the on-premises device): no SharedKeyMissing."""
    fabric, findings = load_arm(SITE_TO_SITE, None, "s2s.json")
    assert "ArmSecretAssumed" in [f.code for f in findings]
    assert not [f for f in findings if f.severity == "Error"]
    assert "SharedKeyMissing" not in [f.code for f in validate(fabric)]


# -- Azure Firewall -------------------------------------------------------------------------------


def hub_with_firewall(firewall_properties: dict, *extra: dict) -> dict:
    private_ip = (
        "[reference(resourceId('Microsoft.Network/azureFirewalls', 'fw'), '2023-09-01')"
        ".ipConfigurations[0].properties.privateIPAddress]"
    )
    return template(
        vnet(
            "hub",
            "10.0.0.0/16",
            ("AzureFirewallSubnet", "10.0.1.0/26"),
            ("workload", "10.0.2.0/24"),
        ),
        {
            "type": "Microsoft.Network/azureFirewalls",
            "apiVersion": "2023-09-01",
            "name": "fw",
            "location": "westeurope",
            "properties": {
                "sku": {"name": "AZFW_VNet", "tier": "Premium"},
                "ipConfigurations": [
                    {
                        "name": "config",
                        "properties": {
                            "subnet": {"id": subnet_id("hub", "AzureFirewallSubnet")},
                            "publicIPAddress": {
                                "id": "[resourceId('Microsoft.Network/publicIPAddresses', 'pip')]"
                            },
                        },
                    }
                ],
                **firewall_properties,
            },
        },
        {
            "type": "Microsoft.Network/routeTables",
            "apiVersion": "2023-09-01",
            "name": "to-firewall",
            "location": "westeurope",
            "properties": {
                "routes": [
                    {
                        "name": "default",
                        "properties": {
                            "addressPrefix": "0.0.0.0/0",
                            "nextHopType": "VirtualAppliance",
                            "nextHopIpAddress": private_ip,
                        },
                    }
                ]
            },
        },
        *extra,
    )


CLASSIC_RULES = {
    "networkRuleCollections": [
        {
            "name": "allow-spokes",
            "properties": {
                "priority": 200,
                "action": {"type": "allow"},
                "rules": [
                    {
                        "name": "web",
                        "protocols": ["tcp"],
                        "sourceAddresses": ["10.1.0.0/16"],
                        "destinationAddresses": ["10.2.0.0/16"],
                        "destinationPorts": ["443"],
                    },
                    {
                        "name": "by-name",
                        "protocols": ["TCP"],
                        "sourceAddresses": ["10.1.0.0/16"],
                        "destinationFqdns": ["example.com"],
                        "destinationPorts": ["443"],
                    },
                ],
            },
        }
    ],
    "applicationRuleCollections": [{"name": "apps", "properties": {"priority": 300}}],
}


def test_udr_to_the_firewall_private_ip_resolves_to_the_derived_address():
    fabric, findings = load_arm(hub_with_firewall(CLASSIC_RULES), None, "hub.json")
    (route,) = fabric.route_tables["to-firewall"].routes
    assert route.next_hop_ip_address == "10.0.1.4"
    (derived,) = [f for f in findings if f.code == "ArmValueDerived"]
    assert derived.severity == "Warning"
    assert "routes[0].properties.nextHopIpAddress" in derived.message
    assert "10.0.1.4" in derived.message
    assert "N11.5" in derived.message
    firewall = fabric.firewalls["fw"]
    assert (firewall.vnet, firewall.sku_tier, firewall.private_ip) == ("hub", "Premium", None)
    (collection,) = firewall.network_rule_collections
    assert (collection.name, collection.priority, collection.action) == (
        "allow-spokes",
        200,
        "Allow",
    )
    (rule,) = collection.rules  # the FQDN rule cannot be evaluated: left out, said so
    assert (rule.protocols, rule.destination_ports) == (("TCP",), ("443",))
    notes = [f.message for f in findings if f.code.startswith("FirewallRule")]
    assert any("destination FQDNs" in m for m in notes)
    assert any("application rule collections" in m for m in notes)


def test_a_firewall_policy_in_the_template_gives_its_network_rules():
    policy = {
        "type": "Microsoft.Network/firewallPolicies",
        "apiVersion": "2023-09-01",
        "name": "policy",
        "location": "westeurope",
        "properties": {"threatIntelMode": "Deny"},
        "resources": [
            {
                "type": "ruleCollectionGroups",
                "apiVersion": "2023-09-01",
                "name": "network",
                "dependsOn": ["policy"],
                "properties": {
                    "priority": 200,
                    "ruleCollections": [
                        {
                            "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
                            "name": "spokes",
                            "priority": 100,
                            "action": {"type": "Allow"},
                            "rules": [
                                {
                                    "ruleType": "NetworkRule",
                                    "name": "dns",
                                    "ipProtocols": ["UDP"],
                                    "sourceAddresses": ["*"],
                                    "destinationAddresses": ["*"],
                                    "destinationPorts": ["53"],
                                },
                                {"ruleType": "ApplicationRule", "name": "web"},
                            ],
                        },
                        {"ruleCollectionType": "FirewallPolicyNatRuleCollection", "name": "dnat"},
                    ],
                },
            }
        ],
    }
    properties = {
        "firewallPolicy": {"id": "[resourceId('Microsoft.Network/firewallPolicies', 'policy')]"}
    }
    fabric, findings = load_arm(hub_with_firewall(properties, policy), None, "hub.json")
    firewall = fabric.firewalls["fw"]
    assert (firewall.firewall_policy, firewall.threat_intel_mode) == ("policy", "Deny")
    (collection,) = firewall.network_rule_collections
    assert collection.name == "network/spokes"
    assert [r.name for r in collection.rules] == ["dns"]
    assert len([f for f in findings if f.code == "FirewallRulesNotModelled"]) == 2


def test_a_firewall_policy_defined_elsewhere_leaves_the_rules_unknown():
    properties = {
        "firewallPolicy": {
            "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/"
            "firewallPolicies/central"
        }
    }
    fabric, findings = load_arm(hub_with_firewall(properties), None, "hub.json")
    assert fabric.firewalls["fw"].network_rule_collections is None
    (unknown,) = [f for f in findings if f.code == "FirewallRulesUnknown"]
    assert "central" in unknown.message


def test_the_derived_firewall_address_is_the_udr_next_hop_in_the_control_plane():
    body = hub_with_firewall(CLASSIC_RULES)
    body["resources"][0]["properties"]["subnets"][1]["properties"]["routeTable"] = {
        "id": "[resourceId('Microsoft.Network/routeTables', 'to-firewall')]"
    }
    body["resources"].append(
        {
            "type": "Microsoft.Network/networkInterfaces",
            "name": "vm-nic",
            "location": "westeurope",
            "properties": {
                "ipConfigurations": [
                    {
                        "name": "ip",
                        "properties": {"subnet": {"id": subnet_id("hub", "workload")}},
                    }
                ]
            },
        }
    )
    fabric, _ = load_arm(body, None, "hub.json")
    route = next_hop(ControlPlane(fabric), "10.0.2.4", "8.8.8.8").route
    assert route.next_hop_ip_address == ("10.0.1.4",)


# -- gateways, ASGs, Route Server, service endpoints ----------------------------------------------


def gateway(name: str, vnet_name: str, **properties) -> dict:
    return {
        "type": "Microsoft.Network/virtualNetworkGateways",
        "name": name,
        "location": "westeurope",
        "properties": {
            "ipConfigurations": [
                {
                    "name": "c",
                    "properties": {"subnet": {"id": subnet_id(vnet_name, "GatewaySubnet")}},
                }
            ],
            **properties,
        },
    }


def test_expressroute_and_legacy_sku_gateways_are_kept():
    body = template(
        vnet("a", "10.0.0.0/16", ("GatewaySubnet", "10.0.0.0/27")),
        vnet("b", "10.1.0.0/16", ("GatewaySubnet", "10.1.0.0/27")),
        gateway("er", "a", gatewayType="ExpressRoute", sku={"name": "HighPerformance"}),
        gateway("vpn", "b", gatewayType="vpn", sku={"name": "Standard"}, activeActive="false"),
    )
    fabric, findings = load_arm(body, None, "gw.json")
    assert findings == []
    assert (fabric.gateways["er"].gateway_type, fabric.gateways["er"].sku) == (
        "ExpressRoute",
        "HighPerformance",
    )
    assert (fabric.gateways["vpn"].gateway_type, fabric.gateways["vpn"].sku) == ("Vpn", "Standard")


ASG_ID = "[resourceId('Microsoft.Network/applicationSecurityGroups', '{}')]"


def asg_template(rule_extra: dict | None = None) -> dict:
    rule = {
        "priority": 110,
        "direction": "Inbound",
        "access": "Allow",
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationPortRange": "1433",
        "sourceApplicationSecurityGroups": [{"id": ASG_ID.format("AsgLogic")}],
        "destinationApplicationSecurityGroups": [{"id": ASG_ID.format("AsgDb")}],
        **(rule_extra or {}),
    }
    return template(
        *[
            {
                "type": "Microsoft.Network/applicationSecurityGroups",
                "name": n,
                "location": "westeurope",
                "properties": {},
            }
            for n in ("AsgLogic", "AsgDb")
        ],
        vnet("app", "10.0.0.0/16", ("db", "10.0.1.0/24")),
        {
            "type": "Microsoft.Network/networkSecurityGroups",
            "name": "nsg1",
            "location": "westeurope",
            "properties": {"securityRules": [{"name": "logic-to-db", "properties": rule}]},
        },
        {
            "type": "Microsoft.Network/networkInterfaces",
            "name": "db-nic",
            "location": "westeurope",
            "properties": {
                "enableAcceleratedNetworking": "true",
                "ipConfigurations": [
                    {
                        "name": "ip",
                        "properties": {
                            "subnet": {"id": subnet_id("app", "db")},
                            "applicationSecurityGroups": [{"id": ASG_ID.format("AsgDb")}],
                        },
                    }
                ],
            },
        },
    )


def test_asg_rules_name_their_groups_instead_of_matching_everything():
    fabric, findings = load_arm(asg_template(), None, "asg.json")
    assert findings == []
    assert set(fabric.application_security_groups) == {"AsgLogic", "AsgDb"}
    (rule,) = fabric.nsgs["nsg1"].security_rules
    assert rule.source_application_security_groups == ("AsgLogic",)
    assert rule.destination_application_security_groups == ("AsgDb",)
    (host,) = fabric.vnets["app"].hosts
    assert host.application_security_groups == ("AsgDb",)
    assert host.accelerated_networking is True
    assert host.vm_size is None  # a NIC does not say its VM's size


def test_a_rule_side_with_both_prefixes_and_asgs_is_an_error():
    fabric, findings = load_arm(
        asg_template({"sourceAddressPrefix": "10.0.0.0/8"}), None, "asg.json"
    )
    (finding,) = findings
    assert "exactly one of them" in finding.message
    assert fabric.nsgs["nsg1"].security_rules == ()


def test_route_server_from_virtual_hub_and_its_children():
    hub_id = "[resourceId('Microsoft.Network/virtualHubs', 'rs')]"
    body = template(
        vnet("hub", "10.5.0.0/16", ("RouteServerSubnet", "10.5.10.0/27")),
        {
            "type": "Microsoft.Network/virtualHubs",
            "name": "rs",
            "location": "westeurope",
            "properties": {"sku": "Standard", "allowBranchToBranchTraffic": "true"},
        },
        {
            "type": "Microsoft.Network/virtualHubs/ipConfigurations",
            "name": "rs/ipconfig1",
            "dependsOn": [hub_id],
            "properties": {"subnet": {"id": subnet_id("hub", "RouteServerSubnet")}},
        },
        {
            "type": "Microsoft.Network/virtualHubs/bgpConnections",
            "name": "rs/nva1",
            "dependsOn": [hub_id],
            "properties": {"peerIp": "10.5.1.4", "peerAsn": "65001"},
        },
    )
    fabric, findings = load_arm(body, None, "rs.json")
    assert findings == []
    server = fabric.route_servers["rs"]
    assert (server.vnet, server.allow_branch_to_branch_traffic) == ("hub", True)
    (peer,) = server.bgp_connections
    assert (peer.name, peer.peer_ip, peer.peer_asn) == ("nva1", "10.5.1.4", 65001)


def test_subnet_service_endpoints():
    subnet = {
        "addressPrefix": "10.0.1.0/24",
        "serviceEndpoints": [
            {"service": "Microsoft.Storage", "locations": ["westeurope"]},
            {"service": "Microsoft.Sql"},
        ],
    }
    body = template(
        vnet("a", "10.0.0.0/16")
        | {
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [{"name": "s", "properties": subnet}],
            }
        }
    )
    fabric, _ = load_arm(body, None, "se.json")
    assert fabric.vnets["a"].subnet("s").service_endpoints == ("Microsoft.Storage", "Microsoft.Sql")


@pytest.mark.parametrize(
    "kind",
    [
        "Microsoft.Network/applicationGateways",
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Network/publicIPAddresses",
    ],
)
def test_unmodelled_resources_say_so(kind):
    _, findings = load_arm(template({"type": kind, "name": "x", "properties": {}}), None, "t.json")
    (finding,) = findings
    assert finding.code == "ResourceNotModelled"
    assert kind in finding.message


# -- random templates: findings, never a traceback -----------------------------------------------

EXPRESSIONS = st.sampled_from(
    [
        "[parameters('p')]",
        "[variables('v')]",
        "[copyIndex()]",
        "[reference('x').properties.y]",
        "[resourceId('Microsoft.Network/virtualNetworks', 'v')]",
        "[concat('10.', copyIndex(), '.0.0/16')]",
        "[if(parameters('p'), 'a', 'b')]",
        "[json('{\"a\": [1]}')]",
        "[[literal]",
        "[cidrSubnet('10.0.0.0/16', 24, copyIndex())]",
        "[map(range(0, 3), lambda('i', lambdaVariables('i')))]",
        "[variables('v')[0]]",
        "[padLeft('', 99999999)]",
        "[",
        "true",
        "False",
    ]
)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 900) | EXPRESSIONS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "properties",
                    "addressPrefix",
                    "subnets",
                    "count",
                    "copy",
                    "input",
                    "template",
                    "expressionEvaluationOptions",
                    "scope",
                    "parameters",
                    "value",
                    "remoteVirtualNetwork",
                    "id",
                    "enableBgp",
                    "ipConfigurations",
                    "subnet",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=15,
)
TYPES = st.sampled_from(
    [
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        "Microsoft.Network/azureFirewalls",
        "Microsoft.Network/connections",
        "Microsoft.Network/localNetworkGateways",
        "Microsoft.Resources/deployments",
        "Microsoft.Network/virtualHubs",
        "Microsoft.Compute/virtualMachines",
    ]
)


@st.composite
def random_templates(draw) -> dict:
    resources = []
    for i in range(draw(st.integers(0, 4))):
        raw = {"type": draw(TYPES), "name": draw(EXPRESSIONS | st.just(f"r{i}"))}
        for key in ("properties", "copy", "condition", "location", "resources"):
            if draw(st.booleans()):
                raw[key] = draw(VALUES)
        resources.append(raw)
    return {
        "parameters": {
            "p": draw(
                st.sampled_from([{"type": "bool"}, {"type": "string", "defaultValue": "x"}, {}])
            )
        },
        "variables": {"v": draw(VALUES)},
        "resources": resources,
    }


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(random_templates(), st.sampled_from([None, {"parameters": {"p": {"value": "true"}}}]))
def test_random_templates_give_findings_never_a_traceback(body, parameters):
    fabric, findings = load_arm(body, parameters, "random.json")
    assert all(f.message for f in findings)
    validate(fabric)


# -- what the importers build round-trips through native YAML -------------------------------------


def route_server_template() -> dict:
    return template(
        vnet("hub", "10.5.0.0/16", ("RouteServerSubnet", "10.5.10.0/27")),
        {"type": "Microsoft.Network/virtualHubs", "name": "rs", "properties": {}},
        {
            "type": "Microsoft.Network/virtualHubs/ipConfigurations",
            "name": "rs/c",
            "properties": {"subnet": {"id": subnet_id("hub", "RouteServerSubnet")}},
        },
        {
            "type": "Microsoft.Network/virtualHubs/bgpConnections",
            "name": "rs/nva",
            "properties": {"peerIp": "10.5.1.4", "peerAsn": 65001},
        },
    )


@pytest.mark.parametrize(
    ("body", "parameters"),
    [
        pytest.param(SITE_TO_SITE, {"parameters": {"sharedKey": {"value": "k"}}}, id="s2s"),
        pytest.param(hub_with_firewall(CLASSIC_RULES), None, id="firewall"),
        pytest.param(route_server_template(), None, id="route-server"),
        pytest.param(asg_template(), None, id="asg"),
    ],
)
def test_imported_records_round_trip_through_native_yaml(tmp_path, body, parameters):
    fabric, _ = load_arm(body, parameters, "t.json")
    path = tmp_path / "imported.yaml"
    path.write_text(to_yaml(NativeDocument(fabric)))
    assert load_topology(path).fabric == fabric


def test_the_assumed_resource_group_region_is_said_when_it_meets_another_region():
    here = vnet("here", "10.1.0.0/16") | {"location": "[resourceGroup().location]"}
    there = vnet("there", "10.2.0.0/16") | {"location": "eastus"}
    _, findings = load_arm(template(here, there), None, "t.json")
    assert [f.code for f in findings] == ["ResourceGroupLocationAssumed"]
    assert "westeurope" in findings[0].message
    _, alone = load_arm(template(here), None, "t.json")
    assert alone == []  # one region: the assumption decides nothing


def test_names_are_case_insensitive_and_keep_their_declared_spelling():
    """Azure names are case-insensitive: a peering of 'hub' to 'Spoke' declared as HUB and
    spoke, and a subnet referenced as 'APP', are the declared resources."""
    remote = {"id": "[resourceId('Microsoft.Network/virtualNetworks', 'Spoke')]"}
    back = {"id": "[resourceId('Microsoft.Network/virtualNetworks', 'hub')]"}
    table = {
        "type": "Microsoft.Network/routeTables",
        "name": "RT",
        "location": "westeurope",
        "properties": {"routes": []},
    }
    hub = vnet(
        "HUB",
        "10.0.0.0/16",
        virtualNetworkPeerings=[
            {"name": "to-spoke", "properties": {"remoteVirtualNetwork": remote}}
        ],
        subnets=[
            {
                "name": "app",
                "properties": {
                    "addressPrefix": "10.0.1.0/24",
                    "routeTable": {"id": "[resourceId('Microsoft.Network/routeTables', 'rt')]"},
                },
            }
        ],
    )
    spoke = vnet(
        "spoke",
        "10.1.0.0/16",
        virtualNetworkPeerings=[{"name": "to-hub", "properties": {"remoteVirtualNetwork": back}}],
    )
    fabric, findings = load_arm(template(table, hub, spoke), None, "t.json")
    assert findings == []
    assert sorted(fabric.vnets) == ["HUB", "spoke"]
    assert fabric.peerings[("HUB", "to-spoke")].remote_vnet == "spoke"
    assert fabric.peerings[("spoke", "to-hub")].remote_vnet == "HUB"
    assert fabric.vnets["HUB"].subnet("app").route_table == "RT"


def test_nullable_parameters_and_null_values_take_their_defaults():
    """languageVersion 2.0: an unset nullable parameter is null, and a null given for a
    parameter with a default takes the default (how Bicep modules pass optional values)."""
    parameters = {
        "name": {"type": "string"},
        "dnsServers": {"type": "array", "nullable": True},
        "enableVm": {"type": "bool", "defaultValue": False},
        "peeringName": {
            "type": "string",
            "defaultValue": "[format('peer-{0}', parameters('name'))]",
        },
    }
    body = template(
        vnet("[parameters('name')]", "10.0.0.0/16")
        | {
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "dhcpOptions": "[if(empty(parameters('dnsServers')), null(), "
                "createObject('dnsServers', parameters('dnsServers')))]",
                "enableVmProtection": "[parameters('enableVm')]",
                "virtualNetworkPeerings": [
                    {
                        "name": "[parameters('peeringName')]",
                        "properties": {
                            "remoteVirtualNetwork": {
                                "id": "[resourceId('Microsoft.Network/virtualNetworks', 'b')]"
                            }
                        },
                    }
                ],
            }
        },
        parameters=parameters,
    )
    supplied = {
        "parameters": {
            "name": {"value": "a"},
            "enableVm": {"value": None},
            "peeringName": {"value": None},
        }
    }
    fabric, findings = load_arm(body, supplied, "t.json")
    assert [f.code for f in findings] == ["VnetNotInInput"]  # b: the peering's far side
    assert ("a", "peer-a") in fabric.peerings


def test_an_nsg_named_by_id_but_not_in_the_input_is_left_out_with_a_warning():
    nsg_id = (
        "/subscriptions/1/resourceGroups/other/providers/Microsoft.Network/networkSecurityGroups/x"
    )
    body = template(
        vnet("a", "10.0.0.0/16")
        | {
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [
                    {
                        "name": "s",
                        "properties": {
                            "addressPrefix": "10.0.1.0/24",
                            "networkSecurityGroup": {"id": nsg_id},
                        },
                    }
                ],
            }
        }
    )
    fabric, findings = load_arm(body, None, "t.json")
    assert [(f.code, f.severity) for f in findings] == [("ReferencedResourceNotInInput", "Warning")]
    assert fabric.vnets["a"].subnet("s").nsg is None


WEB_NIC_ID = "[resourceId('Microsoft.Network/networkInterfaces', 'web-nic')]"


def _web_nic() -> dict:
    """NIC web-nic in subnet a/s (dynamic address)."""
    subnet_id = "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'a', 's')]"
    return {
        "type": "Microsoft.Network/networkInterfaces",
        "name": "web-nic",
        "location": "westeurope",
        "properties": {
            "ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": subnet_id}}}]
        },
    }


def test_a_vm_gives_its_nics_its_size():
    """N3.1: a VM's size caps the egress of its NICs; the template's VM names both."""
    nic_id, nic = WEB_NIC_ID, _web_nic()
    vm = {
        "type": "Microsoft.Compute/virtualMachines",
        "name": "web",
        "location": "westeurope",
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_D8s_v5"},
            "networkProfile": {"networkInterfaces": [{"id": nic_id}]},
        },
    }
    fabric, findings = load_arm(
        template(vnet("a", "10.0.0.0/16", ("s", "10.0.1.0/24")), nic, vm), None, "t.json"
    )
    (host,) = fabric.vnets["a"].hosts
    assert (host.name, host.vm, host.vm_size) == ("web-nic", "web", "Standard_D8s_v5")
    assert [f.code for f in findings] == ["ResourceNotModelled"]  # the rest of the VM
    assert "read only for its size" in findings[0].message


def test_a_vms_credentials_need_no_value_offline():
    """A VM is read for its size and NICs only: its admin password (a secure parameter, never
    in a parameters file) and user name being unset is no error, so questions about the
    template are answered; a missing size still is one (it caps the NICs)."""
    nic_id, nic = WEB_NIC_ID, _web_nic()

    def vm(size: str) -> dict:
        return {
            "type": "Microsoft.Compute/virtualMachines",
            "name": "web",
            "location": "westeurope",
            "properties": {
                "hardwareProfile": {"vmSize": size},
                "osProfile": {
                    "computerName": "web",
                    "adminUsername": "[parameters('adminUsername')]",
                    "adminPassword": "[parameters('adminPassword')]",
                },
                "networkProfile": {"networkInterfaces": [{"id": nic_id}]},
            },
        }

    parameters = {"adminUsername": {"type": "string"}, "adminPassword": {"type": "securestring"},
                  "size": {"type": "string"}}  # fmt: skip
    body = template(
        vnet("a", "10.0.0.0/16", ("s", "10.0.1.0/24")), nic, vm("Standard_D8s_v5"),
        parameters=parameters,
    )  # fmt: skip
    fabric, findings = load_arm(body, None, "t.json")
    assert [f.code for f in findings if f.severity == "Error"] == []
    (host,) = fabric.vnets["a"].hosts
    assert host.vm_size == "Standard_D8s_v5"
    sized = template(
        vnet("a", "10.0.0.0/16", ("s", "10.0.1.0/24")), nic, vm("[parameters('size')]"),
        parameters=parameters,
    )  # fmt: skip
    _, findings = load_arm(sized, None, "t.json")
    (problem,) = [f for f in findings if f.severity == "Error"]
    assert "hardwareProfile.vmSize" in problem.message


def test_a_nics_public_ip_is_not_read_so_its_unset_name_is_no_error():
    """The NIC's private side is what the model reads; a public IP named from a DNS-label
    parameter with no value offline (as Azure's UDR appliance quickstart does) is left out
    without a finding, and the NIC is still placed."""
    nic = _web_nic()
    public_ip = "[resourceId('Microsoft.Network/publicIPAddresses', parameters('dnsPrefix'))]"
    nic["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"] = {"id": public_ip}
    body = template(
        vnet("a", "10.0.0.0/16", ("s", "10.0.1.0/24")),
        nic,
        parameters={"dnsPrefix": {"type": "string"}},
    )
    fabric, findings = load_arm(body, None, "t.json")
    assert [f.code for f in findings] == ["ArmMissingParameter"]  # on the parameter itself
    assert [h.name for h in fabric.vnets["a"].hosts] == ["web-nic"]


def test_names_are_case_insensitive_within_their_parent_only():
    """Two VNets with a subnet spelt 'default' and 'Default': each keeps its own spelling, and
    a NIC in the second finds its subnet."""
    subnet_id = "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'b', 'Default')]"
    nic = {
        "type": "Microsoft.Network/networkInterfaces",
        "name": "nic",
        "location": "westeurope",
        "properties": {
            "ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": subnet_id}}}]
        },
    }
    body = template(
        vnet("a", "10.0.0.0/16", ("default", "10.0.1.0/24")),
        vnet("b", "10.1.0.0/16", ("Default", "10.1.1.0/24")),
        nic,
    )
    fabric, findings = load_arm(body, None, "t.json")
    assert findings == []
    assert fabric.vnets["b"].subnet_names == ("Default",)
    assert [h.subnet for h in fabric.vnets["b"].hosts] == ["Default"]


def test_a_null_for_a_required_parameter_is_refused():
    body = template(
        vnet("[parameters('name')]", "10.0.0.0/16"), parameters={"name": {"type": "string"}}
    )
    _, findings = load_arm(body, {"parameters": {"name": {"value": None}}}, "t.json")
    assert any(f.code == "InvalidTemplate" and "null" in f.message for f in findings)
