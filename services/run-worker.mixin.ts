// The routes a worker uses, and the log routes users read. A worker's token is scoped to one
// job attempt (ctx.meta.user.job): every route here finds the job from the token, never from
// a parameter, so a worker can reach its own job, secrets, logs and run artifacts only.

import type { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { conflict, forbidden, invalid, notFound } from "../mixins/errors.ts";
import type { GatewayMeta } from "../mixins/meta.ts";
import { runtimeOf } from "../mixins/runtime.ts";
import { storeOf } from "../mixins/store.mixin.ts";
import { BlobTooLargeError, ChecksumMismatchError } from "../src/artifacts/artifact-store.ts";
import { withRunLock } from "../src/engine/run-lock.ts";
import { jobVariables } from "../src/engine/run-vars.ts";
import { createMasker } from "../src/run/mask.ts";
import { NAME_PATTERN, PROJECT_KEY_PATTERN } from "../src/project/variables.ts";
import type { Collection, Doc } from "../src/store/types.ts";
import { DuplicateKeyError } from "../src/store/types.ts";
import type { JobDoc, RunDoc, RunThis } from "./run.service.ts";

interface LogDoc extends Doc {
	jobId: string;
	runId: string;
	step: number;
	seq: number;
	text: string;
	at: number;
}

interface BlobRefDoc extends Doc {
	scope: string;
	tag: string;
	name: string;
	sha256: string;
	size: number;
	created: string;
}

export const LOG_LIMITS = { maxLineBytes: 32 * 1024, maxStepBytes: 64 * 1024 * 1024 };
const TAG_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const FILE_PATTERN = /^[A-Za-z0-9._+-][A-Za-z0-9._+ -]{0,254}$/;

type WorkerCtx<P = Record<string, unknown>> = Context<
	P,
	GatewayMeta & { $params?: Record<string, string>; $responseType?: string }
>;

function maskWhole(text: string, secrets: string[]): string {
	const masker = createMasker(secrets);
	return masker.mask(text) + masker.flush();
}

function pad(n: number, width: number) {
	return String(n).padStart(width, "0");
}

/** The job of the calling worker, or 401/409. */
async function callerJob(self: RunThis, ctx: WorkerCtx<any>): Promise<JobDoc> {
	const jobId = ctx.meta.user?.job;
	if (!jobId) throw forbidden();
	const cached = self.jobCache.get(jobId);
	if (cached) return cached;
	const job = await self.jobs().findOne({ _id: jobId });
	if (!job) throw notFound("job");
	if (self.jobCache.size > 5000) self.jobCache.clear();
	self.jobCache.set(jobId, job);
	return job;
}

async function requireLive(self: RunThis, job: JobDoc) {
	if (await self.results().findOne({ _id: job._id }))
		throw conflict("this job has already ended", { job: job._id });
}

function blobParams(ctx: WorkerCtx<any>): { tag: string; name: string } {
	// moleculer-web hands path parameters in ctx.params and, for `type: "stream"` routes, the body in ctx.stream.
	const p = { ...(ctx.meta.$params ?? {}), ...((ctx.params ?? {}) as Record<string, unknown>) };
	const tag = String(p.tag ?? "");
	const name = decodeURIComponent(String(p.name ?? ""));
	if (!TAG_PATTERN.test(tag))
		throw invalid(`invalid tag '${tag}'`, [{ field: "tag", message: "letters, digits, . _ - only" }]);
	if (!FILE_PATTERN.test(name) || name === "." || name === "..") {
		throw invalid(`invalid file name '${name}'`, [{ field: "name", message: "a plain file name" }]);
	}
	return { tag, name };
}

async function storeBlob(self: RunThis, ctx: WorkerCtx<any>, collection: string, scope: string) {
	const { tag, name } = blobParams(ctx);
	const expected = (ctx.meta as Record<string, any>).$requestHeaders?.["x-checksum-sha256"];
	try {
		const body = (ctx as unknown as { stream?: Readable }).stream;
		if (!body) throw invalid("the request has no body");
		const info = await runtimeOf(self.broker).artifacts.put(body, {
			maxBytes: runtimeOf(self.broker).config.artifacts.maxBytes,
			expectedSha256: typeof expected === "string" ? expected : undefined,
		});
		const refs = self.collections[collection] as Collection<BlobRefDoc>;
		await refs.replace({
			_id: `${scope}/${tag}/${name}`,
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
}

async function readBlob(self: RunThis, ctx: WorkerCtx<any>, collection: string, scope: string) {
	const { tag, name } = blobParams(ctx);
	const refs = self.collections[collection] as Collection<BlobRefDoc>;
	const ref = await refs.findOne({ _id: `${scope}/${tag}/${name}` });
	const stream = ref ? await runtimeOf(self.broker).artifacts.get(ref.sha256) : null;
	if (!ref || !stream) throw notFound(`file ${tag}/${name}`);
	ctx.meta.$responseType = "application/octet-stream";
	return stream;
}

const keyParam = { type: "string", pattern: PROJECT_KEY_PATTERN, max: 64 } as const;
const nameParam = { type: "string", pattern: NAME_PATTERN, max: 128 } as const;

/** The variables and the clear secrets of a job (project, application, environment, build). */
async function jobVariablesOf(self: RunThis, ctx: Context, job: JobDoc, publicUrl: string) {
	const run = (await self.runs().findOne({ _id: job.runId })) as RunDoc;
	const def = await self.definition(ctx, run);
	const node = def.model.nodes.find((n) => n.name === job.node);
	const pipeline = def.pipelines.find((p) => p.name === job.pipeline);
	const clear = (await ctx.call("project.jobVariables", {
		key: job.project,
		application: node?.application,
		environment: node?.environment,
	})) as Record<"project" | "application" | "environment", Record<string, { type: string; value: string }>>;
	const computed = jobVariables({
		run: run.vars,
		build: run.build,
		project: clear.project,
		application: node?.application ? { name: node.application, variables: clear.application } : undefined,
		environment: node?.environment ? { name: node.environment, variables: clear.environment } : undefined,
		pipelineParameters: Object.fromEntries(
			Object.entries(pipeline?.parameters ?? {}).map(([k, p]) => [k, p.default]),
		),
		nodeParameters: node?.parameters ?? {},
		node: job.node,
		pipeline: job.pipeline,
		stage: job.stage,
		job: job.name,
		publicUrl,
		runUrl: `${publicUrl}/api/v1/projects/${job.project}/workflows/${job.workflow}/runs/${job.runNumber}`,
	});
	return openTemplateSecrets(ctx, job.project, computed);
}

const PGP_MESSAGE = "-----BEGIN PGP MESSAGE-----";

/**
 * Template secrets arrive in as-code files as OpenPGP messages encrypted to the project key:
 * only here, for the job that needs them, are they opened — and masked like any password.
 */
async function openTemplateSecrets(
	ctx: Context,
	project: string,
	computed: { vars: Record<string, string>; secrets: string[] },
): Promise<{ vars: Record<string, string>; secrets: string[] }> {
	const armored = Object.entries(computed.vars).filter(([, v]) => v.trimStart().startsWith(PGP_MESSAGE));
	if (armored.length === 0) return computed;
	const vars = { ...computed.vars };
	const secrets = new Set(computed.secrets);
	for (const [name, value] of armored) {
		try {
			const clear = (await ctx.call("template.decryptSecret", { project, armored: value.trim() })) as string;
			vars[name] = clear;
			secrets.add(clear);
		} catch {
			// Not ours to open (another project's key, or no template service): left as written.
		}
	}
	return { vars, secrets: [...secrets].filter((x) => x.length > 0) };
}

/**
 * Secrets of recent jobs, to mask what a worker sends (defence in depth: the worker masks
 * first, across chunk boundaries; the server masks again whatever arrives whole).
 */
const secretCache = new Map<string, { secrets: string[]; at: number }>();

async function secretsOf(self: RunThis, ctx: Context, job: JobDoc, publicUrl: string): Promise<string[]> {
	const hit = secretCache.get(job._id);
	if (hit && Date.now() - hit.at < 60_000) return hit.secrets;
	const { secrets } = await jobVariablesOf(self, ctx, job, publicUrl);
	if (secretCache.size > 1000) secretCache.clear();
	secretCache.set(job._id, { secrets, at: Date.now() });
	return secrets;
}

export default function RunWorkerApi(config: Config): Partial<ServiceSchema<any, any, any, RunThis>> {
	const worker = { level: "worker" } as const;
	// `type: "stream"` (moleculer-web) hands the raw request body to the action as a stream.
	const rest = (method: "GET" | "POST" | "PUT", path: string, extra: { type?: "stream" } = {}) =>
		({ method, path, basePath: "/worker", ...extra }) as {
			method: "GET" | "POST" | "PUT";
			path: string;
			basePath: string;
		};
	return {
		mixins: [],
		actions: {
			workerJob: {
				rest: rest("GET", "/job"),
				summary: "The calling worker's job, variables and secrets",
				permission: worker,
				params: {},
				async handler(this: RunThis, ctx: WorkerCtx) {
					const job = await callerJob(this, ctx);
					await requireLive(this, job);
					const now = Date.now();
					const active = await this.activeJobs().findOne({ _id: job._id });
					if (!active) throw conflict("this job is not booked", { job: job._id });
					if (active.status !== "Building") {
						await this.activeJobs().update(
							{ _id: job._id },
							{ $set: { status: "Building", startedAt: now } },
						);
					}
					await (this.collections.heartbeats as Collection<{ _id: string; at: number }>).replace({
						_id: job._id,
						at: now,
					});
					const { vars, secrets } = await jobVariablesOf(this, ctx, job, config.publicUrl);
					return {
						id: job._id,
						attempt: job.attempt,
						runId: job.runId,
						runNumber: job.runNumber,
						project: job.project,
						workflow: job.workflow,
						node: job.node,
						pipeline: job.pipeline,
						stage: job.stage,
						job: job.job,
						variables: vars,
						secrets,
						timeoutSeconds: job.timeoutSeconds,
						stepTimeoutSeconds: null,
						heartbeatSeconds: this.runSettings.heartbeatSeconds,
						logLimits: LOG_LIMITS,
					};
				},
			},

			workerHeartbeat: {
				rest: rest("POST", "/job/heartbeat"),
				summary: "A worker is alive; the answer says whether to stop",
				permission: worker,
				params: {},
				async handler(this: RunThis, ctx: WorkerCtx) {
					const job = await callerJob(this, ctx);
					const result = await this.results().findOne({ _id: job._id });
					if (result) return { stop: true, reason: result.reason };
					await (this.collections.heartbeats as Collection<{ _id: string; at: number }>).replace({
						_id: job._id,
						at: Date.now(),
					});
					return { stop: false };
				},
			},

			workerLogs: {
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
					this: RunThis,
					ctx: WorkerCtx<{ entries: Array<{ step: number; seq: number; text: string }> }>,
				) {
					const job = await callerJob(this, ctx);
					const logs = this.collections.logs as Collection<LogDoc>;
					const secrets = await secretsOf(this, ctx, job, config.publicUrl);
					let stored = 0;
					const at = Date.now();
					for (const e of ctx.params.entries) {
						try {
							await logs.insert({
								_id: `${job._id}/${pad(e.step + 1, 5)}/${pad(e.seq, 10)}`,
								jobId: job._id,
								runId: job.runId,
								step: e.step,
								seq: e.seq,
								text: secrets.length > 0 ? maskWhole(e.text, secrets) : e.text,
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

			workerStep: {
				rest: rest("POST", "/job/steps/:index"),
				summary: "Status of one step of the worker's job",
				permission: worker,
				params: {
					index: { type: "number", integer: true, min: 0, max: 10_000, convert: true },
					status: {
						type: "enum",
						values: ["Waiting", "Building", "Success", "Fail", "Skipped", "Disabled", "Stopped"],
					},
					started: { type: "string", optional: true, max: 64 },
					ended: { type: "string", optional: true, max: 64 },
					exitCode: { type: "number", integer: true, optional: true },
					reason: { type: "string", optional: true, max: 4096 },
				},
				async handler(this: RunThis, ctx: WorkerCtx<any>) {
					const job = await callerJob(this, ctx);
					const steps = this.collections.job_steps as Collection<any>;
					const { index, ...rest } = ctx.params;
					await steps.replace({ _id: `${job._id}/${pad(index, 5)}`, jobId: job._id, index, ...rest });
					return {};
				},
			},

			workerVariable: {
				rest: rest("POST", "/job/variables"),
				summary: "worker export NAME VALUE: cds.build.NAME for the following steps, jobs and nodes",
				permission: worker,
				params: {
					name: { type: "string", pattern: /^[A-Za-z0-9._-]{1,128}$/ },
					value: { type: "string", max: 65536 },
				},
				async handler(this: RunThis, ctx: WorkerCtx<{ name: string; value: string }>) {
					const job = await callerJob(this, ctx);
					await requireLive(this, job);
					await withRunLock(storeOf(this.broker), job.runId, this.lockOwner(), async () => {
						const run = (await this.runs().findOne({ _id: job.runId }))!;
						await this.runs().replace({
							...run,
							build: { ...run.build, [ctx.params.name]: ctx.params.value },
						});
					});
					return {};
				},
			},

			workerResult: {
				rest: rest("POST", "/job/result"),
				summary: "The worker's job ended",
				permission: worker,
				params: {
					status: { type: "enum", values: ["Success", "Fail", "Stopped"] },
					reason: { type: "string", optional: true, max: 4096 },
					steps: { type: "array", optional: true, max: 10_000 },
					exports: { type: "record", optional: true, value: { type: "string", max: 65536 } },
				},
				async handler(
					this: RunThis,
					ctx: WorkerCtx<{
						status: "Success" | "Fail" | "Stopped";
						reason?: string;
						steps?: unknown[];
						exports?: Record<string, string>;
					}>,
				) {
					const job = await callerJob(this, ctx);
					const exports = ctx.params.exports ?? {};
					if (Object.keys(exports).length > 0 && !(await this.results().findOne({ _id: job._id }))) {
						await withRunLock(storeOf(this.broker), job.runId, this.lockOwner(), async () => {
							const run = (await this.runs().findOne({ _id: job.runId }))!;
							await this.runs().replace({ ...run, build: { ...run.build, ...exports } });
						});
					}
					const accepted = await this.finalizeJob(
						job,
						ctx.params.status,
						ctx.params.reason ?? null,
						ctx.params.steps ?? [],
					);
					return { accepted };
				},
			},

			workerPutArtifact: {
				rest: rest("PUT", "/artifacts/:tag/:name", { type: "stream" }),
				summary: "Upload an artifact of the worker's run (raw body)",
				permission: worker,
				params: {},
				async handler(this: RunThis, ctx: WorkerCtx) {
					const job = await callerJob(this, ctx);
					return storeBlob(this, ctx, "artifact_refs", job.runId);
				},
			},

			workerGetArtifact: {
				rest: rest("GET", "/artifacts/:tag/:name"),
				summary: "Download an artifact of the worker's run",
				permission: worker,
				params: { tag: { type: "string" }, name: { type: "string" } },
				async handler(this: RunThis, ctx: WorkerCtx) {
					const job = await callerJob(this, ctx);
					ctx.meta.$params = ctx.params as Record<string, string>;
					return readBlob(this, ctx, "artifact_refs", job.runId);
				},
			},

			workerListArtifacts: {
				rest: rest("GET", "/artifacts/:tag"),
				summary: "Artifacts of the worker's run under a tag",
				permission: worker,
				params: { tag: { type: "string", pattern: TAG_PATTERN } },
				async handler(this: RunThis, ctx: WorkerCtx<{ tag: string }>) {
					const job = await callerJob(this, ctx);
					const refs = this.collections.artifact_refs as Collection<BlobRefDoc>;
					const items = await refs.find({ scope: job.runId, tag: ctx.params.tag }, { sort: { name: 1 } });
					return { items: items.map((r) => ({ name: r.name, size: r.size, sha256: r.sha256 })) };
				},
			},

			workerPutCache: {
				rest: rest("PUT", "/cache/:tag/:name", { type: "stream" }),
				summary: "Push a file to the project cache (raw body)",
				permission: worker,
				params: {},
				async handler(this: RunThis, ctx: WorkerCtx) {
					const job = await callerJob(this, ctx);
					return storeBlob(this, ctx, "cache_refs", job.project);
				},
			},

			workerGetCache: {
				rest: rest("GET", "/cache/:tag/:name"),
				summary: "Pull a file from the project cache",
				permission: worker,
				params: { tag: { type: "string" }, name: { type: "string" } },
				async handler(this: RunThis, ctx: WorkerCtx) {
					const job = await callerJob(this, ctx);
					ctx.meta.$params = ctx.params as Record<string, string>;
					return readBlob(this, ctx, "cache_refs", job.project);
				},
			},

			workerListCache: {
				rest: rest("GET", "/cache/:tag"),
				summary: "Files of the project cache under a tag",
				permission: worker,
				params: { tag: { type: "string", pattern: TAG_PATTERN } },
				async handler(this: RunThis, ctx: WorkerCtx<{ tag: string }>) {
					const job = await callerJob(this, ctx);
					const refs = this.collections.cache_refs as Collection<BlobRefDoc>;
					const items = await refs.find({ scope: job.project, tag: ctx.params.tag }, { sort: { name: 1 } });
					return { items: items.map((r) => ({ name: r.name, size: r.size, sha256: r.sha256 })) };
				},
			},

			workerPutReport: {
				rest: rest("PUT", "/reports/:tag/:name", { type: "stream" }),
				summary: "Upload a report file (tests, coverage, analysis, security) of the worker's job",
				permission: worker,
				params: {},
				async handler(this: RunThis, ctx: WorkerCtx) {
					const job = await callerJob(this, ctx);
					const kind = String((ctx.params as Record<string, unknown>)?.tag ?? ctx.meta.$params?.tag ?? "");
					if (!["tests", "coverage", "analysis", "security"].includes(kind)) {
						throw invalid(`unknown report kind '${kind}'`, [
							{ field: "kind", message: "tests, coverage, analysis or security" },
						]);
					}
					const info = await storeBlob(this, ctx, "report_refs", job._id);
					const run = (await this.runs().findOne({ _id: job.runId }))!;
					if (
						this.broker.registry
							.getServiceList({ onlyAvailable: true })
							.some((x: { name: string }) => x.name === "report")
					) {
						const name = decodeURIComponent(String((ctx.params as Record<string, unknown>)?.name ?? ""));
						const query = {
							...((ctx.meta as Record<string, any>).$query ?? {}),
							...(ctx.params as Record<string, unknown>),
						};
						// The step's own parameters carry its quality gate (coverage minimum, maxDrop, failOn…).
						const stepIndex = Number(query.step);
						const step = Number.isInteger(stepIndex) ? job.job.steps[stepIndex] : undefined;
						const stepParams = step && step.action.kind === "builtin" ? step.action.params : undefined;
						const def = await this.definition(ctx, run);
						const application = def.model.nodes.find((n) => n.name === job.node)?.application;
						const stepFormat =
							stepParams && typeof stepParams === "object" && !Array.isArray(stepParams)
								? (stepParams as Record<string, unknown>).format
								: undefined;
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
								format:
									typeof stepFormat === "string"
										? stepFormat
										: typeof query.format === "string"
											? query.format
											: undefined,
								sha256: info.sha256,
								...(stepParams !== undefined ? { stepParams } : {}),
								...(application ? { application } : {}),
							},
							// On behalf of the system: the worker's own token reaches only the worker routes.
							{ meta: { user: undefined } },
						);
					}
					return { ...info, ingested: false };
				},
			},

			logs: {
				rest: "GET /:key/workflows/:name/runs/:number/logs",
				summary: "Stored log lines of a run's jobs, in order (paginated; follow with the cursor)",
				permission: { level: "read", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					number: { type: "number", integer: true, min: 1, convert: true },
					job: { type: "string", optional: true, max: 1024 },
					node: { type: "string", optional: true, max: 128 },
					cursor: { type: "string", optional: true, max: 2048 },
					limit: { type: "number", integer: true, min: 1, max: 5000, optional: true, convert: true },
				},
				async handler(
					this: RunThis,
					ctx: Context<{
						key: string;
						name: string;
						number: number;
						job?: string;
						node?: string;
						cursor?: string;
						limit?: number;
					}>,
				) {
					const run = await this.findRun(ctx.params.key, ctx.params.name, ctx.params.number);
					const logs = this.collections.logs as Collection<LogDoc>;
					const jobs = (await this.jobsOfRun(run))
						.filter((j) => !ctx.params.job || j._id === ctx.params.job)
						.filter((j) => !ctx.params.node || j.node === ctx.params.node);
					const limit = ctx.params.limit ?? 1000;
					const after = ctx.params.cursor ? Buffer.from(ctx.params.cursor, "base64url").toString("utf8") : "";
					const [afterJob, afterId] = after ? (JSON.parse(after) as [string, string]) : ["", ""];
					const items: Array<Record<string, unknown>> = [];
					let next: string | null = null;
					let started = !afterJob;
					for (const job of jobs) {
						if (!started) {
							if (job._id !== afterJob) continue;
							started = true;
						}
						const q: Record<string, unknown> = { jobId: job._id };
						if (job._id === afterJob && afterId) q._id = { $gt: afterId };
						const page = await logs.find(q, { sort: { _id: 1 }, limit: limit - items.length + 1 });
						for (const l of page) {
							if (items.length === limit) {
								next = Buffer.from(JSON.stringify([job._id, items[items.length - 1]!.id])).toString(
									"base64url",
								);
								break;
							}
							items.push({
								id: l._id,
								job: job._id,
								node: job.node,
								jobName: job.name,
								step: l.step,
								seq: l.seq,
								text: l.text,
							});
						}
						if (next) break;
					}
					const done =
						jobs.every((j) => ["Success", "Fail", "Stopped"].includes(j.status)) &&
						!["Waiting", "Building", "Manual"].includes(run.status);
					if (!next && items.length > 0 && !done) {
						const last = items[items.length - 1]!;
						next = Buffer.from(JSON.stringify([last.job, last.id])).toString("base64url");
					}
					if (!next && items.length === 0 && ctx.params.cursor && !done) next = ctx.params.cursor;
					return { items, next, done };
				},
			},
		},
	};
}
