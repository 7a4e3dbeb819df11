// A run engine over a fresh embedded store, with fake ports (definitions from as-code files,
// job tokens, events recorded) and a clock the test moves: for test/unit/engine-*.test.ts.

import type { RunPorts, WorkflowDefinition } from "../../src/engine/ports.ts";
import type { HatcheryCapabilities } from "../../src/engine/requirements.ts";
import { type EngineSettings, RunEngine } from "../../src/engine/run-engine.ts";
import { RunRepository } from "../../src/engine/run-repository.ts";
import { EmbeddedStore } from "../../src/store/embedded-store.ts";
import { parseFileSet } from "../../src/workflow/file-set.ts";
import { tempDataDir } from "./store-temp-dir.ts";

export const DEFAULT_SETTINGS: EngineSettings = {
	heartbeatTimeoutMs: 15_000,
	bookingTimeoutMs: 60_000,
	noHatcheryTimeoutMs: 120_000,
	defaultJobTimeoutSeconds: 3600,
	maxRunningJobsPerProject: 100,
	maxRunningJobsPerWorkflow: 50,
	historyLength: 20,
	deletedBranchRetentionMs: 7 * 24 * 3_600_000,
};

/** A workflow of one node running pipeline `p`, whose single stage has `jobs` jobs. */
export function simpleWorkflow(name: string, options: { jobs?: number; requirements?: string } = {}) {
	const jobs = Array.from(
		{ length: options.jobs ?? 1 },
		(_, i) => `- job: j${i}\n${options.requirements ?? ""}  steps:\n  - script: echo ${i}\n`,
	).join("");
	return [
		{ path: "w.yml", content: `name: ${name}\nversion: v2.0\nworkflow:\n  build:\n    pipeline: p\n` },
		{ path: "p.pip.yml", content: `version: v1.0\nname: p\njobs:\n${jobs}` },
	];
}

export interface Fixture {
	store: EmbeddedStore;
	repo: RunRepository;
	clock: { t: number; now(): number };
	events: Array<{ event: string; payload: Record<string, unknown> }>;
	revoked: string[];
	settings: EngineSettings;
	engine: RunEngine;
	/** Another engine (another node) over the same store, ports and clock. */
	another(owner: string): RunEngine;
	/** Registers a workflow's definition (as-code files) for the fake workflow.get. */
	define(project: string, files: Array<{ path: string; content: string }>, branch?: string): void;
	close(): Promise<void>;
}

export async function engineFixture(overrides: Partial<EngineSettings> = {}): Promise<Fixture> {
	const tmp = await tempDataDir("cds-engine-");
	const store = await EmbeddedStore.open(tmp.dir);
	const repo = await RunRepository.open(store);
	const clock = {
		t: 1_700_000_000_000,
		now() {
			return this.t;
		},
	};
	const events: Fixture["events"] = [];
	const revoked: string[] = [];
	const definitions = new Map<string, WorkflowDefinition>();
	let tokens = 0;
	const ports: RunPorts = {
		async issueJobToken(p) {
			tokens++;
			return { token: `token-${tokens}-${p.job}`, id: `tok-${tokens}`, hash: `hash-${tokens}` };
		},
		async revokeJobToken(p) {
			revoked.push(p.id);
		},
		async definition(ref) {
			const def = definitions.get(`${ref.project}/${ref.workflow}/${ref.branch ?? "master"}`);
			if (!def) throw new Error(`workflow ${ref.workflow} not found`);
			return def;
		},
		emit: (event, payload) => void events.push({ event, payload }),
		broadcast: (event, payload) => void events.push({ event, payload }),
		warn: () => {},
	};
	const settings = { ...DEFAULT_SETTINGS, ...overrides };
	const make = (owner: string) => new RunEngine({ repo, ports, settings, clock, owner, random: () => 0 });
	return {
		store,
		repo,
		clock,
		events,
		revoked,
		settings,
		engine: make("node-1"),
		another: make,
		define(project, files, branch = "master") {
			const { model } = parseFileSet(files);
			const workflow = model.workflows[0];
			if (!workflow) throw new Error("no workflow in the files");
			definitions.set(`${project}/${workflow.name}/${branch}`, {
				model: workflow,
				pipelines: model.pipelines,
				branch,
				version: 1,
				definitionId: `${project}/${workflow.name}/${branch}/1`,
				repositoryId: null,
			});
		},
		async close() {
			await store.close();
			await tmp.remove();
		},
	};
}

/** A fake artifact store holding `blobs` (sha → present). */
export function fakeArtifacts(blobs: Set<string>) {
	return {
		kind: "filesystem" as const,
		put: async () => {
			throw new Error("not in this fake");
		},
		get: async () => null,
		has: async (sha: string) => blobs.has(sha),
		delete: async (sha: string) => void blobs.delete(sha),
		async *list() {
			for (const sha256 of blobs) yield { sha256 };
		},
	};
}

/** A hatchery's capabilities for engine tests: one Linux host, no models, binaries or services. */
export function hatcheryCaps(over: Partial<HatcheryCapabilities> = {}): HatcheryCapabilities {
	return {
		name: "h",
		models: [],
		binaries: [],
		hostname: "host",
		osArch: "linux/amd64",
		memoryMb: 4096,
		services: [],
		...over,
	};
}
