// Typed variables as CDS has them on projects, applications and environments.
// Values are kept as strings (what steps receive); the type says how to check and show them.

export const VARIABLE_TYPES = ["string", "text", "boolean", "number", "password"] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export const MASK = "**********";

/**
 * Names of workflows, pipelines, applications, environments, variables…: they become URL path
 * segments, so `.` and `..` (which clients normalise away) are refused by the pattern itself.
 */
export const NAME_PATTERN = /^(?!\.\.?$)[a-zA-Z0-9._-]+$/;
export const NAME_MAX_LENGTH = 128;

/** Why `name` cannot name an entity, or undefined when it can (the API's own `entityName` rule). */
export function entityNameProblem(name: string): string | undefined {
	const shown = JSON.stringify(name).replace(
		/[^\x20-\x7e]/g,
		(c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
	);
	if (name === "." || name === "..") return `name ${shown} is reserved (it is a path step)`;
	if (name.length > NAME_MAX_LENGTH) return `name is longer than ${NAME_MAX_LENGTH} characters`;
	if (!NAME_PATTERN.test(name)) return `name ${shown} may only hold letters, digits, '.', '_' and '-'`;
	return undefined;
}
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
