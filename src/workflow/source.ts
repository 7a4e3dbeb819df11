import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from "yaml";
import type { Document, Node, YAMLMap, YAMLSeq } from "yaml";
import type { Diagnostic, DiagnosticCode } from "./diagnostics.ts";
import type { JsonObject, JsonValue } from "./model.ts";
import { subsetProblem } from "../store/subset.ts";
import { didYouMean } from "./suggest.ts";

export const MAX_FILE_BYTES = 1024 * 1024;
/** Alias expansions allowed per file: enough for hand-written anchors, far too few for a "billion laughs". */
export const MAX_ALIAS_EXPANSIONS = 100;

/** One key of a mapping with the nodes needed to point at it. */
export interface Field {
	key: string;
	keyNode: Node;
	/** The value node, aliases resolved; null when the key has no value at all. */
	value: Node | null;
}

class AliasLimitExceeded extends Error {}

/**
 * A parsed YAML file plus the helpers the entity parsers use to read it while recording
 * located diagnostics. Nothing here throws on bad input: readers return undefined and report.
 */
export class SourceFile {
	readonly path: string;
	readonly text: string;
	readonly diagnostics: Diagnostic[] = [];
	readonly doc: Document | undefined;
	/**
	 * Plugins named by steps and requirements, checked against the project by the file set.
	 * `custom`: CDS's `- plugin-name: {…}` step, an unknown step action unless the plugin is installed.
	 */
	readonly pluginReferences: Array<{ name: string; node: Node | null; usedBy: string; custom?: boolean }> =
		[];
	private readonly lines = new LineCounter();
	private aliasExpansions = 0;
	private aliasLimitReported = false;
	private readonly nestedLists = new WeakSet<Node>();

	constructor(path: string, text: string) {
		this.path = path;
		this.text = text;
		const bytes = Buffer.byteLength(text, "utf8");
		if (bytes > MAX_FILE_BYTES) {
			this.report("error", "file-too-large", `file is ${bytes} bytes, over the 1 MiB limit`, 0);
			return;
		}
		try {
			const doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
			for (const error of doc.errors) {
				const reason = error.message.split("\n")[0] ?? error.message;
				this.report("error", "yaml-syntax", `invalid YAML: ${reason}`, error.pos[0]);
			}
			if (doc.errors.length === 0) {
				this.doc = doc;
				this.refuseUnstorableText(doc);
			}
		} catch (error) {
			this.report("error", "yaml-syntax", `invalid YAML: ${(error as Error).message}`, 0);
		}
	}

	/** A "\0" or a lone surrogate (YAML escapes allow both) in any key or value: no store keeps it. */
	private refuseUnstorableText(doc: Document): void {
		visit(doc, {
			Scalar: (_, node) => {
				const problem = typeof node.value === "string" ? subsetProblem(node.value) : undefined;
				if (problem) this.report("error", "invalid-value", `text that cannot be stored: ${problem}`, node);
			},
		});
	}

	get hasErrors(): boolean {
		return this.diagnostics.some((d) => d.severity === "error");
	}

	/** The document's root node, aliases resolved. */
	get root(): Node | null {
		return this.doc ? this.resolve(this.doc.contents) : null;
	}

	position(at: Node | number | null | undefined): { line: number; column: number } {
		const offset = typeof at === "number" ? at : (at?.range?.[0] ?? 0);
		const { line, col } = this.lines.linePos(offset);
		return { line: Math.max(line, 1), column: Math.max(col, 1) };
	}

	report(
		severity: "error" | "warning",
		code: DiagnosticCode,
		message: string,
		at: Node | number | null | undefined,
	): void {
		const { line, column } = this.position(at);
		this.diagnostics.push({ file: this.path, line, column, message, code, severity });
	}

	error(code: DiagnosticCode, message: string, at: Node | number | null | undefined): void {
		this.report("error", code, message, at);
	}

	warn(code: DiagnosticCode, message: string, at: Node | number | null | undefined): void {
		this.report("warning", code, message, at);
	}

	/** Follows an alias, counting expansions so that alias bombs stop early. */
	resolve(node: unknown): Node | null {
		if (node === null || node === undefined) return null;
		if (isAlias(node)) {
			this.aliasExpansions++;
			if (this.aliasExpansions > MAX_ALIAS_EXPANSIONS) {
				if (!this.aliasLimitReported) {
					this.aliasLimitReported = true;
					this.error(
						"too-many-aliases",
						`more than ${MAX_ALIAS_EXPANSIONS} YAML alias expansions; refusing to expand further`,
						node,
					);
				}
				throw new AliasLimitExceeded();
			}
			return this.doc ? ((node.resolve(this.doc) as Node | undefined) ?? null) : null;
		}
		return node as Node;
	}

	/** Runs a reader, turning an alias-limit abort into the diagnostic already recorded. */
	guard<T>(read: () => T): T | undefined {
		try {
			return read();
		} catch (error) {
			if (error instanceof AliasLimitExceeded) return undefined;
			this.error("invalid-value", `cannot read file: ${(error as Error).message}`, 0);
			return undefined;
		}
	}

	isEmpty(node: Node | null): boolean {
		return node === null || (isScalar(node) && (node.value === null || node.value === undefined));
	}

	/** The mapping at `node`, or undefined after reporting that it is not one. */
	map(node: Node | null, what: string, at?: Node | null): YAMLMap | undefined {
		if (isMap(node)) return node;
		this.error("invalid-type", `${what} must be a mapping`, node ?? at);
		return undefined;
	}

	seq(node: Node | null, what: string, at?: Node | null): YAMLSeq | undefined {
		if (isSeq(node)) return node;
		this.error("invalid-type", `${what} must be a list`, node ?? at);
		return undefined;
	}

	/** The items of a list, aliases resolved. */
	items(seq: YAMLSeq): Array<Node | null> {
		return seq.items.map((item) => this.resolve(item));
	}

	/** All fields of a mapping in source order, without key checking. */
	fields(map: YAMLMap): Field[] {
		const out: Field[] = [];
		for (const pair of map.items) {
			const keyNode = this.resolve(pair.key);
			if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === "object") {
				this.error("invalid-type", "mapping keys must be plain strings", keyNode ?? map);
				continue;
			}
			out.push({ key: String(keyNode.value), keyNode, value: this.resolve(pair.value) });
		}
		return out;
	}

	/**
	 * Fields of a mapping whose keys must belong to `allowed`; every other key is reported
	 * at its own position with a did-you-mean suggestion. Returns the known fields by key.
	 */
	knownFields(map: YAMLMap, where: string, allowed: readonly string[]): Map<string, Field> {
		const known = new Map<string, Field>();
		for (const field of this.fields(map)) {
			if (allowed.includes(field.key)) known.set(field.key, field);
			else
				this.error(
					"unknown-key",
					`unknown key '${field.key}' in ${where}${didYouMean(field.key, allowed)}`,
					field.keyNode,
				);
		}
		return known;
	}

	/** Reports each of `keys` absent from `fields`, at the start of the mapping. */
	require(fields: Map<string, Field>, keys: readonly string[], where: string, map: YAMLMap): boolean {
		let ok = true;
		for (const key of keys) {
			if (!fields.has(key)) {
				this.error("missing-key", `${where} is missing required key '${key}'`, map);
				ok = false;
			}
		}
		return ok;
	}

	/** A scalar read as text (numbers and booleans are stringified, as CDS does). */
	string(field: Field | undefined, what: string, options: { allowEmpty?: boolean } = {}): string | undefined {
		if (!field) return undefined;
		const node = field.value;
		if (node === null || (isScalar(node) && (node.value === null || node.value === undefined))) {
			if (options.allowEmpty) return "";
			this.error("invalid-value", `${what} must not be empty`, node ?? field.keyNode);
			return undefined;
		}
		if (!isScalar(node) || typeof node.value === "object") {
			this.error("invalid-type", `${what} must be a string`, node);
			return undefined;
		}
		return String(node.value);
	}

	boolean(field: Field | undefined, what: string): boolean | undefined {
		if (!field) return undefined;
		const node = field.value;
		if (isScalar(node) && typeof node.value === "boolean") return node.value;
		if (isScalar(node) && (node.value === "true" || node.value === "false")) return node.value === "true";
		this.error("invalid-type", `${what} must be true or false`, node ?? field.keyNode);
		return undefined;
	}

	integer(field: Field | undefined, what: string, min = 0): number | undefined {
		if (!field) return undefined;
		const node = field.value;
		const raw = isScalar(node) ? node.value : undefined;
		const value = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
		if (typeof value === "number" && Number.isInteger(value) && value >= min) return value;
		this.error("invalid-value", `${what} must be an integer >= ${min}`, node ?? field.keyNode);
		return undefined;
	}

	/** A list of strings; a single scalar is accepted as a one-item list. */
	stringList(field: Field | undefined, what: string): Array<{ value: string; node: Node }> | undefined {
		if (!field) return undefined;
		const node = field.value;
		if (isScalar(node) && node.value !== null && typeof node.value !== "object") {
			return [{ value: String(node.value), node }];
		}
		if (this.isEmpty(node)) return [];
		const seq = this.seq(node, what, field.keyNode);
		if (!seq) return undefined;
		const out: Array<{ value: string; node: Node }> = [];
		for (const item of this.items(seq)) {
			if (isScalar(item) && item.value !== null && typeof item.value !== "object") {
				out.push({ value: String(item.value), node: item });
			} else {
				this.error("invalid-type", `each item of ${what} must be a string`, item ?? node);
			}
		}
		return out;
	}

	/** A mapping of string keys to string values (metadata, node parameters, hook config). */
	stringMap(field: Field | undefined, what: string): Record<string, string> | undefined {
		if (!field || this.isEmpty(field.value)) return field ? {} : undefined;
		const map = this.map(field.value, what, field.keyNode);
		if (!map) return undefined;
		const out: Record<string, string> = {};
		for (const entry of this.fields(map)) {
			const value = this.string(entry, `${what} '${entry.key}'`, { allowEmpty: true });
			if (value !== undefined) out[entry.key] = value;
		}
		return out;
	}

	/** Plain JSON-like data (payloads, action parameters); aliases count against the limit. */
	plain(node: Node | null): JsonValue {
		if (node === null) return null;
		if (isMap(node)) {
			const out: JsonObject = {};
			for (const pair of node.items) {
				const key = this.resolve(pair.key);
				const name = isScalar(key) ? String(key.value) : String(key);
				out[name] = this.plain(this.resolve(pair.value));
			}
			return out;
		}
		if (isSeq(node)) {
			return node.items.map((item) => {
				const resolved = this.resolve(item);
				const value = this.plain(resolved);
				// No store keeps an array directly inside an array (FerretDB refuses it). Once per
				// node: an alias may bring the same list many times.
				if (isSeq(resolved) && !this.nestedLists.has(resolved)) {
					this.nestedLists.add(resolved);
					this.error(
						"invalid-type",
						"a list directly inside a list is not supported: use a mapping",
						resolved,
					);
				}
				return value;
			});
		}
		if (isScalar(node)) {
			const value = node.value;
			if (value === null || value === undefined) return null;
			if (typeof value === "string" || typeof value === "boolean") return value;
			if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
			return String(value);
		}
		return null;
	}
}
