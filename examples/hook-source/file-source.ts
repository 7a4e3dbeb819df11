// A hook source written outside CDS-TS (docs/hook-sdk.md): a run of the workflow for each new file
// in a directory. Workflows declare it as
//
//   hooks:
//     build:
//     - type: File hook
//       config:
//         directory: /srv/drop
//         pattern: \.json$
//
// and a node runs it with CDS_HOOK_SOURCES=path/to/file-source.ts SERVICES=hook-file.

import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
	type BindingListener,
	BindingSource,
	checkConfigAgainst,
	type HookConfigKey,
	type ListenContext,
	parseDuration,
} from "cds-ts/hooks";

/** The config schema of a `File hook`: checked on each hook this source is given. */
export const FILE_HOOK_KEYS: Record<string, HookConfigKey> = {
	directory: { kind: "string", required: true, description: "the directory watched" },
	pattern: { kind: "string", description: "a regular expression file names must match (default any)" },
	interval: { kind: "duration", description: "time between two looks (default 2s)" },
};

/** Files larger than this are announced without their content. */
const MAX_TEXT = 64 * 1024;

export class FileSource extends BindingSource {
	readonly name = "file";
	readonly idPrefix = "file";
	readonly hookTypes = ["File hook"];
	// One replica looks at the directory (a shared volume would be seen twice otherwise); if it
	// dies, another takes over within two leadership slots.
	readonly activeOn = "leader";

	protected async listen(ctx: ListenContext): Promise<BindingListener> {
		const config = ctx.binding.config;
		const problems = checkConfigAgainst("File hook", FILE_HOOK_KEYS, config);
		if (problems.length > 0) throw new Error(problems.map((p) => p.message).join("; "));
		const directory = config.directory!;
		const pattern = new RegExp(config.pattern ?? "");
		const intervalMs = parseDuration(config.interval ?? "2s")!;
		// Keys stored (or found stored) by this listener: not handed to emit again. Another replica
		// or a restart emits them once more, and the intake answers "duplicate".
		const seen = new Set<string>();

		const look = async () => {
			for (const entry of await readdir(directory, { withFileTypes: true })) {
				if (!entry.isFile() || !pattern.test(entry.name)) continue;
				const path = join(directory, entry.name);
				const content = await readFile(path);
				const sha256 = createHash("sha256").update(content).digest("hex");
				// The same name with the same content is the same event, whoever sees it and when.
				const key = `${entry.name}:${sha256}`;
				if (seen.has(key)) continue;
				const size = (await stat(path)).size;
				const text = size <= MAX_TEXT ? content.toString("utf8") : undefined;
				await ctx.emit(
					{
						payload: { file: entry.name, size, sha256, ...(text !== undefined ? { text } : {}) },
						vars: { file: entry.name },
						origin: { file: path },
					},
					key,
				);
				seen.add(key);
			}
		};

		// The first look must work: a missing directory is a failure to start (retried with backoff).
		await look();
		let timer: NodeJS.Timeout | undefined;
		const again = () => {
			timer = setTimeout(async () => {
				try {
					await look();
					ctx.ok();
				} catch (e) {
					// Stops this listener and starts it again after a backoff delay.
					ctx.fail(e);
					return;
				}
				if (!ctx.signal.aborted) again();
			}, intervalMs);
		};
		again();
		return {
			async stop() {
				clearTimeout(timer);
			},
		};
	}
}

export default FileSource;
