import assert from "node:assert/strict";
import { test } from "node:test";
import { crossings, layoutGraph } from "../../src/ui/graph-layout.ts";
import { delta, trendChart } from "../../src/ui/trend.ts";

const at = (layout: ReturnType<typeof layoutGraph>, id: string) => layout.nodes.find((n) => n.id === id)!;

test("a fork and a join: children one layer after their deepest parent", () => {
	const layout = layoutGraph([
		{ id: "root", parents: [] },
		{ id: "build-a", parents: ["root"] },
		{ id: "build-b", parents: ["root"] },
		{ id: "tests", parents: ["build-a", "build-b"] },
		{ id: "deploy", parents: ["tests", "root"] },
	]);
	assert.deepEqual(layout.nodes.map((n) => [n.id, n.layer]).sort(), [
		["build-a", 1],
		["build-b", 1],
		["deploy", 3],
		["root", 0],
		["tests", 2],
	]);
	assert.equal(layout.edges.length, 6);
	// Nodes of one layer never overlap; the join sits between its parents.
	assert.notEqual(at(layout, "build-a").y, at(layout, "build-b").y);
	const [a, b] = [at(layout, "build-a").y, at(layout, "build-b").y].sort((x, y) => x - y);
	assert.ok(at(layout, "tests").y >= a! && at(layout, "tests").y <= b!);
	assert.match(layout.edges[0]!.path, /^M[\d.]+,[\d.]+ C/);
});

test("ordering sweeps remove avoidable crossings", () => {
	// Given in an order that crosses: a1→b2, a2→b1.
	const layout = layoutGraph([
		{ id: "a1", parents: [] },
		{ id: "a2", parents: [] },
		{ id: "b2", parents: ["a1"] },
		{ id: "b1", parents: ["a2"] },
	]);
	assert.equal(crossings(layout), 0);
});

test("unknown parents, duplicates and cycles do not break the layout", () => {
	const layout = layoutGraph([
		{ id: "x", parents: ["ghost", "y"] },
		{ id: "y", parents: ["x"] },
		{ id: "x", parents: [] },
	]);
	assert.equal(layout.nodes.length, 2);
	assert.ok(layout.width > 0 && layout.height > 0);
	assert.deepEqual(layoutGraph([]), { nodes: [], edges: [], width: 0, height: 0 });
});

test("200 nodes lay out with every node placed once", () => {
	const nodes = Array.from({ length: 200 }, (_, i) => ({
		id: `n${i}`,
		parents: i === 0 ? [] : [`n${Math.floor((i - 1) / 3)}`],
	}));
	const layout = layoutGraph(nodes);
	assert.equal(new Set(layout.nodes.map((n) => `${n.x},${n.y}`)).size, 200);
	assert.equal(layout.edges.length, 199);
});

test("trend points scale into the box; delta needs both values", () => {
	const chart = trendChart(
		[
			{ label: "#1", value: 50 },
			{ label: "#2", value: null },
			{ label: "#3", value: 100 },
		],
		104,
		54,
		2,
	);
	assert.deepEqual(
		chart.points.map((p) => [p.x, p.y]),
		[
			[2, 52],
			[102, 2],
		],
	);
	assert.equal(chart.min, 50);
	assert.equal(delta(80, 75.5), 4.5);
	assert.equal(delta(80, null), null);
});
