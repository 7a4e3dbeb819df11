/** `artifactUpload {path, tag}` and `artifactDownload {path, tag, pattern}`. */

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { JsonValue } from "../../workflow/model.ts";
import { isTransient } from "../api-client.ts";
import { retry } from "../backoff.ts";
import { expandGlob } from "../glob.ts";
import { downloadFile, safeFileName, TRANSFER_DEADLINE_MS, uploadFile } from "../transfer.ts";
import { displayPath, resolveInWorkspaceReal } from "../workspace.ts";
import { ActionError, type ActionResult, type StepContext } from "./context.ts";
import { param } from "./params.ts";

function tagOf(params: JsonValue, ctx: StepContext): string {
	return param(params, "tag") || ctx.vars["cds.version"] || "latest";
}

export async function runArtifactUpload(params: JsonValue, ctx: StepContext): Promise<ActionResult> {
	const path = typeof params === "string" ? params : param(params, "path");
	if (!path) throw new ActionError("artifactUpload: path is required");
	const tag = tagOf(params, ctx);
	const pattern = await resolveInWorkspaceReal(ctx.dirs.workspace, path);
	const files = await expandGlob(pattern);
	if (files.length === 0) throw new ActionError(`artifactUpload: no file matches ${path}`);
	for (const file of files) {
		await resolveInWorkspaceReal(ctx.dirs.workspace, file);
		const sent = await uploadFile(ctx.api, "artifacts", tag, file);
		ctx.log.line(
			`uploaded ${displayPath(ctx.dirs.workspace, file)} as ${sent.name} (${sent.size} bytes, tag ${tag})`,
		);
	}
	return { ok: true };
}

export async function runArtifactDownload(params: JsonValue, ctx: StepContext): Promise<ActionResult> {
	const tag = tagOf(params, ctx);
	const dir = await resolveInWorkspaceReal(ctx.dirs.workspace, param(params, "path"));
	const patternText = param(params, "pattern");
	let pattern: RegExp | undefined;
	try {
		// CDS's artifactDownload pattern is a regular expression on the artifact name.
		pattern = patternText ? new RegExp(patternText) : undefined;
	} catch {
		throw new ActionError(
			`artifactDownload: pattern ${JSON.stringify(patternText)} is not a valid regular expression`,
		);
	}
	await mkdir(dir, { recursive: true });
	const items = await retry(() => ctx.api.listArtifacts(tag), {
		deadlineMs: TRANSFER_DEADLINE_MS,
		isRetryable: isTransient,
	});
	let count = 0;
	for (const item of items) {
		if (pattern && !pattern.test(item.name)) continue;
		const name = safeFileName(item.name);
		if (!name) {
			ctx.log.line(`skipped artifact with unsafe name ${JSON.stringify(item.name)}`);
			continue;
		}
		if (await downloadFile(ctx.api, "artifacts", tag, item.name, join(dir, name))) {
			ctx.log.line(`downloaded ${name} into ${displayPath(ctx.dirs.workspace, dir)}`);
			count++;
		}
	}
	if (count === 0) ctx.log.line(`no artifact${patternText ? ` matching ${patternText}` : ""} for tag ${tag}`);
	return { ok: true };
}
