/**
 * The `worker` subcommands a step runs (`worker export NAME VALUE`, `worker upload`, …),
 * executed inside the worker process on behalf of the step: the job token never reaches user
 * code. Relative paths are taken from the step's current directory.
 */

import { spawn } from "node:child_process";
import { lchown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { interpolate } from "../run/interpolate.ts";
import { compileSecrets } from "../run/mask.ts";
import { type ApiClient, isTransient } from "./api-client.ts";
import { retry } from "./backoff.ts";
import { expandGlob, matchesName } from "./glob.ts";
import { downloadFile, safeFileName, TRANSFER_DEADLINE_MS, uploadFile } from "./transfer.ts";

export interface CommandContext {
	api: ApiClient;
	/** The job variables as they are now (exports included). */
	vars(): Record<string, string>;
	secrets: readonly string[];
	/** Records `cds.build.NAME` locally and on the server. */
	exportVariable(name: string, value: string): Promise<void>;
	/** For temporary files (cache archives). */
	tmpDir: string;
	/** The user steps run as when it is not the worker's: files written for them are theirs. */
	owner?: { uid: number; gid: number };
	/**
	 * Runs a tool (tar) on the step's behalf inside the job's sandbox, as the step's user: an
	 * archive a step made cannot make the worker write or read where the step could not.
	 */
	runTool?(command: string, args: string[], cwd: string): Promise<void>;
}

export type Output = (text: string, stream: "stdout" | "stderr") => void;

const USAGE = `usage: worker <command> [arguments]
  export NAME VALUE                 make {{.cds.build.NAME}} / CDS_BUILD_NAME available to the next steps
  upload --tag=TAG FILE…            upload files (globs allowed) as artifacts of this run
  download --tag=TAG [--pattern=GLOB] [DIR]
                                    download this run's artifacts of TAG into DIR
  cache push TAG PATH…              store PATHs (tar) in the project cache under TAG
  cache pull TAG [DIR]              extract the cache TAG into DIR
  tag KEY=VALUE…                    add tags to the run
  tmpl IN OUT                       write IN to OUT with {{.variables}} interpolated
  check-secret FILE                 exit 1 if FILE contains a secret value (in any form logs mask)
`;

export class UsageError extends Error {}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Run tag keys: the server stores them as field names (no dots, no `$`). */
const TAG_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const CACHE_ARCHIVE = "cache.tar";

function splitFlags(args: string[]): { flags: Record<string, string>; positional: string[] } {
	const flags: Record<string, string> = {};
	const positional: string[] = [];
	for (let i = 0; i < args.length; i++) {
		const arg = args[i]!;
		const long = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
		if (long) {
			if (long[2] !== undefined) flags[long[1]!] = long[2];
			else if (i + 1 < args.length) flags[long[1]!] = args[++i]!;
			else throw new UsageError(`${arg} needs a value`);
		} else positional.push(arg);
	}
	return { flags, positional };
}

/** Hands a path the worker wrote to the steps' user (no-op when steps run as the worker). */
async function own(ctx: CommandContext, path: string): Promise<void> {
	if (ctx.owner) await lchown(path, ctx.owner.uid, ctx.owner.gid);
}

/** mkdir -p, the directories it made owned by the steps' user. */
async function makeDir(ctx: CommandContext, dir: string): Promise<void> {
	const first = await mkdir(dir, { recursive: true });
	if (!first || !ctx.owner) return;
	for (let d = dir; d.length >= first.length; d = dirname(d)) {
		await own(ctx, d);
		if (d === first) break;
	}
}

/** tar runs where the steps run (their sandbox, their user): it reads and writes only what a step could. */
function tar(ctx: CommandContext, args: string[], cwd: string): Promise<void> {
	if (ctx.runTool) return ctx.runTool("tar", args, cwd);
	return new Promise((resolvePromise, reject) => {
		const child = spawn("tar", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
		let stderr = "";
		child.stderr.on("data", (chunk: Buffer) => {
			stderr += chunk.toString();
		});
		child.on("error", reject);
		child.on("close", (code) =>
			code === 0 ? resolvePromise() : reject(new Error(`tar failed (${code}): ${stderr.trim()}`)),
		);
	});
}

export async function runCommand(
	args: string[],
	cwd: string,
	ctx: CommandContext,
	out: Output,
): Promise<number> {
	const [command, ...rest] = args;
	const at = (path: string) => (isAbsolute(path) ? path : resolve(cwd, path));
	try {
		switch (command) {
			case "export": {
				if (rest.length !== 2) throw new UsageError("worker export NAME VALUE");
				const [name, value] = rest as [string, string];
				if (!NAME_RE.test(name)) throw new UsageError(`invalid variable name ${JSON.stringify(name)}`);
				await ctx.exportVariable(name, value);
				return 0;
			}
			case "upload": {
				const { flags, positional } = splitFlags(rest);
				const tag = flags.tag || ctx.vars()["cds.version"] || "latest";
				if (positional.length === 0) throw new UsageError("worker upload --tag=TAG FILE…");
				for (const pattern of positional) {
					const files = await expandGlob(at(pattern));
					if (files.length === 0) throw new Error(`no file matches ${pattern}`);
					for (const file of files) {
						const sent = await uploadFile(ctx.api, "artifacts", tag, file);
						out(`uploaded ${sent.name} (${sent.size} bytes, tag ${tag})\n`, "stdout");
					}
				}
				return 0;
			}
			case "download": {
				const { flags, positional } = splitFlags(rest);
				const tag = flags.tag || ctx.vars()["cds.version"] || "latest";
				const dir = at(positional[0] ?? ".");
				await makeDir(ctx, dir);
				const items = await retry(() => ctx.api.listArtifacts(tag), {
					deadlineMs: TRANSFER_DEADLINE_MS,
					isRetryable: isTransient,
				});
				let count = 0;
				for (const item of items) {
					if (flags.pattern && !matchesName(item.name, flags.pattern)) continue;
					const name = safeFileName(item.name);
					if (!name) {
						out(`skipped artifact with unsafe name ${JSON.stringify(item.name)}\n`, "stderr");
						continue;
					}
					if (await downloadFile(ctx.api, "artifacts", tag, item.name, join(dir, name))) {
						await own(ctx, join(dir, name));
						out(`downloaded ${name}\n`, "stdout");
						count++;
					}
				}
				if (count === 0) out(`no artifact to download for tag ${tag}\n`, "stderr");
				return 0;
			}
			case "cache": {
				const [sub, tag, ...paths] = rest;
				if (!tag || !NAME_RE.test(tag)) throw new UsageError("worker cache push|pull TAG …");
				const scratch = await mkdtemp(join(ctx.tmpDir, "cache-"));
				await own(ctx, scratch);
				try {
					const archive = join(scratch, CACHE_ARCHIVE);
					if (sub === "push") {
						if (paths.length === 0) throw new UsageError("worker cache push TAG PATH…");
						await tar(ctx, ["-cf", archive, "--", ...paths], cwd);
						const sent = await uploadFile(ctx.api, "cache", tag, archive, CACHE_ARCHIVE);
						out(`cache ${tag} pushed (${sent.size} bytes)\n`, "stdout");
						return 0;
					}
					if (sub === "pull") {
						const dir = at(paths[0] ?? ".");
						await makeDir(ctx, dir);
						if (!(await downloadFile(ctx.api, "cache", tag, CACHE_ARCHIVE, archive))) {
							out(`cache ${tag} not found\n`, "stderr");
							return 1;
						}
						await own(ctx, archive);
						await tar(ctx, ["-xf", archive, "-C", dir], cwd);
						out(`cache ${tag} pulled into ${dir}\n`, "stdout");
						return 0;
					}
					throw new UsageError("worker cache push|pull TAG …");
				} finally {
					await rm(scratch, { recursive: true, force: true });
				}
			}
			case "tag": {
				if (rest.length === 0) throw new UsageError("worker tag KEY=VALUE…");
				const tags: Record<string, string> = {};
				for (const pair of rest) {
					const eq = pair.indexOf("=");
					if (eq <= 0) throw new UsageError(`tag ${JSON.stringify(pair)} is not KEY=VALUE`);
					if (!TAG_KEY.test(pair.slice(0, eq)))
						throw new UsageError(
							`tag key ${JSON.stringify(pair.slice(0, eq))}: letters, digits, '_' and '-' only`,
						);
					tags[pair.slice(0, eq)] = pair.slice(eq + 1);
				}
				await retry(() => ctx.api.postTags(tags), {
					deadlineMs: TRANSFER_DEADLINE_MS,
					isRetryable: isTransient,
				});
				return 0;
			}
			case "tmpl": {
				if (rest.length !== 2) throw new UsageError("worker tmpl IN OUT");
				const input = await readFile(at(rest[0]!), "utf8");
				await writeFile(at(rest[1]!), interpolate(input, ctx.vars()));
				await own(ctx, at(rest[1]!));
				return 0;
			}
			case "check-secret": {
				if (rest.length !== 1) throw new UsageError("worker check-secret FILE");
				const content = await readFile(at(rest[0]!), "utf8");
				// Any form the log masker recognises (base64, hex, split across lines…), not just as written.
				if (
					ctx.secrets.some((secret) => secret.length > 0 && content.includes(secret)) ||
					compileSecrets(ctx.secrets).test(content)
				) {
					out(`${rest[0]} contains a secret value\n`, "stderr");
					return 1;
				}
				return 0;
			}
			default:
				out(
					command === undefined || command === "help" ? USAGE : `unknown command ${command}\n${USAGE}`,
					"stderr",
				);
				return 2;
		}
	} catch (err) {
		out(`worker ${command}: ${err instanceof Error ? err.message : String(err)}\n`, "stderr");
		return err instanceof UsageError ? 2 : 1;
	}
}
