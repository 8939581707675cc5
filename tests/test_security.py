"""The security-group chain, rule by rule: internet -> ALB -> app -> database, admin -> bastion -> Ansible -> app."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_app
from infra.config.specs import ServiceKind
from tests.conftest import ROOT, Synth, by_path, resources

ENVS = ("dev", "prod")
GROUPS = ("alb", "bastion", "ansible", "app", "database")
INGRESS = "aws_vpc_security_group_ingress_rule"
EGRESS = "aws_vpc_security_group_egress_rule"
ANYWHERE = "0.0.0.0/0"


def sg(stack: dict[str, Any], group: str) -> str:
    """The `${aws_security_group.<id>.id}` reference of one platform group."""
    (logical_id,) = [
        k for k, v in resources(stack, "aws_security_group").items() if v["//"]["metadata"]["path"].endswith(f"/security/{group}")
    ]
    return f"${{aws_security_group.{logical_id}.id}}"


def expected_rules(env_name: str) -> dict[str, tuple[str, str, int, str, str]]:
    """construct id -> (type, group, port, "cidr"|"sg", source or destination), from the configuration."""
    app = load_app(ROOT, environments=[env_name])
    env = app.environments[0]
    services = app.services[env_name]
    web = [s for s in services if s.route is not None]
    backends = [s for s in services if s.kind is ServiceKind.BACKEND]
    assert web and backends, "the sample configuration has web and backend services"
    rules = {
        "alb-in-http": (INGRESS, "alb", 80, "cidr", ANYWHERE),
        "alb-in-https": (INGRESS, "alb", 443, "cidr", ANYWHERE),
        "bastion-in-ssh": (INGRESS, "bastion", 22, "cidr", str(env.network.admin_cidr)),
        "bastion-out-ssh-ansible": (EGRESS, "bastion", 22, "sg", "ansible"),
        "bastion-out-https": (EGRESS, "bastion", 443, "cidr", ANYWHERE),
        "ansible-in-ssh": (INGRESS, "ansible", 22, "sg", "bastion"),
        "ansible-out-ssh-app": (EGRESS, "ansible", 22, "sg", "app"),
        "ansible-out-https": (EGRESS, "ansible", 443, "cidr", ANYWHERE),
        "app-in-ssh-ansible": (INGRESS, "app", 22, "sg", "ansible"),
        "app-out-https": (EGRESS, "app", 443, "cidr", ANYWHERE),
        "app-out-mysql": (EGRESS, "app", 3306, "sg", "database"),
        "database-in-mysql": (INGRESS, "database", 3306, "sg", "app"),
    }
    for s in web:
        rules[f"alb-out-{s.port}"] = (EGRESS, "alb", s.port, "sg", "app")
        rules[f"app-in-{s.port}-alb"] = (INGRESS, "app", s.port, "sg", "alb")
    for s in backends:
        rules[f"app-in-{s.port}-app"] = (INGRESS, "app", s.port, "sg", "app")
        rules[f"app-out-{s.port}-app"] = (EGRESS, "app", s.port, "sg", "app")
    return rules


def rule_paths(stack: dict[str, Any]) -> dict[str, str]:
    """construct id -> resource type, for every rule of the platform's security construct."""
    found = {}
    for type_ in (INGRESS, EGRESS):
        for rule in resources(stack, type_).values():
            path = rule["//"]["metadata"]["path"]
            if "/security/" in path:
                found[path.rsplit("/", 1)[1]] = type_
    return found


@pytest.mark.parametrize("env", ENVS)
def test_the_chain_has_exactly_the_expected_rules(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    expected = expected_rules(env)
    assert rule_paths(stack) == {id_: rule[0] for id_, rule in expected.items()}


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("rule_id", sorted(expected_rules("dev")))
def test_each_rule_has_exact_group_port_and_peer(synth: Synth, env: str, rule_id: str) -> None:
    stack = synth.stack(f"{env}-platform")
    type_, group, port, kind, peer = expected_rules(env)[rule_id]
    rule = by_path(stack, type_, f"/security/{rule_id}")
    assert rule["security_group_id"] == sg(stack, group)
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", port, port)
    if kind == "cidr":
        assert rule["cidr_ipv4"] == peer
        assert "referenced_security_group_id" not in rule
    else:
        assert rule["referenced_security_group_id"] == sg(stack, peer)
        assert "cidr_ipv4" not in rule
    assert len(rule["description"]) > 10


@pytest.mark.parametrize("env", ENVS)
def test_nothing_is_open_to_the_internet_but_alb_listeners_and_https_egress(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    open_ingress = sorted(
        (r["security_group_id"], r["from_port"]) for r in resources(stack, INGRESS).values() if r.get("cidr_ipv4") == ANYWHERE
    )
    assert open_ingress == sorted([(sg(stack, "alb"), 80), (sg(stack, "alb"), 443)])
    open_egress = [r for r in resources(stack, EGRESS).values() if r.get("cidr_ipv4") == ANYWHERE]
    assert {(r["from_port"], r["to_port"]) for r in open_egress} == {(443, 443)}
    assert sorted(r["security_group_id"] for r in open_egress) == sorted(sg(stack, g) for g in ("app", "bastion", "ansible"))
    for r in [*resources(stack, INGRESS).values(), *resources(stack, EGRESS).values()]:
        assert r["ip_protocol"] != "-1" and "cidr_ipv6" not in r


@pytest.mark.parametrize("env", ENVS)
def test_groups_are_named_after_the_environment_and_have_no_inline_rules(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    for group in GROUPS:
        resource = by_path(stack, "aws_security_group", f"/security/{group}")
        assert resource["name"] == f"{env}-{group}"
        assert resource["vpc_id"].startswith("${aws_vpc.")
        assert resource["description"]
        assert "ingress" not in resource and "egress" not in resource


@pytest.mark.parametrize("env", ENVS)
def test_database_has_no_egress_and_only_mysql_from_the_app(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    database = sg(stack, "database")
    assert not [r for r in resources(stack, EGRESS).values() if r["security_group_id"] == database]
    ingress = [r for r in resources(stack, INGRESS).values() if r["security_group_id"] == database]
    assert [(r["from_port"], r["referenced_security_group_id"]) for r in ingress] == [(3306, sg(stack, "app"))]


def test_services_sharing_a_port_share_one_rule_keyed_by_the_port(tmp_path: Path) -> None:
    from cdktf import App

    from infra.stacks import PlatformStack

    app_spec = load_app(ROOT, environments=["dev"])
    env = app_spec.environments[0]
    services = app_spec.services["dev"]
    (web,) = [s for s in services if s.name == "web"]
    (api,) = [s for s in services if s.name == "api"]
    # "shop" shares the web port; "auth" is a second backend on its own port.
    shop = dataclasses.replace(web, name="shop")
    auth = dataclasses.replace(api, name="auth", port=9000)
    app = App(outdir=str(tmp_path))
    PlatformStack(app, "dev-platform", env=env, services=(*services, shop, auth), local=None)
    app.synth()
    stack = json.loads((tmp_path / "stacks" / "dev-platform" / "cdk.tf.json").read_text())
    ids = rule_paths(stack)
    assert sorted(i for i in ids if i.startswith(("alb-out-", "app-in-", "app-out-"))) == sorted(
        [f"alb-out-{web.port}", f"app-in-{web.port}-alb", f"app-in-{api.port}-app", f"app-out-{api.port}-app",
         "app-in-9000-app", "app-out-9000-app", "app-in-ssh-ansible", "app-out-https", "app-out-mysql"]
    )
    shared = by_path(stack, INGRESS, f"/security/app-in-{web.port}-alb")
    assert shared["from_port"] == web.port
    assert by_path(stack, EGRESS, "/security/app-out-9000-app")["from_port"] == 9000
