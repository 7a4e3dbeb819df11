// Owns test, coverage, analysis and security reports of workflow runs. Workers upload the
// files to the artifact store; `report.ingest` (internal, called by the run engine) parses
// one, compares it with the previous run on the branch and with the default branch,
// evaluates the step's quality gate and stores the result per node run. Applications may
// ignore known vulnerabilities for a while (collection `vuln_ignores`).

import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { Context, Service, ServiceBroker, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { IngestParams, ReportDetailDoc, ReportDoc, VulnIgnoreDoc } from "../schemas/report.ts";
import { branchName, entityName, pagination, projectKey } from "../schemas/params.ts";
import { callAction } from "./support/call.ts";
import { conflict, invalid, notFound } from "./support/errors.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { type Runtime, runtimeOf } from "./support/runtime.ts";
import { StoreMixin } from "../mixins/store.mixin.ts";
import { decodeCursor, type PageOptions, paginate } from "../src/api/pagination.ts";
import { presentIgnore, presentReport } from "../src/quality/present.ts";
import type { ArtifactStore } from "../src/artifacts/artifact-store.ts";
import {
	baselineQueries,
	capComparisons,
	compareWithBaselines,
	DEFAULT_HISTORY_POINTS,
	evaluateGate,
	GateSettingsError,
	type GateSettings,
	gateComparison,
	gateSettingsFromStep,
	HISTORY_READ_FACTOR,
	historySeries,
	IgnoreInputError,
	ignoreId,
	kindMismatch,
	mayReplaceIgnore,
	normaliseVulnerability,
	parseExpiry,
	REPORT_KINDS,
	type ReportKind,
	reportId,
	reportSeries,
	rereadAsSecurity,
	resolveDefaultBranch,
	type StoredReportBody,
	summariseReport,
	uploadSource,
} from "../src/quality/index.ts";
import {
	type ParsedReport,
	parseReportStream,
	REPORT_FORMATS,
	type ReportFormat,
	ReportParseError,
} from "../src/reports/index.ts";
import { type Collection, DuplicateKeyError } from "../src/store/types.ts";
import { toStorable } from "../src/store/subset.ts";

/** Largest report file read from the artifact store (the parsers stream; JSON has its own cap). */
const MAX_REPORT_BYTES = 256 * 1024 * 1024;
/** Largest inline `content` (base64) accepted when no artifact store is used. */
const MAX_INLINE_BASE64 = 16 * 1024 * 1024;
const MAX_HISTORY_POINTS = 1000;

type ReportThis = Service & {
	collections: Record<string, Collection<any>>;
	broker: ServiceBroker;
	reports(): Collection<ReportDoc>;
	details(): Collection<ReportDetailDoc>;
	ignores(): Collection<VulnIgnoreDoc>;
	parseUpload(params: IngestParams): Promise<ParsedReport>;
	baseline(query: Record<string, unknown>): Promise<{ doc: ReportDoc; body: StoredReportBody } | null>;
};

const now = () => new Date().toISOString();

/** Where workers' uploads are; tolerates a runtime attached without one (content-only callers). */
function artifactStoreOf(broker: ServiceBroker): ArtifactStore | undefined {
	return (runtimeOf(broker) as Runtime & { artifacts?: ArtifactStore }).artifacts;
}

export default function ReportService(): ServiceSchema<
	ServiceSettingSchema,
	Record<string, any>,
	Record<string, any>,
	ReportThis
> {
	return {
		name: "report",
		mixins: [
			StoreMixin([
				{
					name: "reports",
					indexes: [
						{ fields: ["project", "workflow", "runNumber"] },
						{ fields: ["project", "workflow", "series"] },
					],
				},
				{ name: "report_details" },
				{ name: "vuln_ignores", indexes: [{ fields: ["project", "application"] }] },
			]),
		],
		settings: { rest: "/projects" },

		actions: {
			/** Parses an uploaded report file, compares it, evaluates its gate and stores it. Internal. */
			ingest: {
				permission: { level: "write", project: "project" },
				params: {
					project: projectKey,
					workflow: entityName,
					runId: { type: "string", min: 1, max: 128 },
					runNumber: { type: "number", integer: true, min: 1, convert: true },
					branch: branchName,
					commit: { type: "string", max: 128, optional: true },
					node: { type: "string", min: 1, max: 255 },
					jobId: { type: "string", min: 1, max: 128 },
					kind: { type: "enum", values: [...REPORT_KINDS] },
					name: { type: "string", min: 1, max: 1024 },
					format: { type: "enum", values: [...REPORT_FORMATS], optional: true },
					sha256: { type: "string", pattern: /^[a-f0-9]{64}$/, optional: true },
					content: { type: "string", max: MAX_INLINE_BASE64, optional: true },
					stepParams: { type: "any", optional: true },
					application: { ...entityName, optional: true },
					defaultBranch: { ...branchName, optional: true },
				},
				async handler(this: ReportThis, ctx: Context<IngestParams, GatewayMeta>) {
					const p = ctx.params;
					let settings: GateSettings;
					try {
						settings = gateSettingsFromStep(p.kind, p.stepParams);
					} catch (e) {
						if (e instanceof GateSettingsError)
							throw invalid(
								e.message,
								e.problems.map((message) => ({ field: "stepParams", message })),
							);
						throw e;
					}
					const parsed = await this.parseUpload(p);
					// Report files are written by tools: a NaN duration or a "\0" in a test name is made storable.
					const body = toStorable(summariseReport(parsed));
					const series = reportSeries(p.node, p.kind, p.name);
					const defaultBranch = await resolveDefaultBranch(p.defaultBranch, p.branch, () =>
						this.reports().count({ project: p.project, workflow: p.workflow, branch: "master" }),
					);
					const queries = baselineQueries({ ...p, series, defaultBranch });
					const full = compareWithBaselines(
						body,
						await this.baseline(queries.previous),
						queries.default ? await this.baseline(queries.default) : null,
					);

					const ignores = p.application
						? await this.ignores().find({ project: p.project, application: p.application })
						: [];
					const gate = evaluateGate({
						settings,
						report: body,
						delta: gateComparison(full)?.delta ?? null,
						ignores,
					});

					const comparisons = capComparisons(full);
					const id = reportId(p);
					const doc: ReportDoc = {
						_id: id,
						project: p.project,
						workflow: p.workflow,
						runId: p.runId,
						runNumber: p.runNumber,
						branch: p.branch,
						commit: p.commit ?? null,
						node: p.node,
						jobId: p.jobId,
						kind: p.kind,
						name: p.name,
						series,
						application: p.application ?? null,
						format: body.format,
						tool: body.tool ?? null,
						sha256: p.sha256 ?? null,
						summary: body.summary,
						truncated: body.detail.truncated,
						settings,
						gate,
						defaultBranch,
						comparisons,
						created: now(),
					};
					await this.details().replace({ _id: id, project: p.project, detail: body.detail });
					await this.reports().replace(doc);
					ctx.emit("report.created", {
						project: p.project,
						workflow: p.workflow,
						runId: p.runId,
						runNumber: p.runNumber,
						branch: p.branch,
						node: p.node,
						jobId: p.jobId,
						kind: p.kind,
						name: p.name,
						reportId: id,
						summary: body.summary,
						gate,
					});
					return { reportId: id, summary: body.summary, gate, comparisons };
				},
			},

			listRun: {
				rest: "GET /:key/workflows/:name/runs/:number/reports",
				summary: "List the reports of a workflow run, with their deltas and gates",
				permission: { level: "read", project: "key" },
				params: {
					key: projectKey,
					name: entityName,
					number: { type: "number", integer: true, min: 1, convert: true },
					...pagination,
				},
				async handler(
					this: ReportThis,
					ctx: Context<{ key: string; name: string; number: number; limit?: number; cursor?: string }>,
				) {
					const { key, name, number } = ctx.params;
					return paginate(
						this.reports(),
						{ project: key, workflow: name, runNumber: number },
						ctx.params,
						(d) => presentReport(d),
					);
				},
			},

			latest: {
				rest: "GET /:key/workflows/:name/reports",
				summary: "The reports of a workflow's latest run that has any (optionally on one branch)",
				permission: { level: "read", project: "key" },
				params: {
					key: projectKey,
					name: entityName,
					branch: { ...branchName, optional: true },
					...pagination,
				},
				async handler(
					this: ReportThis,
					ctx: Context<{ key: string; name: string; branch?: string } & PageOptions>,
				) {
					const { key, name, branch } = ctx.params;
					const query: Record<string, unknown> = { project: key, workflow: name };
					if (branch) query.branch = branch;
					// The pages after the first stay on the run of the first page (its cursor names one
					// of its reports), even when a newer run got reports in between.
					const from = ctx.params.cursor
						? await this.reports().findOne({ ...query, _id: decodeCursor(ctx.params.cursor).id })
						: null;
					const [last] = from
						? [from]
						: await this.reports().find(query, { sort: { runNumber: -1 }, limit: 1 });
					if (!last) throw notFound(`reports of workflow ${name}${branch ? ` on branch ${branch}` : ""}`);
					const page = await paginate(
						this.reports(),
						{ project: key, workflow: name, runNumber: last.runNumber },
						ctx.params,
						(d) => presentReport(d),
					);
					return {
						runNumber: last.runNumber,
						branch: last.branch,
						defaultBranch: last.defaultBranch,
						...page,
					};
				},
			},

			history: {
				rest: "GET /:key/workflows/:name/reports/history",
				summary: "One point per run for a chart: coverage percentages, test totals or counts per severity",
				permission: { level: "read", project: "key" },
				params: {
					key: projectKey,
					name: entityName,
					kind: { type: "enum", values: [...REPORT_KINDS] },
					branch: { ...branchName, optional: true },
					node: { type: "string", max: 255, optional: true },
					limit: {
						type: "number",
						integer: true,
						min: 1,
						max: MAX_HISTORY_POINTS,
						optional: true,
						convert: true,
					},
				},
				async handler(
					this: ReportThis,
					ctx: Context<{
						key: string;
						name: string;
						kind: ReportKind;
						branch?: string;
						node?: string;
						limit?: number;
					}>,
				) {
					const { key, name, kind, branch, node } = ctx.params;
					const limit = ctx.params.limit ?? DEFAULT_HISTORY_POINTS;
					const query: Record<string, unknown> = { project: key, workflow: name, kind };
					if (branch) query.branch = branch;
					if (node) query.node = node;
					// Several reports per run are possible: read generously, then keep the last `limit` runs.
					const docs = await this.reports().find(query, {
						sort: { runNumber: -1 },
						limit: limit * HISTORY_READ_FACTOR,
					});
					const points = historySeries(
						docs.map((d) => ({ ...d, commit: d.commit ?? undefined })),
						kind,
					);
					return { kind, branch: branch ?? null, points: points.slice(-limit) };
				},
			},

			get: {
				rest: "GET /:key/reports/:id",
				summary: "One report with its stored cases, files, findings or vulnerabilities",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, id: { type: "string", pattern: /^[a-f0-9]{32}$/ } },
				async handler(this: ReportThis, ctx: Context<{ key: string; id: string }>) {
					const doc = await this.reports().findOne({ _id: ctx.params.id, project: ctx.params.key });
					if (!doc) throw notFound(`report ${ctx.params.id}`);
					const detail = await this.details().findOne({ _id: doc._id });
					return { ...presentReport(doc), detail: detail?.detail ?? { truncated: {} } };
				},
			},

			addIgnore: {
				rest: "POST /:key/applications/:application/vulnerability-ignores",
				summary: "Ignore a vulnerability in an application's security gates until a date, with a reason",
				permission: { level: "write", project: "key" },
				params: {
					key: projectKey,
					application: entityName,
					vulnerability: { type: "string", pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]*$/, max: 128 },
					package: { type: "string", min: 1, max: 512, optional: true },
					reason: { type: "string", min: 3, max: 2048, trim: true },
					expires: { type: "string", min: 2, max: 64 },
				},
				async handler(
					this: ReportThis,
					ctx: Context<
						{
							key: string;
							application: string;
							vulnerability: string;
							package?: string;
							reason: string;
							expires: string;
						},
						GatewayMeta
					>,
				) {
					const p = ctx.params;
					let expires: Date;
					try {
						expires = parseExpiry(p.expires);
					} catch (e) {
						if (e instanceof IgnoreInputError)
							throw invalid(e.message, [{ field: "expires", message: e.message }]);
						throw e;
					}
					await callAction(ctx, "project.getApplication", { key: p.key, name: p.application });
					const vulnerability = normaliseVulnerability(p.vulnerability);
					const doc: VulnIgnoreDoc = {
						_id: ignoreId(p.key, p.application, p.vulnerability, p.package),
						project: p.key,
						application: p.application,
						vulnerability,
						reason: p.reason,
						expires: expires.toISOString(),
						created: now(),
						author: ctx.meta.user?.id ?? null,
					};
					if (p.package) doc.package = p.package;
					try {
						await this.ignores().insert(doc);
					} catch (e) {
						if (!(e instanceof DuplicateKeyError)) throw e;
						const existing = await this.ignores().findOne({ _id: doc._id });
						if (existing && !mayReplaceIgnore(existing))
							throw conflict(
								`${vulnerability} is already ignored in ${p.application} until ${existing.expires}`,
								{
									id: doc._id,
								},
							);
						await this.ignores().replace(doc);
					}
					ctx.meta.$statusCode = 201;
					return presentIgnore(doc);
				},
			},

			listIgnores: {
				rest: "GET /:key/applications/:application/vulnerability-ignores",
				summary: "List an application's vulnerability ignores (expired ones are shown with active: false)",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, application: entityName, ...pagination },
				async handler(
					this: ReportThis,
					ctx: Context<{ key: string; application: string; limit?: number; cursor?: string }>,
				) {
					return paginate(
						this.ignores(),
						{ project: ctx.params.key, application: ctx.params.application },
						ctx.params,
						(d) => presentIgnore(d),
					);
				},
			},

			removeIgnore: {
				rest: "DELETE /:key/applications/:application/vulnerability-ignores/:id",
				summary: "Remove a vulnerability ignore",
				permission: { level: "write", project: "key" },
				params: {
					key: projectKey,
					application: entityName,
					id: { type: "string", pattern: /^[a-f0-9]{24}$/ },
				},
				async handler(this: ReportThis, ctx: Context<{ key: string; application: string; id: string }>) {
					const { key, application, id } = ctx.params;
					const removed = await this.ignores().remove({ _id: id, project: key, application });
					if (removed === 0) throw notFound(`vulnerability ignore ${id}`);
					return { id, deleted: true };
				},
			},

			/** Drops every report and ignore of a deleted project. Internal. */
			removeProject: {
				permission: { level: "admin", project: "key" },
				params: { key: projectKey },
				async handler(this: ReportThis, ctx: Context<{ key: string }>) {
					const query = { project: ctx.params.key };
					await this.details().remove(query, { multi: true });
					await this.ignores().remove(query, { multi: true });
					return { removed: await this.reports().remove(query, { multi: true }) };
				},
			},
		},

		methods: {
			reports(this: ReportThis) {
				return this.collections.reports as Collection<ReportDoc>;
			},
			details(this: ReportThis) {
				return this.collections.report_details as Collection<ReportDetailDoc>;
			},
			ignores(this: ReportThis) {
				return this.collections.vuln_ignores as Collection<VulnIgnoreDoc>;
			},

			/**
			 * Reads the file (artifact store, else inline content) and parses it. A securityScan
			 * step given a SARIF file from a tool the parser files under analysis is re-read as security.
			 */
			async parseUpload(this: ReportThis, p: IngestParams): Promise<ParsedReport> {
				const open = async (): Promise<Readable> => {
					const store = artifactStoreOf(this.broker);
					const source = uploadSource(p, store !== undefined);
					if (source.from === "none")
						throw invalid(source.message, [{ field: source.field, message: source.detail }]);
					if (source.from === "store") {
						const stream = await store!.get(source.sha256, { project: p.project });
						if (!stream) throw notFound(`report file ${p.name} (blob ${source.sha256})`);
						return stream;
					}
					const bytes = Buffer.from(p.content!, "base64");
					if (source.checksum && createHash("sha256").update(bytes).digest("hex") !== source.checksum)
						throw invalid("content does not match sha256", [
							{ field: "content", message: "checksum mismatch" },
						]);
					return Readable.from([bytes]);
				};
				const parse = async (format: ReportFormat | undefined) => {
					const source = await open();
					try {
						return await parseReportStream(source, { format, fileName: p.name, maxBytes: MAX_REPORT_BYTES });
					} catch (e) {
						if (e instanceof ReportParseError)
							throw invalid(`cannot read report ${p.name}: ${e.message}`, [
								{ field: "file", message: e.message },
							]);
						throw e;
					} finally {
						source.destroy();
					}
				};
				let parsed = await parse(p.format);
				if (rereadAsSecurity(p.kind, parsed)) parsed = await parse("sarif-security");
				const mismatch = kindMismatch(p.kind, p.name, parsed);
				if (mismatch) throw invalid(mismatch.message, [{ field: "kind", message: mismatch.detail }]);
				return parsed;
			},

			async baseline(this: ReportThis, query: Record<string, unknown>) {
				const [doc] = await this.reports().find(query, { sort: { runNumber: -1 }, limit: 1 });
				if (!doc) return null;
				const detail = await this.details().findOne({ _id: doc._id });
				return {
					doc,
					body: {
						kind: doc.kind,
						format: doc.format,
						summary: doc.summary,
						detail: detail?.detail ?? { truncated: {} },
					},
				};
			},
		},
	};
}
