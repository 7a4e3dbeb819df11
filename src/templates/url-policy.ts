// Which URLs the server may download templates from. An administrator lists URL prefixes
// (CDS_TEMPLATE_ALLOWED_URLS); a URL is allowed when it has the same scheme, host and port
// as a prefix and its normalised path lies under the prefix's path. Addresses a request
// would reach inside the network (loopback, private, link-local... as the outbound policy of
// src/net/outbound-policy.ts classifies them) are refused unless CDS_OUTBOUND_ALLOW allows them
// or the matching prefix names that very address (or `localhost` for loopback), so a public
// name that resolves — or is re-pointed — to an internal address is still refused.

import { isIP } from "node:net";
import { isInternalAddress as isInternalOutbound } from "../net/outbound-policy.ts";

const ALLOWED_SCHEMES = ["https:", "http:", "file:"] as const;

export class UrlPolicyError extends Error {
	override name = "UrlPolicyError";
}

/** Parses the comma-separated prefix list; throws UrlPolicyError on an entry that is not an allowed URL. */
export function parseAllowedPrefixes(value: string | undefined): URL[] {
	if (!value) return [];
	const prefixes: URL[] = [];
	for (const raw of value.split(",")) {
		const entry = raw.trim();
		if (!entry) continue;
		let url: URL;
		try {
			url = new URL(entry);
		} catch {
			throw new UrlPolicyError(`template URL prefix "${entry}" is not a URL`);
		}
		if (!(ALLOWED_SCHEMES as readonly string[]).includes(url.protocol)) {
			throw new UrlPolicyError(`template URL prefix "${entry}" must use https, http or file`);
		}
		if (url.username || url.password || url.search || url.hash) {
			throw new UrlPolicyError(
				`template URL prefix "${entry}" may not hold credentials, a query or a fragment`,
			);
		}
		prefixes.push(url);
	}
	return prefixes;
}

/** Parses a template URL the way the policy compares it; throws UrlPolicyError when it is not usable at all. */
function parseTemplateUrl(raw: string): URL {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new UrlPolicyError(`"${raw}" is not a URL`);
	}
	if (!(ALLOWED_SCHEMES as readonly string[]).includes(url.protocol)) {
		throw new UrlPolicyError(`${raw}: only https, http and file URLs are supported`);
	}
	if (url.username || url.password) throw new UrlPolicyError(`${raw}: credentials in URLs are not allowed`);
	if (url.hash) throw new UrlPolicyError(`${raw}: fragments are not allowed`);
	if (url.protocol === "file:" && url.hostname !== "") {
		throw new UrlPolicyError(`${raw}: file URLs must not name a host`);
	}
	return url;
}

function pathUnder(path: string, prefixPath: string): boolean {
	if (path === prefixPath) return true;
	const dir = prefixPath.endsWith("/") ? prefixPath : `${prefixPath}/`;
	return path.startsWith(dir);
}

/** The prefix that allows `url` (already normalised by URL parsing), or undefined. */
function matchingPrefix(url: URL, prefixes: readonly URL[]): URL | undefined {
	// A percent-encoded slash or backslash could be decoded into a separator by a file
	// system or a server: never treat it as part of a path under a prefix.
	if (/%2f|%5c/i.test(url.pathname)) return undefined;
	return prefixes.find(
		(p) =>
			p.protocol === url.protocol &&
			p.hostname === url.hostname &&
			p.port === url.port &&
			pathUnder(url.pathname, p.pathname),
	);
}

/** Throws UrlPolicyError unless `raw` is allowed by a prefix; returns the parsed URL and that prefix. */
export function checkAllowed(raw: string, prefixes: readonly URL[]): { url: URL; prefix: URL } {
	const url = parseTemplateUrl(raw);
	if (prefixes.length === 0) {
		throw new UrlPolicyError(
			`${raw}: no template source is allowed on this server (an administrator sets CDS_TEMPLATE_ALLOWED_URLS)`,
		);
	}
	const prefix = matchingPrefix(url, prefixes);
	if (!prefix)
		throw new UrlPolicyError(`${raw}: not under any URL prefix allowed by CDS_TEMPLATE_ALLOWED_URLS`);
	return { url, prefix };
}

/** True for addresses inside a host or a private network (the outbound policy's classification). */
export function isInternalAddress(address: string): boolean {
	return isInternalOutbound(address);
}

function isLoopback(address: string): boolean {
	const bare = address.replace(/^\[|\]$/g, "").toLowerCase();
	return bare === "::1" || bare.startsWith("127.") || bare.startsWith("::ffff:127.");
}

/**
 * May a request for a URL matched by `prefix` go to `address` (a resolved IP)? Public
 * addresses always; internal ones only when the prefix names that address literally, or
 * `localhost` and the address is a loopback one.
 */
export function addressAllowed(address: string, prefix: URL): boolean {
	if (!isInternalAddress(address)) return true;
	const host = prefix.hostname.replace(/^\[|\]$/g, "").toLowerCase();
	if (isIP(host)) return host === address.replace(/^\[|\]$/g, "").toLowerCase();
	return host === "localhost" && isLoopback(address);
}
