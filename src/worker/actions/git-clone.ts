/**
 * `gitClone` and `checkout` with the real git. Every user value goes after `--` or is
 * checked not to start with `-`, so none can be taken for an option; the directory always
 * resolves inside the workspace.
 */

import { mkdir } from "node:fs/promises";
import type { StepFile } from "../../sandbox/launch.ts";
import type { JsonValue } from "../../workflow/model.ts";
import { runProcess } from "../process-runner.ts";
import { displayPath, resolveInWorkspaceReal } from "../workspace.ts";
import { ActionError, type ActionResult, type StepContext } from "./context.ts";
import { processOutcome } from "./outcome.ts";
import { param } from "./params.ts";

export interface CloneRequest {
	url: string;
	branch: string;
	commit: string;
	directory: string;
	depth: string;
	user: string;
	password: string;
	privateKey: string;
	submodules: boolean;
}

const REF_RE = /^[A-Za-z0-9][A-Za-z0-9._/+@-]*$/;

function refuseOption(what: string, value: string): void {
	if (value.startsWith("-"))
		throw new ActionError(`gitClone: ${what} ${JSON.stringify(value)} must not start with "-"`);
}

export function cloneRequestFromParams(params: JsonValue): CloneRequest {
	const tag = param(params, "tag");
	return {
		url: param(params, "url"),
		branch: tag || param(params, "branch"),
		commit: param(params, "commit"),
		directory: param(params, "directory"),
		depth: param(params, "depth"),
		user: param(params, "user"),
		password: param(params, "password"),
		privateKey: param(params, "privateKey"),
		submodules: param(params, "submodules") === "true",
	};
}

/** `checkout: DIR` (or `{directory}`): a clone of the run's repository, from its git.* variables. */
export function checkoutRequest(params: JsonValue, vars: Record<string, string>): CloneRequest {
	const directory = typeof params === "string" ? params : param(params, "directory");
	return {
		url: vars["git.url"] || vars["git.http_url"] || vars["cds.app.repo"] || "",
		branch: vars["git.tag"] || vars["git.branch"] || "",
		commit: vars["git.hash"] || "",
		directory: /\{\{\s*\./.test(directory) ? "" : directory,
		depth: "",
		user: "",
		password: "",
		privateKey: vars["git.ssh.key"] || "",
		submodules: false,
	};
}

function urlWithCredentials(url: string, user: string, password: string): string {
	if (!user && !password) return url;
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return url;
	}
	if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return url;
	if (user) parsed.username = user;
	if (password) parsed.password = password;
	return parsed.toString();
}

function shellQuote(text: string): string {
	return `'${text.replace(/'/g, `'\\''`)}'`;
}

export async function runClone(request: CloneRequest, ctx: StepContext): Promise<ActionResult> {
	if (!request.url) throw new ActionError("gitClone: no url (set url, or git.url for checkout)");
	refuseOption("url", request.url);
	if (request.branch) {
		refuseOption("branch", request.branch);
		if (!REF_RE.test(request.branch))
			throw new ActionError(`gitClone: invalid branch ${JSON.stringify(request.branch)}`);
	}
	if (request.commit && request.commit !== "HEAD") {
		refuseOption("commit", request.commit);
		if (!REF_RE.test(request.commit))
			throw new ActionError(`gitClone: invalid commit ${JSON.stringify(request.commit)}`);
	}
	if (request.depth && !/^[1-9][0-9]*$/.test(request.depth)) {
		throw new ActionError(`gitClone: depth must be a positive number, not ${JSON.stringify(request.depth)}`);
	}
	const directory = await resolveInWorkspaceReal(ctx.dirs.workspace, request.directory);
	await mkdir(directory, { recursive: true });

	const env: Record<string, string> = {
		...ctx.env,
		GIT_TERMINAL_PROMPT: "0",
		// No ext:: or fd:: transport: a URL must not be able to run a command.
		GIT_ALLOW_PROTOCOL: "file:git:http:https:ssh",
	};
	const files: StepFile[] = [];
	if (request.privateKey) {
		const key = request.privateKey.includes("PRIVATE KEY")
			? request.privateKey
			: ctx.vars[`cds.key.${request.privateKey}.priv`];
		if (!key)
			throw new ActionError(`gitClone: no key ${JSON.stringify(request.privateKey)} in the job variables`);
		const keyName = `ssh-key-${ctx.index}`;
		files.push({ name: keyName, content: key.endsWith("\n") ? key : key + "\n", mode: 0o600 });
		const keyFile = ctx.sandbox.filePath(keyName);
		env.GIT_SSH_COMMAND = `ssh -i ${shellQuote(keyFile)} -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new`;
	}

	const run = async (args: string[], what: string) =>
		processOutcome(
			await runProcess({
				command: "git",
				args,
				cwd: ctx.dirs.workspace,
				env,
				files,
				sandbox: ctx.sandbox,
				onOutput: (chunk) => ctx.log.write(chunk),
				signal: ctx.signal,
				graceMs: ctx.graceMs,
			}),
			what,
		);

	const shown = displayPath(ctx.dirs.workspace, directory);
	ctx.log.line(
		`git clone ${request.url}${request.branch ? ` (branch ${request.branch})` : ""} into ${shown}`,
	);
	const cloneArgs = ["clone"];
	if (request.branch) cloneArgs.push("--branch", request.branch);
	if (request.depth && !request.commit) cloneArgs.push("--depth", request.depth);
	if (request.submodules) cloneArgs.push("--recurse-submodules");
	cloneArgs.push("--", urlWithCredentials(request.url, request.user, request.password), directory);
	const cloned = await run(cloneArgs, "git clone");
	if (!cloned.ok || !request.commit || request.commit === "HEAD") return cloned;
	ctx.log.line(`git checkout ${request.commit}`);
	return run(["-C", directory, "checkout", "--quiet", "--detach", request.commit, "--"], "git checkout");
}
