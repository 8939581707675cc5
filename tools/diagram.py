"""A picture of an environment, from its loaded configuration: `make diagram ENV=dev`.

    python -m tools.diagram dev [prod ...]   # write docs/architecture-<env>.md and .svg
                                             # (make diagram; make synth too, for what it synthesized)
    python -m tools.diagram --check          # exit 1 naming the stale files (a test runs it)

One graph (`architecture(env, services)`) is drawn twice: as Mermaid in a Markdown file, which
GitHub renders, and as an SVG written here with a fixed layout (no browser, no Graphviz, no
system package). It shows the network tiers (public, private, database subnets, and the NAT),
the security-group chain as edges labelled with their ports (who may open a connection to
whom), the load balancer's listeners and each web service's routes, each service with its
kind, size, task counts (a job: its schedule) and capacity providers, its queue, the topics
it publishes and the subscriptions of its queue, its access to the database,
and the pipeline that delivers every service. The configuration is the source: the picture
is regenerated on every change and a test keeps the committed files current.
"""

from __future__ import annotations

import argparse
import html
import sys
from dataclasses import dataclass, field
from pathlib import Path

from infra.config import ConfigError, load_app
from infra.config.specs import (
    CapacityProvider,
    EnvironmentSpec,
    NatMode,
    PipelineSource,
    ServiceKind,
    ServiceSpec,
)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# Tiers, left to right; nodes of a tier are stacked top to bottom in the SVG.
TIERS = ("outside", "public", "private", "database", "delivery")
TIER_TITLES = {
    "outside": "Outside the VPC",
    "public": "Public subnets",
    "private": "Private subnets",
    "database": "Database subnets",
    "delivery": "Delivery",
}


@dataclass(frozen=True)
class Node:
    id: str
    tier: str
    title: str
    lines: tuple[str, ...] = ()
    shape: str = "box"  # box | round (outside actors) | cylinder (data)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    kind: str  # "sg": a security-group rule; "route": a listener rule; "flow": data or delivery


@dataclass
class Graph:
    env: str
    title: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def node(self, node: Node) -> None:
        self.nodes.append(node)

    def edge(self, source: str, target: str, label: str, kind: str) -> None:
        self.edges.append(Edge(source, target, label, kind))


def _capacity(spec: ServiceSpec) -> str:
    names = {CapacityProvider.FARGATE: "Fargate", CapacityProvider.FARGATE_SPOT: "Fargate Spot", CapacityProvider.EC2: "EC2"}
    if len(spec.capacity) == 1:
        return f"on {names[spec.capacity[0].provider]}"
    return "on " + " + ".join(
        f"{names[item.provider]} (" + (f"base {item.base}, " if item.base else "") + f"weight {item.weight})"
        for item in spec.capacity
    )


def service_node_id(name: str) -> str:
    return f"svc_{name.replace('-', '_')}"


def queue_node_id(service: str) -> str:
    return f"queue_{service.replace('-', '_')}"


def topic_node_id(service: str, topic: str) -> str:
    return f"topic_{service}_{topic}".replace("-", "_")


def file_system_node_id(service: str | None, name: str) -> str:
    """An EFS file system: the environment's shared one (`service` None) or a service's own volume."""
    return (f"efs_{name}" if service is None else f"efs_{service}_{name}").replace("-", "_")


def architecture(env: EnvironmentSpec, services: tuple[ServiceSpec, ...]) -> Graph:
    """The environment as nodes and edges; both drawings are made from this."""
    net = env.network
    zones = len(net.public_subnets) if net.existing is None else len(net.existing.public_subnet_ids)
    vpc = f"VPC {net.vpc_cidr}" if net.existing is None else f"existing VPC {net.existing.vpc_id}"
    g = Graph(env.name, f"{env.name} ({env.region}): {vpc}, {zones} availability zones")

    g.node(Node("internet", "outside", "Internet", shape="round"))
    listeners = ["HTTPS 443", "HTTP 80 → redirect to 443"] if env.load_balancer.https else ["HTTP 80"]
    test_port = env.load_balancer.test_listener_port
    if test_port is not None:  # blue/green deployments' test listener (infra/platform/load_balancer.py)
        listeners.append(f"test listener {test_port}")
    g.node(Node("alb", "public", "Application Load Balancer", (*listeners, *(["WAF"] if env.load_balancer.waf else []))))
    g.edge("internet", "alb", "80, 443" if env.load_balancer.https else "80, 443 (443 unused)", "sg")

    if net.existing is None and net.nat is not None:
        count = zones if net.nat is NatMode.PER_AZ else 1
        g.node(Node("nat", "public", f"NAT gateway × {count}", ("egress of the private subnets",)))

    if env.access.enabled or test_port is not None:
        g.node(Node("admin", "outside", f"Admin network {net.admin_cidr}", shape="round"))
    if test_port is not None:
        g.edge("admin", "alb", f"{test_port} (test traffic)", "sg")
    if env.access.enabled:
        g.node(Node("bastion", "public", "Bastion host", (env.access.instance_type,)))
        g.node(Node("ansible", "private", "Ansible host", (env.access.instance_type,)))
        g.edge("admin", "bastion", "22", "sg")
        g.edge("bastion", "ansible", "22", "sg")
    if env.cluster.ec2.enabled:
        ec2 = env.cluster.ec2
        g.node(Node("app", "private", "ECS capacity: EC2 Auto Scaling group", (f"{ec2.instance_type}, {ec2.min_size}–{ec2.max_size} instances", "app-tier group")))
        if env.access.enabled:
            g.edge("ansible", "app", "22", "sg")

    for fs in env.file_systems:  # the platform's, mounted by name
        users = sorted(s.name for s in services if any(v.file_system == fs.name for v in s.volumes))
        g.node(Node(file_system_node_id(None, fs.name), "private", f"EFS {fs.name} (shared)", (f"mounted by {', '.join(users) or 'no service'}",), "cylinder"))
    names = {s.name for s in services}
    for spec in sorted(services, key=lambda s: (s.kind.value != "web", s.name)):
        node = service_node_id(spec.name)
        if spec.job is not None:  # a scheduled job: no ECS service, one task per run
            counts = f"runs {spec.job.schedule} ({spec.job.timezone}), at most {spec.job.timeout} s"
        else:
            counts = f"{spec.desired_count} task{'s' * (spec.desired_count != 1)}, scaling {spec.min_count}–{spec.max_count}"
        g.node(
            Node(
                node,
                "private",
                f"{spec.name} ({spec.kind.value})",
                (f"{spec.cpu} CPU / {spec.memory} MiB, {spec.architecture.value}", counts, _capacity(spec)),
            )
        )
        for topic in spec.publish:
            g.node(Node(topic_node_id(spec.name, topic.name), "private", f"SNS topic {spec.name}.{topic.name}", (f"{topic.variable} in {spec.name}",), "cylinder"))
            g.edge(node, topic_node_id(spec.name, topic.name), "publish", "flow")
        if spec.kind is ServiceKind.WEB and spec.route is not None:
            where = ", ".join((*spec.route.hosts, *spec.route.paths))
            g.edge("alb", node, f"{where} → {spec.port}", "route")
        for caller in spec.allow_from:
            if caller in names:
                g.edge(service_node_id(caller), node, str(spec.port), "sg")
        if spec.queue is not None:
            queue = queue_node_id(spec.name)
            g.node(Node(queue, "private", f"SQS {spec.name} queue", (f"dead-letter queue after {spec.queue.max_receive_count} receives",), "cylinder"))
            g.edge(queue, node, "messages", "flow")
        if spec.database and env.database.enabled:
            g.edge(node, "database", "3306", "sg")
        for volume in spec.volumes:  # NFS from the service's group into the mount targets' group
            if volume.file_system is None:
                efs = file_system_node_id(spec.name, volume.name)
                g.node(Node(efs, "private", f"EFS {spec.name}/{volume.name}", (f"its own, at {volume.path}",), "cylinder"))
            else:
                efs = file_system_node_id(None, volume.file_system)
            if not any((e.source, e.target) == (node, efs) for e in g.edges):
                g.edge(node, efs, "2049", "sg")
    for spec in services:  # subscriptions, once every topic is a node
        for subscription in spec.subscribe:
            where = "filtered" if subscription.filter_policy else "every message"
            g.edge(topic_node_id(subscription.service, subscription.topic), queue_node_id(spec.name), f"subscription ({where})", "flow")

    if env.database.enabled:
        db = env.database
        g.node(
            Node(
                "database",
                "database",
                f"RDS MySQL {db.engine_version}",
                (db.instance_class, "Multi-AZ" if db.multi_az else "Single-AZ", f"{db.allocated_storage} GiB"),
                "cylinder",
            )
        )

    source = "CodeStar connection" if env.pipeline.source is PipelineSource.CODESTAR else "S3 upload"
    approval = ["manual approval"] if env.pipeline.manual_approval else []
    upstream, home = env.pipeline.promote_from, env.pipeline.promoted_to
    if home is not None:  # build once, promote (infra/service/delivery.py): another environment's pipeline
        title, detail = f"{home.name}'s CodePipeline per service", (f"builds once, deploys {env.name} first", "then promotes the digest to " + home.name)
    else:
        stages = ["source", "build + test"]
        if upstream is not None:
            stages += [f"deploy {upstream.name}", *approval, f"promote digest to {env.name}", f"deploy {env.name}"]
        else:
            stages += [*approval, "deploy to ECS"]
        title, detail = "CodePipeline per service", (f"{env.pipeline.repository}@{env.pipeline.branch} ({source})", " → ".join(stages))
    g.node(Node("pipeline", "delivery", title, detail))
    g.node(Node("ecr", "delivery", "ECR repository per service", (f"keeps {env.registry.keep_images} images",), "cylinder"))
    g.edge("pipeline", "ecr", "push image", "flow")
    for spec in services:
        if spec.image.source.value == "ecr":
            g.edge("ecr", service_node_id(spec.name), "image", "flow")
    return g


# --- Mermaid --------------------------------------------------------------------------------

def _mermaid_label(node: Node) -> str:
    text = "<br/>".join(html.escape(part, quote=False) for part in (f"<b>{node.title}</b>", *node.lines))
    text = text.replace("&lt;b&gt;", "<b>").replace("&lt;/b&gt;", "</b>").replace('"', "#quot;")
    return {"round": f'(["{text}"])', "cylinder": f'[("{text}")]'}.get(node.shape, f'["{text}"]')


def mermaid(g: Graph) -> str:
    lines = ["flowchart LR"]
    for tier in TIERS:
        members = [n for n in g.nodes if n.tier == tier]
        if not members:
            continue
        lines.append(f'  subgraph tier_{tier}["{TIER_TITLES[tier]}"]')
        lines += [f"    {n.id}{_mermaid_label(n)}" for n in members]
        lines.append("  end")
    arrows = {"sg": "-->", "route": "==>", "flow": "-.->"}
    for e in g.edges:
        label = e.label.replace('"', "#quot;")
        lines.append(f'  {e.source} {arrows[e.kind]}|"{label}"| {e.target}')
    return "\n".join(lines)


def markdown(g: Graph) -> str:
    return "\n".join(
        [
            f"# Architecture: {g.env}",
            "",
            f"{g.title}.",
            "",
            f"Generated by `make diagram ENV={g.env}` (tools/diagram.py) from the loaded configuration; do",
            "not edit. Solid arrows are security-group rules (who may open a connection to whom, and the",
            "port); thick arrows are the load balancer's routes (the service's group admits the load",
            "balancer on that port); dotted arrows are data and delivery.",
            f"The same picture without Mermaid: [architecture-{g.env}.svg](architecture-{g.env}.svg).",
            "",
            "```mermaid",
            mermaid(g),
            "```",
            "",
        ]
    )


# --- SVG, laid out here -----------------------------------------------------------------------

LINE_HEIGHT, GAP, MARGIN, HEADER, CHAR = 16, 26, 24, 56, 6.8  # CHAR: a 12px character's width, about
COLORS = {"sg": "#1f4e79", "route": "#2e7d32", "flow": "#8a6d3b"}


def _box_height(node: Node) -> int:
    return 14 + LINE_HEIGHT * (1 + len(node.lines))


def _text_width(text: str, bold: bool = False) -> int:
    return int(len(text) * CHAR * (1.08 if bold else 1.0)) + 1


def _box_width(nodes: list[Node]) -> int:
    widest = (max([_text_width(n.title, True), *(_text_width(line) for line in n.lines)]) for n in nodes)
    return max(180, *(w + 22 for w in widest))


def svg(g: Graph) -> str:
    tiers = [t for t in TIERS if any(n.tier == t for n in g.nodes)]
    position: dict[str, tuple[int, int, int, int]] = {}  # id -> x, y, width, height
    columns: list[tuple[int, int]] = []  # x, width of each tier's band
    x, bottom = MARGIN, 0
    for tier in tiers:
        members = [n for n in g.nodes if n.tier == tier]
        box = _box_width(members)
        band = box + 60
        y = MARGIN + HEADER + 10
        for node in members:
            height = _box_height(node)
            position[node.id] = (x + 30, y, box, height)
            y += height + GAP
        columns.append((x, band))
        x += band + 16
        bottom = max(bottom, y)
    width, height = x - 16 + MARGIN, bottom + MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12">',
        "<defs>",
        *(
            f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{color}"/></marker>'
            for kind, color in COLORS.items()
        ),
        "</defs>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 4}" font-size="15" font-weight="bold">{html.escape(g.title)}</text>',
    ]
    for (bx, band), tier in zip(columns, tiers):
        fill = "#f3f6fa" if tier in ("public", "private", "database") else "#fafafa"
        out.append(
            f'<rect x="{bx}" y="{MARGIN + 20}" width="{band}" height="{height - 2 * MARGIN - 20}" rx="8" '
            f'fill="{fill}" stroke="#c8d1dc" stroke-dasharray="4 3"/>'
        )
        out.append(f'<text x="{bx + 10}" y="{MARGIN + 40}" font-weight="bold" fill="#4a5a6a">{TIER_TITLES[tier]}</text>')
    out += [_edge_line(position, e) for e in g.edges]
    out += [_node(position[node.id], node) for node in g.nodes]
    out += [_edge_label(position, e) for e in g.edges]  # labels last: never under a box or a line
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _node(where: tuple[int, int, int, int], node: Node) -> str:
    x, y, width, height = where
    radius = {"round": 18, "cylinder": 12}.get(node.shape, 4)
    parts = [
        f'<g id="node-{node.id}">',
        f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="{radius}" fill="white" stroke="#34495e"/>',
        f'<text x="{x + 10}" y="{y + 19}" font-weight="bold">{html.escape(node.title)}</text>',
    ]
    parts += [
        f'<text x="{x + 10}" y="{y + 19 + LINE_HEIGHT * (i + 1)}" fill="#333">{html.escape(line)}</text>'
        for i, line in enumerate(node.lines)
    ]
    return "\n".join([*parts, "</g>"])


def _route(position: dict[str, tuple[int, int, int, int]], e: Edge) -> tuple[str, int, int]:
    """The edge's path (a cubic Bézier) and where its label goes: on the curve, nearer the
    source for edges between columns (labels of edges into one box then stay apart)."""
    sx, sy, sw, sh = position[e.source]
    tx, ty, tw, th = position[e.target]
    start_y, end_y = sy + sh // 2, ty + th // 2
    if sx == tx:  # same column: out on the left and back, bowing out
        bend = sx - 28
        points, t = ((sx, start_y), (bend, start_y), (bend, end_y), (tx, end_y)), 0.5
    else:
        forward = tx > sx
        x1, x2 = (sx + sw, tx) if forward else (sx, tx + tw)
        mid = (x1 + x2) // 2
        points, t = ((x1, start_y), (mid, start_y), (mid, end_y), (x2, end_y)), 0.3
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    path = f"M {x0} {y0} C {x1} {y1}, {x2} {y2}, {x3} {y3}"
    weights = ((1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3)
    lx = sum(w * p[0] for w, p in zip(weights, points))
    ly = sum(w * p[1] for w, p in zip(weights, points))
    return path, round(lx), round(ly)


def _edge_line(position: dict[str, tuple[int, int, int, int]], e: Edge) -> str:
    path, _, _ = _route(position, e)
    dash = ' stroke-dasharray="5 4"' if e.kind == "flow" else ""
    weight = 2.4 if e.kind == "route" else 1.4
    return (
        f'<path class="edge-{e.kind}" d="{path}" fill="none" stroke="{COLORS[e.kind]}" stroke-width="{weight}"{dash} '
        f'marker-end="url(#arrow-{e.kind})"/>'
    )


def _edge_label(position: dict[str, tuple[int, int, int, int]], e: Edge) -> str:
    _, lx, ly = _route(position, e)
    width = _text_width(e.label) + 8
    return (
        f'<g class="label-{e.kind}"><rect x="{lx - width // 2}" y="{ly - 9}" width="{width}" height="16" rx="3" '
        f'fill="white" stroke="{COLORS[e.kind]}" stroke-width="0.6"/>'
        f'<text x="{lx}" y="{ly + 3}" text-anchor="middle" fill="{COLORS[e.kind]}">{html.escape(e.label)}</text></g>'
    )


# --- files ------------------------------------------------------------------------------------

def generated(root: Path = ROOT, envs: list[str] | None = None) -> dict[Path, str]:
    app = load_app(root, environments=envs)
    files: dict[Path, str] = {}
    for env in app.environments:
        g = architecture(env, app.services[env.name])
        files[root / "docs" / f"architecture-{env.name}.md"] = markdown(g)
        files[root / "docs" / f"architecture-{env.name}.svg"] = svg(g)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.diagram", description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", help="environments (comma-separated or several; default: all)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed picture is stale")
    args = parser.parse_args(argv)
    envs = [e for arg in args.envs for e in arg.split(",") if e] or None
    try:
        files = generated(ROOT, envs)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        stale = [p for p, text in files.items() if not p.is_file() or p.read_text() != text]
        for path in stale:
            print(f"error: {path.relative_to(ROOT)} is stale: run make diagram", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        if path.is_file() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
