// The shapes of data every backend stores and gives back identically. Each refusal below was
// seen on FerretDB v1.24 (SQLite and PostgreSQL handlers) or is MongoDB's documented limit;
// NeDB accepts all of them, so without this check a test on the embedded store would pass
// with a document FerretDB refuses or silently changes. Both stores call it on every insert,
// replace (upsert) and update, and on query values, and throw StoreShapeError: storing such a
// shape is a programming error. Data shaped by users must be converted before it reaches the
// store (`toStorable`, `withWellFormedStrings`) or refused with a 4xx (`subsetProblem`).
//
//   refused                                  FerretDB v1.24 / MongoDB
//   an array directly inside an array        "nested arrays are not supported"
//   NaN (anywhere, queries included)         drops the connection ("NaN is not supported")
//   Infinity, -Infinity                      "infinity values are not allowed"
//   "\0" in a string                         PostgreSQL handler: "unsupported Unicode escape sequence"
//   "\0" in a field name                     the driver refuses it
//   a lone UTF-16 surrogate                  not UTF-8: the driver stores U+FFFD instead
//   an invalid Date                          stored as 1970-01-01
//   bigint, function, symbol, Map, Set,      converted or dropped by the driver (a Set becomes {},
//   RegExp, Buffer, class instances          a function vanishes); NeDB keeps or mangles them
//   undefined inside an array                becomes null (NeDB keeps undefined until a reload)
//   $set of undefined                        MongoDB drivers skip it (the old value stays); NeDB
//                                            sets it — use $unset
//   more than 100 levels of nesting          MongoDB's limit (FerretDB accepted 300)
//   a document over 16 MiB (BSON)            MongoDB's limit; the driver fails past ~17 MiB
//   an update path with an empty or "$" part "contains an empty field name"; positional operators
//
// -0 is not refused: FerretDB stores 0, so both stores write 0 (see field-names.ts).

/** MongoDB's maximum BSON document size. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** Levels of nested documents and arrays, the top-level document being the first. */
export const MAX_NESTING = 100;

/** A value outside the store subset reached the store: a programming error, never a user's. */
export class StoreShapeError extends Error {
	/** `collection.operation`, e.g. `runs.insert`. */
	readonly operation: string;
	/** Where in the document, e.g. `params.matrix[0]`; empty for the document itself. */
	readonly path: string;
	constructor(operation: string, path: string, reason: string) {
		super(
			`${operation}: ${reason} at ${path || "the document"} (outside the store subset: ARCHITECTURE.md, Storage)`,
		);
		this.name = "StoreShapeError";
		this.operation = operation;
		this.path = path;
	}
}

function isPlainObject(value: object): value is Record<string, unknown> {
	const proto = Object.getPrototypeOf(value);
	return proto === Object.prototype || proto === null;
}

function fieldPath(parent: string, key: string): string {
	return parent ? `${parent}.${key}` : key;
}

// String.prototype.isWellFormed/toWellFormed are in Node 22 but not in the ES2023 typings.
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };
const isWellFormed = (s: string): boolean => (s as unknown as WellFormed).isWellFormed();
/** The string with lone surrogates and "\0" replaced by U+FFFD. */
const wellFormed = (s: string): string =>
	s.includes("\0") || !isWellFormed(s)
		? (s as unknown as WellFormed).toWellFormed().replaceAll("\0", "\uFFFD")
		: s;

function badString(s: string): string | undefined {
	if (s.includes("\0")) return 'a "\\0" character (FerretDB on PostgreSQL refuses it)';
	if (!isWellFormed(s)) return "a lone UTF-16 surrogate (not UTF-8: MongoDB drivers store U+FFFD)";
	return undefined;
}

/** A problem found by the walk; the path is assembled on the way out, so the way down allocates nothing. */
class Problem {
	readonly reason: string;
	/** Innermost first: `key` or `[index]`. */
	readonly segments: string[] = [];
	constructor(reason: string) {
		this.reason = reason;
	}
}

/**
 * Checks one value; returns an upper bound of its BSON size (3 bytes per UTF-16 unit), so the
 * exact size is only computed for the rare document that might be too large. `depth` is the
 * level of `value` (the top-level document is 0).
 */
function checkValue(value: unknown, depth: number, inArray: boolean): number {
	switch (typeof value) {
		case "string": {
			const bad = badString(value);
			if (bad) throw new Problem(bad);
			return 5 + value.length * 3;
		}
		case "number":
			if (Number.isNaN(value)) throw new Problem("NaN (FerretDB drops the connection)");
			if (!Number.isFinite(value)) throw new Problem(`${value} (FerretDB refuses infinities)`);
			return 8;
		case "boolean":
			return 1;
		case "undefined":
			if (inArray) throw new Problem("undefined inside an array (stored as null by MongoDB)");
			return 0;
		case "object":
			break;
		default:
			throw new Problem(`a ${typeof value} (only JSON values and Dates are stored)`);
	}
	if (value === null) return 0;
	if (value instanceof Date) {
		if (Number.isNaN(value.getTime())) throw new Problem("an invalid Date");
		return 8;
	}
	if (depth >= MAX_NESTING) throw new Problem(`more than ${MAX_NESTING} levels of nesting`);
	if (Array.isArray(value)) {
		if (inArray) throw new Problem("an array inside an array (FerretDB refuses nested arrays)");
		let bytes = 5;
		for (let i = 0; i < value.length; i++) {
			try {
				bytes += 10 + checkValue(value[i], depth + 1, true);
			} catch (err) {
				if (err instanceof Problem) err.segments.push(`[${i}]`);
				throw err;
			}
		}
		return bytes;
	}
	if (!isPlainObject(value)) {
		const kind = (value as object).constructor?.name ?? "non-plain";
		throw new Problem(`a ${kind} object (only plain objects, arrays and Dates are stored)`);
	}
	let bytes = 5;
	for (const key in value) {
		const bad = badString(key);
		if (bad) {
			const problem = new Problem(`a field name with ${bad}`);
			problem.segments.push(JSON.stringify(key));
			throw problem;
		}
		try {
			bytes += 2 + key.length * 3 + checkValue(value[key], depth + 1, false);
		} catch (err) {
			if (err instanceof Problem) err.segments.push(key);
			throw err;
		}
	}
	return bytes;
}

/** checkValue, turning a problem into StoreShapeError at `path` (where `value` is stored). */
function check(value: unknown, op: string, path: string, depth: number, inArray: boolean): number {
	try {
		return checkValue(value, depth, inArray);
	} catch (err) {
		if (!(err instanceof Problem)) throw err;
		let at = path;
		for (let i = err.segments.length - 1; i >= 0; i--) {
			const segment = err.segments[i]!;
			at = segment.startsWith("[") ? `${at}${segment}` : fieldPath(at, segment);
		}
		throw new StoreShapeError(op, at, err.reason);
	}
}

const utf8 = (s: string): number => Buffer.byteLength(s, "utf8");
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** A field name's bytes once escaped (field-names.ts: ".", "%" and a leading "$" take 3 bytes). */
function keyBytes(key: string): number {
	let bytes = utf8(key);
	for (let i = 0; i < key.length; i++) {
		const c = key[i];
		if (c === "." || c === "%" || (c === "$" && i === 0)) bytes += 2;
	}
	return bytes;
}

/** The exact BSON size of a value the walk accepted, as the MongoDB driver serialises it. */
export function bsonSize(value: unknown): number {
	switch (typeof value) {
		case "string":
			return 5 + utf8(value);
		case "number":
			return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX ? 4 : 8;
		case "boolean":
			return 1;
		default:
			break;
	}
	if (value === null || value === undefined) return 0;
	if (value instanceof Date) return 8;
	let bytes = 5;
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) bytes += 2 + String(i).length + bsonSize(value[i]);
		return bytes;
	}
	for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
		if (inner !== undefined) bytes += 2 + keyBytes(key) + bsonSize(inner);
	}
	return bytes;
}

function checkSize(value: unknown, upperBound: number, op: string, path: string): void {
	if (upperBound <= MAX_DOCUMENT_BYTES) return;
	const bytes = bsonSize(value);
	if (bytes > MAX_DOCUMENT_BYTES) {
		throw new StoreShapeError(
			op,
			path,
			`${bytes} bytes of BSON (more than ${MAX_DOCUMENT_BYTES}, MongoDB's limit)`,
		);
	}
}

/** Throws StoreShapeError unless `doc` (a whole document: insert, replace) is in the subset. */
export function checkStorableDoc(doc: Record<string, unknown>, op: string): void {
	checkSize(doc, check(doc, op, "", 0, false), op, "");
}

/** An update's field path: non-empty parts, none an operator (`$`, `$[]`), no "\0". */
function checkUpdatePath(path: string, op: string): void {
	for (const part of path.split(".")) {
		if (part === "") throw new StoreShapeError(op, path, "an update path with an empty part");
		if (part.startsWith("$")) throw new StoreShapeError(op, path, "a positional operator in an update path");
		const bad = badString(part);
		if (bad) throw new StoreShapeError(op, path, `an update path with ${bad}`);
	}
}

/** Throws StoreShapeError unless the fields and values of an update are in the subset. */
export function checkStorableUpdate(
	update: {
		$set?: Record<string, unknown>;
		$unset?: Record<string, unknown>;
		$inc?: Record<string, unknown>;
		$push?: Record<string, unknown>;
	},
	op: string,
): void {
	for (const fields of [update.$set, update.$unset, update.$inc, update.$push]) {
		for (const path in fields) checkUpdatePath(path, op);
	}
	for (const [path, value] of Object.entries(update.$set ?? {})) {
		if (value === undefined)
			throw new StoreShapeError(op, path, "$set of undefined (MongoDB skips it: use $unset)");
		const depth = path.split(".").length;
		checkSize(value, check(value, `${op} $set`, path, depth, false), `${op} $set`, path);
	}
	for (const [path, value] of Object.entries(update.$push ?? {})) {
		if (value === undefined) throw new StoreShapeError(op, path, "$push of undefined");
		const depth = path.split(".").length + 1;
		checkSize(value, check(value, `${op} $push`, path, depth, true), `${op} $push`, path);
	}
}

/** Throws StoreShapeError when a query value holds NaN: FerretDB drops the connection on it. */
export function checkQueryValues(value: unknown, op: string, path = ""): void {
	if (typeof value === "number") {
		if (Number.isNaN(value))
			throw new StoreShapeError(op, path, "NaN in a query (FerretDB drops the connection)");
		return;
	}
	if (typeof value !== "object" || value === null || value instanceof Date) return;
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) checkQueryValues(value[i], op, `${path}[${i}]`);
		return;
	}
	for (const [key, inner] of Object.entries(value)) checkQueryValues(inner, op, fieldPath(path, key));
}

/**
 * Why `value`, stored at `depth` (1 for a top-level field), would be refused — "an array inside
 * an array at [0]" — or undefined when it is in the subset. For services that refuse data shaped
 * by users (a run's payload, template parameters) with a 4xx naming the problem.
 */
export function subsetProblem(value: unknown, depth = 1): string | undefined {
	try {
		checkSize(value, check(value, "", "", depth, false), "", "");
		return undefined;
	} catch (err) {
		if (!(err instanceof StoreShapeError)) throw err;
		const reason = err.message.slice(2, err.message.lastIndexOf(" (outside the store subset"));
		return reason.replace(/ at the document$/, "");
	}
}

/**
 * `value` with "\0" and lone surrogates replaced by U+FFFD in every string and field name, and
 * nothing else changed: what a JSON text can hold that no backend stores (a `\u0000` or lone
 * `\ud800` escape). Returns `value` itself when nothing needed converting.
 */
export function withWellFormedStrings<T>(value: T): T {
	return convert(value, Number.NEGATIVE_INFINITY, false, true) as T;
}

/** Whether a JSON text holds an escape `withWellFormedStrings` may have to convert (a fast pre-check). */
export function jsonMayHoldBadStrings(text: string): boolean {
	return /\\u(0000|d[89a-f])/i.test(text);
}

/**
 * Converts data shaped by users or tools (a webhook payload, report contents, parameters) into
 * the subset, for the services that keep it as received: an array directly inside an array
 * becomes `{ items: [...] }`, "\0" and lone surrogates become U+FFFD, non-finite numbers null,
 * -0 zero, undefined in arrays null; nesting deeper than `MAX_NESTING` is cut (the level is
 * replaced by null). Size is left to the caller, which knows what to cut. Returns `value`
 * itself when nothing needed converting.
 */
export function toStorable<T>(value: T, depth = 1): T {
	return convert(value, depth, false, false) as T;
}

/** `stringsOnly`: only strings and field names are converted (withWellFormedStrings). */
function convert(value: unknown, depth: number, inArray: boolean, stringsOnly: boolean): unknown {
	if (stringsOnly && typeof value !== "string" && (typeof value !== "object" || value === null)) return value;
	switch (typeof value) {
		case "string":
			return wellFormed(value);
		case "number":
			return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : null;
		case "boolean":
			return value;
		case "undefined":
			return inArray ? null : undefined;
		case "bigint":
			return Number(value);
		case "object":
			break;
		default:
			return inArray ? null : undefined;
	}
	if (value === null) return null;
	if (value instanceof Date) return Number.isNaN(value.getTime()) && !stringsOnly ? null : value;
	if (depth >= MAX_NESTING) return null;
	if (Array.isArray(value)) {
		let out: unknown[] | undefined;
		for (let i = 0; i < value.length; i++) {
			const item = value[i];
			const converted =
				Array.isArray(item) && !stringsOnly
					? { items: convert(item, depth + 2, false, false) }
					: convert(item, depth + 1, true, stringsOnly);
			if (converted !== item && !out) out = value.slice(0, i);
			out?.push(converted);
		}
		return out ?? value;
	}
	let out: Record<string, unknown> | undefined;
	const entries = Object.entries(value);
	const plain = isPlainObject(value) || stringsOnly;
	if (stringsOnly && !isPlainObject(value)) return value;
	for (let i = 0; i < entries.length; i++) {
		const [key, inner] = entries[i]!;
		const safeKey = wellFormed(key);
		const converted = convert(inner, depth + 1, false, stringsOnly);
		if ((converted !== inner || safeKey !== key || !plain) && !out)
			out = Object.fromEntries(entries.slice(0, i));
		if (out && converted !== undefined) out[safeKey] = converted;
	}
	return out ?? (plain ? value : {});
}
