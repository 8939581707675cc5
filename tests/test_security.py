"""The security groups, rule by rule.

The platform's five groups (the original design's chain):
    internet --80/443--> ALB;  admin --22--> bastion --22--> Ansible --22--> app tier;  database
and each service's own group, with the rules its stack adds: ALB -> web port, allow_from
callers -> backend port, service -> database 3306 only with `database = true`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Synth, by_path, resources

ENVS = ("dev", "prod")
SERVICES = ("web", "api", "worker")
GROUPS = ("alb", "bastion", "ansible", "app", "database")
INGRESS = "aws_vpc_security_group_ingress_rule"
EGRESS = "aws_vpc_security_group_egress_rule"
ANYWHERE = "0.0.0.0/0"
REMOTE = "${data.terraform_remote_state.platform.outputs.%s}"
ADMIN_CIDR = {"dev": "203.0.113.0/24", "prod": "198.51.100.0/24"}

# construct id -> (type, group, port, "cidr"|"sg", source or destination)
PLATFORM_RULES: dict[str, tuple[str, str, int, str, str]] = {
    "alb-in-http": (INGRESS, "alb", 80, "cidr", ANYWHERE),
    "alb-in-https": (INGRESS, "alb", 443, "cidr", ANYWHERE),
    "bastion-in-ssh": (INGRESS, "bastion", 22, "cidr", "admin"),
    "bastion-out-ssh-ansible": (EGRESS, "bastion", 22, "sg", "ansible"),
    "bastion-out-https": (EGRESS, "bastion", 443, "cidr", ANYWHERE),
    "ansible-in-ssh": (INGRESS, "ansible", 22, "sg", "bastion"),
    "ansible-out-ssh-app": (EGRESS, "ansible", 22, "sg", "app"),
    "ansible-out-https": (EGRESS, "ansible", 443, "cidr", ANYWHERE),
    "app-in-ssh-ansible": (INGRESS, "app", 22, "sg", "ansible"),
    "app-out-https": (EGRESS, "app", 443, "cidr", ANYWHERE),
}


def sg(stack: dict[str, Any], group: str) -> str:
    """The `${aws_security_group.<id>.id}` reference of one platform group."""
    (logical_id,) = [
        k for k, v in resources(stack, "aws_security_group").items() if v["//"]["metadata"]["path"].endswith(f"/security/{group}")
    ]
    return f"${{aws_security_group.{logical_id}.id}}"


def rule_ids(stack: dict[str, Any], marker: str) -> dict[str, str]:
    """construct id -> resource type, for every rule under a construct path containing `marker`."""
    found = {}
    for type_ in (INGRESS, EGRESS):
        for rule in resources(stack, type_).values():
            path = rule["//"]["metadata"]["path"]
            if marker in path:
                found[path.rsplit("/", 1)[1]] = type_
    return found


def service_rules(stack: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    """(type, group, port, peer) of every rule in a service stack; the service's own group is "self",
    the stack's other groups (its own file systems' mount targets) and its callers' go by name."""
    groups = resources(stack, "aws_security_group")
    (own_id,) = [k for k, v in groups.items() if v["name"].endswith("-tasks")]
    own = f"${{aws_security_group.{own_id}.id}}"
    callers = {f"${{data.aws_security_group.{k}.id}}": v["name"] for k, v in stack.get("data", {}).get("aws_security_group", {}).items()}
    callers.update({f"${{aws_security_group.{k}.id}}": v["name"] for k, v in groups.items() if k != own_id})

    def name(value: str) -> str:
        if value == own:
            return "self"
        if value in callers:
            return callers[value]
        return value.removeprefix("${data.terraform_remote_state.platform.outputs.").removesuffix("}")

    found = []
    for type_ in (INGRESS, EGRESS):
        for rule in resources(stack, type_).values():
            assert (rule["ip_protocol"], rule["from_port"]) == ("tcp", rule["to_port"])
            peer = rule.get("cidr_ipv4") or name(rule["referenced_security_group_id"])
            found.append((type_, name(rule["security_group_id"]), rule["from_port"], peer))
    return sorted(found)


# --- the platform's chain ------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_the_platform_chain_has_exactly_the_five_groups_rules(synth: Synth, env: str) -> None:
    # prod has the test listener of blue/green deployments, open to the admin network (test_blue_green.py).
    test_listener = {"alb-in-test": INGRESS} if env == "prod" else {}
    assert rule_ids(synth.stack(f"{env}-platform"), "/security/") == {k: v[0] for k, v in PLATFORM_RULES.items()} | test_listener


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("rule_id", sorted(PLATFORM_RULES))
def test_each_platform_rule_has_exact_group_port_and_peer(synth: Synth, env: str, rule_id: str) -> None:
    stack = synth.stack(f"{env}-platform")
    type_, group, port, kind, peer = PLATFORM_RULES[rule_id]
    rule = by_path(stack, type_, f"/security/{rule_id}")
    assert rule["security_group_id"] == sg(stack, group)
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", port, port)
    if kind == "cidr":
        assert rule["cidr_ipv4"] == (ADMIN_CIDR[env] if peer == "admin" else peer)
        assert "referenced_security_group_id" not in rule
    else:
        assert rule["referenced_security_group_id"] == sg(stack, peer)
        assert "cidr_ipv4" not in rule
    assert len(rule["description"]) > 10


@pytest.mark.parametrize("env", ENVS)
def test_platform_groups_are_named_after_the_environment_and_have_no_inline_rules(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    for group in GROUPS:
        resource = by_path(stack, "aws_security_group", f"/security/{group}")
        assert resource["name"] == f"{env}-{group}"
        assert resource["vpc_id"].startswith("${aws_vpc.")
        assert resource["description"]
        # Inline blocks would fight the rules service stacks add to these groups.
        assert "ingress" not in resource and "egress" not in resource


@pytest.mark.parametrize("env", ENVS)
def test_the_platform_publishes_the_groups_services_attach_to(synth: Synth, env: str) -> None:
    outputs = synth.stack(f"{env}-platform")["output"]
    stack = synth.stack(f"{env}-platform")
    for output, group in (("alb_security_group_id", "alb"), ("app_security_group_id", "app"), ("database_security_group_id", "database")):
        assert outputs[output]["value"] == sg(stack, group)


# --- each service's group ------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_web_is_reached_only_from_the_load_balancer_on_its_port(synth: Synth, env: str) -> None:
    assert service_rules(synth.stack(f"{env}-web")) == sorted([
        (EGRESS, "self", 443, ANYWHERE),
        (INGRESS, "self", 8080, "alb_security_group_id"),
        (EGRESS, "alb_security_group_id", 8080, "self"),
    ])


@pytest.mark.parametrize("env", ENVS)
def test_backend_is_reached_only_from_its_allow_from_callers_and_alone_reaches_the_database(synth: Synth, env: str) -> None:
    assert service_rules(synth.stack(f"{env}-api")) == sorted([
        (EGRESS, "self", 443, ANYWHERE),
        (INGRESS, "self", 8081, f"{env}-web-tasks"),
        (EGRESS, f"{env}-web-tasks", 8081, "self"),
        (EGRESS, "self", 3306, "database_security_group_id"),
        (INGRESS, "database_security_group_id", 3306, "self"),
        # Its volume on the environment's shared file system: NFS to the platform's mount targets.
        (EGRESS, "self", 2049, "file_systems.shared.security_group_id"),
        (INGRESS, "file_systems.shared.security_group_id", 2049, "self"),
    ])


@pytest.mark.parametrize("env", ENVS)
def test_worker_accepts_no_connection_and_cannot_reach_the_database(synth: Synth, env: str) -> None:
    assert service_rules(synth.stack(f"{env}-worker")) == sorted([
        (EGRESS, "self", 443, ANYWHERE),
        # Its own EFS volume: NFS to the file system's mount targets, which admit only it.
        (EGRESS, "self", 2049, f"{env}-worker-spool-efs"),
        (INGRESS, f"{env}-worker-spool-efs", 2049, "self"),
    ])


@pytest.mark.parametrize("env", ENVS)
def test_the_database_admits_only_the_services_with_database_true(synth: Synth, env: str) -> None:
    into_database = {
        service
        for service in SERVICES
        for type_, group, port, peer in service_rules(synth.stack(f"{env}-{service}"))
        if group == "database_security_group_id" or peer == "database_security_group_id"
    }
    assert into_database == {"api"}
    platform = synth.stack(f"{env}-platform")
    database = sg(platform, "database")
    assert not [r for t in (INGRESS, EGRESS) for r in resources(platform, t).values() if r["security_group_id"] == database]


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_every_service_runs_in_its_own_group(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    (group,) = [g for g in resources(stack, "aws_security_group").values() if g["name"].endswith("-tasks")]
    assert group["name"] == f"{env}-{service}-tasks"
    assert group["vpc_id"] == REMOTE % "vpc_id"
    assert "ingress" not in group and "egress" not in group
    (ecs,) = resources(stack, "aws_ecs_service").values()
    (logical_id,) = [k for k, g in resources(stack, "aws_security_group").items() if g["name"].endswith("-tasks")]
    assert ecs["network_configuration"]["security_groups"] == [f"${{aws_security_group.{logical_id}.id}}"]
    # Any other group is a mount-target group of the service's own file system: no inline rules either.
    for other in resources(stack, "aws_security_group").values():
        assert "ingress" not in other and "egress" not in other


@pytest.mark.parametrize("env", ENVS)
def test_nothing_is_open_to_the_internet_but_alb_listeners_and_https_egress(synth: Synth, env: str) -> None:
    for name in ("platform", *SERVICES):
        stack = synth.stack(f"{env}-{name}")
        for rule in resources(stack, INGRESS).values():
            if rule.get("cidr_ipv4") == ANYWHERE:
                assert name == "platform" and rule["from_port"] in (80, 443)
        for rule in resources(stack, EGRESS).values():
            if rule.get("cidr_ipv4") == ANYWHERE:
                assert rule["from_port"] == 443
        for rule in [*resources(stack, INGRESS).values(), *resources(stack, EGRESS).values()]:
            assert rule["ip_protocol"] != "-1" and "cidr_ipv6" not in rule
