// `persistent_workspace: {name, size}` of a workflow node: a name fit for a directory or a
// volume label, and a size written as CDS users write sizes ("2GB", "512MiB", a bare number of
// bytes). Every problem is reported where it is written.

import type { YAMLMap } from "yaml";
import {
	DEFAULT_PERSISTENT_WORKSPACE_SIZE,
	PERSISTENT_WORKSPACE_NAME,
	type PersistentWorkspaceSpec,
} from "./model.ts";
import type { Field, SourceFile } from "./source.ts";

const KEYS = ["name", "size"] as const;

const UNITS: Record<string, number> = {
	b: 1,
	kb: 1000,
	mb: 1000 ** 2,
	gb: 1000 ** 3,
	tb: 1000 ** 4,
	kib: 1024,
	mib: 1024 ** 2,
	gib: 1024 ** 3,
	tib: 1024 ** 4,
};

/** Bytes of a size text ("2GB", "512MiB", "1073741824"), or undefined when it is not one. */
export function parseWorkspaceSize(text: string): number | undefined {
	const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]+)?$/.exec(text.trim());
	if (!m) return undefined;
	const factor = m[2] === undefined ? 1 : UNITS[m[2].toLowerCase()];
	if (factor === undefined) return undefined;
	const bytes = Math.floor(Number(m[1]) * factor);
	return bytes >= 1 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

export function parsePersistentWorkspace(
	src: SourceFile,
	field: Field,
	usedBy: string,
): PersistentWorkspaceSpec | undefined {
	const what = `persistent_workspace of ${usedBy}`;
	const map = src.map(field.value, `${what} ({name, size})`, field.keyNode) as YAMLMap | undefined;
	if (!map) return undefined;
	const fields = src.knownFields(map, what, KEYS);
	if (!src.require(fields, ["name"], what, map)) return undefined;
	const name = src.string(fields.get("name"), `name of ${what}`);
	if (name === undefined) return undefined;
	if (!PERSISTENT_WORKSPACE_NAME.test(name)) {
		src.error(
			"invalid-value",
			`name '${name}' of ${what} must be 1 to 40 lower-case letters, digits or '-', starting with a letter or digit`,
			fields.get("name")!.value,
		);
		return undefined;
	}
	const sizeField = fields.get("size");
	const size = src.string(sizeField, `size of ${what}`);
	if (sizeField && size === undefined) return undefined;
	let sizeBytes = DEFAULT_PERSISTENT_WORKSPACE_SIZE;
	if (size !== undefined) {
		const parsed = parseWorkspaceSize(size);
		if (parsed === undefined) {
			src.error(
				"invalid-value",
				`size '${size}' of ${what} is not a size (e.g. 2GB, 512MiB, or a number of bytes)`,
				sizeField!.value,
			);
			return undefined;
		}
		sizeBytes = parsed;
	}
	return { name, sizeBytes, size };
}
