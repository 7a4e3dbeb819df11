// Typed variables as CDS has them on projects, applications and environments.
// Values are kept as strings (what steps receive); the type says how to check and show them.

export const VARIABLE_TYPES = ["string", "text", "boolean", "number", "password"] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export const MASK = "**********";

export const NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;
export const PROJECT_KEY_PATTERN = /^[A-Z0-9]+$/;

/** Normalises a value for its type, or returns a one-line reason it does not fit. */
export function normaliseVariableValue(
	type: VariableType,
	value: unknown,
): { value: string } | { error: string } {
	switch (type) {
		case "boolean": {
			if (value === true || value === "true") return { value: "true" };
			if (value === false || value === "false") return { value: "false" };
			return { error: `a boolean variable takes true or false, not '${String(value)}'` };
		}
		case "number": {
			const s = String(value).trim();
			if (s === "" || !Number.isFinite(Number(s)))
				return { error: `a number variable takes a number, not '${String(value)}'` };
			return { value: s };
		}
		case "string":
			if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
				return { error: "a string variable takes a string" };
			}
			if (String(value).includes("\n")) return { error: "a string variable is one line: use type text" };
			return { value: String(value) };
		default:
			if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
				return { error: `a ${type} variable takes a string` };
			}
			return { value: String(value) };
	}
}
