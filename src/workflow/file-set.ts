import { isMap } from "yaml";
import type { Node, YAMLMap } from "yaml";
import { type Classification, classify, kindHint, templateMarker } from "./classify.ts";
import { compareDiagnostics, type Diagnostic } from "./diagnostics.ts";
import type {
	Application,
	Environment,
	FileKind,
	FileSetModel,
	Pipeline,
	ProjectContext,
	Workflow,
	WorkflowFormatVersion,
} from "./model.ts";
import { parseApplication, parseEnvironment } from "./parse-app-env.ts";
import type { ParseOptions } from "./parse-common.ts";
import { parsePipeline } from "./parse-pipeline.ts";
import { unknownStepAction } from "./parse-steps.ts";
import { type ParsedWorkflow, parseWorkflow } from "./parse-workflow.ts";
import { MAX_FILE_BYTES, SourceFile } from "./source.ts";
import { BUILTIN_MODEL_NAMES } from "../integrations/builtin.ts";
import {
	parseIntegrationModel,
	parsePluginBinary,
	parsePluginManifest,
	parseProjectIntegration,
} from "../integrations/parse.ts";
import { didYouMean } from "./suggest.ts";
import { entityNameProblem } from "../project/variables.ts";

export interface FileReport {
	path: string;
	kind: FileKind | "ignored";
	status: "accepted" | "rejected" | "ignored";
	/** Why an ignored file is not an entity. */
	reason?: string;
	/** The entity's name when it could be read. */
	name?: string;
	/** For workflows: the format version the file was written in. */
	sourceVersion?: WorkflowFormatVersion;
	diagnostics: Diagnostic[];
}

export interface FileSetResult {
	/** True when no file has an error: the model can be imported. */
	ok: boolean;
	files: FileReport[];
	/** What could be read; complete and consistent only when `ok`. */
	model: FileSetModel;
	errors: Diagnostic[];
	warnings: Diagnostic[];
}

/** The second argument's long form: the project context plus parse options in one object. */
export interface FileSetOptions extends ParseOptions {
	context?: ProjectContext;
}

export interface InputFile {
	path: string;
	content: string;
}

interface Entry {
	src: SourceFile;
	report: FileReport;
	kind: FileKind | undefined;
	name?: string;
	nameNode?: Node | null;
	workflow?: ParsedWorkflow;
	/** Integrations a non-workflow file names (a project integration's model, a deployment's integration). */
	integrationRefs?: Array<{
		kind: "integration" | "integration-model";
		name: string;
		node: Node | null;
		usedBy: string;
	}>;
}

/**
 * Parses a set of CDS as-code files (a repository's `.cds/` directory or an upload), each
 * classified by content, and checks the references between them and to the project.
 * Never throws: every problem becomes a located diagnostic.
 */
export function parseFileSet(
	files: readonly InputFile[],
	ctxOrOptions: ProjectContext | FileSetOptions = {},
	parseOptions: ParseOptions = {},
): FileSetResult {
	const isOptions = "context" in ctxOrOptions || "openSecret" in ctxOrOptions;
	const ctx: ProjectContext = isOptions
		? ((ctxOrOptions as FileSetOptions).context ?? {})
		: (ctxOrOptions as ProjectContext);
	const options: ParseOptions = isOptions
		? { ...parseOptions, ...(ctxOrOptions as FileSetOptions) }
		: parseOptions;
	const entries: Entry[] = files.map((file) => classifyFile(file));
	const model: FileSetModel = {
		workflows: [],
		pipelines: [],
		applications: [],
		environments: [],
		missing: { applications: [], environments: [] },
		integrationModels: [],
		integrations: [],
		plugins: [],
		pluginBinaries: [],
	};

	for (const entry of entries.filter((e) => e.kind === "workflow")) {
		const parsed = entry.src.guard(() => parseWorkflow(entry.src, entry.src.root as never, options));
		if (parsed) {
			entry.workflow = parsed;
			entry.name = parsed.workflow.name;
			entry.nameNode = parsed.nameNode;
			entry.report.sourceVersion = parsed.sourceVersion;
		}
	}
	resolveUndecided(entries);

	for (const entry of entries) {
		const root = entry.src.guard(() => entry.src.root) ?? null;
		if (!isMap(root) || entry.kind === undefined || entry.kind === "workflow") continue;
		const { src } = entry;
		if (parseIntegrationFile(entry, root, model, options)) continue;
		if (entry.kind === "pipeline") {
			const parsed = src.guard(() => parsePipeline(src, root));
			if (parsed) {
				model.pipelines.push(parsed.pipeline);
				Object.assign(entry, { name: parsed.pipeline.name, nameNode: parsed.nameNode });
			}
		} else {
			const parsed = src.guard(() =>
				entry.kind === "application"
					? parseApplication(src, root, options)
					: parseEnvironment(src, root, options),
			);
			if (parsed) {
				if (entry.kind === "application") {
					const app = parsed.entity as Application;
					model.applications.push(app);
					entry.integrationRefs = Object.keys(app.deployments ?? {}).map((name) => ({
						kind: "integration" as const,
						name,
						node: deploymentNode(src, root, name),
						usedBy: `the deployments of application '${app.name}'`,
					}));
				} else model.environments.push(parsed.entity as Environment);
				Object.assign(entry, { name: parsed.entity.name, nameNode: parsed.nameNode });
			}
		}
	}
	for (const entry of entries) if (entry.workflow) model.workflows.push(entry.workflow.workflow);

	checkNames(entries);
	reportDuplicates(entries);
	checkReferences(entries, model, ctx);

	const byName = (a: { name: string }, b: { name: string }) =>
		a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
	model.workflows.sort(byName);
	model.pipelines.sort(byName);
	model.applications.sort(byName);
	model.environments.sort(byName);
	model.integrationModels!.sort(byName);
	model.integrations!.sort(byName);
	model.plugins!.sort(byName);

	const all: Diagnostic[] = [];
	for (const entry of entries) {
		entry.src.diagnostics.sort(compareDiagnostics);
		entry.report.diagnostics = entry.src.diagnostics;
		if (entry.name !== undefined) entry.report.name = entry.name;
		if (entry.report.status !== "ignored") {
			entry.report.status = entry.src.hasErrors ? "rejected" : "accepted";
		}
		all.push(...entry.src.diagnostics);
	}
	const errors = all.filter((d) => d.severity === "error");
	return {
		ok: errors.length === 0,
		files: entries.map((e) => e.report),
		model,
		errors,
		warnings: all.filter((d) => d.severity === "warning"),
	};
}

function classifyFile(file: InputFile): Entry {
	if (Buffer.byteLength(file.content, "utf8") > MAX_FILE_BYTES)
		return rejected(new SourceFile(file.path, file.content));
	const marker = templateMarker(file.content);
	const src = new SourceFile(file.path, marker ? "" : file.content);
	let classification: Classification;
	if (marker) {
		classification = {
			kind: "ignored",
			reason: `Go-template source of a CDS workflow template ('[[ ]]' action at line ${marker.line}); instantiate the template before importing`,
		};
	} else {
		try {
			classification = classify(src);
		} catch (error) {
			src.error("invalid-value", `cannot classify file: ${(error as Error).message}`, 0);
			classification = { kind: "rejected" };
		}
	}
	if (classification.kind === "ignored") {
		// Parse errors of a file that is not an entity (a README, a JSON payload) are no diagnostics.
		src.diagnostics.length = 0;
		return {
			src,
			kind: undefined,
			report: {
				path: file.path,
				kind: "ignored",
				status: "ignored",
				reason: classification.reason,
				diagnostics: [],
			},
		};
	}
	if (classification.kind === "rejected") return rejected(src);
	const kind: FileKind | undefined = classification.kind === "undecided" ? undefined : classification.kind;
	return {
		src,
		kind,
		report: { path: file.path, kind: kind ?? "pipeline", status: "accepted", diagnostics: [] },
	};
}

function rejected(src: SourceFile): Entry {
	const kind = kindHint(src.path) ?? "ignored";
	return { src, kind: undefined, report: { path: src.path, kind, status: "rejected", diagnostics: [] } };
}

/**
 * A file with only `name`/`version` (e.g. CDS's empty pipeline `04SCWorkflowRunNotif/empty.yml`)
 * is whatever the workflows of the set use it as; a pipeline when nothing says otherwise.
 */
function resolveUndecided(entries: Entry[]): void {
	const used = {
		application: new Set<string>(),
		environment: new Set<string>(),
		pipeline: new Set<string>(),
	};
	for (const entry of entries) {
		for (const ref of entry.workflow?.references ?? []) {
			if (ref.kind !== "integration") used[ref.kind].add(ref.name);
		}
	}
	for (const entry of entries) {
		if (entry.kind !== undefined || entry.report.status !== "accepted") continue;
		const root = entry.src.root;
		const nameField = isMap(root) ? entry.src.fields(root).find((f) => f.key === "name") : undefined;
		const name = nameField ? String((nameField.value as { value?: unknown } | null)?.value ?? "") : "";
		if (!used.pipeline.has(name) && used.application.has(name)) entry.kind = "application";
		else if (!used.pipeline.has(name) && used.environment.has(name)) entry.kind = "environment";
		else entry.kind = "pipeline";
		entry.report.kind = entry.kind;
	}
}

/** Entity names become URL path segments: they follow the API's own pattern (no `.`, `..`, `/`, NUL…). */
function checkNames(entries: Entry[]): void {
	for (const entry of entries) {
		if (entry.kind === undefined || entry.name === undefined) continue;
		const problem = entityNameProblem(entry.name);
		if (problem) entry.src.error("invalid-value", `${entry.kind} ${problem}`, entry.nameNode);
	}
}

function reportDuplicates(entries: Entry[]): void {
	const seen = new Map<string, Entry>();
	for (const entry of entries) {
		if (entry.kind === undefined || entry.name === undefined) continue;
		const key = `${entry.kind}\u0000${entry.name}`;
		const first = seen.get(key);
		if (!first) {
			seen.set(key, entry);
			continue;
		}
		const at = first.src.position(first.nameNode);
		entry.src.error(
			"duplicate-name",
			`${entry.kind} '${entry.name}' is already defined in ${first.src.path}:${at.line}:${at.column}`,
			entry.nameNode,
		);
	}
}

function checkReferences(entries: Entry[], model: FileSetModel, ctx: ProjectContext): void {
	const known = {
		pipeline: new Set([...model.pipelines.map((p) => p.name), ...(ctx.pipelines ?? [])]),
		application: new Set([...model.applications.map((a) => a.name), ...(ctx.applications ?? [])]),
		environment: new Set([...model.environments.map((e) => e.name), ...(ctx.environments ?? [])]),
		integration: new Set([...(model.integrations ?? []).map((i) => i.name), ...(ctx.integrations ?? [])]),
	};
	const models = new Set([
		...BUILTIN_MODEL_NAMES,
		...(model.integrationModels ?? []).map((m) => m.name),
		...(ctx.integrationModels ?? []),
	]);
	const missingApplications = new Set<string>();
	const missingEnvironments = new Set<string>();
	for (const entry of entries) {
		const { src } = entry;
		for (const ref of entry.workflow?.references ?? []) {
			if (known[ref.kind].has(ref.name)) continue;
			const hint = didYouMean(ref.name, known[ref.kind]);
			if (ref.kind === "pipeline") {
				src.error(
					"unknown-pipeline",
					`pipeline '${ref.name}' of ${ref.usedBy} is neither in the file set nor in the project${hint}`,
					ref.node,
				);
			} else if (ref.kind === "integration") {
				src.error(
					"unknown-integration",
					`integration '${ref.name}' used by ${ref.usedBy} is not an integration of the project${hint}`,
					ref.node,
				);
			} else if (ref.kind === "application") {
				missingApplications.add(ref.name);
				src.warn(
					"missing-application",
					`application '${ref.name}' of ${ref.usedBy} is neither in the file set nor in the project; it will be created empty${hint}`,
					ref.node,
				);
			} else {
				missingEnvironments.add(ref.name);
				src.warn(
					"missing-environment",
					`environment '${ref.name}' of ${ref.usedBy} is neither in the file set nor in the project; it will be created empty${hint}`,
					ref.node,
				);
			}
		}
		for (const ref of entry.integrationRefs ?? []) {
			const names = ref.kind === "integration" ? known.integration : models;
			if (names.has(ref.name)) continue;
			src.error(
				ref.kind === "integration" ? "unknown-integration" : "unknown-integration-model",
				ref.kind === "integration"
					? `integration '${ref.name}' used by ${ref.usedBy} is not an integration of the project${didYouMean(ref.name, names)}`
					: `integration model '${ref.name}' of ${ref.usedBy} is neither in the file set nor on the server${didYouMean(ref.name, names)}`,
				ref.node,
			);
		}
		const plugins = new Set(ctx.plugins ?? []);
		// Custom steps may sit in any file that holds steps: each is an action only when installed.
		for (const ref of src.pluginReferences) {
			if (entry.kind === "pipeline" || !ref.custom || plugins.has(ref.name)) continue;
			src.error("unknown-step-action", unknownStepAction(ref.name), ref.node);
		}
		if (entry.kind === "pipeline") {
			for (const ref of src.pluginReferences) {
				if (plugins.has(ref.name)) continue;
				if (ref.custom) {
					src.error("unknown-step-action", unknownStepAction(ref.name), ref.node);
					continue;
				}
				src.error(
					"unknown-plugin",
					`plugin '${ref.name}' used by ${ref.usedBy} is not installed${didYouMean(ref.name, plugins)}`,
					ref.node,
				);
			}
		}
	}
	model.missing.applications = [...missingApplications].sort();
	model.missing.environments = [...missingEnvironments].sort();
}

/** Parses an integration file into the model; false when the entry is not one. */
function parseIntegrationFile(
	entry: Entry,
	root: YAMLMap,
	model: FileSetModel,
	options: ParseOptions,
): boolean {
	const { src } = entry;
	switch (entry.kind) {
		case "integration-model": {
			const parsed = src.guard(() => parseIntegrationModel(src, root));
			if (parsed) {
				model.integrationModels!.push(parsed.entity);
				Object.assign(entry, { name: parsed.entity.name, nameNode: parsed.nameNode });
			}
			return true;
		}
		case "integration": {
			const parsed = src.guard(() => parseProjectIntegration(src, root, options));
			if (parsed) {
				model.integrations!.push(parsed.entity);
				Object.assign(entry, { name: parsed.entity.name, nameNode: parsed.nameNode });
				entry.integrationRefs = [
					{
						kind: "integration-model",
						name: parsed.entity.model,
						node: parsed.modelNode,
						usedBy: `integration '${parsed.entity.name}'`,
					},
				];
			}
			return true;
		}
		case "plugin": {
			const parsed = src.guard(() => parsePluginManifest(src, root));
			if (parsed) {
				model.plugins!.push(parsed.entity);
				Object.assign(entry, { name: parsed.entity.name, nameNode: parsed.nameNode });
				if (parsed.entity.integration) {
					const field = src.fields(root).find((f) => f.key === "integration");
					entry.integrationRefs = [
						{
							kind: "integration-model",
							name: parsed.entity.integration,
							node: field?.value ?? null,
							usedBy: `plugin '${parsed.entity.name}'`,
						},
					];
				}
			}
			return true;
		}
		case "plugin-binary": {
			const parsed = src.guard(() => parsePluginBinary(src, root));
			if (parsed) model.pluginBinaries!.push(parsed);
			return true;
		}
		default:
			return false;
	}
}

/** Where an application's `deployments:` names an integration. */
function deploymentNode(src: SourceFile, root: YAMLMap, name: string): Node | null {
	const field = src.fields(root).find((f) => f.key === "deployments");
	if (!field || !isMap(field.value)) return field?.keyNode ?? null;
	return src.fields(field.value).find((f) => f.key === name)?.keyNode ?? field.keyNode;
}

export type { Application, Environment, Pipeline, Workflow };
