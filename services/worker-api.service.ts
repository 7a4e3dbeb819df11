// The routes a worker uses (`/api/v1/worker/*`), hosted wherever `run` is (server.ts). A
// worker's token is scoped to one job attempt (ctx.meta.user.job): every route here finds the
// job from the token, never from a parameter, so a worker reaches its own job, secrets, logs
// and run artifacts only. Results go through the run engine, like the reaper's.

import { callAction } from "./support/call.ts";
import type { Readable } from "node:stream";
import type { Context, Service, ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { conflict, forbidden, invalid, notFound } from "./support/errors.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { engineCall, openRunEngine } from "./support/run-engine.ts";
import { insertOrReplace } from "../src/engine/store-writes.ts";
import { requirePublicUrl } from "./support/public-url.ts";
import { runtimeOf } from "./support/runtime.ts";
import type { BlobRefDoc, JobDoc, RunDoc } from "../schemas/run.ts";
import {
	BlobTooLargeError,
	ChecksumMismatchError,
	SHA256_PATTERN,
	UploadRejectedError,
} from "../src/artifacts/artifact-store.ts";
import { BoundedCache } from "../src/engine/bounded-cache.ts";
import type { RunEngine } from "../src/engine/run-engine.ts";
import {
	blobNameProblem,
	blobRefId,
	type ClearIntegrations,
	type ClearVariables,
	integrationNamesFor,
	isReportUploadKind,
	jobAnswer,
	logEntryId,
	maskWhole,
	nodeOf,
	openStepSecrets,
	openTemplateSecrets,
	reportUploadContext,
	sealExports,
	stepRecordId,
	TAG_PATTERN,
	variablesOfJob,
} from "../src/engine/worker-job.ts";
import type { Collection } from "../src/store/types.ts";
import { BUILTIN_DEPLOYMENT_PLUGINS } from "../src/integrations/deploy-builtins.ts";
import { chooseDeploymentPlugin, type DeploymentChoice } from "../src/integrations/deploy-plugin.ts";
import {
	deploysApplication,
	type InstalledPlugin,
	pluginsNamedBy,
} from "../src/integrations/plugin-manifest.ts";
import type { IntegrationsForJobAnswer } from "../src/integrations/model.ts";
import { subsetProblem } from "../src/store/subset.ts";
import { DuplicateKeyError } from "../src/store/types.ts";
import { pagination } from "../schemas/params.ts";
import { type PageOptions, paginate } from "../src/api/pagination.ts";

/** What the job's variables hold beyond CDS's usual ones, for the OpenAPI document. */
const JOB_VARIABLES_DOC = [
	"`variables` holds the job's variables (cds.project, cds.workflow, git.*, cds.proj.*, cds.app.*, cds.env.*, cds.pip.*, cds.build.*…) and, for the integrations the job uses, CDS's `cds.integration.*` variables:",
	"`cds.integration.deployment` (name) and `cds.integration.deployment.<key>` for a deployment integration (the application's `deployments:` settings for it included),",
	"`cds.integration.artifact_manager[.<key>]` for an artifact manager, and for the integration the node names also `cds.integration` (name) and `cds.integration.<key>`.",
	"`secrets` lists the clear values to mask, integration passwords included.",
].join(" ");

const SECRET_CACHE_MS = 60_000;
const MAX_CACHED_JOBS = 5000;
const MAX_CACHED_SECRETS = 1000;
/** Tags one run may hold (`worker tag`), so a step cannot grow the run document without bound. */
const MAX_RUN_TAGS = 64;

type WorkerCtx<P = Record<string, unknown>> = Context<
	P,
	GatewayMeta & { $params?: Record<string, string>; $responseType?: string }
>;

interface WorkerLocals {
	engine: RunEngine;
	/** Job records by id: they change only when the job ends, so workers' calls read them from here. */
	jobCache: BoundedCache<JobDoc>;
	/**
	 * Secrets of recent jobs, to mask what a worker sends (defence in depth: the worker masks
	 * first, across chunk boundaries; the server masks again whatever arrives whole).
	 */
	secretCache: BoundedCache<string[]>;
}

interface WorkerMethods {
	callerJob(ctx: WorkerCtx<any>): Promise<JobDoc>;
	requireLive(job: JobDoc): Promise<void>;
	recordStep(job: JobDoc, index: number, fields: Record<string, unknown>): Promise<void>;
	jobVariablesOf(ctx: Context, job: JobDoc): Promise<{ vars: Record<string, string>; secrets: string[] }>;
	secretsOf(ctx: Context, job: JobDoc): Promise<string[]>;
	sealedExports(
		ctx: Context,
		job: JobDoc,
		values: Record<string, string>,
	): Promise<{ values: Record<string, string>; sealed: string[] }>;
	storeBlob(ctx: WorkerCtx<any>, refs: Collection<BlobRefDoc>, scope: string): Promise<unknown>;
	readBlob(ctx: WorkerCtx<any>, refs: Collection<BlobRefDoc>, scope: string): Promise<Readable>;
	directUpload(ctx: WorkerCtx<DirectUploadParams>, scope: string): Promise<unknown>;
	commitDirect(ctx: WorkerCtx<CommitParams>, refs: Collection<BlobRefDoc>, scope: string): Promise<unknown>;
	directDownload(ctx: WorkerCtx<any>, refs: Collection<BlobRefDoc>, scope: string): Promise<unknown>;
	deploymentOf(
		ctx: Context,
		job: JobDoc,
	): Promise<{ integration: string; model: string; choice: DeploymentChoice }>;
	requirePluginOfJob(ctx: WorkerCtx<any>, job: JobDoc, name: string): Promise<void>;
}

type WorkerThis = Service & WorkerLocals & WorkerMethods;

/** How long a presigned URL lives: one transfer, retries included. */
const DIRECT_URL_SECONDS = 900;

interface DirectUploadParams {
	tag: string;
	name: string;
	size: number;
	sha256: string;
	/** The worker sends a file above one segment in parts, one URL each. */
	parts?: boolean;
}
const DIRECT_UPLOAD_PARAMS = {
	tag: { type: "string" },
	name: { type: "string" },
	size: { type: "number", integer: true, min: 0 },
	sha256: { type: "string", pattern: SHA256_PATTERN },
	parts: { type: "boolean", optional: true },
} as const;

interface CommitParams extends DirectUploadParams {
	uploadId: string;
}
const COMMIT_PARAMS = {
	...DIRECT_UPLOAD_PARAMS,
	uploadId: { type: "string", pattern: /^[a-zA-Z0-9-]{1,128}$/ },
} as const;

/** A step's index in its job, and what a worker reports of it (POST /job/steps/:index, the result's lastStep). */
const STEP_INDEX = { type: "number", integer: true, min: 0, max: 10_000 } as const;
const STEP_REPORT = {
	status: {
		type: "enum",
		values: ["Waiting", "Building", "Success", "Fail", "Skipped", "Disabled", "Stopped"],
	},
	started: { type: "string", optional: true, max: 64 },
	ended: { type: "string", optional: true, max: 64 },
	exitCode: { type: "number", integer: true, optional: true },
	reason: { type: "string", optional: true, max: 4096 },
} as const;

/** Every route of this service is for a worker's job token. */
const worker = { level: "worker" } as const;
// `type: "stream"` (moleculer-web) hands the raw request body to the action as a stream.
const rest = (method: "GET" | "POST" | "PUT", path: string, extra: { type?: "stream" } = {}) =>
	({ method, path, basePath: "/worker", ...extra }) as {
		method: "GET" | "POST" | "PUT";
		path: string;
		basePath: string;
	};

/** A blob area of the worker API: artifacts belong to the job's run, cache files to its project. */
interface BlobArea {
	/** The route segment. */
	path: "artifacts" | "cache";
	/** The action names' word: `directArtifactUpload`, `commitCacheUpload`… */
	word: "Artifact" | "Cache";
	/** What one file of the area is called in the route summaries. */
	what: string;
	refs(engine: RunEngine): Collection<BlobRefDoc>;
	scope(job: JobDoc): string;
}

const ARTIFACT_AREA: BlobArea = {
	path: "artifacts",
	word: "Artifact",
	what: "an artifact of the worker's run",
	refs: (engine) => engine.repo.artifactRefs,
	scope: (job) => job.runId,
};

const CACHE_AREA: BlobArea = {
	path: "cache",
	word: "Cache",
	what: "a file of the project cache",
	refs: (engine) => engine.repo.cacheRefs,
	scope: (job) => job.project,
};

/**
 * The object-store transfers of one area: a presigned upload (then its commit, once the store
 * checked the bytes' size and SHA-256) and a presigned download, so the bytes skip the API.
 */
function directTransferActions(area: BlobArea) {
	return {
		[`direct${area.word}Upload`]: {
			rest: rest("POST", `/${area.path}/:tag/:name/direct-upload`),
			summary: `A presigned URL to upload ${area.what} straight to the object store (then commit it)`,
			permission: worker,
			params: DIRECT_UPLOAD_PARAMS,
			async handler(this: WorkerThis, ctx: WorkerCtx<DirectUploadParams>) {
				const job = await this.callerJob(ctx);
				return this.directUpload(ctx, area.scope(job));
			},
		},
		[`commit${area.word}Upload`]: {
			rest: rest("POST", `/${area.path}/:tag/:name/commit`),
			summary: `Make a direct upload ${area.what}, once the store checked its size and SHA-256`,
			permission: worker,
			params: COMMIT_PARAMS,
			async handler(this: WorkerThis, ctx: WorkerCtx<CommitParams>) {
				const job = await this.callerJob(ctx);
				return this.commitDirect(ctx, area.refs(this.engine), area.scope(job));
			},
		},
		[`direct${area.word}Download`]: {
			rest: rest("GET", `/${area.path}/:tag/:name/direct-download`),
			summary: `A presigned URL to download ${area.what} straight from the object store`,
			permission: worker,
			params: { tag: { type: "string" }, name: { type: "string" } },
			async handler(this: WorkerThis, ctx: WorkerCtx) {
				const job = await this.callerJob(ctx);
				return this.directDownload(ctx, area.refs(this.engine), area.scope(job));
			},
		},
	};
}

function blobParams(ctx: WorkerCtx<any>): { tag: string; name: string } {
	// moleculer-web hands path parameters in ctx.params and, for `type: "stream"` routes, the body in ctx.stream.
	const p = { ...(ctx.meta.$params ?? {}), ...((ctx.params ?? {}) as Record<string, unknown>) };
	const tag = String(p.tag ?? "");
	// Already decoded once by moleculer-web: decoding again turned `%25` into a URIError (500).
	const name = String(p.name ?? "");
	const problem = blobNameProblem(tag, name);
	if (problem) throw invalid(problem.message, [{ field: problem.field, message: problem.detail }]);
	return { tag, name };
}

/** A plugin of the worker's job, for its platform. */
const PLUGIN_PARAMS = {
	name: { type: "string", max: 128 },
	os: { type: "string", max: 32 },
	arch: { type: "string", max: 32 },
} as const;
type PluginQuery = { name: string; os: string; arch: string };

/** Jobs whose variable warnings (an OpenStack v2.0 address) were logged already. */
const warnedJobs = new Set<string>();

export default function WorkerApiService(
	config: Config,
): ServiceSchema<any, WorkerMethods, WorkerLocals, WorkerThis> {
	return {
		name: "worker",
		actions: {
			job: {
				rest: rest("GET", "/job"),
				summary: "The calling worker's job, variables and secrets",
				description: JOB_VARIABLES_DOC,
				permission: worker,
				params: {},
				async handler(this: WorkerThis, ctx: WorkerCtx) {
					// Booked by this node: the job and its booking as written then (an ended job is
					// refused below all the same).
					const booked = ctx.meta.user?.job ? this.engine.takeBooking(ctx.meta.user.job) : undefined;
					if (booked) this.jobCache.set(booked.job._id, booked.job);
					const job = await this.callerJob(ctx);
					await this.requireLive(job);
					const { repo } = this.engine;
					const now = Date.now();
					const active = booked?.active ?? (await repo.activeJobs.findOne({ _id: job._id }));
					if (!active) throw conflict("this job is not booked", { job: job._id });
					// Its start is its first sign of life: the reaper counts from startedAt until a heartbeat.
					if (active.status !== "Building") {
						await repo.activeJobs.update({ _id: job._id }, { $set: { status: "Building", startedAt: now } });
						if (booked) this.engine.startedBooking({ ...active, status: "Building", startedAt: now });
					} else await repo.heartbeats.replace({ _id: job._id, at: now });
					const { vars, secrets } = await this.jobVariablesOf(ctx, job);
					// Template secrets written into the steps themselves are opened too, and masked.
					const inSteps = await openStepSecrets(job.job, (armored) =>
						callAction(ctx, "template.decryptSecret", { project: job.project, armored }),
					);
					return {
						...jobAnswer(
							inSteps.secrets.length > 0 ? { ...job, job: inSteps.steps } : job,
							vars,
							[...new Set([...secrets, ...inSteps.secrets])],
							config.run.heartbeatSeconds,
						),
						// What plugins may connect to besides public addresses (the server's allow-list).
						outboundAllow: config.outbound.allow.map((rule) => rule.text),
					};
				},
			},

			heartbeat: {
				rest: rest("POST", "/job/heartbeat"),
				summary: "A worker is alive; the answer says whether to stop",
				permission: worker,
				params: {},
				async handler(this: WorkerThis, ctx: WorkerCtx) {
					const job = await this.callerJob(ctx);
					const result = await this.engine.repo.results.findOne({ _id: job._id });
					if (result) return { stop: true, reason: result.reason };
					await this.engine.repo.heartbeats.replace({ _id: job._id, at: Date.now() });
					return { stop: false };
				},
			},

			logs: {
				rest: rest("POST", "/job/logs"),
				summary: "Append log entries of the worker's job (idempotent by step and sequence)",
				permission: worker,
				params: {
					entries: {
						type: "array",
						max: 10_000,
						items: {
							type: "object",
							props: {
								step: { type: "number", integer: true, min: -1, max: 10_000 },
								seq: { type: "number", integer: true, min: 0 },
								text: { type: "string", max: 4 * 1024 * 1024 },
							},
						},
					},
				},
				async handler(
					this: WorkerThis,
					ctx: WorkerCtx<{ entries: Array<{ step: number; seq: number; text: string }> }>,
				) {
					const job = await this.callerJob(ctx);
					const secrets = await this.secretsOf(ctx, job);
					let stored = 0;
					const at = Date.now();
					for (const e of ctx.params.entries) {
						try {
							await this.engine.repo.logs.insert({
								_id: logEntryId(job._id, e.step, e.seq),
								jobId: job._id,
								runId: job.runId,
								step: e.step,
								seq: e.seq,
								text: maskWhole(e.text, secrets),
								at,
							});
							stored++;
						} catch (err) {
							if (!(err instanceof DuplicateKeyError)) throw err;
						}
					}
					if (stored > 0) ctx.emit("job.logs", { jobId: job._id, runId: job.runId });
					return { stored };
				},
			},

			step: {
				rest: rest("POST", "/job/steps/:index"),
				summary: "Status of one step of the worker's job",
				permission: worker,
				params: { index: { ...STEP_INDEX, convert: true }, ...STEP_REPORT },
				async handler(this: WorkerThis, ctx: WorkerCtx<any>) {
					const job = await this.callerJob(ctx);
					const { index, ...fields } = ctx.params;
					await this.recordStep(job, index, fields);
					return {};
				},
			},

			variable: {
				rest: rest("POST", "/job/variables"),
				summary: "worker export NAME VALUE: cds.build.NAME for the following steps, jobs and nodes",
				permission: worker,
				params: {
					name: { type: "string", pattern: /^[A-Za-z0-9._-]{1,128}$/ },
					value: { type: "string", max: 65536 },
				},
				async handler(this: WorkerThis, ctx: WorkerCtx<{ name: string; value: string }>) {
					const job = await this.callerJob(ctx);
					await this.requireLive(job);
					const { values, sealed } = await this.sealedExports(ctx, job, {
						[ctx.params.name]: ctx.params.value,
					});
					await this.engine.addBuildVariables(job.runId, values, sealed);
					return {};
				},
			},

			tags: {
				rest: rest("POST", "/job/tags"),
				summary: "worker tag KEY=VALUE…: tags on the job's run, shown in the run view",
				permission: worker,
				params: {
					tags: {
						type: "record",
						// Tag keys become field names of the stored run: no dots, no `$`.
						key: { type: "string", pattern: /^[A-Za-z0-9_-]{1,64}$/ },
						value: { type: "string", max: 256 },
					},
				},
				async handler(this: WorkerThis, ctx: WorkerCtx<{ tags: Record<string, string> }>) {
					const job = await this.callerJob(ctx);
					await this.requireLive(job);
					// Tags are shown to anyone who reads the run: a secret in one is masked.
					const secrets = await this.secretsOf(ctx, job);
					const masked = Object.fromEntries(
						Object.entries(ctx.params.tags).map(([k, v]) => [k, maskWhole(v, secrets)]),
					);
					const tags = await engineCall(() => this.engine.addTags(job.runId, masked, MAX_RUN_TAGS));
					return { tags };
				},
			},

			result: {
				rest: rest("POST", "/job/result"),
				summary: "The worker's job ended",
				permission: worker,
				params: {
					status: { type: "enum", values: ["Success", "Fail", "Stopped"] },
					reason: { type: "string", optional: true, max: 4096 },
					steps: { type: "array", optional: true, max: 10_000 },
					exports: { type: "record", optional: true, value: { type: "string", max: 65536 } },
					// The last step's report (as POST /job/steps/:index takes it), sent with the result.
					lastStep: {
						type: "object",
						optional: true,
						strict: "remove",
						props: { index: STEP_INDEX, ...STEP_REPORT },
					},
				},
				async handler(
					this: WorkerThis,
					ctx: WorkerCtx<{
						status: "Success" | "Fail" | "Stopped";
						reason?: string;
						steps?: unknown[];
						exports?: Record<string, string>;
						lastStep?: { index: number } & Record<string, unknown>;
					}>,
				) {
					const job = await this.callerJob(ctx);
					if (ctx.params.lastStep) {
						const { index, ...fields } = ctx.params.lastStep;
						await this.recordStep(job, index, fields);
					}
					const problem = subsetProblem(ctx.params.steps, 2);
					if (problem) throw invalid(`steps: ${problem}`, [{ field: "steps", message: problem }]);
					const exports = ctx.params.exports ?? {};
					if (
						Object.keys(exports).length > 0 &&
						!(await this.engine.repo.results.findOne({ _id: job._id }))
					) {
						const { values, sealed } = await this.sealedExports(ctx, job, exports);
						await this.engine.addBuildVariables(job.runId, values, sealed);
					}
					const accepted = await this.engine.finalizeJob(
						job,
						ctx.params.status,
						ctx.params.reason ?? null,
						ctx.params.steps ?? [],
					);
					this.jobCache.delete(job._id);
					this.secretCache.delete(job._id);
					return { accepted };
				},
			},

			deployment: {
				rest: rest("GET", "/deployment"),
				summary: "Which plugin deploys the job's application on its node's integration (DeployApplication)",
				permission: worker,
				params: {},
				async handler(this: WorkerThis, ctx: WorkerCtx) {
					const job = await this.callerJob(ctx);
					const { integration, model, choice } = await this.deploymentOf(ctx, job);
					if (choice.kind === "none") throw invalid(choice.reason);
					const plugin =
						choice.kind === "installed"
							? { kind: "installed", name: choice.plugin.name, type: choice.plugin.type }
							: { kind: "builtin", name: choice.plugin.name, entry: choice.plugin.entry };
					return { integration, model, plugin };
				},
			},

			plugin: {
				rest: rest("GET", "/plugins/:name"),
				summary: "An installed plugin the worker's job uses, and its binary for the worker's platform",
				permission: worker,
				params: PLUGIN_PARAMS,
				async handler(this: WorkerThis, ctx: WorkerCtx<PluginQuery>) {
					await this.requirePluginOfJob(ctx, await this.callerJob(ctx), ctx.params.name);
					// An internal action (no permission, no route): the check above is the worker's.
					return ctx.call("plugin.forPlatform", ctx.params);
				},
			},

			pluginBinary: {
				rest: rest("GET", "/plugins/:name/binary"),
				summary: "The binary of an installed plugin the worker's job uses",
				permission: worker,
				params: PLUGIN_PARAMS,
				async handler(this: WorkerThis, ctx: WorkerCtx<PluginQuery>) {
					await this.requirePluginOfJob(ctx, await this.callerJob(ctx), ctx.params.name);
					const { binary } = (await ctx.call("plugin.forPlatform", ctx.params)) as {
						binary: { file?: { sha256: string } };
					};
					const stream = binary.file ? await runtimeOf(this.broker).artifacts.get(binary.file.sha256) : null;
					if (!stream)
						throw notFound(`the file of plugin ${ctx.params.name} (${ctx.params.os}/${ctx.params.arch})`);
					ctx.meta.$responseType = "application/octet-stream";
					return stream;
				},
			},

			putArtifact: {
				rest: rest("PUT", "/artifacts/:tag/:name", { type: "stream" }),
				summary: "Upload an artifact of the worker's run (raw body)",
				permission: worker,
				params: {},
				async handler(this: WorkerThis, ctx: WorkerCtx) {
					const job = await this.callerJob(ctx);
					return this.storeBlob(ctx, this.engine.repo.artifactRefs, job.runId);
				},
			},

			getArtifact: {
				rest: rest("GET", "/artifacts/:tag/:name"),
				summary: "Download an artifact of the worker's run",
				permission: worker,
				params: { tag: { type: "string" }, name: { type: "string" } },
				async handler(this: WorkerThis, ctx: WorkerCtx) {
					const job = await this.callerJob(ctx);
					ctx.meta.$params = ctx.params as Record<string, string>;
					return this.readBlob(ctx, this.engine.repo.artifactRefs, job.runId);
				},
			},

			listArtifacts: {
				rest: rest("GET", "/artifacts/:tag"),
				summary: "Artifacts of the worker's run under a tag",
				permission: worker,
				params: { tag: { type: "string", pattern: TAG_PATTERN }, ...pagination },
				async handler(this: WorkerThis, ctx: WorkerCtx<{ tag: string } & PageOptions>) {
					const job = await this.callerJob(ctx);
					return paginate(
						this.engine.repo.artifactRefs,
						{ scope: job.runId, tag: ctx.params.tag },
						{ ...ctx.params, order: { field: "name" } },
						(r) => ({ name: r.name, size: r.size, sha256: r.sha256 }),
					);
				},
			},

			...directTransferActions(ARTIFACT_AREA),
			...directTransferActions(CACHE_AREA),

			putCache: {
				rest: rest("PUT", "/cache/:tag/:name", { type: "stream" }),
				summary: "Push a file to the project cache (raw body)",
				permission: worker,
				params: {},
				async handler(this: WorkerThis, ctx: WorkerCtx) {
					const job = await this.callerJob(ctx);
					return this.storeBlob(ctx, this.engine.repo.cacheRefs, job.project);
				},
			},

			getCache: {
				rest: rest("GET", "/cache/:tag/:name"),
				summary: "Pull a file from the project cache",
				permission: worker,
				params: { tag: { type: "string" }, name: { type: "string" } },
				async handler(this: WorkerThis, ctx: WorkerCtx) {
					const job = await this.callerJob(ctx);
					ctx.meta.$params = ctx.params as Record<string, string>;
					return this.readBlob(ctx, this.engine.repo.cacheRefs, job.project);
				},
			},

			listCache: {
				rest: rest("GET", "/cache/:tag"),
				summary: "Files of the project cache under a tag",
				permission: worker,
				params: { tag: { type: "string", pattern: TAG_PATTERN }, ...pagination },
				async handler(this: WorkerThis, ctx: WorkerCtx<{ tag: string } & PageOptions>) {
					const job = await this.callerJob(ctx);
					return paginate(
						this.engine.repo.cacheRefs,
						{ scope: job.project, tag: ctx.params.tag },
						{ ...ctx.params, order: { field: "name" } },
						(r) => ({ name: r.name, size: r.size, sha256: r.sha256 }),
					);
				},
			},

			putReport: {
				rest: rest("PUT", "/reports/:tag/:name", { type: "stream" }),
				summary: "Upload a report file (tests, coverage, analysis, security) of the worker's job",
				permission: worker,
				params: {},
				async handler(this: WorkerThis, ctx: WorkerCtx) {
					const job = await this.callerJob(ctx);
					const kind = String((ctx.params as Record<string, unknown>)?.tag ?? ctx.meta.$params?.tag ?? "");
					if (!isReportUploadKind(kind)) {
						throw invalid(`unknown report kind '${kind}'`, [
							{ field: "kind", message: "tests, coverage, analysis or security" },
						]);
					}
					const info = (await this.storeBlob(ctx, this.engine.repo.reportRefs, job._id)) as {
						sha256: string;
					};
					const run = (await this.engine.repo.runs.findOne({ _id: job.runId })) as RunDoc;
					if (
						!this.broker.registry
							.getServiceList({ onlyAvailable: true })
							.some((x: { name: string }) => x.name === "report")
					)
						return { ...info, ingested: false };
					const name = String((ctx.params as Record<string, unknown>)?.name ?? "");
					const query = {
						...((ctx.meta as Record<string, any>).$query ?? {}),
						...(ctx.params as Record<string, unknown>),
					};
					const upload = reportUploadContext(job, await this.engine.definition(run), query);
					return ctx.call(
						"report.ingest",
						{
							project: job.project,
							workflow: job.workflow,
							runId: job.runId,
							runNumber: job.runNumber,
							branch: run.branch,
							commit: run.commit ?? undefined,
							node: job.node,
							jobId: job._id,
							kind,
							name,
							sha256: info.sha256,
							...upload,
						},
						// On behalf of the system: the worker's own token reaches only the worker routes.
						{ meta: { user: undefined } },
					);
				},
			},
		},

		methods: {
			/** The job of the calling worker, or 403/404. */
			async callerJob(this: WorkerThis, ctx: WorkerCtx<any>) {
				const id = ctx.meta.user?.job;
				if (!id) throw forbidden();
				const cached = this.jobCache.get(id);
				if (cached) return cached;
				const job = await this.engine.repo.jobs.findOne({ _id: id });
				if (!job) throw notFound("job");
				this.jobCache.set(id, job);
				return job;
			},

			/** Most steps are reported once, ended: an insert; a long one's end replaces its start. */
			async recordStep(this: WorkerThis, job: JobDoc, index: number, fields: Record<string, unknown>) {
				await insertOrReplace(this.engine.repo.jobSteps, {
					_id: stepRecordId(job._id, index),
					jobId: job._id,
					index,
					...fields,
				});
			},
			async requireLive(this: WorkerThis, job: JobDoc) {
				if (await this.engine.repo.results.findOne({ _id: job._id }))
					throw conflict("this job has already ended", { job: job._id });
			},

			/** The variables and the clear secrets of a job (project, application, environment, build). */
			async jobVariablesOf(this: WorkerThis, ctx: Context, job: JobDoc) {
				const run = (await this.engine.repo.runs.findOne({ _id: job.runId })) as RunDoc;
				const def = await this.engine.definition(run);
				const node = nodeOf(def, job);
				const clear = (await ctx.call("project.jobVariables", {
					key: job.project,
					application: node?.application,
					environment: node?.environment,
				})) as ClearVariables;
				const names = integrationNamesFor(def, job);
				// Internal call (never routed): the integrations' passwords come back opened, for this job only.
				const integrations =
					names.length > 0
						? ((await ctx.call("project.integrationsForJob", {
								projectKey: job.project,
								names,
								...(node?.application ? { application: node.application } : {}),
							})) as ClearIntegrations)
						: undefined;
				const box = runtimeOf(this.broker).secrets;
				const computed = variablesOfJob(
					job,
					run,
					def,
					clear,
					requirePublicUrl(this.broker, config),
					(sealed) => box.open(sealed),
					integrations,
				);
				// Said once per job (variables are read again for each log batch's masking).
				if (computed.warnings.length > 0 && !warnedJobs.has(job._id)) {
					if (warnedJobs.size > 10_000) warnedJobs.clear();
					warnedJobs.add(job._id);
					for (const w of computed.warnings) this.logger.warn(`job ${job._id}: ${w}`);
				}
				return openTemplateSecrets(computed, (armored) =>
					callAction(ctx, "template.decryptSecret", { project: job.project, armored }),
				);
			},

			/** The node's integration, its model and the plugin that deploys to it. */
			async deploymentOf(this: WorkerThis, ctx: Context, job: JobDoc) {
				const run = (await this.engine.repo.runs.findOne({ _id: job.runId })) as RunDoc;
				const node = nodeOf(await this.engine.definition(run), job);
				const name = node?.integration;
				if (!name) throw invalid(`node ${job.node} names no integration (integration: on the node)`);
				const { integrations } = (await ctx.call("project.integrationsForJob", {
					projectKey: job.project,
					names: [name],
				})) as IntegrationsForJobAnswer;
				const found = integrations.find((i) => i.name === name);
				if (!found) throw notFound(`integration ${name} of project ${job.project}`);
				if (!found.modelDef.deployment)
					throw invalid(`integration ${name} (model ${found.model}) is not a deployment integration`);
				const { items } = (await ctx.call("plugin.installed")) as { items: InstalledPlugin[] };
				return {
					integration: name,
					model: found.model,
					choice: chooseDeploymentPlugin(found.model, items, BUILTIN_DEPLOYMENT_PLUGINS),
				};
			},

			/** A worker fetches only the plugins its own job runs: a step naming it, or its deployment plugin. */
			async requirePluginOfJob(this: WorkerThis, ctx: WorkerCtx<any>, job: JobDoc, name: string) {
				const steps = job.job.steps;
				if (pluginsNamedBy(steps).includes(name)) return;
				if (deploysApplication(steps)) {
					const { choice } = await this.deploymentOf(ctx, job);
					if (choice.kind === "installed" && choice.plugin.name === name) return;
				}
				throw forbidden(`this job runs no plugin ${name}`);
			},

			async secretsOf(this: WorkerThis, ctx: Context, job: JobDoc) {
				const hit = this.secretCache.get(job._id);
				if (hit) return hit;
				const { secrets } = await this.jobVariablesOf(ctx, job);
				this.secretCache.set(job._id, secrets);
				return secrets;
			},

			/** Exported values as stored: sealed when they hold a secret of the job. */
			async sealedExports(this: WorkerThis, ctx: Context, job: JobDoc, values: Record<string, string>) {
				const box = runtimeOf(this.broker).secrets;
				return sealExports(values, await this.secretsOf(ctx, job), (plain) => box.seal(plain));
			},

			async storeBlob(this: WorkerThis, ctx: WorkerCtx<any>, refs: Collection<BlobRefDoc>, scope: string) {
				const { tag, name } = blobParams(ctx);
				const expected = (ctx.meta as Record<string, any>).$requestHeaders?.["x-checksum-sha256"];
				try {
					const body = (ctx as unknown as { stream?: Readable }).stream;
					if (!body) throw invalid("the request has no body");
					const info = await runtimeOf(this.broker).artifacts.put(body, {
						project: scope.split("/")[0],
						maxBytes: config.artifacts.maxBytes,
						expectedSha256: typeof expected === "string" ? expected : undefined,
					});
					await refs.replace({
						_id: blobRefId(scope, tag, name),
						scope,
						tag,
						name,
						...info,
						created: new Date().toISOString(),
					});
					return info;
				} catch (e) {
					if (e instanceof BlobTooLargeError)
						throw Object.assign(invalid(e.message), { code: 413, type: "PAYLOAD_TOO_LARGE" });
					if (e instanceof ChecksumMismatchError)
						throw invalid(e.message, [{ field: "X-Checksum-Sha256", message: e.message }]);
					throw e;
				}
			},

			/**
			 * A presigned PUT to a per-upload object (never to the claimed hash) — above one Swift
			 * segment, one per part (`parts`) when the worker says it sends parts —, or `{direct: false}`
			 * when the store cannot sign one (filesystem, GridFS, TempURLs off): the worker then streams
			 * through the API.
			 */
			async directUpload(this: WorkerThis, ctx: WorkerCtx<DirectUploadParams>, scope: string) {
				blobParams(ctx);
				const store = runtimeOf(this.broker).artifacts;
				if (!store.presign || !store.commitUpload) return { direct: false };
				if (ctx.params.size > config.artifacts.maxBytes)
					throw Object.assign(invalid(`file larger than the limit of ${config.artifacts.maxBytes} bytes`), {
						code: 413,
						type: "PAYLOAD_TOO_LARGE",
					});
				try {
					const signed = await store.presign({
						method: "PUT",
						project: scope.split("/")[0],
						sha256: ctx.params.sha256,
						size: ctx.params.size,
						parts: ctx.params.parts === true,
						expiresInSeconds: DIRECT_URL_SECONDS,
					});
					return { direct: true, ...signed };
				} catch (e) {
					if (e instanceof UploadRejectedError) return { direct: false, reason: e.message };
					throw e;
				}
			},

			/** The store checks the upload (size, SHA-256) and makes it the blob; then the reference. */
			async commitDirect(
				this: WorkerThis,
				ctx: WorkerCtx<CommitParams>,
				refs: Collection<BlobRefDoc>,
				scope: string,
			) {
				const { tag, name } = blobParams(ctx);
				const store = runtimeOf(this.broker).artifacts;
				if (!store.commitUpload) throw invalid(`the ${store.kind} artifact store takes no direct uploads`);
				try {
					const info = await store.commitUpload({
						uploadId: ctx.params.uploadId,
						sha256: ctx.params.sha256,
						size: ctx.params.size,
						maxBytes: config.artifacts.maxBytes,
						project: scope.split("/")[0],
					});
					await refs.replace({
						_id: blobRefId(scope, tag, name),
						scope,
						tag,
						name,
						...info,
						created: new Date().toISOString(),
					});
					return info;
				} catch (e) {
					if (e instanceof BlobTooLargeError)
						throw Object.assign(invalid(e.message), { code: 413, type: "PAYLOAD_TOO_LARGE" });
					if (e instanceof ChecksumMismatchError)
						throw invalid(`upload refused: ${e.message}`, [{ field: "sha256", message: e.message }]);
					if (e instanceof UploadRejectedError)
						throw invalid(`upload refused: ${e.message}`, [{ field: "uploadId", message: e.message }]);
					throw e;
				}
			},

			async directDownload(
				this: WorkerThis,
				ctx: WorkerCtx<any>,
				refs: Collection<BlobRefDoc>,
				scope: string,
			) {
				const { tag, name } = blobParams(ctx);
				const ref = await refs.findOne({ _id: blobRefId(scope, tag, name) });
				if (!ref) throw notFound(`file ${tag}/${name}`);
				const store = runtimeOf(this.broker).artifacts;
				if (!store.presign) return { direct: false };
				const signed = await store.presign({
					method: "GET",
					project: scope.split("/")[0],
					sha256: ref.sha256,
					expiresInSeconds: DIRECT_URL_SECONDS,
				});
				return { direct: true, ...signed, sha256: ref.sha256, size: ref.size };
			},

			async readBlob(this: WorkerThis, ctx: WorkerCtx<any>, refs: Collection<BlobRefDoc>, scope: string) {
				const { tag, name } = blobParams(ctx);
				const ref = await refs.findOne({ _id: blobRefId(scope, tag, name) });
				const stream = ref
					? await runtimeOf(this.broker).artifacts.get(ref.sha256, { project: scope.split("/")[0] })
					: null;
				if (!ref || !stream) throw notFound(`file ${tag}/${name}`);
				ctx.meta.$responseType = "application/octet-stream";
				return stream;
			},
		},

		created(this: WorkerThis) {
			this.jobCache = new BoundedCache({ maxSize: MAX_CACHED_JOBS });
			this.secretCache = new BoundedCache({ maxSize: MAX_CACHED_SECRETS, ttlMs: SECRET_CACHE_MS });
		},

		async started(this: WorkerThis) {
			this.engine = await openRunEngine(this.broker, config, this.logger);
		},
	};
}
