// A small JSON Schema validator for the subset the stand-in's schemas use (type, properties,
// required, additionalProperties — false everywhere, so unknown fields are refused —, items,
// enum, pattern, minimum, maximum, minLength, oneOf, $ref to #/definitions). It answers
// Marathon-style error details: [{path, errors}].

export type Schema = {
	$ref?: string;
	type?: string | string[];
	properties?: Record<string, Schema>;
	required?: string[];
	additionalProperties?: boolean | Schema;
	items?: Schema;
	enum?: unknown[];
	pattern?: string;
	minimum?: number;
	maximum?: number;
	minLength?: number;
	oneOf?: Schema[];
	definitions?: Record<string, Schema>;
	description?: string;
};

export interface SchemaError {
	path: string;
	errors: string[];
}

function typeOf(v: unknown): string {
	if (v === null) return "null";
	if (Array.isArray(v)) return "array";
	if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
	return typeof v;
}

export function validate(root: Schema, value: unknown): SchemaError[] {
	const out: SchemaError[] = [];
	const add = (path: string, error: string) => out.push({ path: path || "/", errors: [error] });
	const walk = (s: Schema, v: unknown, path: string): void => {
		if (s.$ref) {
			const name = s.$ref.replace("#/definitions/", "");
			const def = root.definitions?.[name];
			if (!def) throw new Error(`schema: unknown $ref ${s.$ref}`);
			walk(def, v, path);
			return;
		}
		if (s.oneOf) {
			const fits = s.oneOf.filter((o) => {
				const before = out.length;
				walk(o, v, path);
				const ok = out.length === before;
				out.length = before;
				return ok;
			});
			if (fits.length !== 1) add(path, `must match exactly one of ${s.oneOf.length} forms`);
			return;
		}
		if (s.type) {
			const t = typeOf(v);
			const allowed = Array.isArray(s.type) ? s.type : [s.type];
			if (!allowed.includes(t) && !(t === "integer" && allowed.includes("number"))) {
				add(path, `error.expected.${allowed.join("|")} (got ${t})`);
				return;
			}
		}
		if (s.enum && !s.enum.includes(v)) add(path, `error.expected.enum: one of ${s.enum.join(", ")}`);
		if (typeof v === "string") {
			if (s.pattern && !new RegExp(s.pattern).test(v)) add(path, `error.pattern: must match ${s.pattern}`);
			if (s.minLength !== undefined && v.length < s.minLength) add(path, `error.minLength: ${s.minLength}`);
		}
		if (typeof v === "number") {
			if (s.minimum !== undefined && v < s.minimum) add(path, `error.min: must be >= ${s.minimum}`);
			if (s.maximum !== undefined && v > s.maximum) add(path, `error.max: must be <= ${s.maximum}`);
		}
		if (Array.isArray(v) && s.items)
			for (const [i, item] of v.entries()) walk(s.items, item, `${path}(${i})`);
		if (v && typeof v === "object" && !Array.isArray(v)) {
			const obj = v as Record<string, unknown>;
			for (const r of s.required ?? []) if (!(r in obj)) add(`${path}/${r}`, "error.path.missing");
			for (const [k, item] of Object.entries(obj)) {
				const p = s.properties?.[k];
				if (p) walk(p, item, `${path}/${k}`);
				else if (s.additionalProperties === false || s.additionalProperties === undefined) {
					if (s.properties) add(`${path}/${k}`, "error.unknown.property");
				} else if (typeof s.additionalProperties === "object")
					walk(s.additionalProperties, item, `${path}/${k}`);
			}
		}
	};
	walk(root, value, "");
	return out;
}
