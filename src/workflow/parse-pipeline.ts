import type { Node, YAMLMap } from "yaml";
import {
	type Job,
	PARAMETER_TYPES,
	type ParameterType,
	type Pipeline,
	type PipelineParameter,
	REQUIREMENT_TYPES,
	type Requirement,
	type RequirementType,
	type Stage,
} from "./model.ts";
import { emptyConditions, oneOf, parseConditions, parseDuration } from "./parse-common.ts";
import { parseSteps } from "./parse-steps.ts";
import type { Field, SourceFile } from "./source.ts";
import { didYouMean } from "./suggest.ts";

export const PIPELINE_KEYS = [
	"version",
	"name",
	"description",
	"parameters",
	"stages",
	"options",
	"jobs",
] as const;
const JOB_KEYS = [
	"job",
	"stage",
	"description",
	"enabled",
	"optional",
	"always_executed",
	"steps",
	"requirements",
	"retry",
	"timeout",
] as const;

/** A pipeline plus where its name was written, for duplicate and reference reporting. */
export interface ParsedPipeline {
	pipeline: Pipeline;
	nameNode: Node | null;
}

export function parsePipeline(src: SourceFile, map: YAMLMap): ParsedPipeline | undefined {
	const fields = src.knownFields(map, "pipeline", PIPELINE_KEYS);
	src.require(fields, ["version", "name"], "pipeline", map);
	const version = fields.get("version");
	if (version) oneOf(src, version, ["v1.0"], "pipeline version");
	const name = src.string(fields.get("name"), "pipeline name");
	const where = `pipeline '${name ?? "?"}'`;
	const stages = parseStages(src, fields.get("stages"), where);
	applyStageOptions(src, fields.get("options"), stages, where);
	const jobs = parseJobs(src, fields.get("jobs"), stages, where);
	if (name === undefined) return undefined;
	return {
		pipeline: {
			name,
			description: src.string(fields.get("description"), "pipeline description", { allowEmpty: true }),
			parameters: parseParameters(src, fields.get("parameters"), where),
			stages,
			jobs,
		},
		nameNode: fields.get("name")?.value ?? null,
	};
}

function parseParameters(
	src: SourceFile,
	field: Field | undefined,
	where: string,
): Record<string, PipelineParameter> {
	const out: Record<string, PipelineParameter> = {};
	if (!field || src.isEmpty(field.value)) return out;
	const map = src.map(field.value, `parameters of ${where}`, field.keyNode);
	for (const entry of map ? src.fields(map) : []) {
		const what = `parameter '${entry.key}'`;
		if (src.isEmpty(entry.value)) {
			out[entry.key] = { type: "string", default: "", description: "" };
			continue;
		}
		const paramMap = src.map(entry.value, what, entry.keyNode);
		if (!paramMap) continue;
		const p = src.knownFields(paramMap, what, ["type", "default", "description"]);
		const type = p.has("type")
			? oneOf<ParameterType>(src, p.get("type"), PARAMETER_TYPES, `type of ${what}`)
			: "string";
		if (type === undefined) continue;
		out[entry.key] = {
			type,
			default: src.string(p.get("default"), `default of ${what}`, { allowEmpty: true }) ?? "",
			description: src.string(p.get("description"), `description of ${what}`, { allowEmpty: true }) ?? "",
		};
	}
	return out;
}

function parseStages(src: SourceFile, field: Field | undefined, where: string): Stage[] {
	const stages: Stage[] = [];
	for (const item of src.stringList(field, `stages of ${where}`) ?? []) {
		if (stages.some((s) => s.name === item.value)) {
			src.error("duplicate-name", `stage '${item.value}' is listed twice in ${where}`, item.node);
			continue;
		}
		stages.push({ name: item.value, enabled: true, conditions: emptyConditions() });
	}
	return stages;
}

function applyStageOptions(src: SourceFile, field: Field | undefined, stages: Stage[], where: string): void {
	if (!field || src.isEmpty(field.value)) return;
	const map = src.map(field.value, `options of ${where}`, field.keyNode);
	for (const entry of map ? src.fields(map) : []) {
		const stage = stages.find((s) => s.name === entry.key);
		if (!stage) {
			src.error(
				"unknown-stage",
				`options name stage '${entry.key}', which is not in the stages of ${where}${didYouMean(
					entry.key,
					stages.map((s) => s.name),
				)}`,
				entry.keyNode,
			);
			continue;
		}
		const what = `options of stage '${entry.key}'`;
		if (src.isEmpty(entry.value)) continue;
		const optionMap = src.map(entry.value, what, entry.keyNode);
		if (!optionMap) continue;
		const o = src.knownFields(optionMap, what, ["enabled", "conditions"]);
		stage.enabled = src.boolean(o.get("enabled"), "enabled") ?? true;
		const conditions = o.get("conditions");
		if (conditions)
			stage.conditions = parseConditions(src, conditions, `stage '${entry.key}'`, { legacyMap: true });
	}
}

function parseJobs(src: SourceFile, field: Field | undefined, stages: Stage[], where: string): Job[] {
	if (!field || src.isEmpty(field.value)) return [];
	const seq = src.seq(field.value, `jobs of ${where}`, field.keyNode);
	const jobs: Job[] = [];
	for (const item of seq ? src.items(seq) : []) {
		const job = parseJob(src, item, stages, where);
		if (job) jobs.push(job);
	}
	return jobs;
}

function parseJob(src: SourceFile, node: Node | null, stages: Stage[], where: string): Job | undefined {
	const map = src.map(node, `a job of ${where}`);
	if (!map) return undefined;
	const fields = src.knownFields(map, `a job of ${where}`, JOB_KEYS);
	if (!src.require(fields, ["job"], `a job of ${where}`, map)) return undefined;
	const name = src.string(fields.get("job"), "job name");
	const jobWhere = `job '${name ?? "?"}'`;
	const stageField = fields.get("stage");
	let stage = src.string(stageField, `stage of ${jobWhere}`);
	const stageNames = stages.map((s) => s.name);
	if (stage !== undefined && !stageNames.includes(stage)) {
		const declared = stageNames.length
			? `stages: ${stageNames.join(", ")}`
			: "the pipeline declares no stages";
		src.error(
			"unknown-stage",
			`${jobWhere} is in stage '${stage}', which is not declared (${declared})${didYouMean(stage, stageNames)}`,
			stageField!.value,
		);
		stage = undefined;
	} else if (stageField === undefined && stages.length > 0) {
		src.error(
			"missing-key",
			`${jobWhere} is missing required key 'stage' (stages: ${stageNames.join(", ")})`,
			map,
		);
	}
	const steps = parseSteps(src, fields.get("steps"), jobWhere);
	const requirements = parseRequirements(src, fields.get("requirements"), jobWhere);
	if (name === undefined) return undefined;
	return {
		name,
		stage,
		description: src.string(fields.get("description"), "job description", { allowEmpty: true }),
		enabled: src.boolean(fields.get("enabled"), "enabled") ?? true,
		optional: src.boolean(fields.get("optional"), "optional") ?? false,
		alwaysExecuted: src.boolean(fields.get("always_executed"), "always_executed") ?? false,
		steps,
		requirements,
		retry: src.integer(fields.get("retry"), `retry of ${jobWhere}`, 0) ?? 0,
		timeout: parseDuration(src, fields.get("timeout"), `timeout of ${jobWhere}`),
	};
}

function parseRequirements(src: SourceFile, field: Field | undefined, where: string): Requirement[] {
	if (!field || src.isEmpty(field.value)) return [];
	const seq = src.seq(field.value, `requirements of ${where}`, field.keyNode);
	const out: Requirement[] = [];
	for (const item of seq ? src.items(seq) : []) {
		const map = src.map(item, `a requirement of ${where}`);
		if (!map) continue;
		const entries = src.fields(map);
		if (entries.length !== 1) {
			src.error("invalid-value", `a requirement is a one-key mapping such as '- binary: git'`, map);
			continue;
		}
		const entry = entries[0]!;
		if (!(REQUIREMENT_TYPES as readonly string[]).includes(entry.key)) {
			src.error(
				"unknown-key",
				`unknown requirement '${entry.key}' in ${where}${didYouMean(entry.key, REQUIREMENT_TYPES)}`,
				entry.keyNode,
			);
			continue;
		}
		const requirement = parseRequirement(src, entry, entry.key as RequirementType);
		if (requirement) out.push(requirement);
	}
	return out;
}

function parseRequirement(src: SourceFile, entry: Field, type: RequirementType): Requirement | undefined {
	if (type === "service") {
		const map = src.map(entry.value, "service requirement", entry.keyNode);
		if (!map) return undefined;
		const s = src.knownFields(map, "service requirement", ["name", "value"]);
		if (!src.require(s, ["name", "value"], "service requirement", map)) return undefined;
		const name = src.string(s.get("name"), "service name");
		const value = src.string(s.get("value"), "service image");
		return name !== undefined && value !== undefined ? { type, name, value } : undefined;
	}
	const value = src.string(entry, `${type} requirement`);
	if (value === undefined) return undefined;
	if (type === "memory" && !/^[1-9]\d*$/.test(value)) {
		src.error("invalid-value", `memory requirement '${value}' must be a number of megabytes`, entry.value);
		return undefined;
	}
	if (type === "os-architecture" && !/^[\w.-]+\/[\w.-]+$/.test(value)) {
		src.error(
			"invalid-value",
			`os-architecture requirement '${value}' must look like linux/amd64`,
			entry.value,
		);
		return undefined;
	}
	if (type === "plugin")
		src.pluginReferences.push({ name: value, node: entry.value, usedBy: "a plugin requirement" });
	return { type, name: value, value };
}
