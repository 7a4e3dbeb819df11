/**
 * text/template's predefined functions (except "call", which needs Go
 * function values). and/or are listed for arity checks; the executor
 * evaluates them lazily to short-circuit as Go >= 1.18 does.
 */
import { htmlEscape, jsEscape, queryEscape } from "./escape.ts";
import { sprint, sprintf, sprintln } from "./format.ts";
import { type GoMap, isTrue, kindOf, lengthOf, numberOf, typeName } from "./values.ts";

/** How an argument is converted before a call (mirrors the Go parameter type). */
export type ParamType = "value" | "any" | "string" | "list" | "int";

export interface FunctionSpec {
	/** Parameter types; when variadic, the last one repeats. */
	params: ParamType[];
	variadic: boolean;
	call: (...args: unknown[]) => unknown;
}

/** Error raised by a function; the executor reports it as "error calling NAME: ...". */
export class FunctionCallError extends Error {}

function basicKind(v: unknown): "bool" | "int" | "float" | "string" | "other" {
	const k = kindOf(v);
	return k === "bool" || k === "int" || k === "float" || k === "string" ? k : "other";
}

function nilish(v: unknown): boolean {
	return v === undefined || v === null;
}

function comparable(v: unknown): unknown {
	return kindOf(v) === "float" ? numberOf(v) : v;
}

function eq(a: unknown, ...rest: unknown[]): boolean {
	if (rest.length === 0) throw new FunctionCallError("missing argument for comparison");
	const k1 = basicKind(a);
	for (const b of rest) {
		const k2 = basicKind(b);
		let truth = false;
		if (k1 !== k2) {
			if (!nilish(a) && !nilish(b)) throw new FunctionCallError("incompatible types for comparison");
		} else if (k1 !== "other") {
			truth = comparable(a) === comparable(b);
		} else if (nilish(a) || nilish(b)) {
			truth = nilish(a) && nilish(b);
		} else {
			throw new FunctionCallError(`non-comparable type ${sprintf("%s", [b])}: ${typeName(b)}`);
		}
		if (truth) return true;
	}
	return false;
}

function lt(a: unknown, b: unknown): boolean {
	const k1 = basicKind(a);
	const k2 = basicKind(b);
	if (k1 === "other" || k2 === "other") throw new FunctionCallError("invalid type for comparison");
	if (k1 !== k2) throw new FunctionCallError("incompatible types for comparison");
	if (k1 === "bool") throw new FunctionCallError("invalid type for comparison");
	if (k1 === "string") return (a as string) < (b as string);
	return numberOf(a) < numberOf(b);
}

function indexArg(index: unknown, cap: number): number {
	const kind = kindOf(index);
	if (kind === "invalid" || kind === "nil") throw new FunctionCallError("cannot index slice/array with nil");
	if (kind !== "int") throw new FunctionCallError(`cannot index slice/array with type ${typeName(index)}`);
	const x = numberOf(index);
	if (x < 0 || x > cap) throw new FunctionCallError(`index out of range: ${x}`);
	return x;
}

function index(item: unknown, ...indexes: unknown[]): unknown {
	if (nilish(item)) throw new FunctionCallError("index of untyped nil");
	let current = item;
	for (const idx of indexes) {
		const kind = kindOf(current);
		if (kind === "nil") throw new FunctionCallError("index of nil pointer");
		if (kind === "slice" || kind === "string") {
			const isString = kind === "string";
			const bytes = isString ? Buffer.from(current as string, "utf8") : null;
			const len = bytes ? bytes.length : (current as unknown[]).length;
			const x = indexArg(idx, len);
			if (x === len) throw new FunctionCallError(`index out of range: ${x}`);
			current = bytes ? bytes[x] : (current as unknown[])[x];
		} else if (kind === "map") {
			if (kindOf(idx) !== "string") {
				const got = nilish(idx) ? "nil" : `type ${typeName(idx)}`;
				throw new FunctionCallError(`value has ${got}; should be string`);
			}
			const map = current as GoMap;
			const value = Object.hasOwn(map, idx as string) ? map[idx as string] : undefined;
			current = value === undefined ? null : value;
		} else {
			throw new FunctionCallError(`can't index item of type ${typeName(current)}`);
		}
	}
	return current;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
	if (nilish(item)) throw new FunctionCallError("slice of untyped nil");
	if (indexes.length > 3) throw new FunctionCallError(`too many slice indexes: ${indexes.length}`);
	const kind = kindOf(item);
	let len: number;
	if (kind === "string") {
		if (indexes.length === 3) throw new FunctionCallError("cannot 3-index slice a string");
		len = Buffer.byteLength(item as string, "utf8");
	} else if (kind === "slice") {
		len = (item as unknown[]).length;
	} else {
		throw new FunctionCallError(`can't slice item of type ${typeName(item)}`);
	}
	const idx = [0, len, len];
	indexes.forEach((x, i) => {
		idx[i] = indexArg(x, len);
	});
	const [from = 0, to = len, max = len] = idx;
	if (from > to) throw new FunctionCallError(`invalid slice index: ${from} > ${to}`);
	if (indexes.length === 3 && to > max) throw new FunctionCallError(`invalid slice index: ${to} > ${max}`);
	if (kind === "string")
		return Buffer.from(item as string, "utf8")
			.subarray(from, to)
			.toString("utf8");
	return (item as unknown[]).slice(from, to);
}

function length(item: unknown): number {
	if (nilish(item)) throw new FunctionCallError("len of nil pointer");
	const n = lengthOf(item);
	if (n === null) throw new FunctionCallError(`len of type ${typeName(item)}`);
	return n;
}

/** fmt.Sprint of the arguments as the html/js/urlquery builtins see them. */
function evalArgs(args: unknown[]): string {
	if (args.length === 1 && typeof args[0] === "string") return args[0];
	return sprint(args.map((a) => (nilish(a) ? "<no value>" : a)));
}

export const BUILTINS: Record<string, FunctionSpec> = {
	and: { params: ["value", "value"], variadic: true, call: () => undefined },
	or: { params: ["value", "value"], variadic: true, call: () => undefined },
	not: { params: ["value"], variadic: false, call: (v) => !isTrue(v) },
	len: { params: ["value"], variadic: false, call: length },
	index: { params: ["value", "value"], variadic: true, call: index },
	slice: { params: ["value", "value"], variadic: true, call: slice },
	print: { params: ["any"], variadic: true, call: (...args) => sprint(args) },
	printf: {
		params: ["string", "any"],
		variadic: true,
		call: (format, ...args) => sprintf(format as string, args),
	},
	println: { params: ["any"], variadic: true, call: (...args) => sprintln(args) },
	eq: { params: ["value", "value"], variadic: true, call: eq },
	ne: { params: ["value", "value"], variadic: false, call: (a, b) => !eq(a, b) },
	lt: { params: ["value", "value"], variadic: false, call: lt },
	le: { params: ["value", "value"], variadic: false, call: (a, b) => lt(a, b) || eq(a, b) },
	gt: { params: ["value", "value"], variadic: false, call: (a, b) => !(lt(a, b) || eq(a, b)) },
	ge: { params: ["value", "value"], variadic: false, call: (a, b) => !lt(a, b) },
	html: { params: ["any"], variadic: true, call: (...args) => htmlEscape(evalArgs(args)) },
	js: { params: ["any"], variadic: true, call: (...args) => jsEscape(evalArgs(args)) },
	urlquery: { params: ["any"], variadic: true, call: (...args) => queryEscape(evalArgs(args)) },
};
