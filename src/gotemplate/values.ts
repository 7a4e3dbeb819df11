/**
 * The data model: plain JS values seen as Go values.
 *   undefined            -> an invalid reflect.Value (missing map key, "no value")
 *   null                 -> a nil interface{}
 *   boolean / string     -> bool / string
 *   integral number      -> int;  other number -> float64
 *   GoFloat              -> a float64 whose value is integral (e.g. the literal 1.0)
 *   array                -> []interface{};  plain object -> map[string]interface{}
 */

/** A float64 that happens to hold an integral value; JS numbers alone cannot tell 1.0 from 1. */
export class GoFloat {
	readonly value: number;
	constructor(value: number) {
		this.value = value;
	}
}

export type Kind = "invalid" | "nil" | "bool" | "int" | "float" | "string" | "slice" | "map" | "func";

export type GoMap = Record<string, unknown>;

export function kindOf(v: unknown): Kind {
	if (v === undefined) return "invalid";
	if (v === null) return "nil";
	switch (typeof v) {
		case "boolean":
			return "bool";
		case "string":
			return "string";
		case "number":
			return Number.isInteger(v) ? "int" : "float";
		case "bigint":
			return "int";
		case "function":
			return "func";
	}
	if (v instanceof GoFloat) return "float";
	if (Array.isArray(v)) return "slice";
	return "map";
}

export function numberOf(v: unknown): number {
	if (v instanceof GoFloat) return v.value;
	if (typeof v === "bigint") return Number(v);
	return v as number;
}

/** Go's reflect type name of a value, as it appears in error messages and %T. */
export function typeName(v: unknown): string {
	switch (kindOf(v)) {
		case "invalid":
		case "nil":
			return "<nil>";
		case "bool":
			return "bool";
		case "int":
			return "int";
		case "float":
			return "float64";
		case "string":
			return "string";
		case "slice":
			return "[]interface {}";
		case "map":
			return "map[string]interface {}";
		case "func":
			return "func";
	}
}

/** Map keys in Go's sorted order (byte-wise comparison of UTF-8 strings). */
export function sortedKeys(m: GoMap): string[] {
	return Object.keys(m)
		.filter((k) => m[k] !== undefined)
		.sort(compareStrings);
}

/** Compares strings by code point, which matches Go's byte-wise UTF-8 ordering. */
function compareStrings(a: string, b: string): number {
	const ia = a[Symbol.iterator]();
	const ib = b[Symbol.iterator]();
	while (true) {
		const ca = ia.next();
		const cb = ib.next();
		if (ca.done || cb.done) return ca.done ? (cb.done ? 0 : -1) : 1;
		const diff = (ca.value.codePointAt(0) ?? 0) - (cb.value.codePointAt(0) ?? 0);
		if (diff !== 0) return diff;
	}
}

/** Go's length of a value (bytes for strings), or null when it has none. */
export function lengthOf(v: unknown): number | null {
	switch (kindOf(v)) {
		case "string":
			return Buffer.byteLength(v as string, "utf8");
		case "slice":
			return (v as unknown[]).length;
		case "map":
			return sortedKeys(v as GoMap).length;
		default:
			return null;
	}
}

/** text/template's truth: false for zero values and empty collections. */
export function isTrue(v: unknown): boolean {
	switch (kindOf(v)) {
		case "invalid":
		case "nil":
			return false;
		case "bool":
			return v as boolean;
		case "int":
		case "float":
			return numberOf(v) !== 0;
		case "func":
			return true;
		default:
			return (lengthOf(v) ?? 0) > 0;
	}
}
