"""Terraform configurations written in the tests: count and for_each, local and downloaded
modules, variables from every source, data sources and remote modules that cannot be read
offline, and configurations with mistakes, which give findings that name the file, line and
address (never a traceback); bad syntax is an InputError (exit code 2 at the CLI)."""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.checks import validate
from fabric.cli import main
from fabric.io import InputError, load_topology
from fabric.io.terraform import diagnostics as codes
from fabric.io.terraform import parse_var_options

DATA = Path(__file__).resolve().parent / "data" / "terraform"

VNET = """
resource "azurerm_virtual_network" "{name}" {{
  name                = "{name}"
  location            = "westeurope"
  resource_group_name = "rg"
  address_space       = ["{space}"]
}}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def load(root: Path, files: dict[str, str], **options):
    return load_topology(write(root, files), **options)


def load_or_input_error(path: Path):
    """(document, None), or (None, the InputError's message)."""
    try:
        return load_topology(path), None
    except InputError as problem:
        return None, problem.render()


def found(document, code: str) -> list:
    return [f for f in document.findings if f.code == code]


# -- count, for_each, dynamic ------------------------------------------------------------------


def test_count_and_for_each_instances(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": VNET.format(name="hub", space="10.0.0.0/16")
            + """
locals {
  subnets = ["a", "b", "c"]
}

resource "azurerm_subnet" "by_count" {
  count                = length(local.subnets)
  name                 = "count-${local.subnets[count.index]}"
  resource_group_name  = "rg"
  virtual_network_name = azurerm_virtual_network.hub.name
  address_prefixes     = [cidrsubnet("10.0.0.0/16", 8, count.index)]
}

resource "azurerm_subnet" "by_key" {
  for_each             = { x = 10, y = 11 }
  name                 = "each-${each.key}"
  resource_group_name  = "rg"
  virtual_network_name = azurerm_virtual_network.hub.name
  address_prefixes     = [cidrsubnet("10.0.0.0/16", 8, each.value)]
}

resource "azurerm_network_interface" "nic" {
  for_each            = toset(["one", "two"])
  name                = "nic-${each.value}"
  location            = "westeurope"
  resource_group_name = "rg"
  ip_configuration {
    name                          = "ip"
    subnet_id                     = azurerm_subnet.by_count[1].id
    private_ip_address_allocation = "Dynamic"
  }
}
""",
        },
    )
    hub = document.fabric.vnets["hub"]
    assert [(s.name, s.address_prefix) for s in hub.subnets] == [
        ("count-a", "10.0.0.0/24"),
        ("count-b", "10.0.1.0/24"),
        ("count-c", "10.0.2.0/24"),
        ("each-x", "10.0.10.0/24"),
        ("each-y", "10.0.11.0/24"),
    ]
    assert [(h.name, h.subnet, h.ip) for h in hub.hosts] == [
        ("nic-one", "count-b", "10.0.1.4"),
        ("nic-two", "count-b", "10.0.1.5"),
    ]
    assert document.findings == ()


def test_for_each_over_a_list_is_reported_but_read_as_a_set(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": """
resource "azurerm_application_security_group" "g" {
  for_each            = ["web", "db"]
  name                = each.key
  location            = "westeurope"
  resource_group_name = "rg"
}
"""
        },
    )
    assert sorted(document.fabric.application_security_groups) == ["db", "web"]
    (finding,) = found(document, codes.INVALID_CONFIGURATION)
    assert "toset" in finding.message
    assert finding.message.startswith(
        f"{tmp_path / 'main.tf'}:3: azurerm_application_security_group.g"
    )


def test_count_that_is_not_known_offline_leaves_the_resource_out(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": VNET.format(name="hub", space="10.0.0.0/16")
            + """
variable "n" {
  type = number
}

resource "azurerm_application_security_group" "g" {
  count               = var.n
  name                = "g${count.index}"
  location            = "westeurope"
  resource_group_name = "rg"
}
"""
        },
    )
    assert document.fabric.application_security_groups == {}
    assert "hub" in document.fabric.vnets
    assert [f.code for f in document.findings] == [codes.VARIABLE_NOT_SET, codes.UNKNOWN_VALUE]
    assert document.findings[1].resources == ("azurerm_application_security_group.g",)


def test_dynamic_blocks_with_iterator_and_nested_for(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": """
locals {
  rules = [
    { name = "https", port = 443 },
    { name = "dns", port = 53 },
  ]
}

resource "azurerm_network_security_group" "nsg" {
  name                = "nsg"
  location            = "westeurope"
  resource_group_name = "rg"

  dynamic "security_rule" {
    for_each = local.rules
    iterator = r
    content {
      name                       = r.value.name
      priority                   = 100 + r.key * 10
      direction                  = "Inbound"
      access                     = "Allow"
      protocol                   = r.value.port == 53 ? "Udp" : "Tcp"
      source_port_range          = "*"
      destination_port_range     = tostring(r.value.port)
      source_address_prefix      = "*"
      destination_address_prefix = "*"
    }
  }
}
"""
        },
    )
    rules = document.fabric.nsgs["nsg"].security_rules
    assert [(r.name, r.priority, r.protocol, r.destination_port_ranges) for r in rules] == [
        ("https", 100, "Tcp", ("443",)),
        ("dns", 110, "Udp", ("53",)),
    ]


# -- modules -----------------------------------------------------------------------------------

SPOKE = {
    "modules/vnet/variables.tf": """
variable "name" { type = string }
variable "space" { type = string }
variable "subnet_count" {
  type    = number
  default = 1
}
""",
    "modules/vnet/main.tf": """
resource "azurerm_virtual_network" "this" {
  name                = var.name
  location            = "westeurope"
  resource_group_name = "rg"
  address_space       = [var.space]
}

module "subnets" {
  source = "../subnets"
  count  = var.subnet_count
  vnet   = azurerm_virtual_network.this.name
  prefix = cidrsubnet(var.space, 8, count.index)
  name   = "s${count.index}"
}
""",
    "modules/vnet/outputs.tf": """
output "id" { value = azurerm_virtual_network.this.id }
output "subnet_ids" { value = module.subnets[*].id }
""",
    "modules/subnets/main.tf": """
variable "vnet" {}
variable "prefix" {}
variable "name" {}

resource "azurerm_subnet" "this" {
  name                 = var.name
  resource_group_name  = "rg"
  virtual_network_name = var.vnet
  address_prefixes     = [var.prefix]
}

output "id" { value = azurerm_subnet.this.id }
""",
}


def test_local_modules_nested_with_count_for_each_and_outputs(tmp_path):
    document = load(
        tmp_path,
        {
            **SPOKE,
            "main.tf": """
module "spokes" {
  source       = "./modules/vnet"
  for_each     = { a = "10.1.0.0/16", b = "10.2.0.0/16" }
  name         = "spoke-${each.key}"
  space        = each.value
  subnet_count = each.key == "a" ? 2 : 1
}

module "hub" {
  source = "./modules/vnet"
  name   = "hub"
  space  = "10.0.0.0/16"
}

resource "azurerm_virtual_network_peering" "hub_to" {
  for_each                  = module.spokes
  name                      = "hub-to-${each.key}"
  resource_group_name       = "rg"
  virtual_network_name      = "hub"
  remote_virtual_network_id = each.value.id
}

resource "azurerm_network_interface" "nic" {
  name                = "nic"
  location            = "westeurope"
  resource_group_name = "rg"
  ip_configuration {
    name                          = "ip"
    subnet_id                     = module.spokes["a"].subnet_ids[1]
    private_ip_address_allocation = "Dynamic"
  }
}
""",
        },
    )
    fabric = document.fabric
    assert {n: [s.name for s in v.subnets] for n, v in fabric.vnets.items()} == {
        "hub": ["s0"],
        "spoke-a": ["s0", "s1"],
        "spoke-b": ["s0"],
    }
    assert fabric.vnets["spoke-a"].subnet("s1").address_prefix == "10.1.1.0/24"
    assert sorted(p.remote_vnet for p in fabric.peerings.values()) == ["spoke-a", "spoke-b"]
    assert [(h.name, h.subnet, h.ip) for h in fabric.vnets["spoke-a"].hosts] == [
        ("nic", "s1", "10.1.1.4")
    ]
    assert document.findings == ()


def test_module_arguments_are_checked_against_its_variables(tmp_path):
    document = load(
        tmp_path,
        {
            **SPOKE,
            "main.tf": """
module "hub" {
  source = "./modules/vnet"
  nmae   = "hub"
  space  = "10.0.0.0/16"
}
""",
        },
    )
    messages = [f.message for f in found(document, codes.INVALID_CONFIGURATION)]
    assert any("no variable 'nmae' (did you mean 'name'?)" in m for m in messages)
    assert any("variable 'name' of the module" in m and "has no default" in m for m in messages)


def test_remote_module_is_reported_and_the_rest_loads(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": VNET.format(name="hub", space="10.0.0.0/16")
            + """
module "spoke" {
  source  = "Azure/vnet/azurerm"
  version = "4.1.0"
}

resource "azurerm_virtual_network_peering" "hub_to_spoke" {
  name                      = "hub-to-spoke"
  resource_group_name       = "rg"
  virtual_network_name      = azurerm_virtual_network.hub.name
  remote_virtual_network_id = module.spoke.vnet_id
}
""",
        },
    )
    assert "hub" in document.fabric.vnets
    (finding,) = found(document, codes.MODULE_NOT_LOADED)
    assert finding.resources == ("module.spoke",)
    assert "terraform init" in finding.message
    assert "Azure/vnet/azurerm" in finding.message
    invalid = found(document, codes.INVALID_RESOURCE)
    assert invalid[0].resources == ("azurerm_virtual_network_peering.hub_to_spoke",)


def test_modules_downloaded_by_terraform_init_are_read(tmp_path):
    downloaded = ".terraform/modules/spoke"
    write(
        tmp_path,
        {
            f"{downloaded}/variables.tf": SPOKE["modules/vnet/variables.tf"],
            f"{downloaded}/outputs.tf": SPOKE["modules/vnet/outputs.tf"],
            f"{downloaded}/main.tf": SPOKE["modules/vnet/main.tf"].replace(
                "../subnets", "./subnets"
            ),
            f"{downloaded}/subnets/main.tf": SPOKE["modules/subnets/main.tf"],
            ".terraform/modules/modules.json": json.dumps(
                {
                    "Modules": [
                        {"Key": "", "Source": "", "Dir": "."},
                        {
                            "Key": "spoke",
                            "Source": "registry.terraform.io/example/vnet/azurerm",
                            "Version": "1.0.0",
                            "Dir": downloaded,
                        },
                    ]
                }
            ),
            "main.tf": """
module "spoke" {
  source  = "example/vnet/azurerm"
  version = "1.0.0"
  name    = "spoke"
  space   = "10.9.0.0/16"
}
""",
        },
    )
    document = load_topology(tmp_path)
    assert [s.name for s in document.fabric.vnets["spoke"].subnets] == ["s0"]
    assert document.findings == ()


# -- variables -----------------------------------------------------------------------------


def test_variable_precedence_and_types(tmp_path):
    write(
        tmp_path,
        {
            "variables.tf": """
variable "name" {
  type    = string
  default = "from-default"
}
variable "spaces" {
  type    = list(string)
  default = ["10.0.0.0/16"]
}
variable "tags" {
  type = object({ env = string, tier = optional(string, "gold") })
  default = { env = "dev" }
}
""",
            "main.tf": """
resource "azurerm_virtual_network" "v" {
  name                = "${var.name}-${var.tags.tier}"
  location            = "westeurope"
  resource_group_name = "rg"
  address_space       = var.spaces
}
""",
        },
    )
    assert list(load_topology(tmp_path).fabric.vnets) == ["from-default-gold"]
    write(tmp_path, {"terraform.tfvars": 'name = "from-tfvars"\n'})
    assert list(load_topology(tmp_path).fabric.vnets) == ["from-tfvars-gold"]
    write(tmp_path, {"terraform.tfvars.json": json.dumps({"name": "from-json"})})
    write(tmp_path, {"b.auto.tfvars": 'name = "from-b-auto"\n', "a.auto.tfvars": 'name = "a"\n'})
    assert list(load_topology(tmp_path).fabric.vnets) == ["from-b-auto-gold"]
    options = parse_var_options(["name=from-cli", 'spaces=["10.1.0.0/16", "10.2.0.0/16"]'])
    document = load_topology(tmp_path, variables=options)
    (vnet,) = document.fabric.vnets.values()
    assert (vnet.name, vnet.address_prefixes) == ("from-cli-gold", ("10.1.0.0/16", "10.2.0.0/16"))
    python_values = {"name": "py", "tags": {"env": "prod", "tier": "silver"}}
    assert list(load_topology(tmp_path, variables=python_values).fabric.vnets) == ["py-silver"]


def test_var_options_must_be_name_equals_value():
    assert parse_var_options(["a=1", "b=x=y", "c="])["b"].text == "x=y"
    with pytest.raises(InputError, match="is not NAME=VALUE"):
        parse_var_options(["novalue"])


def test_values_of_the_wrong_type_are_findings(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": """
variable "n" { type = number }
variable "o" { type = object({ name = string }) }
locals {
  a = var.n + 1
  b = var.o.name
}
""",
        },
        variables={"n": "ten", "o": {"nmae": "x"}},
    )
    messages = [f.message for f in found(document, codes.INVALID_CONFIGURATION)]
    assert any("var.n: the value does not fit" in m and "number is required" in m for m in messages)
    assert any("attribute 'name' is required (did you mean 'nmae'?)" in m for m in messages)


def test_variables_for_other_formats_are_refused(tmp_path):
    path = write(tmp_path, {"t.yaml": "vnets: []\n"}) / "t.yaml"
    with pytest.raises(InputError, match="Terraform configurations only"):
        load_topology(path, variables={"a": "b"})


# -- what cannot be read offline ---------------------------------------------------------------


def test_data_sources_give_their_id_and_nothing_else(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": VNET.format(name="spoke", space="10.1.0.0/16")
            + """
data "azurerm_virtual_network" "hub" {
  name                = "hub-vnet"
  resource_group_name = "hub-rg"
}

resource "azurerm_virtual_network_peering" "to_hub" {
  name                      = "to-hub"
  resource_group_name       = "rg"
  virtual_network_name      = azurerm_virtual_network.spoke.name
  remote_virtual_network_id = data.azurerm_virtual_network.hub.id
}

resource "azurerm_subnet" "mirror" {
  name                 = "mirror"
  resource_group_name  = "rg"
  virtual_network_name = azurerm_virtual_network.spoke.name
  address_prefixes     = data.azurerm_virtual_network.hub.address_space
}
""",
        },
    )
    fabric = document.fabric
    assert fabric.peerings[("spoke", "to-hub")].remote_vnet == "hub-vnet"
    assert fabric.vnets["hub-vnet"].external
    assert fabric.vnets["spoke"].subnets == ()
    assert {f.code for f in document.findings} == {
        codes.DATA_SOURCE_NOT_READ,
        codes.UNKNOWN_VALUE,
        codes.VNET_NOT_IN_INPUT,
    }
    (data,) = found(document, codes.DATA_SOURCE_NOT_READ)
    assert data.resources == ("data.azurerm_virtual_network.hub",)
    (unknown,) = found(document, codes.UNKNOWN_VALUE)
    assert unknown.resources == ("azurerm_subnet.mirror",)
    assert "data.azurerm_virtual_network.hub.address_space" in unknown.message


def test_non_azurerm_resources_are_one_finding(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": """
resource "random_id" "a" { byte_length = 4 }
resource "random_id" "b" { byte_length = 4 }
resource "tls_private_key" "k" { algorithm = "RSA" }
resource "azurerm_application_gateway" "g" {
  name                = "gateway"
  location            = "westeurope"
  resource_group_name = "rg"
}
"""
        },
    )
    ignored = found(document, codes.PROVIDER_IGNORED)
    assert len(ignored) == 1
    assert "3 resource(s) of provider(s) random, tls" in ignored[0].message
    (gateway,) = found(document, codes.NOT_MODELLED)
    assert gateway.resources == ("azurerm_application_gateway.g",)


# -- mistakes ------------------------------------------------------------------------------


def test_argument_typo_is_named_with_the_likely_fix(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": """
resource "azurerm_virtual_network" "hub" {
  name                = "hub"
  location            = "westeurope"
  resource_group_name = "rg"
  adress_space        = ["10.0.0.0/16"]
}
"""
        },
    )
    (typo,) = found(document, codes.UNKNOWN_ARGUMENT)
    assert typo.message == (
        f"{tmp_path / 'main.tf'}:6: azurerm_virtual_network.hub: azurerm_virtual_network has "
        "no argument 'adress_space' (did you mean 'address_space'?); vnetsim ignored it, and "
        "Terraform would reject it"
    )
    assert document.fabric.vnets["hub"].address_prefixes == ()


def test_reference_typos_are_errors_at_their_line(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": VNET.format(name="hub", space="10.0.0.0/16")
            + """
resource "azurerm_subnet" "a" {
  name                 = "a"
  resource_group_name  = "rg"
  virtual_network_name = azurerm_virtual_network.hubb.name
  address_prefixes     = ["10.0.1.0/24"]
}

resource "azurerm_subnet" "b" {
  name                 = azurerm_virtual_network.hub.nmae
  resource_group_name  = "rg"
  virtual_network_name = "hub"
  address_prefixes     = [local.prefx]
}

locals {
  prefix = "10.0.2.0/24"
}
""",
        },
    )
    errors = [f.message for f in found(document, codes.EXPRESSION_ERROR)]
    main = tmp_path / "main.tf"
    assert errors == [
        f"{main}:12: azurerm_subnet.a: virtual_network_name: there is no "
        "azurerm_virtual_network.hubb in this module (did you mean 'hub'?)",
        f"{main}:17: azurerm_subnet.b: name: azurerm_virtual_network has no attribute 'nmae'; "
        "did you mean 'name'?",
        f"{main}:20: azurerm_subnet.b: address_prefixes: there is no local value named "
        "'prefx' (did you mean 'prefix'?)",
    ]
    assert all(f.severity == "Error" for f in found(document, codes.EXPRESSION_ERROR))
    assert "hub" in document.fabric.vnets


def test_a_cycle_of_locals_is_an_error(tmp_path):
    document = load(tmp_path, {"main.tf": "locals {\n  a = local.b\n  b = local.a\n}\n"})
    assert any("a cycle of references" in f.message for f in document.findings)


def test_bad_syntax_is_an_input_error_with_file_and_line(tmp_path):
    write(tmp_path, {"ok.tf": "locals {}\n", "vnet.tf": 'resource "a" "b" {\n  x = [1, 2\n}\n'})
    with pytest.raises(InputError) as raised:
        load_topology(tmp_path)
    assert raised.value.render() == (
        f"{tmp_path / 'vnet.tf'}:3: not valid HCL: unexpected '}}' (expected ',', ']'); check "
        "that every '{', '[', '(' and '\"' before this point is closed"
    )


def test_cli_exit_codes(tmp_path, capsys):
    assert main(["validate", str(DATA / "hub-spoke")]) == 0
    write(tmp_path, {"main.tf": 'resource "a" "b" {\n'})
    assert main(["validate", str(tmp_path)]) == 2
    assert "not valid HCL" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "empty")]) == 2
    assert main(["import", str(DATA / "hub-spoke")]) == 0
    assert "contoso-hub" in capsys.readouterr().out


def test_a_directory_without_tf_files_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"no \.tf files"):
        load_topology(tmp_path)


# -- property: typos anywhere give findings, never a traceback -------------------------------

_HUB_SPOKE = DATA / "hub-spoke"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.sampled_from(["main.tf", "modules/spoke/main.tf"]))
def test_typos_and_missing_references_give_findings_not_tracebacks(rng: random.Random, name):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "estate"
        shutil.copytree(_HUB_SPOKE, root)
        path = root / name
        text = path.read_text()
        words = list(_IDENTIFIER.finditer(text))
        for _ in range(rng.randint(1, 3)):
            word = rng.choice(words)
            start, end = word.span()
            where = rng.randint(start, end - 1)
            letter = rng.choice("abcdefghijklmnopqrstuvwxyz_")
            edit = rng.choice(["drop", "replace", "insert"])
            if edit == "drop" and end - start > 1:
                text = text[:where] + text[where + 1 :]
            elif edit == "replace":
                text = text[:where] + letter + text[where + 1 :]
            else:
                text = text[:where] + letter + text[where:]
            words = list(_IDENTIFIER.finditer(text))
        path.write_text(text)
        document, rendered = load_or_input_error(root)
        if document is None:  # a keyword typed wrong breaks the syntax: an InputError
            assert rendered.startswith(str(root))  # that names the file (and the line)
            return
        for finding in document.findings:
            assert finding.message
            assert finding.severity in ("Error", "Warning")


_ASSIGNMENT = re.compile(r"^(?P<lead>\s*[a-z_]+\s*=\s*)(?P<value>[^{\[\n][^\n]*)$", re.M)
_VALUES = [
    "null",
    "true",
    "0",
    "-1",
    "65536",
    '""',
    '"x"',
    '"10.0.0.0/33"',
    '"not an address"',
    "[]",
    '["a", 1, null]',
    "{}",
    '{ a = "b" }',
    "[[1]]",
    "var.nope",
    "local.nope",
    "azurerm_subnet.nope.id",
    'cidrsubnet("10.0.0.0/16", 30, 1)',
]


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["main.tf", "modules/spoke/main.tf", "variables.tf", "terraform.tfvars"]),
    st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(_VALUES)), min_size=1, max_size=4),
)
def test_values_of_any_type_anywhere_give_findings_not_tracebacks(name, edits):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "estate"
        shutil.copytree(_HUB_SPOKE, root)
        path = root / name
        text = path.read_text()
        for position, replacement in edits:
            spots = list(_ASSIGNMENT.finditer(text))
            if not spots:
                break
            spot = spots[position % len(spots)]
            text = text[: spot.start("value")] + replacement + text[spot.end("value") :]
        path.write_text(text)
        document, rendered = load_or_input_error(root)
        if document is None:
            assert rendered.startswith(str(root))
            return
        assert all(f.message for f in document.findings)


# -- constructs of published modules (Azure Verified Modules, terraform-azurerm-vnet) ----------


def test_resource_prefixed_references_name_managed_resources(tmp_path):
    """`resource.<type>.<name>` (as AVM modules write outputs) is the managed resource."""
    document = load(
        tmp_path,
        {
            "main.tf": VNET.format(name="hub", space="10.0.0.0/16")
            + """
resource "azurerm_subnet" "app" {
  name                 = "app"
  resource_group_name  = "rg"
  virtual_network_name = resource.azurerm_virtual_network.hub.name
  address_prefixes     = ["10.0.1.0/24"]
}
output "vnet" { value = resource.azurerm_virtual_network.hub.name }
"""
        },
    )
    assert document.fabric.vnets["hub"].subnet_names == ("app",)
    assert [f for f in document.findings if f.severity == "Error"] == []


def test_for_each_over_an_empty_tuple_from_a_conditional_makes_no_instance(tmp_path):
    """`for_each = var.on ? toset(var.names) : []`: Terraform unifies the branches into a set,
    so false gives no instance and no error."""
    files = {
        "main.tf": VNET.format(name="hub", space="10.0.0.0/16")
        + """
variable "on" { default = false }
resource "azurerm_subnet" "each" {
  for_each             = var.on ? toset(["a", "b"]) : []
  name                 = each.value
  resource_group_name  = "rg"
  virtual_network_name = "hub"
  address_prefixes     = [each.value == "a" ? "10.0.1.0/24" : "10.0.2.0/24"]
}
"""
    }
    document = load(tmp_path, files)
    assert document.fabric.vnets["hub"].subnet_names == ()
    assert [f for f in document.findings if f.severity == "Error"] == []
    assert load(tmp_path, files, variables={"on": True}).fabric.vnets["hub"].subnet_names == (
        "a",
        "b",
    )


def test_a_name_with_an_unknown_variable_is_not_checked_for_spelling(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": """
resource "azurerm_network_security_group" "nsg" {
  name                = "${var.prefix}-nsg"
  location            = "westeurope"
  resource_group_name = "rg"
  security_rule {
    name                       = "${var.prefix}-rule"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "22"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}
"""
        },
    )
    from fabric.checks import validate

    codes_found = [f.code for f in [*document.findings, *validate(document.fabric)]]
    assert "InvalidSecurityRuleName" not in codes_found
    assert codes.VARIABLE_NOT_SET in codes_found


def test_azapi_network_resources_load_as_the_arm_resources_they_deploy(tmp_path):
    """Azure Verified Modules declare VNets and subnets with azapi_resource: its type, name,
    parent_id and body are the ARM resource (body an object, or JSON in azapi 1.x)."""
    document = load(
        tmp_path,
        {
            "main.tf": """
resource "azapi_resource" "vnet" {
  type      = "Microsoft.Network/virtualNetworks@2024-07-01"
  name      = "hub"
  parent_id = "/subscriptions/0/resourceGroups/rg"
  location  = "westeurope"
  body      = { properties = { addressSpace = { addressPrefixes = ["10.0.0.0/16"] } } }
}
resource "azapi_resource" "subnet" {
  type      = "Microsoft.Network/virtualNetworks/subnets@2024-07-01"
  name      = "app"
  parent_id = azapi_resource.vnet.id
  body      = jsonencode({ properties = { addressPrefix = "10.0.1.0/24" } })
}
resource "azurerm_subnet" "db" {
  name                 = "db"
  resource_group_name  = "rg"
  virtual_network_name = "hub"
  address_prefixes     = ["10.0.2.0/24"]
}
"""
        },
    )
    hub = document.fabric.vnets["hub"]
    assert hub.address_prefixes == ("10.0.0.0/16",)
    assert hub.region == "westeurope"
    assert sorted(hub.subnet_names) == ["app", "db"]
    assert [f for f in document.findings if f.severity == "Error"] == []


def test_azapi_routes_of_an_azurerm_route_table_join_it(tmp_path):
    document = load(
        tmp_path,
        {
            "main.tf": """
resource "azurerm_route_table" "rt" {
  name                = "rt"
  location            = "westeurope"
  resource_group_name = "rg"
}
resource "azapi_resource" "route" {
  type      = "Microsoft.Network/routeTables/routes@2024-05-01"
  name      = "to-nva"
  parent_id = azurerm_route_table.rt.id
  body = {
    properties = {
      addressPrefix    = "10.1.0.0/24"
      nextHopType      = "VirtualAppliance"
      nextHopIpAddress = "10.0.0.4"
    }
  }
}
"""
        },
    )
    (route,) = document.fabric.route_tables["rt"].routes
    assert (route.name, route.next_hop_type, route.next_hop_ip_address) == (
        "to-nva",
        "VirtualAppliance",
        "10.0.0.4",
    )


def test_an_azurerm_nic_in_an_azapi_subnet_of_an_azurerm_vnet(tmp_path):
    """azapi children of azurerm parents, and azurerm resources in azapi ones, meet before the
    hosts are placed."""
    document = load(tmp_path, {"main.tf": MIXED})
    hub = document.fabric.vnets["hub"]
    assert hub.subnet_names == ("workload",)
    assert [(h.name, h.subnet, h.ip) for h in hub.hosts] == [("vm1-nic", "workload", "10.0.1.4")]
    assert [f for f in document.findings if f.severity == "Error"] == []


def test_an_azapi_nic_in_an_azapi_vnet_is_a_host_of_it(tmp_path):
    """Both declared with azapi_resource: the NIC is read as the ARM resource and placed in the
    VNet (it was dropped when both sides of the merge defined the VNet)."""
    document = load(
        tmp_path,
        {
            "main.tf": """
resource "azapi_resource" "vnet" {
  type      = "Microsoft.Network/virtualNetworks@2024-07-01"
  name      = "hub"
  parent_id = "/subscriptions/0/resourceGroups/rg"
  location  = "westeurope"
  body = {
    properties = {
      addressSpace = { addressPrefixes = ["10.0.0.0/16"] }
      subnets      = [{ name = "app", properties = { addressPrefix = "10.0.1.0/24" } }]
    }
  }
}
resource "azapi_resource" "nic" {
  type      = "Microsoft.Network/networkInterfaces@2024-07-01"
  name      = "nic1"
  parent_id = "/subscriptions/0/resourceGroups/rg"
  location  = "westeurope"
  body = {
    properties = {
      ipConfigurations = [{
        name = "ip"
        properties = {
          privateIPAddress          = "10.0.1.4"
          privateIPAllocationMethod = "Static"
          subnet                    = { id = "${azapi_resource.vnet.id}/subnets/app" }
        }
      }]
    }
  }
}
"""
        },
    )
    hub = document.fabric.vnets["hub"]
    assert [(h.name, h.subnet, h.ip) for h in hub.hosts] == [("nic1", "app", "10.0.1.4")]
    assert [f for f in document.findings if f.severity == "Error"] == []


MIXED = """resource "azurerm_resource_group" "rg" {
  name     = "rg"
  location = "westeurope"
}
resource "azurerm_virtual_network" "hub" {
  name                = "hub"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  address_space       = ["10.0.0.0/16"]
}
resource "azapi_resource" "sn" {
  type      = "Microsoft.Network/virtualNetworks/subnets@2024-07-01"
  name      = "workload"
  parent_id = azurerm_virtual_network.hub.id
  body = {
    properties = {
      addressPrefix = "10.0.1.0/24"
    }
  }
}
resource "azurerm_network_interface" "nic" {
  name                = "vm1-nic"
  location            = "westeurope"
  resource_group_name = "rg"
  ip_configuration {
    name                          = "ip"
    subnet_id                     = azapi_resource.sn.id
    private_ip_address_allocation = "Static"
    private_ip_address            = "10.0.1.4"
  }
}
"""


# -- secrets: a connection's key from a sensitive variable with no value --------------------------

V2V = """
variable "vpn_key" {
  type      = string
  sensitive = true
}
locals { sides = { one = "10.0", two = "10.1" } }
resource "azurerm_virtual_network" "v" {
  for_each            = local.sides
  name                = each.key
  location            = "westeurope"
  resource_group_name = "rg"
  address_space       = ["${each.value}.0.0/16"]
}
resource "azurerm_subnet" "gw" {
  for_each             = local.sides
  name                 = "GatewaySubnet"
  resource_group_name  = "rg"
  virtual_network_name = azurerm_virtual_network.v[each.key].name
  address_prefixes     = ["${each.value}.255.0/27"]
}
resource "azurerm_subnet" "app" {
  for_each             = local.sides
  name                 = "app"
  resource_group_name  = "rg"
  virtual_network_name = azurerm_virtual_network.v[each.key].name
  address_prefixes     = ["${each.value}.1.0/24"]
}
resource "azurerm_virtual_network_gateway" "gw" {
  for_each            = local.sides
  name                = "${each.key}-gw"
  location            = "westeurope"
  resource_group_name = "rg"
  type                = "Vpn"
  vpn_type            = "RouteBased"
  sku                 = "VpnGw1"
  ip_configuration {
    subnet_id            = azurerm_subnet.gw[each.key].id
    public_ip_address_id = "pip"
  }
}
resource "azurerm_virtual_network_gateway_connection" "c" {
  for_each                        = { one = "two", two = "one" }
  name                            = "${each.key}-to-${each.value}"
  location                        = "westeurope"
  resource_group_name             = "rg"
  type                            = "Vnet2Vnet"
  virtual_network_gateway_id      = azurerm_virtual_network_gateway.gw[each.key].id
  peer_virtual_network_gateway_id = azurerm_virtual_network_gateway.gw[each.value].id
  shared_key                      = KEY
}
"""


def test_a_key_from_a_sensitive_variable_without_a_value_connects_both_sides(tmp_path):
    document = load(tmp_path, {"main.tf": V2V.replace("KEY", "var.vpn_key")})
    assumed = found(document, codes.SECRET_ASSUMED)
    assert len(assumed) == 2
    assert all("var.vpn_key" in f.message for f in assumed)
    keys = {c.shared_key for c in document.fabric.connections.values()}
    assert len(keys) == 1
    problems = [f.code for f in validate(document.fabric) if f.code.startswith("SharedKey")]
    assert problems == []


def test_keys_from_two_unknowns_are_taken_as_different(tmp_path):
    text = V2V.replace("KEY", 'each.key == "one" ? var.vpn_key : var.other_key')
    text += 'variable "other_key" {\n  type = string\n}\n'
    document = load(tmp_path, {"main.tf": text})
    problems = [f.code for f in validate(document.fabric) if f.code.startswith("SharedKey")]
    assert problems == ["SharedKeyMismatch", "SharedKeyMismatch"]
    given = load(tmp_path, {"main.tf": text}, variables={"vpn_key": "k", "other_key": "k"})
    assert not [f for f in validate(given.fabric) if f.code.startswith("SharedKey")]


def test_a_key_from_a_random_password_is_one_secret_and_asks_for_no_variable(tmp_path):
    text = V2V.replace("KEY", "random_password.psk.result").replace(
        'variable "vpn_key" {\n  type      = string\n  sensitive = true\n}\n',
        'resource "random_password" "psk" {\n  length = 32\n}\n',
    )
    document = load(tmp_path, {"main.tf": text})
    assumed = found(document, codes.SECRET_ASSUMED)
    assert len(assumed) == 2
    assert not [f for f in assumed if "give the variable" in f.message]
    assert not [f for f in validate(document.fabric) if f.code.startswith("SharedKey")]
