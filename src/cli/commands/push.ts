// cds push [--git-remote origin] [--yes] [--dir .cds] PROJECT_KEY [PATH]: the roadmap's
// "workflow as code" use case 1. From the git repository around PATH it reads the remote,
// the current branch and commit and the as-code files, links the project to a repository
// manager if needed (asking first), links the repository (which creates its application
// and a webhook or a poller), then defines the workflows for the current branch. Every
// step finds what an earlier push made, so pushing twice changes nothing.

import { relative, resolve, sep } from "node:path";
import { CliFailure, UsageError } from "../errors.ts";
import type { ApiClient } from "../http.ts";
import { seg } from "../http.ts";
import { collectImportFiles, type ImportFile } from "../import-files.ts";
import { JSON_OPTION } from "../options.ts";
import type { CommandContext, CommandRegistry, OptionSpec } from "../registry.ts";
import { type Asker, terminalAsker } from "./new.ts";
import {
	currentBranch,
	findRepositoryRoot,
	git,
	headCommit,
	remoteDefaultBranch,
	remoteUrl,
} from "../../vcs/git.ts";
import {
	detectManager,
	type ManagerType,
	parseRemoteUrl,
	type RemoteUrl,
	sameRepository,
} from "../../vcs/remote-url.ts";

export interface LinkedRepository {
	id: string;
	manager: string;
	type: ManagerType;
	url: string;
	repo: string;
	defaultBranch: string;
	cdsDir: string;
	application: string | null;
	webhookUrl: string | null;
	poll: { intervalSeconds: number } | null;
	created?: boolean;
	/** Only in the response that made the link, for a webhook nobody else can configure (plain git). */
	webhookSecret?: string;
	warnings?: string[];
}

/**
 * What to say about the webhook: its URL, and when the server made one that must be set up by
 * hand (a plain-git or self-hosted remote), the secret too — the server shows it this once only.
 */
export function webhookLines(linked: Pick<LinkedRepository, "webhookUrl" | "webhookSecret">): string[] {
	if (!linked.webhookUrl) return [];
	if (!linked.webhookSecret) return [`webhook: ${linked.webhookUrl}`];
	return [
		"webhook to set up on the git server (the secret is shown this once only; keep it):",
		`  url:    ${linked.webhookUrl}`,
		`  secret: ${linked.webhookSecret}`,
		"  (a push payload in the GitHub, Gitea or Bitbucket format, signed HMAC-SHA256 with the secret: docs/hooks.md)",
	];
}

export interface Manager {
	name: string;
	type: ManagerType;
	url: string;
	hasToken: boolean;
}

interface PushResult {
	workflows: string[];
	created: string[];
	updated: string[];
	unchanged: string[];
	changed: boolean;
	warnings: Array<{ file?: string; line?: number; message: string }>;
}

const NAME = /^[a-zA-Z0-9._-]{1,128}$/;

/** The linked repository of `key` that `remote` designates, if any. */
export async function findLinkedRepository(
	client: ApiClient,
	key: string,
	remote: RemoteUrl,
): Promise<LinkedRepository | null> {
	for (const item of await client.listAll<LinkedRepository>(`/projects/${seg(key)}/repositories`)) {
		try {
			if (sameRepository(parseRemoteUrl(item.url, "/"), remote)) return item;
		} catch {
			/* a link this CLI cannot parse is not ours */
		}
	}
	return null;
}

function managerNameFor(type: ManagerType, remote: RemoteUrl): string {
	if (type === "git") return "git";
	return `${type}-${remote.host.replace(/[^a-zA-Z0-9.-]/g, "-")}`.slice(0, 128);
}

/** The application named by the first workflow's nodes, else the repository's last path segment. */
export async function applicationName(files: ImportFile[], remote: RemoteUrl): Promise<string> {
	const { parseFileSet } = await import("../../workflow/index.ts");
	const parsed = parseFileSet(files, {});
	const fromWorkflow = parsed.model?.workflows
		.flatMap((w) => w.nodes.map((n) => n.application))
		.find((a) => !!a);
	if (fromWorkflow && NAME.test(fromWorkflow)) return fromWorkflow;
	const base = (remote.path.split("/").pop() ?? "app").replace(/[^a-zA-Z0-9._-]/g, "-");
	return NAME.test(base) ? base : "app";
}

/**
 * The project's repository manager for `remote`: the one `--manager` names, else one of the
 * remote's type (and host), else null — a new one must be made (see `ensureManager`).
 */
export async function existingManager(
	ctx: CommandContext,
	client: ApiClient,
	key: string,
	remote: RemoteUrl,
): Promise<Manager | null> {
	const managers = await client.listAll<Manager>(`/projects/${seg(key)}/repositories/managers`);
	const wanted = typeof ctx.values.manager === "string" ? ctx.values.manager : undefined;
	if (wanted) {
		const found = managers.find((m) => m.name === wanted);
		if (!found) throw new CliFailure(`project ${key} has no repository manager named ${wanted}`);
		return found;
	}
	const type = detectManager(remote);
	const host = remote.host;
	return (
		managers.find(
			(m) =>
				m.type === type &&
				(type === "git" ||
					(() => {
						try {
							return new URL(m.url).hostname === host;
						} catch {
							return false;
						}
					})()),
		) ?? null
	);
}

/** What a new manager for `remote` would be, as said to the user. */
export function managerLabel(remote: RemoteUrl): string {
	const type = detectManager(remote);
	return type === "git" ? "a plain git manager (polled)" : `${type} at https://${remote.host}`;
}

export async function ensureManager(
	ctx: CommandContext,
	client: ApiClient,
	key: string,
	remote: RemoteUrl,
	ask: Asker | undefined,
): Promise<Manager> {
	const existing = await existingManager(ctx, client, key, remote);
	if (existing) return existing;
	const type = detectManager(remote);
	const host = remote.host;
	const label = managerLabel(remote);
	if (ctx.values.yes !== true) {
		if (!ask)
			throw new UsageError(
				`project ${key} is not linked to a repository manager for ${remote.cloneUrl}: run again with --yes to link it to ${label}`,
			);
		const answer = (await ask(`Project ${key} is not linked to ${label}. Link it now? [Y/n] `, false)).trim();
		if (/^n(o)?$/i.test(answer))
			throw new CliFailure(`project ${key} was not linked to ${label}: nothing done`);
	}
	let token = ctx.io.env.CDS_REPOSITORY_TOKEN?.trim() || undefined;
	if (type !== "git" && !token && ask && ctx.values.yes !== true) {
		token =
			(await ask(`API token for ${host} (empty: poll instead of a webhook): `, true)).trim() || undefined;
	}
	return client.post<Manager>(`/projects/${seg(key)}/repositories/managers`, {
		name: managerNameFor(type, remote),
		type,
		...(type !== "git" ? { url: `https://${host}` } : {}),
		...(token ? { token } : {}),
	});
}

/**
 * Links the repository of `remote` to project `key`: a repository manager first when the
 * project has none for it (asking, or `--yes`), then the link, which creates the application
 * (`--application`, else the workflow files' application, else the repository's name).
 */
export async function linkRepository(
	ctx: CommandContext,
	client: ApiClient,
	key: string,
	where: { root: string; remoteName: string; remote: RemoteUrl; cdsDir: string; files: ImportFile[] },
): Promise<LinkedRepository> {
	const { root, remoteName, remote, cdsDir, files } = where;
	const manager = await ensureManager(ctx, client, key, remote, terminalAsker(ctx.io));
	const application =
		typeof ctx.values.application === "string"
			? ctx.values.application
			: await applicationName(files, remote);
	const defaultBranch = await remoteDefaultBranch(root, remoteName);
	const pollRaw = ctx.values.poll;
	if (typeof pollRaw === "string" && !/^[1-9]\d{0,4}$/.test(pollRaw)) {
		throw new UsageError(`--poll ${pollRaw}: a number of seconds is expected`);
	}
	return client.post<LinkedRepository>(`/projects/${seg(key)}/repositories`, {
		manager: manager.name,
		url: remote.cloneUrl,
		application,
		cdsDir: cdsDir || ".",
		...(defaultBranch ? { defaultBranch } : {}),
		...(typeof pollRaw === "string" ? { pollSeconds: Number(pollRaw) } : {}),
	});
}

/** What to tell about a repository just linked. */
export function linkedLines(linked: LinkedRepository, key: string): string[] {
	return [
		`linked repository ${linked.repo} to project ${key} (manager ${linked.manager})`,
		...(linked.application ? [`application ${linked.application} is linked to the repository`] : []),
		...webhookLines(linked),
		...(linked.poll ? [`poller: every ${linked.poll.intervalSeconds}s`] : []),
	];
}

/**
 * What starts a run, said after a push: nothing yet — a commit reaching the remote does (the
 * webhook or the poller), so one pushed before the link starts none; the command that runs the
 * branch now is given.
 */
export function nextRunLines(
	linked: Pick<LinkedRepository, "poll" | "webhookUrl">,
	key: string,
	branch: string,
	workflows: string[],
): string[] {
	if (workflows.length === 0) return [];
	const how = linked.poll
		? `the poller looks every ${linked.poll.intervalSeconds}s`
		: linked.webhookUrl
			? "through the webhook"
			: "once the repository announces it";
	return [
		`runs start when commits reach the remote (${how}); to run ${branch} now:`,
		...workflows.map((w) => `  cds workflow run ${key} ${w} -p git.branch=${branch}`),
	];
}

/** `cds push KEY [PATH]`, also run by `cds new --push` once it has written the files. */
export async function pushRepository(
	ctx: CommandContext,
	key: string,
	pathArg: string | undefined,
): Promise<number> {
	const base = resolve(ctx.io.cwd, pathArg ?? ".");
	const root = findRepositoryRoot(base);
	if (!root) throw new CliFailure(`${pathArg ?? "."} is not inside a git repository (no .git found)`);
	const remoteName = typeof ctx.values["git-remote"] === "string" ? ctx.values["git-remote"] : "origin";
	const url = await remoteUrl(root, remoteName);
	if (!url) throw new UsageError(`the repository has no remote "${remoteName}" (see --git-remote)`);
	const remote = parseRemoteUrl(url, root);
	const branch = await currentBranch(root);
	if (!branch) throw new UsageError("HEAD is detached: check out the branch to push");
	const commit = await headCommit(root);
	const dirArg = typeof ctx.values.dir === "string" ? ctx.values.dir : ".cds";
	const cdsAbs = resolve(base, dirArg);
	const cdsDir = relative(root, cdsAbs).split(sep).join("/");
	if (cdsDir.startsWith("..")) throw new UsageError(`${dirArg} is outside the repository`);
	const files = await collectImportFiles([cdsAbs], ctx.io.cwd);

	const client = await ctx.client();
	let linked = await findLinkedRepository(client, key, remote);
	const newlyLinked = !linked;
	if (!linked) {
		linked = await linkRepository(ctx, client, key, { root, remoteName, remote, cdsDir, files });
	}
	const result = await client.post<PushResult>(`/projects/${seg(key)}/workflows/as-code`, {
		repositoryId: linked.id,
		branch,
		commit,
		files,
	});
	// Later `cds track|logs|restart|status` in this clone find their project here first.
	await git(["config", "--local", "cds.project", key], { cwd: root }).catch(() => undefined);
	if (result.workflows.length === 1)
		await git(["config", "--local", "cds.workflow", result.workflows[0]!], { cwd: root }).catch(
			() => undefined,
		);

	if (ctx.values.json) {
		ctx.printJson({ repository: linked, linked: newlyLinked, branch, commit, ...result });
		return 0;
	}
	if (newlyLinked) for (const line of linkedLines(linked, key)) ctx.print(line);
	if (newlyLinked) for (const w of linked.warnings ?? []) ctx.warn(`warning: ${w}`);
	for (const name of result.created) ctx.print(`workflow ${name} on branch ${branch}: created`);
	for (const name of result.updated) ctx.print(`workflow ${name} on branch ${branch}: updated`);
	for (const name of result.unchanged) ctx.print(`workflow ${name} on branch ${branch}: unchanged`);
	for (const w of result.warnings)
		ctx.warn(`warning: ${w.file ? `${w.file}:${w.line ?? 0}: ` : ""}${w.message}`);
	if (!newlyLinked && !result.changed) ctx.print("unchanged");
	for (const line of nextRunLines(linked, key, branch, result.workflows)) ctx.print(line);
	return 0;
}

/** The options that say how to link a repository (`cds push`, `cds new`). */
export const LINK_OPTIONS: Record<string, OptionSpec> = {
	"git-remote": {
		type: "string",
		valueName: "NAME",
		description: "the git remote to link (default: origin)",
	},
	yes: {
		type: "boolean",
		short: "y",
		description: "link the project to the repository manager without asking",
	},
	manager: {
		type: "string",
		valueName: "NAME",
		description: "use this repository manager of the project",
	},
	application: {
		type: "string",
		valueName: "NAME",
		description: "the application linked to the repository",
	},
	poll: {
		type: "string",
		valueName: "SECONDS",
		description: "poll interval when no webhook can be made (default 60)",
	},
};

export function register(registry: CommandRegistry): void {
	registry.add({
		path: ["push"],
		summary: "Create or update the as-code workflows of the current git repository",
		args: "PROJECT_KEY [PATH]",
		positionals: { min: 1, max: 2 },
		options: {
			...LINK_OPTIONS,
			dir: {
				type: "string",
				valueName: "DIR",
				description: "where the workflow files are, under PATH (default: .cds)",
			},
			json: JSON_OPTION,
		},
		details:
			"PATH (default .) is a directory inside a git repository; the files are read from PATH/.cds.\n" +
			"A provider token for webhooks and commit statuses is read from $CDS_REPOSITORY_TOKEN (or asked on a terminal).\n" +
			"Pushing again changes nothing unless the files changed.",
		async run(ctx) {
			const [key, pathArg] = ctx.positionals as [string, string | undefined];
			return pushRepository(ctx, key, pathArg);
		},
	});
}
