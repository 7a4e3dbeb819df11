// cds new --template NAMESPACE/NAME[@VERSION]: the roadmap's template use case. Asks for the
// template's parameters (on a terminal; without one every required parameter must be given),
// encrypts secret parameters with the project's OpenPGP public key here, on the client, has
// the server render the template and writes the workflow files. Inside a git repository with
// a remote it links the project to the repository (the pieces of `cds push`), which creates
// the application linked to it, then imports the files — or with --push defines them as code.

import { access, mkdir, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { checkParameterValue, parseParamPairs, type TemplateParameter } from "../../templates/parameters.ts";
import { parseTemplateReference } from "../../templates/reference.ts";
import { UsageError, ValidationError } from "../errors.ts";
import type { ApiClient } from "../http.ts";
import { seg } from "../http.ts";
import type { CliIo } from "../io.ts";
import type { CommandContext, CommandRegistry } from "../registry.ts";
import { currentBranch, findRepositoryRoot, git, headCommit, remoteUrl } from "../../vcs/git.ts";
import { parseRemoteUrl, type RemoteUrl } from "../../vcs/remote-url.ts";
import {
	existingManager,
	findLinkedRepository,
	LINK_OPTIONS,
	type LinkedRepository,
	linkedLines,
	linkRepository,
	managerLabel,
	pushRepository,
} from "./push.ts";
import type { ImportResult } from "./workflow.ts";

export interface TemplateDetail {
	repo: string;
	name: string;
	ref: string;
	version: number;
	description: string;
	parameters: TemplateParameter[];
}

export interface RenderedTemplateFile {
	path: string;
	kind: string;
	content: string;
}

export interface RenderResponse {
	instance: { id: number; workflow: string; template: string; version: number; ref: string };
	files: RenderedTemplateFile[];
}

/** Asks one question; `secret` answers are not echoed. */
export type Asker = (question: string, secret: boolean) => Promise<string>;

const WORKFLOW_NAME = /^[a-zA-Z0-9._-]{1,128}$/;

/** A terminal asker when the CLI runs on a TTY (in-memory io: only the one it brings). */
export function terminalAsker(io: CliIo): Asker | undefined {
	if (io.ask) return io.ask;
	if (io.stdout !== process.stdout || !process.stdin.isTTY) return undefined;
	return async (question, secret) => {
		if (!secret) {
			const rl = createInterface({ input: process.stdin, output: process.stdout });
			try {
				return await rl.question(question);
			} finally {
				rl.close();
			}
		}
		return readHidden(question);
	};
}

/** Reads a line without echoing it (secrets). */
function readHidden(question: string): Promise<string> {
	return new Promise((resolvePromise, reject) => {
		const stdin = process.stdin;
		process.stdout.write(question);
		stdin.setRawMode(true);
		stdin.resume();
		let answer = "";
		const done = (error?: Error) => {
			stdin.setRawMode(false);
			stdin.pause();
			stdin.off("data", onData);
			process.stdout.write("\n");
			if (error) reject(error);
			else resolvePromise(answer);
		};
		const onData = (chunk: Buffer) => {
			for (const ch of chunk.toString("utf8")) {
				if (ch === "\r" || ch === "\n") return done();
				if (ch === "\u0003") return done(new UsageError("interrupted"));
				if (ch === "\u007f" || ch === "\b") answer = answer.slice(0, -1);
				else answer += ch;
			}
		};
		stdin.on("data", onData);
	});
}

/**
 * Turns the given `KEY=VALUE` values into checked raw values, asking for what is missing
 * when `ask` is available. Without `ask`, missing required parameters fail with exit 2 and
 * are all listed. Values stay as typed (strings): the server converts them again.
 */
export async function collectParameters(
	parameters: readonly TemplateParameter[],
	given: Record<string, string>,
	ask: Asker | undefined,
): Promise<Record<string, string>> {
	const known = new Set(parameters.map((p) => p.key));
	const unknown = Object.keys(given).filter((k) => !known.has(k));
	if (unknown.length > 0) {
		throw new ValidationError(`unknown parameter ${unknown.join(", ")}`, [
			`the template's parameters: ${parameters.map((p) => p.key).join(", ") || "(none)"}`,
		]);
	}
	const out: Record<string, string> = {};
	const invalid: string[] = [];
	for (const p of parameters) {
		const value = given[p.key];
		if (value === undefined) continue;
		const checked = checkParameterValue(p.type === "secret" ? { ...p, type: "string" } : p, value);
		if ("error" in checked) invalid.push(`${p.key} (${p.type}) ${checked.error}`);
		else out[p.key] = value;
	}
	if (invalid.length > 0) throw new ValidationError("invalid parameter values", invalid);
	const missing = parameters.filter((p) => p.required && (out[p.key] === undefined || out[p.key] === ""));
	if (!ask) {
		if (missing.length > 0) {
			throw new ValidationError(
				`missing required parameter${missing.length === 1 ? "" : "s"} (no terminal to ask on): ${missing.map((p) => p.key).join(", ")}`,
				missing.map((p) => `--param ${p.key}=<${p.type}>${p.description ? `  ${p.description}` : ""}`),
			);
		}
		return out;
	}
	for (const p of parameters) {
		if (out[p.key] !== undefined) continue;
		let problem = "";
		for (;;) {
			const label = `${problem}${p.key} (${p.type}${p.required ? ", required" : ", optional: Enter to skip"})${p.description ? ` ${p.description}` : ""}: `;
			const answer = (await ask(label, p.type === "secret")).trim();
			if (answer === "") {
				if (!p.required) break;
				problem = `${p.key} is required. `;
				continue;
			}
			const checked = checkParameterValue(p.type === "secret" ? { ...p, type: "string" } : p, answer);
			if ("error" in checked) {
				problem = `${p.key} ${checked.error}. `;
				continue;
			}
			out[p.key] = answer;
			break;
		}
	}
	return out;
}

/** Replaces secret values by armored ciphertext for the project's public key. */
export async function encryptSecrets(
	client: ApiClient,
	project: string,
	parameters: readonly TemplateParameter[],
	values: Record<string, string>,
): Promise<Record<string, string>> {
	const secrets = parameters.filter((p) => p.type === "secret" && values[p.key] !== undefined);
	if (secrets.length === 0) return values;
	const { publicKey } = await client.get<{ publicKey: string }>(`/projects/${seg(project)}/templates/key`);
	const out = { ...values };
	// OpenPGP is loaded only here: every other command (and `cds run`) would pay ~40 ms for it.
	const { encryptWithPublicKey } = await import("../../crypto/pgp.ts");
	for (const p of secrets) out[p.key] = await encryptWithPublicKey(publicKey, values[p.key]!);
	return out;
}

/** Writes files into `dir`; refuses (writing nothing) when one exists and `force` is not set. */
export async function writeRenderedFiles(
	dir: string,
	files: readonly RenderedTemplateFile[],
	force: boolean,
): Promise<string[]> {
	const targets = files.map((f) => {
		if (!/^[a-zA-Z0-9._-]+$/.test(f.path) || f.path === "." || f.path === "..")
			throw new ValidationError(`the server sent an unusable file name "${f.path}"`);
		return join(dir, f.path);
	});
	if (!force) {
		const existing: string[] = [];
		for (const target of targets) {
			if (
				await access(target).then(
					() => true,
					() => false,
				)
			)
				existing.push(target);
		}
		if (existing.length > 0) {
			throw new ValidationError(
				"files already exist (use --force to overwrite them); nothing was written",
				existing,
			);
		}
	}
	await mkdir(dir, { recursive: true });
	for (let i = 0; i < files.length; i++) await writeFile(targets[i]!, files[i]!.content);
	return targets;
}

/**
 * The values of every `--param K=V` / `-p K=V` plus positional `K=V` pairs. A key given twice
 * is a usage error: silently keeping one of the two values would hide a typo.
 */
export function givenParams(ctx: CommandContext): Record<string, string> {
	const raw = ctx.values.param;
	const flags = Array.isArray(raw) ? raw.map(String) : typeof raw === "string" ? [raw] : [];
	const pairs = [...flags, ...ctx.positionals];
	const seen = new Set<string>();
	for (const pair of pairs) {
		const key = pair.slice(0, Math.max(0, pair.indexOf("=")));
		if (key && seen.has(key)) throw new UsageError(`parameter ${key} is given more than once`);
		seen.add(key);
	}
	try {
		return parseParamPairs(pairs);
	} catch (e) {
		throw new UsageError((e as Error).message);
	}
}

/** The git remote around `cwd`, if any: what `cds new` links the project to. */
async function findRemote(
	ctx: CommandContext,
): Promise<{ root: string; remoteName: string; remote: RemoteUrl } | { root: string | null; why: string }> {
	const root = findRepositoryRoot(ctx.io.cwd);
	if (!root) return { root: null, why: "not inside a git repository" };
	const remoteName = typeof ctx.values["git-remote"] === "string" ? ctx.values["git-remote"] : "origin";
	const url = await remoteUrl(root, remoteName);
	if (!url) return { root, why: `the repository has no remote "${remoteName}"` };
	return { root, remoteName, remote: parseRemoteUrl(url, root) };
}

async function runNew(ctx: CommandContext): Promise<number> {
	const refText = ctx.values.template as string;
	let ref: ReturnType<typeof parseTemplateReference>;
	try {
		ref = parseTemplateReference(refText);
	} catch (e) {
		throw new UsageError((e as Error).message);
	}
	const given = givenParams(ctx);
	const ask = terminalAsker(ctx.io);
	const asCode = ctx.values.push === true;
	const dirArg = (ctx.values.dir as string | undefined) ?? (asCode ? ".cds" : ".");
	const dir = resolve(ctx.io.cwd, dirArg);
	const found = await findRemote(ctx);
	if (asCode && !("remote" in found))
		throw new UsageError(`--push needs a git repository with a remote: ${found.why}`);
	if (asCode && found.root && !(await currentBranch(found.root).catch(() => null)))
		throw new UsageError("--push needs a checked-out branch");
	if (asCode && found.root && !(await headCommit(found.root).catch(() => null)))
		throw new UsageError("--push needs a first commit in the repository");

	let project = ctx.values.project as string | undefined;
	let name = ctx.values.name as string | undefined;
	const missingOptions: string[] = [];
	if (!project) {
		if (ask) project = (await ask("project key: ", false)).trim();
		if (!project) missingOptions.push("--project KEY");
	}
	// The workflow name defaults to the repository's (or the directory's) name.
	name ??= basename(found.root ?? dir).replace(/[^a-zA-Z0-9._-]/g, "-");
	if (!WORKFLOW_NAME.test(name)) throw new UsageError(`invalid workflow name "${name}": use --name`);

	const client = await ctx.client();
	const template = await client.get<TemplateDetail>(`/templates/${seg(ref.repo)}/${seg(ref.name)}`, {
		version: ref.version,
	});
	// Linking needs consent: asked on a terminal, `--yes` without one (checked now, with the rest).
	let linked: LinkedRepository | null = null;
	let mustLink = false;
	if (project && "remote" in found) {
		linked = await findLinkedRepository(client, project, found.remote);
		mustLink = !linked;
		if (
			mustLink &&
			!ask &&
			ctx.values.yes !== true &&
			!(await existingManager(ctx, client, project, found.remote))
		)
			missingOptions.push(`--yes (to link project ${project} to ${managerLabel(found.remote)})`);
	}
	if (missingOptions.length > 0) {
		// Report everything missing at once, options and parameters.
		const missingParams = template.parameters.filter((p) => p.required && given[p.key] === undefined);
		throw new ValidationError(
			`missing ${[...missingOptions, ...missingParams.map((p) => p.key)].join(", ")} (no terminal to ask on)`,
			[...missingOptions, ...missingParams.map((p) => `--param ${p.key}=<${p.type}>`)],
		);
	}
	const values = await collectParameters(template.parameters, given, ask);
	const params = await encryptSecrets(client, project!, template.parameters, values);
	const rendered = await client.post<RenderResponse>(`/projects/${seg(project!)}/templates/render`, {
		template: template.ref,
		name,
		params,
		force: ctx.values.force === true,
	});
	const written = await writeRenderedFiles(dir, rendered.files, ctx.values.force === true);
	const json = ctx.values.json === true;
	if (!json) {
		ctx.print(`rendered ${rendered.instance.ref} as workflow ${name} (instance ${rendered.instance.id})`);
		for (const path of written) ctx.print(`wrote ${path}`);
	}
	if (asCode) {
		// As code: the files are the definition; `cds push` links and defines them from the branch.
		return pushRepository(ctx, project!, ".");
	}
	const files = rendered.files.map((f) => ({ path: f.path, content: f.content }));
	if (mustLink && "remote" in found) {
		// The link watches `.cds` for as-code files, not the imported ones: were they watched, the
		// next git push would try to define this API-made workflow as code and be refused.
		linked = await linkRepository(ctx, client, project!, { ...found, cdsDir: ".cds", files });
		if (!json) {
			for (const line of linkedLines(linked, project!)) ctx.print(line);
			for (const w of linked.warnings ?? []) ctx.warn(`warning: ${w}`);
		}
	}
	if (!json && found.root && resolve(found.root, ".cds") === dir)
		ctx.warn(
			"warning: files in .cds are read as code on every git push, where this imported workflow is refused: use --push for a workflow as code",
		);
	if (!json && !("remote" in found)) {
		ctx.warn(`note: ${found.why}: no application is linked to a repository`);
	}
	let imported: ImportResult | null = null;
	if (ctx.values["no-import"] !== true) {
		imported = await client.post<ImportResult>(`/projects/${seg(project!)}/import`, {
			files,
			force: ctx.values.force === true,
		});
		if (found.root)
			await git(["config", "--local", "cds.project", project!], { cwd: found.root }).catch(() => undefined);
		if (!json)
			ctx.print(
				`imported into ${project}: ${imported.workflows.length} workflow(s), ${imported.pipelines.length} pipeline(s)`,
			);
	} else if (!json) {
		ctx.print("next: commit the files, then import them into the project:");
		ctx.print(`  cds workflow import ${project} ${dir}`);
	}
	if (json)
		ctx.printJson({
			instance: rendered.instance,
			files: written,
			repository: linked,
			linked: mustLink,
			imported,
		});
	return 0;
}

export function register(registry: CommandRegistry): void {
	registry.add({
		path: ["new"],
		summary: "Create a workflow from a template in the current repository",
		args: "[KEY=VALUE...]",
		positionals: { min: 0 },
		options: {
			template: {
				type: "string",
				valueName: "NAMESPACE/NAME[@VERSION]",
				description: "the template",
				required: true,
			},
			project: { type: "string", valueName: "KEY", description: "the project the workflow is for" },
			name: {
				type: "string",
				valueName: "NAME",
				description: "the workflow name (default: the repository's or the directory's name)",
			},
			param: {
				type: "string",
				short: "p",
				multiple: true,
				valueName: "KEY=VALUE",
				description: "a parameter value; repeat it for more (or give KEY=VALUE arguments)",
			},
			dir: {
				type: "string",
				valueName: "DIR",
				description: "where to write the files (default: ., .cds with --push)",
			},
			force: { type: "boolean", description: "overwrite existing files" },
			import: { type: "boolean", description: "import the rendered files (the default; kept for scripts)" },
			"no-import": { type: "boolean", description: "only write the files (and link the repository)" },
			push: {
				type: "boolean",
				description: "as code: write the files into .cds and push them like `cds push` (no import)",
			},
			...LINK_OPTIONS,
			json: { type: "boolean", description: "print the instance and written files as JSON" },
		},
		details:
			"Missing parameters are asked for on a terminal; without one the command fails with exit code 2 and lists them.\n" +
			"Secret parameters are encrypted with the project's OpenPGP key before they leave this machine.\n" +
			"Inside a git repository with a remote, the project is linked to the repository (asked, or --yes) and the\n" +
			"application linked to it is created; the files are then imported, or with --push defined as code.",
		run: runNew,
	});
}
