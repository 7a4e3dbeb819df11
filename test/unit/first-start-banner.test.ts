// The first-start banner tells a newcomer what to type next: the README's "First start"
// commands, in the README's order, with this node's URL and token filled in.

import assert from "node:assert/strict";
import { test } from "node:test";
import { firstStartBanner } from "../../src/auth/first-start-banner.ts";
import { readmeShellBlock } from "../helpers/readme.ts";

/** The `cds …` lines of the first shell block under "## First start", comments removed. */
const readmeFirstRun = () =>
	readmeShellBlock("## First start", { stripComments: true }).filter((l) => l.startsWith("cds "));

test("the banner shows the token and the README's first commands, in order, for this node", () => {
	const token = "cds_admin-first.0123456789abcdef";
	const url = "http://localhost:18081";
	const banner = firstStartBanner(token, url, false);
	assert.match(banner, new RegExp(`^ {3}${token.replace(".", "\\.")}$`, "m"));
	const suggested = banner
		.split("\n")
		.map((l) => l.trim())
		.filter((l) => l.startsWith("npx cds "))
		.map((l) => l.slice("npx ".length));
	assert.ok(suggested.length >= 3, banner);
	const readme = readmeFirstRun().map((l) =>
		l.replace("http://localhost:8081", url).replace("<the token>", token),
	);
	let at = -1;
	for (const line of suggested) {
		const found = readme.indexOf(line, at + 1);
		assert.ok(found > at, `${line}\nis not the README's next first-run command:\n${readme.join("\n")}`);
		at = found;
	}
	assert.doesNotMatch(banner, /\.\.\/shared/, "no path outside the checkout");
});

test("the web UI line appears only when the node serves the UI", () => {
	assert.match(firstStartBanner("t", "http://h:1", true), /web UI at http:\/\/h:1\//);
	assert.doesNotMatch(firstStartBanner("t", "http://h:1", false), /web UI/);
});
