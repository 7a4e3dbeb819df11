/** Step parameters: interpolated with the job variables, read as strings. */

import { interpolate } from "../../run/interpolate.ts";
import type { JsonValue } from "../../workflow/model.ts";

export function interpolateParams(value: JsonValue, vars: Record<string, string>): JsonValue {
	if (typeof value === "string") return interpolate(value, vars);
	if (Array.isArray(value)) return value.map((item) => interpolateParams(item, vars));
	if (value !== null && typeof value === "object") {
		const out: Record<string, JsonValue> = {};
		for (const [key, item] of Object.entries(value)) out[key] = interpolateParams(item, vars);
		return out;
	}
	return value;
}

/**
 * A string parameter. `{{.git.tag}}` left as written by interpolation means the variable
 * does not exist for this run: the parameter counts as not given.
 */
export function param(params: JsonValue, name: string): string {
	if (params === null || typeof params !== "object" || Array.isArray(params)) return "";
	const value = params[name];
	const text =
		typeof value === "string"
			? value
			: typeof value === "number" || typeof value === "boolean"
				? String(value)
				: "";
	return /\{\{\s*\./.test(text) ? "" : text.trim();
}
