// Template functions added to the engine's builtins and helpers for CDS templates. The
// engine already has CDS's common helpers (default, upper, lower, trim, title, quote,
// toJson, b64enc/b64dec, replace, contains, hasPrefix, hasSuffix, split, join); these
// complete the string helpers CDS templates reach for. Value last, so they can be piped.

function text(name: string, value: unknown): string {
	if (typeof value !== "string")
		throw new Error(`${name} expects a string, got ${value === null ? "nil" : typeof value}`);
	return value;
}

export const TEMPLATE_FUNCS: Record<string, (...args: unknown[]) => unknown> = {
	/** `trimPrefix P S`: S without the leading P. */
	trimPrefix(prefix: unknown, value: unknown) {
		const p = text("trimPrefix", prefix);
		const s = text("trimPrefix", value);
		return p !== "" && s.startsWith(p) ? s.slice(p.length) : s;
	},
	/** `trimSuffix X S`: S without the trailing X. */
	trimSuffix(suffix: unknown, value: unknown) {
		const x = text("trimSuffix", suffix);
		const s = text("trimSuffix", value);
		return x !== "" && s.endsWith(x) ? s.slice(0, s.length - x.length) : s;
	},
	/** `indent N S`: every line of S indented by N spaces (multi-line values inside YAML blocks). */
	indent(count: unknown, value: unknown) {
		if (typeof count !== "number" || !Number.isInteger(count) || count < 0 || count > 64) {
			throw new Error("indent expects a number of spaces between 0 and 64");
		}
		const pad = " ".repeat(count);
		return text("indent", value)
			.split("\n")
			.map((line) => (line === "" ? line : pad + line))
			.join("\n");
	},
};
