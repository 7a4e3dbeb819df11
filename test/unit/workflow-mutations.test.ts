// Mutation tests over the real corpus: for each workflow and pipeline file, drop one required key
// at a time and misspell one schema key at a time, then check the error names the right file,
// line and column — computed from the mutated text, never hard-coded.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isMap, isPair, isScalar, isSeq, parseDocument } from "yaml";
import type { Node } from "yaml";
import { BUILTIN_ACTIONS, type FileSetResult, parseFileSet } from "../../src/workflow/index.ts";
import { type CorpusSet, corpusSets, lineColumn } from "../fixtures/workflow/corpus.ts";
import { corpus } from "../helpers/corpus.ts";

/** Keys whose children are names chosen by the user, not schema keys. */
const FREE_CHILDREN = new Set([
	"workflow",
	"hooks",
	"payload",
	"parameters",
	"options",
	"metadata",
	"permissions",
	"values",
	"variables",
	"keys",
	"config",
]);
/** Keys whose whole subtree is user data (action parameters, payloads). */
const OPAQUE = new Set<string>([...BUILTIN_ACTIONS, "plugin", "action", "payload", "settings"]);

interface KeyAt {
	key: string;
	keyStart: number;
	/** Offsets of the whole `key: value` text. */
	pairEnd: number;
	/** Path of the mapping holding the key (for re-finding it in the mutated document). */
	mapPath: Array<string | number>;
	/** Whether it is the first key of its mapping. */
	parentKey: string | undefined;
	entity: "workflow" | "pipeline";
}

function schemaKeys(text: string, entity: KeyAt["entity"]): KeyAt[] {
	const doc = parseDocument(text);
	const out: KeyAt[] = [];
	const visit = (
		node: unknown,
		path: Array<string | number>,
		parentKey: string | undefined,
		opaque: boolean,
	): void => {
		if (isSeq(node)) {
			for (const [i, item] of node.items.entries()) visit(item, [...path, i], parentKey, opaque);
		}
		if (!isMap(node)) return;
		for (const pair of node.items) {
			if (!isPair(pair) || !isScalar(pair.key)) continue;
			const key = String(pair.key.value);
			const conditionVar = parentKey === "conditions" && key !== "check" && key !== "script";
			const free = opaque || conditionVar || (parentKey !== undefined && FREE_CHILDREN.has(parentKey));
			if (!free) {
				const valueEnd = (pair.value as Node | null)?.range?.[1] ?? pair.key.range![1];
				out.push({ key, keyStart: pair.key.range![0], pairEnd: valueEnd, mapPath: path, parentKey, entity });
			}
			visit(pair.value, [...path, key], key, opaque || (OPAQUE.has(key) && !free));
		}
	};
	visit(doc.contents, [], undefined, false);
	return out;
}

/** A plausible typo: swap two inner letters (scirpt), or double the last one for short keys. */
function misspell(key: string): string {
	if (key.length >= 4 && key[1] !== key[2]) return key[0] + key[2] + key[1] + key.slice(3);
	return key + key[key.length - 1];
}

function withFile(set: CorpusSet, path: string, content: string): Array<{ path: string; content: string }> {
	return set.files.map((f) => (f.path === path ? { path, content } : f));
}

function describeErrors(result: FileSetResult): string {
	return result.errors.map((d) => `${d.file}:${d.line}:${d.column} ${d.message}`).join("\n");
}

const REQUIRED: Record<KeyAt["entity"], Record<string, string[]>> = {
	// parent key (undefined = top level) → keys it requires
	workflow: {
		"": ["name", "version"],
		check: ["variable", "operator"],
		notifications: ["type"],
		hooks: ["type"],
		pipeline_hooks: ["type"],
	},
	pipeline: { "": ["name", "version"], jobs: ["job"], check: ["variable", "operator"] },
};

const sets = corpus.skip ? [] : corpusSets();
const targets: Array<{ set: CorpusSet; path: string; content: string; entity: KeyAt["entity"] }> = [];
for (const set of sets) {
	const result = parseFileSet(set.files, { integrations: ["myKafkaHookIntegration", "myKafkaIntegration"] });
	for (const report of result.files) {
		if (report.kind !== "workflow" && report.kind !== "pipeline") continue;
		if (report.status !== "accepted") continue;
		const content = set.files.find((f) => f.path === report.path)!.content;
		targets.push({ set, path: report.path, content, entity: report.kind });
	}
}

describe("mutations of corpus files", { skip: corpus.skip }, () => {
	test("there are corpus workflow and pipeline files to mutate", () => {
		assert.ok(targets.filter((t) => t.entity === "workflow").length >= 10);
		assert.ok(targets.filter((t) => t.entity === "pipeline").length >= 15);
	});

	for (const target of targets) {
		const ctx = { integrations: ["myKafkaHookIntegration", "myKafkaIntegration"] };
		// ITSCWRKFLW2 holds two versions of one workflow: mutate each with the pipeline alone.
		const set =
			target.set.dir === "ITSCWRKFLW2"
				? {
						...target.set,
						files: target.set.files.filter((f) => f.path === target.path || f.path.endsWith("pipeline.yml")),
					}
				: target.set;

		test(`misspelt keys in ${target.path} are reported at the key`, () => {
			const keys = schemaKeys(target.content, target.entity);
			assert.ok(keys.length > 0);
			for (const k of keys) {
				const wrong = misspell(k.key);
				const mutated =
					target.content.slice(0, k.keyStart) + wrong + target.content.slice(k.keyStart + k.key.length);
				const result = parseFileSet(withFile(set, target.path, mutated), ctx);
				const at = lineColumn(mutated, k.keyStart);
				const hit = result.errors.find(
					(d) =>
						d.file === target.path &&
						d.line === at.line &&
						d.column === at.column &&
						d.message.includes(`'${wrong}'`),
				);
				assert.ok(
					hit,
					`'${k.key}' → '${wrong}' at ${target.path}:${at.line}:${at.column}; got:\n${describeErrors(result)}`,
				);
				assert.ok(["unknown-key", "unknown-step-action"].includes(hit.code), hit.code);
				if (k.parentKey === "steps" || (k.key === "script" && k.parentKey !== "conditions")) {
					assert.match(hit.message, new RegExp(`did you mean '${k.key}'`));
				}
			}
		});

		test(`dropping a required key of ${target.path} is reported where the mapping starts`, () => {
			const required = REQUIRED[target.entity];
			const keys = schemaKeys(target.content, target.entity).filter((k) => {
				const parent = k.parentKey ?? "";
				return (required[parent] ?? []).includes(k.key) && (parent !== "" || k.mapPath.length === 0);
			});
			assert.ok(keys.length >= 2, "name and version at least");
			for (const k of keys) {
				// Remove the pair's text; the rest of its line's indentation (or "- ") stays.
				let end = k.pairEnd;
				while (end < target.content.length && target.content[end] !== "\n") end++;
				const mutated = target.content.slice(0, k.keyStart) + target.content.slice(end);
				const result = parseFileSet(withFile(set, target.path, mutated), ctx);
				const report = result.files.find((f) => f.path === target.path)!;
				const remaining = parseDocument(mutated).getIn(k.mapPath, true) as Node | undefined;
				if (k.mapPath.length === 0) {
					const doc = parseDocument(mutated);
					const keysLeft = isMap(doc.contents)
						? doc.contents.items.map((p) => String((p.key as { value: unknown }).value))
						: [];
					if (
						target.entity === "workflow" &&
						k.key === "pipeline" &&
						keysLeft.every((x) => ["name", "version"].includes(x))
					) {
						// `name` + `version` alone is CDS's empty pipeline (see 04SCWorkflowRunNotif/empty.yml).
						assert.equal(report.kind, "pipeline");
						continue;
					}
				}
				const mapNode = (k.mapPath.length === 0 ? parseDocument(mutated).contents : remaining) as Node;
				const at = lineColumn(mutated, mapNode.range![0]);
				const hit = report.diagnostics.find(
					(d) =>
						d.code === "missing-key" &&
						d.line === at.line &&
						d.column === at.column &&
						d.message.includes(`'${k.key}'`),
				);
				assert.ok(
					hit,
					`dropped '${k.key}' → expected ${target.path}:${at.line}:${at.column}; got:\n${describeErrors(result)}`,
				);
				assert.equal(hit.file, target.path);
				assert.equal(report.status, "rejected");
			}
		});
	}

	test("the step typo of the issue reads exactly", () => {
		const text = "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - scirpt: echo hi\n";
		const result = parseFileSet([{ path: "p.pip.yml", content: text }]);
		assert.deepEqual(
			result.errors.map((d) => [d.line, d.column, d.message, d.code]),
			[[6, 5, "unknown step action 'scirpt' (did you mean 'script'?)", "unknown-step-action"]],
		);
	});
});
