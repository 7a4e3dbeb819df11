// Field names MongoDB, FerretDB and NeDB refuse or misread: a "." (a path separator to them)
// or a leading "$" (an operator). Documents carry such names as data — CDS variables are
// dotted (`git.branch`), payload keys are the users' — so every backend escapes them on the
// way in and restores them on the way out. "%" is escaped too, so decoding is exact.
// On the way in, -0 becomes 0 too: FerretDB stores 0, NeDB would keep -0 until a reload.

const NEEDS_ESCAPE = /[.%]|^\$/;
const ESCAPED = /%(25|2E|24)/g;
const UNESCAPE: Record<string, string> = { "%25": "%", "%2E": ".", "%24": "$" };

const TO_ESCAPE = /[.%]|^\$/g;
const ESCAPE: Record<string, string> = { "%": "%25", ".": "%2E", $: "%24" };

function escapeKey(key: string): string {
	return NEEDS_ESCAPE.test(key) ? key.replace(TO_ESCAPE, (m) => ESCAPE[m]!) : key;
}

function unescapeKey(key: string): string {
	return key.includes("%") ? key.replace(ESCAPED, (m) => UNESCAPE[m]!) : key;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
	if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
	const proto = Object.getPrototypeOf(v);
	return proto === Object.prototype || proto === null;
}

const isNegativeZero = (v: unknown): boolean => v === 0 && Object.is(v, -0);

/**
 * Whether any key at any level would change under `test` (or, with `zero`, any value is -0):
 * a read-only walk, no allocation.
 */
function anyKey(value: unknown, test: (k: string) => boolean, zero: boolean): boolean {
	if (zero && isNegativeZero(value)) return true;
	if (Array.isArray(value)) return value.some((v) => anyKey(v, test, zero));
	if (!isPlainObject(value)) return false;
	for (const k in value) if (test(k) || anyKey(value[k], test, zero)) return true;
	return false;
}

function mapKeys(value: unknown, f: (k: string) => string): unknown {
	if (isNegativeZero(value)) return 0;
	if (Array.isArray(value)) return value.map((v) => mapKeys(v, f));
	if (!isPlainObject(value)) return value;
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(value)) out[f(k)] = mapKeys(v, f);
	return out;
}

const needsEscape = (k: string) => NEEDS_ESCAPE.test(k);
const isEscaped = (k: string) => k.includes("%");

/** Escapes the field names of a document (every level) and turns -0 into 0. */
export function encodeFields<T>(doc: T): T {
	// Most documents have plain names: then the document itself is stored (the backends copy it).
	return anyKey(doc, needsEscape, true) ? (mapKeys(doc, escapeKey) as T) : doc;
}

/** Restores the field names of a stored document. */
export function decodeFields<T>(doc: T): T {
	return anyKey(doc, isEscaped, false) ? (mapKeys(doc, unescapeKey) as T) : doc;
}

/** Escapes the values of an update operator ($set: {"a.b": {x.y: 1}} keeps the path, escapes the value). */
export function encodeUpdateValues(
	op: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
	if (!op) return op;
	const out: Record<string, unknown> = {};
	for (const [path, v] of Object.entries(op)) out[path] = encodeFields(v);
	return out;
}
