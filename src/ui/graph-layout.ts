// A workflow graph laid out for the web UI (docs/ui.md): a small layered (Sugiyama-style) layout.
// Each node goes in the layer after its deepest parent; within a layer, nodes are ordered by the
// mean position of their neighbours, sweeping down then up a few times to uncross edges; then
// every layer is centred. Forks and joins are ordinary nodes with several children or parents.
// Pure and DOM-free (unit-tested; the page draws the SVG from the result).

export interface GraphInput {
	id: string;
	/** Parent node ids; unknown ids are ignored. */
	parents: readonly string[];
}

export interface LaidNode {
	id: string;
	layer: number;
	order: number;
	x: number;
	y: number;
}

export interface LaidEdge {
	from: string;
	to: string;
	/** An SVG path from the parent's right side to the child's left side. */
	path: string;
}

export interface GraphLayout {
	nodes: LaidNode[];
	edges: LaidEdge[];
	width: number;
	height: number;
}

export interface LayoutOptions {
	nodeWidth: number;
	nodeHeight: number;
	gapX: number;
	gapY: number;
	/** Down-and-up ordering sweeps. */
	sweeps: number;
}

const DEFAULTS: LayoutOptions = { nodeWidth: 160, nodeHeight: 44, gapX: 60, gapY: 18, sweeps: 4 };

/** Layers by longest path from the roots; a cycle (never valid in a workflow) is broken where met. */
function assignLayers(nodes: readonly GraphInput[]): Map<string, number> {
	const ids = new Set(nodes.map((n) => n.id));
	const parents = new Map(nodes.map((n) => [n.id, n.parents.filter((p) => ids.has(p) && p !== n.id)]));
	const layer = new Map<string, number>();
	const visiting = new Set<string>();
	const visit = (id: string): number => {
		const known = layer.get(id);
		if (known !== undefined) return known;
		if (visiting.has(id)) return 0;
		visiting.add(id);
		let l = 0;
		for (const p of parents.get(id) ?? []) l = Math.max(l, visit(p) + 1);
		visiting.delete(id);
		layer.set(id, l);
		return l;
	};
	for (const n of nodes) visit(n.id);
	return layer;
}

export function layoutGraph(input: readonly GraphInput[], options: Partial<LayoutOptions> = {}): GraphLayout {
	const o = { ...DEFAULTS, ...options };
	const seen = new Set<string>();
	const nodes = input.filter((n) => !seen.has(n.id) && seen.add(n.id));
	const layerOf = assignLayers(nodes);
	const ids = new Set(nodes.map((n) => n.id));
	const edges: Array<[string, string]> = [];
	for (const n of nodes)
		for (const p of new Set(n.parents)) if (ids.has(p) && p !== n.id) edges.push([p, n.id]);
	const up = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
	const down = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
	for (const [from, to] of edges) {
		down.get(from)!.push(to);
		up.get(to)!.push(from);
	}
	const depth = Math.max(-1, ...layerOf.values()) + 1;
	const layers: string[][] = Array.from({ length: depth }, () => []);
	for (const n of nodes) layers[layerOf.get(n.id)!]!.push(n.id);
	const position = new Map<string, number>();
	const renumber = (layer: string[]) => {
		for (const [i, id] of layer.entries()) position.set(id, i);
	};
	layers.forEach(renumber);
	const reorder = (layer: string[], neighbours: Map<string, string[]>) => {
		const key = new Map<string, number>();
		for (const id of layer) {
			const ns = neighbours.get(id)!;
			key.set(id, ns.length ? ns.reduce((s, n) => s + position.get(n)!, 0) / ns.length : position.get(id)!);
		}
		// A stable sort: equal keys keep their order, so the layout is deterministic.
		layer.sort((a, b) => key.get(a)! - key.get(b)!);
		renumber(layer);
	};
	for (let s = 0; s < o.sweeps; s++) {
		for (let l = 1; l < depth; l++) reorder(layers[l]!, up);
		for (let l = depth - 2; l >= 0; l--) reorder(layers[l]!, down);
	}
	const tallest = Math.max(0, ...layers.map((l) => l.length));
	const rowH = o.nodeHeight + o.gapY;
	const laid: LaidNode[] = [];
	const byId = new Map<string, LaidNode>();
	layers.forEach((layer, l) => {
		const offset = ((tallest - layer.length) * rowH) / 2;
		layer.forEach((id, i) => {
			const node = { id, layer: l, order: i, x: l * (o.nodeWidth + o.gapX), y: offset + i * rowH };
			laid.push(node);
			byId.set(id, node);
		});
	});
	const laidEdges = edges.map(([from, to]) => {
		const a = byId.get(from)!;
		const b = byId.get(to)!;
		const x1 = a.x + o.nodeWidth;
		const y1 = a.y + o.nodeHeight / 2;
		const x2 = b.x;
		const y2 = b.y + o.nodeHeight / 2;
		const mid = (x1 + x2) / 2;
		return { from, to, path: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` };
	});
	return {
		nodes: laid,
		edges: laidEdges,
		width: depth === 0 ? 0 : depth * o.nodeWidth + (depth - 1) * o.gapX,
		height: tallest === 0 ? 0 : tallest * rowH - o.gapY,
	};
}

/** How many pairs of edges between the same two layers cross (what the ordering sweeps reduce). */
export function crossings(layout: GraphLayout): number {
	const at = new Map(layout.nodes.map((n) => [n.id, n]));
	const edges = layout.edges
		.map((e) => ({ a: at.get(e.from)!, b: at.get(e.to)! }))
		.filter((e) => e.b.layer === e.a.layer + 1);
	let count = 0;
	for (let i = 0; i < edges.length; i++)
		for (let j = i + 1; j < edges.length; j++) {
			const e = edges[i]!;
			const f = edges[j]!;
			if (e.a.layer !== f.a.layer) continue;
			if ((e.a.order - f.a.order) * (e.b.order - f.b.order) < 0) count++;
		}
	return count;
}
