import assert from "node:assert/strict";
import { test } from "node:test";
import { applySgr, color256, parseAnsi, stripAnsi, styleClasses } from "../../src/ui/ansi.ts";
import { matchingLines, visibleRange } from "../../src/ui/log-search.ts";

test("colours and flags become styles; the text keeps no escape", () => {
	const { segments, end } = parseAnsi("a\x1b[1;31mred\x1b[0m b\x1b[92mgreen");
	assert.deepEqual(segments, [
		{ text: "a", style: {} },
		{ text: "red", style: { bold: true, fg: "1" } },
		{ text: " b", style: {} },
		{ text: "green", style: { fg: "10" } },
	]);
	assert.deepEqual(end, { fg: "10" });
	assert.deepEqual(styleClasses({ fg: "1", bg: "4", bold: true, underline: true }), [
		"ansi-fg-1",
		"ansi-bg-4",
		"ansi-bold",
		"ansi-underline",
	]);
});

test("a colour carries over to the next line until reset", () => {
	const first = parseAnsi("\x1b[33mstart");
	const second = parseAnsi("still yellow\x1b[39m plain", first.end);
	assert.deepEqual(second.segments, [
		{ text: "still yellow", style: { fg: "3" } },
		{ text: " plain", style: {} },
	]);
});

test("256 colours and true colours become #rrggbb; palette indexes below 16 stay classes", () => {
	assert.equal(color256(9), "9");
	assert.equal(color256(196), "#ff0000");
	assert.equal(color256(232), "#080808");
	assert.deepEqual(applySgr({}, "38;5;196;48;2;1;2;255"), { fg: "#ff0000", bg: "#0102ff" });
	// No class is made from a hex colour (those go through the CSSOM).
	assert.deepEqual(styleClasses({ fg: "#ff0000" }), []);
});

test("other escapes and control characters are dropped; markup stays text", () => {
	const line = "\x1b]0;title\x07\x1b[2K\x1b[1G<img src=x onerror=alert(1)>\x00\x08 done\r";
	assert.equal(stripAnsi(line), "<img src=x onerror=alert(1)> done");
	assert.equal(stripAnsi("\x1b[31"), "[31", "a cut sequence leaves its printable rest");
});

test("search matches visible text case-insensitively; the virtual window is bounded", () => {
	const lines = Array.from({ length: 10_000 }, (_, i) => (i % 1000 === 7 ? `ERROR at ${i}` : `line ${i}`));
	assert.deepEqual(matchingLines(lines, "error").slice(0, 2), [7, 1007]);
	assert.equal(matchingLines(lines, "error").length, 10);
	assert.deepEqual(matchingLines(lines, "  "), []);
	assert.deepEqual(visibleRange(18 * 5000, 360, 18, 10_000, 10), { first: 4990, last: 5030 });
	assert.deepEqual(visibleRange(0, 360, 18, 5, 10), { first: 0, last: 5 });
});
