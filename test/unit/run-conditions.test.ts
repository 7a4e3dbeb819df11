import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { evaluateChecks, hasConditions, unsafeRegexReason } from "../../src/run/conditions.ts";
import type { ConditionCheck, ConditionOperator } from "../../src/workflow/model.ts";

const check = (variable: string, operator: ConditionOperator, value: string): ConditionCheck => ({
	variable,
	operator,
	value,
});

describe("evaluateChecks", () => {
	const vars = { "git.branch": "master", "cds.build.count": "10", "cds.env.my-key": "abc", version: "1.10" };

	test("eq / ne compare strings exactly", () => {
		assert.equal(evaluateChecks([check("git.branch", "eq", "master")], vars).ok, true);
		assert.equal(evaluateChecks([check("git.branch", "eq", "develop")], vars).ok, false);
		assert.equal(evaluateChecks([check("git.branch", "ne", "develop")], vars).ok, true);
		assert.equal(evaluateChecks([check("cds.build.count", "eq", "10.0")], vars).ok, false);
	});

	test("ordering is numeric when both sides are numbers, textual otherwise", () => {
		assert.equal(evaluateChecks([check("cds.build.count", "gt", "9")], vars).ok, true); // "10" < "9" as text
		assert.equal(evaluateChecks([check("cds.build.count", "lt", "9")], vars).ok, false);
		assert.equal(evaluateChecks([check("cds.build.count", "ge", "10")], vars).ok, true);
		assert.equal(evaluateChecks([check("cds.build.count", "le", "10")], vars).ok, true);
		assert.equal(evaluateChecks([check("version", "gt", "1.9")], vars).ok, false); // 1.10 < 1.9 numerically
		assert.equal(evaluateChecks([check("git.branch", "gt", "develop")], vars).ok, true);
		assert.equal(evaluateChecks([check("git.branch", "lt", "10")], vars).ok, false);
	});

	test("every check must hold; the first failing one is reported", () => {
		const result = evaluateChecks(
			[
				check("git.branch", "eq", "master"),
				check("cds.env.my-key", "eq", "xyz"),
				check("git.branch", "eq", "x"),
			],
			vars,
		);
		assert.equal(result.ok, false);
		assert.match(result.failed!, /cds\.env\.my-key eq "xyz"/);
		assert.match(result.failed!, /"abc"/);
		assert.deepEqual(evaluateChecks([], vars), { ok: true });
	});

	test("an unset variable compares as the empty string", () => {
		assert.equal(evaluateChecks([check("git.tag", "eq", "")], vars).ok, true);
		assert.equal(evaluateChecks([check("git.tag", "ne", "v1")], vars).ok, true);
	});

	test("regex searches the value (unanchored) and can be anchored", () => {
		assert.equal(evaluateChecks([check("git.branch", "regex", "^mas")], vars).ok, true);
		assert.equal(evaluateChecks([check("git.branch", "regex", "ste")], vars).ok, true);
		assert.equal(evaluateChecks([check("git.branch", "regex", "^(feat|fix)/.+$")], vars).ok, false);
		assert.equal(evaluateChecks([check("git.branch", "regex", "^(master|main)$")], vars).ok, true);
	});

	test("a bad or dangerous regex is false with a reason, never a crash or a hang", () => {
		const bad = evaluateChecks([check("git.branch", "regex", "([a-z")], vars);
		assert.equal(bad.ok, false);
		assert.match(bad.failed!, /invalid regex/);
		const evil = "a".repeat(40) + "!";
		// Refused before matching (the reason says why), so the exponential backtracking never starts.
		const nested = evaluateChecks([check("x", "regex", "^(a+)+$")], { x: evil });
		assert.equal(nested.ok, false);
		assert.match(nested.failed!, /repeated group/);
		assert.match(evaluateChecks([check("x", "regex", "(a)\\1")], { x: "aa" }).failed!, /back-references/);
		assert.match(evaluateChecks([check("x", "regex", "a(?=b)")], { x: "ab" }).failed!, /look-arounds/);
		assert.match(evaluateChecks([check("x", "regex", "a".repeat(600))], { x: "a" }).failed!, /longer than/);
		assert.match(
			evaluateChecks([check("x", "regex", "a")], { x: "a".repeat(70_000) }).failed!,
			/value longer/,
		);
	});

	test("safe patterns with quantifiers are accepted", () => {
		for (const p of ["^v[0-9]+\\.[0-9]+$", "(ab)+", "(a|b)*c", "[(+]+", "x{2,3}", "\\(a+\\)+"]) {
			assert.equal(unsafeRegexReason(p), undefined, p);
		}
		for (const p of ["(a*)*", "(x+y?)+", "((ab)+c)*", "(a{1,3}){2,}"]) {
			assert.notEqual(unsafeRegexReason(p), undefined, p);
		}
	});
});

test("hasConditions", () => {
	assert.equal(hasConditions({ checks: [], script: undefined }), false);
	assert.equal(hasConditions({ checks: [], script: "  " }), false);
	assert.equal(hasConditions({ checks: [], script: "return true" }), true);
	assert.equal(hasConditions({ checks: [check("a", "eq", "b")], script: undefined }), true);
});
