// The workflow graph as SVG: laid out by src/ui/graph-layout.ts, node boxes coloured by status
// class, names as text nodes. Clicking a node calls `onSelect(name)`.

import { layoutGraph } from "/ui/lib/graph-layout.js";
import { s } from "./dom.js";

const NODE_W = 160;
const NODE_H = 44;

/**
 * `nodes`: [{name, dependsOn, pipeline, when, conditions}] of the workflow model; `statuses`: name →
 * status; `hooks`: the model's [{node, type}], drawn as a mark on their node, as are conditions
 * ("if") and manual starts.
 */
export function graphView(nodes, statuses, { selected, onSelect, hooks } = {}) {
	const layout = layoutGraph(
		nodes.map((n) => ({ id: n.name, parents: n.dependsOn ?? [] })),
		{ nodeWidth: NODE_W, nodeHeight: NODE_H },
	);
	const pad = 8;
	const svg = s("svg", {
		class: "graph",
		role: "img",
		"aria-label": `Workflow graph: ${nodes.length} nodes`,
		viewBox: `${-pad} ${-pad} ${layout.width + 2 * pad} ${layout.height + 2 * pad}`,
		width: layout.width + 2 * pad,
		height: layout.height + 2 * pad,
	});
	for (const e of layout.edges)
		svg.append(s("path", { class: "edge", d: e.path, dataset: { from: e.from, to: e.to } }));
	const byName = new Map(nodes.map((n) => [n.name, n]));
	const hooksOf = new Map();
	for (const hk of hooks ?? []) hooksOf.set(hk.node, [...(hooksOf.get(hk.node) ?? []), hk]);
	for (const n of layout.nodes) {
		const status = statuses?.get(n.id) ?? "";
		const fork = byName.get(n.id)?.pipeline === undefined || byName.get(n.id)?.pipeline === null;
		const g = s(
			"g",
			{
				class: [
					"node",
					status ? `st-${status}` : "st-none",
					fork ? "fork" : "",
					selected === n.id ? "selected" : "",
				],
				transform: `translate(${n.x},${n.y})`,
				tabindex: onSelect ? 0 : undefined,
				role: onSelect ? "button" : undefined,
				"aria-label": `${n.id}${status ? `: ${status}` : ""}`,
				dataset: { node: n.id, status },
			},
			s("rect", { width: NODE_W, height: NODE_H, rx: 6 }),
			s("text", { x: 10, y: 18, class: "name" }, n.id.length > 22 ? `${n.id.slice(0, 21)}…` : n.id),
			s("text", { x: 10, y: 35, class: "status" }, status || (fork ? "fork" : "")),
			marks(byName.get(n.id), hooksOf.get(n.id) ?? []),
		);
		if (onSelect) {
			g.addEventListener("click", () => onSelect(n.id));
			g.addEventListener("keydown", (ev) => {
				if (ev.key === "Enter" || ev.key === " ") {
					ev.preventDefault();
					onSelect(n.id);
				}
			});
		}
		svg.append(g);
	}
	return svg;
}

/** The small marks at a node's right: its hooks, its run conditions, a manual start; details in a tooltip. */
function marks(node, hooks) {
	const out = [];
	const details = [];
	if (hooks.length) {
		out.push(`⚓${hooks.length}`);
		details.push(`hooks: ${hooks.map((hk) => hk.type).join(", ")}`);
	}
	const checks = node?.conditions?.checks ?? [];
	if (checks.length || node?.conditions?.script) {
		out.push("if");
		details.push(
			`runs if ${[
				...checks.map((c) => `${c.variable} ${c.operator} ${c.value}`),
				node.conditions.script ? "a script" : "",
			]
				.filter(Boolean)
				.join(" and ")}`,
		);
	}
	if (node?.when?.includes("manual")) {
		out.push("manual");
		details.push("starts manually");
	}
	if (!out.length) return null;
	return s(
		"text",
		{ x: NODE_W - 8, y: 18, class: "marks", "text-anchor": "end" },
		s("title", {}, details.join("; ")),
		out.join(" "),
	);
}
