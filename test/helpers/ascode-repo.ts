// A real git repository with as-code files (a bare remote and a clone), linked to a project
// of a running cluster with `cds push`: what hook tests need to drive the real repository,
// workflow and run services (webhook secret and uuid included).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

export const WORKFLOW = "name: app\nversion: v1.0\npipeline: build\n";
export const PIPELINE =
	"version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script:\n    - echo building {{.git.branch}}\n";

export function git(cwd: string, ...args: string[]): string {
	return execFileSync("git", args, {
		cwd,
		encoding: "utf8",
		env: {
			PATH: process.env.PATH ?? "/usr/bin:/bin",
			HOME: process.env.HOME ?? "/tmp",
			GIT_AUTHOR_NAME: "Dev",
			GIT_AUTHOR_EMAIL: "dev@example.com",
			GIT_COMMITTER_NAME: "Dev",
			GIT_COMMITTER_EMAIL: "dev@example.com",
		},
	}).trim();
}

export interface AsCodeRepo {
	work: string;
	clone: string;
	/** The id the repository service gave the link. */
	id: string;
	webhook: { uuid: string; secret: string };
	/** The commit of master after the push. */
	head: string;
	/** Commits `file` on a new branch and pushes it; returns the commit. */
	pushBranch(branch: string, file?: string): string;
	remove(): void;
}

/**
 * Creates project `key` through the API at `apiUrl`, a bare repository with the as-code files,
 * and links them with `cds push --yes --poll <pollSeconds>`.
 */
export async function linkAsCodeRepo(opts: {
	apiUrl: string;
	token: string;
	key: string;
	broker: ServiceBroker;
	pollSeconds: number;
}): Promise<AsCodeRepo> {
	const { apiUrl, token, key } = opts;
	const created = await fetch(`${apiUrl}/api/v1/projects`, {
		method: "POST",
		headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
		body: JSON.stringify({ key, name: key }),
	});
	if (created.status !== 201) throw new Error(`project ${key}: ${created.status} ${await created.text()}`);
	const work = mkdtempSync(path.join(tmpdir(), "cds-hooks-ascode-"));
	git(work, "init", "--quiet", "--bare", "--initial-branch=master", "remote.git");
	git(work, "clone", "--quiet", path.join(work, "remote.git"), "clone");
	const clone = path.join(work, "clone");
	mkdirSync(path.join(clone, ".cds"));
	writeFileSync(path.join(clone, ".cds", "app.yml"), WORKFLOW);
	writeFileSync(path.join(clone, ".cds", "build.pip.yml"), PIPELINE);
	git(clone, "add", "-A");
	git(clone, "commit", "--quiet", "-m", "as code");
	git(clone, "push", "--quiet", "origin", "master");
	const env = { CDS_API_URL: apiUrl, CDS_TOKEN: token, CDS_CONFIG: path.join(work, "cli.json") };
	const io = memoryIo(env, clone);
	const code = await main(["push", "--yes", "--poll", String(opts.pollSeconds), key, "."], io.io);
	if (code !== 0) throw new Error(`cds push failed: ${io.stderr}`);
	const listed = await fetch(`${apiUrl}/api/v1/projects/${key}/repositories`, {
		headers: { authorization: `Bearer ${token}` },
	});
	const [repo] = ((await listed.json()) as { items: Array<{ id: string }> }).items;
	const internal = (await opts.broker.call("repository.get", { id: repo!.id })) as {
		webhook: { uuid: string; secret: string };
	};
	return {
		work,
		clone,
		id: repo!.id,
		webhook: { uuid: internal.webhook.uuid, secret: internal.webhook.secret },
		head: git(clone, "rev-parse", "HEAD"),
		pushBranch(branch, file = `${branch.replace(/\W/g, "_")}.txt`) {
			git(clone, "checkout", "--quiet", "-B", branch, "master");
			writeFileSync(path.join(clone, file), `${branch}\n`);
			git(clone, "add", "-A");
			git(clone, "commit", "--quiet", "-m", `on ${branch}`);
			git(clone, "push", "--quiet", "origin", branch);
			return git(clone, "rev-parse", "HEAD");
		},
		remove() {
			rmSync(work, { recursive: true, force: true });
		},
	};
}
