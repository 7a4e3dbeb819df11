/** Go's encoding/json.Marshal for the template data model (used by toJson). */
import { type GoMap, kindOf, numberOf, sortedKeys } from "./values.ts";

function jsonString(s: string): string {
	let out = '"';
	for (const ch of s) {
		const code = ch.codePointAt(0) ?? 0;
		if (ch === '"' || ch === "\\") out += `\\${ch}`;
		else if (ch === "\n") out += "\\n";
		else if (ch === "\r") out += "\\r";
		else if (ch === "\t") out += "\\t";
		else if (ch === "\b") out += "\\b";
		else if (ch === "\f") out += "\\f";
		else if (code < 0x20 || ch === "<" || ch === ">" || ch === "&" || code === 0x2028 || code === 0x2029) {
			out += `\\u${code.toString(16).padStart(4, "0")}`;
		} else if (code >= 0xd800 && code < 0xe000) out += "\\ufffd";
		else out += ch;
	}
	return `${out}"`;
}

export function toGoJson(v: unknown): string {
	switch (kindOf(v)) {
		case "invalid":
		case "nil":
			return "null";
		case "bool":
			return String(v);
		case "int":
			return String(numberOf(v));
		case "float": {
			const n = numberOf(v);
			if (!Number.isFinite(n)) throw new Error(`json: unsupported value: ${n}`);
			return String(n);
		}
		case "string":
			return jsonString(v as string);
		case "slice":
			return `[${(v as unknown[]).map(toGoJson).join(",")}]`;
		case "map": {
			const m = v as GoMap;
			return `{${sortedKeys(m)
				.map((k) => `${jsonString(k)}:${toGoJson(m[k])}`)
				.join(",")}}`;
		}
		case "func":
			throw new Error("json: unsupported type: func");
	}
}
