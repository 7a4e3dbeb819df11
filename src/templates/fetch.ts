// Downloads template sources (indexes, manifests, template files) under the URL policy:
// http(s) through undici with timeouts and a size limit, redirects never followed, the
// connection pinned to the address that was checked (no DNS rebinding between check and
// connect); file URLs read only inside the allowed directory, symbolic links resolved.

import { lookup as dnsLookup } from "node:dns/promises";
import { open, realpath } from "node:fs/promises";
import { isIP } from "node:net";
import { sep } from "node:path";
import { fileURLToPath } from "node:url";

import { addressAllowedBy, OUTBOUND_SETTING, type OutboundPolicy } from "../net/outbound-policy.ts";
import { UrlPolicyError, addressAllowed, checkAllowed } from "./url-policy.ts";

export interface FetchPolicy {
	/** Allowed URL prefixes (parseAllowedPrefixes). */
	prefixes: readonly URL[];
	/** Whole-request deadline. */
	timeoutMs?: number;
	/** Largest accepted body. */
	maxBytes?: number;
	/** The server's outbound allow-list (CDS_OUTBOUND_ALLOW), which also lets internal addresses through. */
	outbound?: OutboundPolicy;
	/** DNS resolution, replaceable in tests. */
	resolve?: (hostname: string) => Promise<Array<{ address: string; family: number }>>;
}

const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_TEMPLATE_BYTES = 512 * 1024;

/** A download that failed for a reason the caller can report (status, size, timeout, unreachable). */
export class TemplateFetchError extends Error {
	override name = "TemplateFetchError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decode(bytes: Uint8Array, url: string): string {
	try {
		return utf8.decode(bytes);
	} catch {
		throw new TemplateFetchError(`${url}: not UTF-8 text`);
	}
}

async function readFileUrl(url: URL, prefix: URL, maxBytes: number): Promise<string> {
	const root = await realpath(fileURLToPath(prefix)).catch(() => undefined);
	if (!root) throw new TemplateFetchError(`${prefix.href}: the allowed directory does not exist`);
	const real = await realpath(fileURLToPath(url)).catch(() => undefined);
	if (!real) throw new TemplateFetchError(`${url.href}: no such file`);
	const inside = real === root || real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
	if (!inside) throw new UrlPolicyError(`${url.href}: leads outside the allowed directory ${prefix.href}`);
	const handle = await open(real, "r");
	try {
		const info = await handle.stat();
		if (!info.isFile()) throw new TemplateFetchError(`${url.href}: not a regular file`);
		if (info.size > maxBytes) throw new TemplateFetchError(`${url.href}: larger than ${maxBytes} bytes`);
		const buffer = Buffer.alloc(info.size);
		await handle.read(buffer, 0, info.size, 0);
		return decode(buffer, url.href);
	} finally {
		await handle.close();
	}
}

async function defaultResolve(hostname: string) {
	return dnsLookup(hostname, { all: true, verbatim: true });
}

async function fetchHttp(url: URL, prefix: URL, policy: FetchPolicy, maxBytes: number): Promise<string> {
	const host = url.hostname.replace(/^\[|\]$/g, "");
	const addresses = isIP(host)
		? [{ address: host, family: isIP(host) }]
		: await (policy.resolve ?? defaultResolve)(host).catch((e: Error) => {
				throw new TemplateFetchError(`${url.href}: cannot resolve ${host} (${e.message})`);
			});
	if (addresses.length === 0) throw new TemplateFetchError(`${url.href}: ${host} has no address`);
	// Every address must pass: a name with one public and one internal address is refused.
	const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
	const refused = addresses.find(
		(a) =>
			!addressAllowed(a.address, prefix) &&
			!(policy.outbound && addressAllowedBy(policy.outbound, host, port, a.address)),
	);
	if (refused) {
		throw new UrlPolicyError(
			`${url.href}: ${host} resolves to the internal address ${refused.address}, which no allowed prefix names (or allow it with ${OUTBOUND_SETTING}=${refused.address}${refused.family === 6 ? "/128" : "/32"})`,
		);
	}
	const pinned = addresses[0]!;
	// Loaded at the first download: undici is ~100 modules a template service rarely needs.
	const { Agent, request } = await import("undici");
	const agent = new Agent({
		connect: {
			lookup: (_hostname: string, options: { all?: boolean }, callback: (...args: any[]) => void) => {
				if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
				else callback(null, pinned.address, pinned.family);
			},
		} as any,
	});
	const timeoutMs = policy.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
	try {
		const response = await request(url, {
			dispatcher: agent,
			method: "GET",
			headersTimeout: timeoutMs,
			bodyTimeout: timeoutMs,
			signal: AbortSignal.timeout(timeoutMs),
			headers: { accept: "application/yaml, text/yaml, text/plain, */*" },
		});
		if (response.statusCode >= 300 && response.statusCode < 400) {
			await response.body.dump();
			throw new TemplateFetchError(`${url.href}: redirects are not followed (HTTP ${response.statusCode})`);
		}
		if (response.statusCode !== 200) {
			await response.body.dump();
			throw new TemplateFetchError(`${url.href}: HTTP ${response.statusCode}`);
		}
		const declared = Number(response.headers["content-length"] ?? Number.NaN);
		if (declared > maxBytes) {
			await response.body.dump();
			throw new TemplateFetchError(`${url.href}: larger than ${maxBytes} bytes`);
		}
		const chunks: Buffer[] = [];
		let size = 0;
		for await (const chunk of response.body) {
			size += (chunk as Buffer).length;
			if (size > maxBytes) {
				response.body.destroy();
				throw new TemplateFetchError(`${url.href}: larger than ${maxBytes} bytes`);
			}
			chunks.push(chunk as Buffer);
		}
		return decode(Buffer.concat(chunks), url.href);
	} catch (e) {
		if (e instanceof TemplateFetchError || e instanceof UrlPolicyError) throw e;
		const err = e as Error & { code?: string };
		if (err.name === "TimeoutError" || err.name === "AbortError" || /Timeout/.test(err.code ?? "")) {
			throw new TemplateFetchError(`${url.href}: timed out after ${timeoutMs} ms`);
		}
		throw new TemplateFetchError(`${url.href}: ${err.code ?? err.message}`);
	} finally {
		await agent.close().catch(() => {});
	}
}

/** Downloads one template source as text; throws UrlPolicyError or TemplateFetchError. */
export async function fetchTemplateText(raw: string, policy: FetchPolicy): Promise<string> {
	const { url, prefix } = checkAllowed(raw, policy.prefixes);
	const maxBytes = policy.maxBytes ?? DEFAULT_MAX_TEMPLATE_BYTES;
	if (url.protocol === "file:") return readFileUrl(url, prefix, maxBytes);
	return fetchHttp(url, prefix, policy, maxBytes);
}
