// Names from files follow the API's own pattern; the CLI never builds a path a URL parser rewrites.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ValidationError } from "../../src/cli/errors.ts";
import { seg } from "../../src/cli/http.ts";
import { entityNameProblem, NAME_PATTERN } from "../../src/project/variables.ts";
import { parseFileSet } from "../../src/workflow/index.ts";

test("the name pattern refuses path steps, separators and invisible characters", () => {
	for (const ok of ["build", "my.app", "a..b", ".hidden", "x-1_2", "..."]) {
		assert.equal(entityNameProblem(ok), undefined, ok);
		assert.ok(NAME_PATTERN.test(ok), ok);
	}
	for (const bad of [".", "..", "a/b", "a\u0000b", "a\u200fb", "", "a b", "x".repeat(129)]) {
		assert.notEqual(entityNameProblem(bad), undefined, JSON.stringify(bad));
	}
	assert.equal(NAME_PATTERN.test(".."), false);
	assert.equal(NAME_PATTERN.test("."), false);
	// Invisible characters are shown escaped in the message.
	assert.match(entityNameProblem("a\u200fb")!, /a\\u200fb/);
});

test("every entity kind read from files is checked, located at its name", () => {
	const files = [
		{ path: "w.yml", content: "version: v2.0\nname: ok\nworkflow:\n  build:\n    pipeline: p\n" },
		{
			path: "p.pip.yml",
			content: 'version: v1.0\nname: ".."\njobs:\n- job: j\n  steps:\n  - script: echo\n',
		},
		{ path: "a.app.yml", content: 'version: v1.0\nname: "a/b"\n' },
		{ path: "e.env.yml", content: 'version: v1.0\nname: "."\n' },
	];
	const result = parseFileSet(files, {});
	assert.equal(result.ok, false);
	const located = result.errors
		.filter((e) => /name/.test(e.message) && e.code === "invalid-value")
		.map((e) => `${e.file}:${e.line}:${e.column}`);
	assert.deepEqual(located.sort(), ["a.app.yml:2:7", "e.env.yml:2:7", "p.pip.yml:2:7"]);
});

test("seg refuses `.`, `..` and empty segments and encodes the rest", () => {
	for (const step of [".", "..", ""]) assert.throws(() => seg(step), ValidationError);
	assert.equal(seg("a/b"), "a%2Fb");
	assert.equal(seg("%2e%2e"), "%252e%252e");
});
