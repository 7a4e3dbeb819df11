// Small readers for untrusted JSON: wrong shapes become clear errors, never TypeErrors.
import { type ParseContext, failure } from "./errors.ts";

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function expectObject(value: unknown, ctx: ParseContext, what: string): JsonObject {
	if (!isObject(value)) throw failure(ctx, `${what} must be a JSON object`);
	return value;
}

export function expectArray(value: unknown, ctx: ParseContext, what: string): unknown[] {
	if (!Array.isArray(value)) throw failure(ctx, `${what} must be a JSON array`);
	return value;
}

/** An optional array: absent/null is empty, any other non-array is an error. */
export function arrayOf(value: unknown, ctx: ParseContext, what: string): unknown[] {
	if (value === undefined || value === null) return [];
	return expectArray(value, ctx, what);
}

export function str(value: unknown): string | undefined {
	if (typeof value === "string") return value;
	if (typeof value === "number") return String(value);
	return undefined;
}

export function num(value: unknown): number | undefined {
	if (typeof value === "number" && Number.isFinite(value)) return value;
	if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)))
		return Number(value);
	return undefined;
}

export function uniqueStrings(values: Array<string | undefined>, without?: string): string[] {
	const seen = new Set<string>();
	for (const v of values) if (v && v !== without) seen.add(v);
	return [...seen];
}
