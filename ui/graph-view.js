// The workflow graph as SVG: laid out by src/ui/graph-layout.ts, node boxes coloured by status
// class, names as text nodes. Clicking a node calls `onSelect(name)`.

import { layoutGraph } from "/ui/lib/graph-layout.js";
import { s } from "./dom.js";

const NODE_W = 160;
const NODE_H = 44;

/** `nodes`: [{name, dependsOn, pipeline}] of the workflow model; `statuses`: name → status. */
export function graphView(nodes, statuses, { selected, onSelect } = {}) {
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
