/**
 * Node and stage conditions: CDS's `check` list (variable, operator, value), all of which must
 * hold. Lua `script` conditions live in lua.ts (they need a sandboxed VM).
 */
import type { ConditionCheck, Conditions } from "../workflow/model.ts";

export interface ChecksResult {
	ok: boolean;
	/** The first check that did not hold, readable by a user. */
	failed?: string;
}

/** Longest pattern a `regex` check may use. */
export const MAX_REGEX_LENGTH = 512;
/** Longest value a `regex` check is run against. */
export const MAX_REGEX_SUBJECT = 64 * 1024;

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Evaluates every check against `vars`; a variable that is not set compares as "".
 * `eq`/`ne` compare strings exactly (as CDS does: "1.0" is not "1"); `lt le gt ge` compare
 * numerically when both sides are numbers, as strings otherwise; `regex` searches the value
 * (unanchored, like Go's MatchString) with a pattern limited to what RE2 accepts.
 */
export function evaluateChecks(
	checks: readonly ConditionCheck[],
	vars: Record<string, string>,
): ChecksResult {
	for (const check of checks) {
		const actual = Object.hasOwn(vars, check.variable) ? vars[check.variable]! : "";
		const outcome = evaluateCheck(check, actual);
		if (outcome !== true) {
			const why = typeof outcome === "string" ? `: ${outcome}` : ` (value was ${JSON.stringify(actual)})`;
			return {
				ok: false,
				failed: `${check.variable} ${check.operator} ${JSON.stringify(check.value)}${why}`,
			};
		}
	}
	return { ok: true };
}

/** True when the check holds, false when not, a string explaining why it could not be evaluated. */
function evaluateCheck(check: ConditionCheck, actual: string): boolean | string {
	const expected = check.value;
	switch (check.operator) {
		case "eq":
			return actual === expected;
		case "ne":
			return actual !== expected;
		case "lt":
			return compare(actual, expected) < 0;
		case "le":
			return compare(actual, expected) <= 0;
		case "gt":
			return compare(actual, expected) > 0;
		case "ge":
			return compare(actual, expected) >= 0;
		case "regex":
			return matchRegex(expected, actual);
		default:
			return `unknown operator ${JSON.stringify(check.operator)}`;
	}
}

function compare(a: string, b: string): number {
	if (NUMBER.test(a.trim()) && NUMBER.test(b.trim())) return Number(a) - Number(b);
	return a < b ? -1 : a > b ? 1 : 0;
}

/** True when `conditions` has nothing to evaluate. */
export function hasConditions(conditions: Conditions): boolean {
	return conditions.checks.length > 0 || (conditions.script ?? "").trim() !== "";
}

/**
 * JavaScript regexes backtrack and cannot be interrupted, so a user pattern is first checked:
 * bounded length and subject, and none of the constructs that make backtracking explode or
 * that RE2 (CDS's Go regexp) rejects anyway — back-references, look-arounds, and a quantified
 * group that itself contains a quantifier (`(a+)+`).
 */
function matchRegex(pattern: string, subject: string): boolean | string {
	const unsafe = unsafeRegexReason(pattern);
	if (unsafe) return unsafe;
	if (subject.length > MAX_REGEX_SUBJECT) return `value longer than ${MAX_REGEX_SUBJECT} characters`;
	let regex: RegExp;
	try {
		regex = new RegExp(pattern, "u");
	} catch (e) {
		return `invalid regex: ${(e as Error).message}`;
	}
	return regex.test(subject);
}

export function unsafeRegexReason(pattern: string): string | undefined {
	if (pattern.length > MAX_REGEX_LENGTH) return `regex longer than ${MAX_REGEX_LENGTH} characters`;
	if (/\\[1-9]|\\k</.test(pattern)) return "back-references are not supported";
	if (/\(\?<?[=!]/.test(pattern)) return "look-arounds are not supported";
	if (hasNestedQuantifier(pattern)) return "a repeated group containing a repetition could run for ever";
	return undefined;
}

/** Scans groups: a group whose body has a quantifier and which is itself quantified. */
function hasNestedQuantifier(pattern: string): boolean {
	const stack: boolean[] = [];
	let inClass = false;
	let sawQuantifier = false;
	for (let i = 0; i < pattern.length; i++) {
		const c = pattern[i]!;
		if (c === "\\") {
			i++;
			continue;
		}
		if (inClass) {
			if (c === "]") inClass = false;
			continue;
		}
		if (c === "[") inClass = true;
		else if (c === "(") {
			stack.push(sawQuantifier);
			sawQuantifier = false;
		} else if (c === ")") {
			const inner: boolean = sawQuantifier;
			sawQuantifier = (stack.pop() ?? false) || inner;
			if (inner && isQuantifier(pattern, i + 1)) return true;
		} else if (isQuantifier(pattern, i)) sawQuantifier = true;
	}
	return false;
}

function isQuantifier(pattern: string, i: number): boolean {
	const c = pattern[i];
	if (c === "*" || c === "+") return true;
	if (c === "{") return /^\{\d+(,\d*)?\}/.test(pattern.slice(i));
	return false;
}
