// Template parameters: their types, and the checking that turns what a user typed (or a
// JSON body carried) into the value a template sees under `.params`.

import { subsetProblem } from "../store/subset.ts";

export const TEMPLATE_PARAMETER_TYPES = [
	"string",
	"boolean",
	"number",
	"json",
	"repository",
	"ssh-key",
	"pgp-key",
	"secret",
] as const;
export type TemplateParameterType = (typeof TEMPLATE_PARAMETER_TYPES)[number];

export interface TemplateParameter {
	key: string;
	type: TemplateParameterType;
	required: boolean;
	description?: string;
}

/** Parameter keys are template field names: `.params.KEY` must be reachable. */
export const PARAMETER_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const ARMORED_MESSAGE = /^-----BEGIN PGP MESSAGE-----\r?\n[\s\S]*\r?\n-----END PGP MESSAGE-----\s*$/;

export function isArmoredMessage(value: string): boolean {
	return ARMORED_MESSAGE.test(value.trim());
}

/** A parameter value as a template sees it. */
export type ParameterValue =
	| string
	| number
	| boolean
	| null
	| ParameterValue[]
	| { [key: string]: ParameterValue };

export interface ParameterProblem {
	field: string;
	message: string;
}

const TRUE_WORDS = new Set(["true", "yes", "y", "1", "on"]);
const FALSE_WORDS = new Set(["false", "no", "n", "0", "off"]);
const REPOSITORY = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)+)$/;
const KEY_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** Checks one raw value; returns the typed value or an error message. */
export function checkParameterValue(
	param: TemplateParameter,
	raw: unknown,
): { value: ParameterValue } | { error: string } {
	const text = typeof raw === "string" ? raw : undefined;
	switch (param.type) {
		case "string":
			if (typeof raw === "number" || typeof raw === "boolean") return { value: String(raw) };
			return text !== undefined ? { value: text } : { error: "must be a string" };
		case "boolean": {
			if (typeof raw === "boolean") return { value: raw };
			const word = text?.trim().toLowerCase();
			if (word !== undefined && TRUE_WORDS.has(word)) return { value: true };
			if (word !== undefined && FALSE_WORDS.has(word)) return { value: false };
			return { error: "must be true or false" };
		}
		case "number": {
			const n =
				typeof raw === "number" ? raw : text !== undefined && text.trim() !== "" ? Number(text) : Number.NaN;
			return Number.isFinite(n) ? { value: n } : { error: "must be a number" };
		}
		case "json": {
			if (raw === undefined) return { error: "must be JSON" };
			let value = raw as ParameterValue;
			if (text !== undefined) {
				try {
					value = JSON.parse(text) as ParameterValue;
				} catch (e) {
					return { error: `is not valid JSON (${(e as Error).message})` };
				}
			}
			// The instance keeps its parameters: a value the store cannot hold is refused here.
			const problem = subsetProblem(value, 3);
			return problem ? { error: `cannot be kept: ${problem}` } : { value };
		}
		case "repository": {
			const match = text === undefined ? null : REPOSITORY.exec(text.trim());
			if (!match) return { error: "must be VCS/ORGANISATION/REPOSITORY, e.g. github/ovh/cds" };
			// CDS gives templates the repository split into its server and its path.
			return { value: { vcs: match[1]!, repository: match[2]! } };
		}
		case "ssh-key":
		case "pgp-key":
			return text !== undefined && KEY_NAME.test(text.trim())
				? { value: text.trim() }
				: { error: `must be the name of a project ${param.type === "ssh-key" ? "SSH" : "PGP"} key` };
		case "secret":
			// Secrets reach the server only encrypted with the project's public key.
			return text !== undefined && isArmoredMessage(text)
				? { value: text.trim() }
				: { error: "must be an armored PGP message encrypted with the project key (cds new encrypts it)" };
	}
}

/**
 * Checks every parameter: required ones must be present (an empty string counts as
 * missing), unknown keys are refused. Optional missing parameters are simply absent, so
 * `[[if .params.x]]` is false for them as in CDS.
 */
export function checkParameters(
	parameters: readonly TemplateParameter[],
	raw: Record<string, unknown>,
): { values: Record<string, ParameterValue>; problems: ParameterProblem[]; missing: string[] } {
	const values: Record<string, ParameterValue> = {};
	const problems: ParameterProblem[] = [];
	const missing: string[] = [];
	const known = new Set(parameters.map((p) => p.key));
	for (const key of Object.keys(raw)) {
		if (!known.has(key)) problems.push({ field: `params.${key}`, message: `unknown parameter ${key}` });
	}
	for (const param of parameters) {
		const value = Object.hasOwn(raw, param.key) ? raw[param.key] : undefined;
		if (value === undefined || value === null || value === "") {
			if (param.required) {
				missing.push(param.key);
				problems.push({
					field: `params.${param.key}`,
					message: `parameter ${param.key} (${param.type}) is required`,
				});
			}
			continue;
		}
		const checked = checkParameterValue(param, value);
		if ("error" in checked)
			problems.push({ field: `params.${param.key}`, message: `${param.key} ${checked.error}` });
		else values[param.key] = checked.value;
	}
	return { values, problems, missing };
}

/** Splits `k=v` command-line pairs; throws on a pair without `=`. */
export function parseParamPairs(pairs: readonly string[]): Record<string, string> {
	const out: Record<string, string> = {};
	for (const pair of pairs) {
		const eq = pair.indexOf("=");
		if (eq <= 0) throw new Error(`--param ${pair}: expected KEY=VALUE`);
		out[pair.slice(0, eq)] = pair.slice(eq + 1);
	}
	return out;
}
