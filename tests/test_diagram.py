"""`make diagram`: the architecture picture drawn from the loaded configuration (tools/diagram.py).

The picture must not drift from what Terraform creates: every security-group rule of the
synthesized stacks (tests/fixtures/app) is an edge of the graph with its port, in both drawings,
and every service is a node."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from infra.config import load_app
from tests.conftest import FIXTURE, ROOT, Synth
from tools import diagram

ENVS = ("dev", "prod")
PLATFORM_GROUPS = {"alb": "alb", "bastion": "bastion", "ansible": "ansible", "app": "app"}
CONTRACT_GROUPS = {"alb_security_group_id": "alb", "database_security_group_id": "database"}


@pytest.fixture(scope="module")
def app() -> Any:
    return load_app(FIXTURE)


def graph(app: Any, env: str) -> diagram.Graph:
    (spec,) = [e for e in app.environments if e.name == env]
    return diagram.architecture(spec, app.services[env])


def node_of(expression: str, stack: str) -> str:
    """The diagram node that holds the security group a rule names."""
    if m := re.fullmatch(r"\$\{data\.terraform_remote_state\.platform\.outputs\.file_systems\.(\w+)\.security_group_id\}", expression):
        return diagram.file_system_node_id(None, m.group(1))
    if (m := re.fullmatch(r"\$\{aws_security_group\.(\w+)_efs\.id\}", expression)) and not stack.endswith("-platform"):
        return diagram.file_system_node_id(stack.split("-", 1)[1], m.group(1))  # a service's own volume
    if m := re.fullmatch(r"\$\{aws_security_group\.(\w+)\.id\}", expression):
        return PLATFORM_GROUPS[m.group(1)] if stack.endswith("-platform") else diagram.service_node_id(m.group(1))
    if m := re.fullmatch(r"\$\{data\.terraform_remote_state\.platform\.outputs\.(\w+)\}", expression):
        return CONTRACT_GROUPS[m.group(1)]
    if m := re.fullmatch(r"\$\{data\.aws_security_group\.caller_(\w+)\.id\}", expression):
        return diagram.service_node_id(m.group(1))
    raise AssertionError(f"{stack}: a rule on {expression} that the test cannot place")


def rules(synth: Synth, env: str, admin_cidr: str) -> list[tuple[str, str, int]]:
    found = []
    for name, stack in synth.stacks.items():
        if not name.startswith(f"{env}-"):
            continue
        for rule in stack.get("resource", {}).get("aws_vpc_security_group_ingress_rule", {}).values():
            target = node_of(rule["security_group_id"], name)
            if "referenced_security_group_id" in rule:
                source = node_of(rule["referenced_security_group_id"], name)
            else:
                source = {"0.0.0.0/0": "internet", admin_cidr: "admin"}[rule["cidr_ipv4"]]
            found.append((source, target, rule["from_port"]))
    return found


@pytest.mark.parametrize("env", ENVS)
def test_every_security_group_rule_is_an_edge_with_its_port(synth: Synth, app: Any, env: str) -> None:
    g = graph(app, env)
    (spec,) = [e for e in app.environments if e.name == env]
    expected = rules(synth, env, str(spec.network.admin_cidr))
    assert len(expected) >= 8  # the chain: internet 80/443, admin, bastion, ansible, ALB, allow_from, database
    text = diagram.mermaid(g)
    for source, target, port in expected:
        edges = [e for e in g.edges if (e.source, e.target) == (source, target) and e.kind in ("sg", "route")]
        assert any(str(port) in re.findall(r"\d+", e.label) for e in edges), f"{source} → {target}:{port} missing"
        assert re.search(rf"\n  {source} (-->|==>)\|\"[^\"]*\b{port}\b[^\"]*\"\| {target}\n", text + "\n"), (source, target, port)


@pytest.mark.parametrize("env", ENVS)
def test_the_graph_has_no_security_group_edge_terraform_does_not_create(synth: Synth, app: Any, env: str) -> None:
    g = graph(app, env)
    (spec,) = [e for e in app.environments if e.name == env]
    created = {(s, t) for s, t, _ in rules(synth, env, str(spec.network.admin_cidr))}
    drawn = {(e.source, e.target) for e in g.edges if e.kind in ("sg", "route")}
    assert drawn == created


@pytest.mark.parametrize("env", ENVS)
def test_every_service_appears_in_both_drawings(app: Any, env: str) -> None:
    g = graph(app, env)
    svg = ET.fromstring(diagram.svg(g))  # well-formed
    ids = {el.get("id") for el in svg.iter() if el.get("id")}
    mermaid = diagram.mermaid(g)
    for service in app.services[env]:
        node = diagram.service_node_id(service.name)
        assert f"node-{node}" in ids
        assert re.search(rf"^    {node}\[\"<b>{service.name} \({service.kind.value}\)</b>", mermaid, re.M)
        assert (service.job.schedule if service.job else f"{service.desired_count} task") in diagram.markdown(g)


def test_the_committed_pictures_of_the_samples_are_current() -> None:
    assert diagram.main(["--check"]) == 0, "docs/architecture-*: run make diagram"
    assert {p.name for p in (ROOT / "docs").glob("architecture-*")} == {
        f"architecture-{env}.{ext}" for env in (e.name for e in load_app(ROOT).environments) for ext in ("md", "svg")
    }


@pytest.mark.parametrize("env", ENVS)
def test_topics_subscriptions_and_jobs_are_drawn(app: Any, env: str) -> None:
    g = graph(app, env)
    ids = {n.id for n in g.nodes}
    flows = {(e.source, e.target) for e in g.edges if e.kind == "flow"}
    services = app.services[env]
    assert any(s.publish for s in services) and any(s.subscribe for s in services) and any(s.job for s in services)
    for spec in services:
        for topic in spec.publish:
            assert (diagram.service_node_id(spec.name), diagram.topic_node_id(spec.name, topic.name)) in flows
        for sub in spec.subscribe:
            assert (diagram.topic_node_id(sub.service, sub.topic), diagram.queue_node_id(spec.name)) in flows
        if spec.job is not None:
            (node,) = [n for n in g.nodes if n.id == diagram.service_node_id(spec.name)]
            assert any(spec.job.schedule in line for line in node.lines)
    assert all(e.source in ids and e.target in ids for e in g.edges)
