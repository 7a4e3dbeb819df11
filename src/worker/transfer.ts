/** Moving files between the workspace and the API (artifacts, cache, reports), with retries. */

import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { basename } from "node:path";
import { pipeline } from "node:stream/promises";
import { type ApiClient, ApiError, isTransient, type ReportKind } from "./api-client.ts";
import { retry } from "./backoff.ts";
import { getFromUrl, putToUrl } from "./direct-transfer.ts";

/** Transfers are retried for this long while the API is unreachable. */
export const TRANSFER_DEADLINE_MS = 120_000;

async function sha256File(path: string): Promise<string> {
	const hash = createHash("sha256");
	await pipeline(createReadStream(path), hash);
	return hash.digest("hex");
}

export async function uploadFile(
	api: ApiClient,
	area: "artifacts" | "cache",
	tag: string,
	file: string,
	name = basename(file),
): Promise<{ name: string; size: number; sha256: string }> {
	const sha256 = await sha256File(file);
	const { size } = await stat(file);
	await retry(
		async () => {
			// Straight to the object store when the API can sign it: a fresh URL per attempt.
			const plan = api.directUpload
				? await api.directUpload(area, tag, name, size, sha256)
				: { direct: false as const };
			if (plan.direct && api.commitUpload) {
				if (plan.parts) await putParts(plan.parts, plan.headers, file);
				else await putToUrl(plan.url, plan.headers, file, size);
				await api.commitUpload(area, tag, name, { uploadId: plan.uploadId, size, sha256 });
				return;
			}
			await api.putFile(area, tag, name, file, sha256);
		},
		{ deadlineMs: TRANSFER_DEADLINE_MS, isRetryable: isTransient },
	);
	return { name, size, sha256 };
}

/** How many parts of one file go up at once. */
const PARALLEL_PARTS = 3;

/** Each part is the next byte range of the file, PUT to its own URL, a few at once. */
async function putParts(
	parts: { url: string; size: number }[],
	headers: Record<string, string>,
	file: string,
): Promise<void> {
	const starts = parts.map((_, i) => parts.slice(0, i).reduce((sum, p) => sum + p.size, 0));
	let next = 0;
	const lane = async () => {
		while (next < parts.length) {
			const i = next++;
			await putToUrl(parts[i]!.url, headers, file, parts[i]!.size, starts[i]);
		}
	};
	await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, parts.length) }, lane));
}

export async function uploadReport(
	api: ApiClient,
	kind: ReportKind,
	file: string,
	step: number,
): Promise<{ gate?: { passed: boolean; failures: string[] } }> {
	return retry(() => api.putReport(kind, basename(file), file, step), {
		deadlineMs: TRANSFER_DEADLINE_MS,
		isRetryable: isTransient,
	});
}

/** Downloads to `target` through a temporary file; false when the API has no such file. */
export async function downloadFile(
	api: ApiClient,
	area: "artifacts" | "cache",
	tag: string,
	name: string,
	target: string,
): Promise<boolean> {
	const partial = `${target}.part-${process.pid}`;
	return retry(
		async () => {
			const plan = api.directDownload
				? await api.directDownload(area, tag, name)
				: { direct: false as const };
			if (!plan) return false;
			const body = plan.direct ? await getFromUrl(plan.url) : await api.getFile(area, tag, name);
			if (!body) return false;
			try {
				await pipeline(body, createWriteStream(partial));
				// From the object store directly: the bytes must be the blob the API named.
				if (plan.direct && (await sha256File(partial)) !== plan.sha256)
					throw new ApiError(
						422,
						`${area} ${tag}/${name}: downloaded bytes do not match sha256 ${plan.sha256}`,
					);
				await rename(partial, target);
			} catch (err) {
				await rm(partial, { force: true });
				throw err;
			}
			return true;
		},
		{ deadlineMs: TRANSFER_DEADLINE_MS, isRetryable: isTransient },
	);
}

/** An artifact name from the API used as a file name: no directories, no dot names. */
export function safeFileName(name: string): string | undefined {
	const base = basename(name);
	if (base !== name || base === "" || base === "." || base === ".." || base.includes("\0")) return undefined;
	return base;
}
