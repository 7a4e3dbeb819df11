// The one allow-list for every connection the server makes on a project's behalf: repository
// managers' APIs, git remotes (link, as-code fetches, the poller), template downloads, and later
// health checks, brokers and platform endpoints. A project admin chooses those addresses, so
// without this an address inside the server's network (its loopback, where the store and NATS
// listen; a private range; the cloud metadata service) is one API call away.
//
// Rules: an address that is loopback, private (RFC 1918, CGNAT 100.64/10, ULA fc00::/7),
// link-local (169.254/16, fe80::/10), unspecified, multicast or otherwise reserved is refused
// unless CDS_OUTBOUND_ALLOW names it (a CIDR, or a host[:port] the URL names literally). A host
// name is resolved and every address it resolves to is checked; the caller then connects to a
// checked address (`pinnedDispatcher`, `gitPinning`) so a second DNS answer cannot swap it for an
// internal one (DNS rebinding). Redirects are never followed (`outboundFetch`, `gitPinning`).

import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import type { Agent } from "undici";

/** The setting that widens the allow-list; named in every refusal. */
export const OUTBOUND_SETTING = "CDS_OUTBOUND_ALLOW";

export type AddressClass =
	| "loopback"
	| "private"
	| "link-local"
	| "unspecified"
	| "multicast"
	| "reserved"
	| "public";

export type AllowRule =
	| { kind: "cidr"; text: string; address: string; prefix: number; family: "ipv4" | "ipv6" }
	| { kind: "host"; text: string; host: string; port: number | null };

export interface OutboundPolicy {
	/** What CDS_OUTBOUND_ALLOW lets through besides public addresses. */
	allow: readonly AllowRule[];
}

export const DEFAULT_OUTBOUND_POLICY: OutboundPolicy = { allow: [] };

/** A connection the policy refuses: the gateway answers 400 OUTBOUND_REFUSED with this message. */
export class OutboundRefusedError extends Error {
	override name = "OutboundRefusedError";
	/** The setting that would allow it. */
	readonly setting: string;
	/** `internal`: the address is refused; `unresolved`: the host name has no address (yet). */
	readonly reason: "internal" | "unresolved" | "invalid";
	constructor(
		message: string,
		setting = OUTBOUND_SETTING,
		reason: "internal" | "unresolved" | "invalid" = "internal",
	) {
		super(message);
		this.setting = setting;
		this.reason = reason;
	}
}

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const defaultResolve: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

// ---- addresses ----

/**
 * Reads an IPv4 address the way inet_aton (and so getaddrinfo, curl and ssh) does: one to four
 * parts, each decimal, octal (leading 0) or hex (0x). `2130706433`, `0x7f.1` and `0177.0.0.1`
 * are all 127.0.0.1 to the resolver, so they must be to the policy. null: not such a form.
 */
export function parseLooseIPv4(text: string): string | null {
	const parts = text.split(".");
	if (parts.length < 1 || parts.length > 4) return null;
	const values: number[] = [];
	for (const part of parts) {
		let n: number;
		if (/^0x[0-9a-f]*$/i.test(part)) n = part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
		else if (/^0[0-7]+$/.test(part)) n = Number.parseInt(part, 8);
		else if (/^(0|[1-9][0-9]*)$/.test(part)) n = Number(part);
		else return null;
		if (!Number.isSafeInteger(n)) return null;
		values.push(n);
	}
	const last = values.pop()!;
	if (values.some((v) => v > 255)) return null;
	if (last >= 256 ** (4 - values.length)) return null;
	let value = last;
	values.forEach((v, i) => {
		value += v * 256 ** (3 - i);
	});
	return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** The canonical IP a host names literally (any IPv4 spelling, bracketed IPv6), or null for a name. */
export function literalAddress(host: string): string | null {
	const bare = host.replace(/^\[|\]$/g, "").replace(/\.$/, "");
	// The URL parser writes IPv6 one canonical way (`::ffff:7f00:1`), so spellings compare equal.
	if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
	if (isIP(bare) === 4) return bare;
	return parseLooseIPv4(bare);
}

const RANGES: Array<[AddressClass, string, number, "ipv4" | "ipv6"]> = [
	["unspecified", "0.0.0.0", 8, "ipv4"],
	["loopback", "127.0.0.0", 8, "ipv4"],
	["private", "10.0.0.0", 8, "ipv4"],
	["private", "172.16.0.0", 12, "ipv4"],
	["private", "192.168.0.0", 16, "ipv4"],
	["private", "100.64.0.0", 10, "ipv4"], // carrier-grade NAT
	["link-local", "169.254.0.0", 16, "ipv4"], // cloud metadata lives here
	["reserved", "192.0.0.0", 24, "ipv4"], // IETF protocol assignments
	["reserved", "198.18.0.0", 15, "ipv4"], // benchmarking
	["multicast", "224.0.0.0", 4, "ipv4"],
	["reserved", "240.0.0.0", 4, "ipv4"], // reserved and broadcast
	["unspecified", "::", 128, "ipv6"],
	["loopback", "::1", 128, "ipv6"],
	["private", "fc00::", 7, "ipv6"], // unique local
	["link-local", "fe80::", 10, "ipv6"],
	["multicast", "ff00::", 8, "ipv6"],
	["reserved", "64:ff9b::", 96, "ipv6"], // NAT64 reaches IPv4 internals
	["reserved", "64:ff9b:1::", 48, "ipv6"],
	["reserved", "2002::", 16, "ipv6"], // 6to4 embeds an IPv4 address
	["reserved", "100::", 64, "ipv6"], // discard
];

const CLASS_LISTS = new Map<AddressClass, BlockList>();
for (const [cls, network, prefix, family] of RANGES) {
	if (!CLASS_LISTS.has(cls)) CLASS_LISTS.set(cls, new BlockList());
	CLASS_LISTS.get(cls)!.addSubnet(network, prefix, family);
}

/** IPv4 inside IPv6 (`::ffff:127.0.0.1` mapped, `::ffff:0:…` translated, `::127.0.0.1` compatible), else null. */
function embeddedIPv4(canonicalIPv6: string): string | null {
	const m = /^::(?:ffff:(?:0:)?)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonicalIPv6);
	if (!m) return null;
	const hi = Number.parseInt(m[1]!, 16);
	const lo = Number.parseInt(m[2]!, 16);
	return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** What kind of address `ip` is (an IPv4-mapped IPv6 address counts as its IPv4 address). */
export function classifyAddress(ip: string): AddressClass {
	const literal = literalAddress(ip);
	if (literal === null) return "reserved"; // not an address at all: treat as internal
	const family = isIP(literal) === 4 ? "ipv4" : "ipv6";
	if (family === "ipv6") {
		const v4 = embeddedIPv4(literal);
		if (v4 !== null) return classifyAddress(v4);
	}
	for (const [cls, list] of CLASS_LISTS) if (list.check(literal, family)) return cls;
	return "public";
}

export function isInternalAddress(ip: string): boolean {
	return classifyAddress(ip) !== "public";
}

// ---- the allow-list ----

/** Parses CDS_OUTBOUND_ALLOW's items; throws Error naming a bad item (config turns it into a ConfigError). */
export function parseOutboundAllow(items: readonly string[] | undefined): AllowRule[] {
	const rules: AllowRule[] = [];
	for (const raw of items ?? []) {
		const text = raw.trim();
		if (!text) continue;
		const cidr = /^(.+)\/(\d{1,3})$/.exec(text);
		if (cidr) {
			const address = literalAddress(cidr[1]!);
			const prefix = Number(cidr[2]);
			const family = address && isIP(address) === 4 ? "ipv4" : "ipv6";
			if (!address || isIP(address) === 0 || prefix > (family === "ipv4" ? 32 : 128))
				throw new Error(`"${text}" is not a CIDR (e.g. 10.0.0.0/8, fd00::/8)`);
			rules.push({ kind: "cidr", text, address, prefix, family });
			continue;
		}
		const hostPort = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(text);
		if (!hostPort) throw new Error(`"${text}" is neither a CIDR nor host[:port]`);
		const port = hostPort[2] === undefined ? null : Number(hostPort[2]);
		if (port !== null && (port < 1 || port > 65535)) throw new Error(`"${text}": port out of range`);
		const host = hostPort[1]!.toLowerCase().replace(/\.$/, "");
		rules.push({ kind: "host", text, host: literalAddress(host) ?? host, port });
	}
	return rules;
}

function ruleAllows(rule: AllowRule, host: string, port: number | null, address: string): boolean {
	if (rule.kind === "host") {
		if (rule.port !== null && rule.port !== port) return false;
		// A name allows what it resolves to; an address allows itself.
		return rule.host === host || rule.host === address;
	}
	const list = new BlockList();
	list.addSubnet(rule.address, rule.prefix, rule.family);
	const family = isIP(address) === 4 ? "ipv4" : "ipv6";
	if (list.check(address, family)) return true;
	// An IPv4-mapped IPv6 address is its IPv4 address for the rules too.
	const v4 = family === "ipv6" ? embeddedIPv4(address) : null;
	return v4 !== null && rule.family === "ipv4" && list.check(v4, "ipv4");
}

/** Whether `address` (reached for `host`:`port`) is public or allowed by the policy. */
export function addressAllowedBy(
	policy: OutboundPolicy,
	host: string,
	port: number | null,
	address: string,
): boolean {
	const canonical = literalAddress(address) ?? address;
	const name = host
		.toLowerCase()
		.replace(/^\[|\]$/g, "")
		.replace(/\.$/, "");
	return (
		classifyAddress(canonical) === "public" ||
		policy.allow.some((rule) => ruleAllows(rule, literalAddress(name) ?? name, port, canonical))
	);
}

/** A CIDR that allows exactly `address`, for the refusal's suggestion. */
function exactCidr(address: string): string {
	const v4 = isIP(address) === 6 ? embeddedIPv4(address) : null;
	if (v4 !== null) return `${v4}/32`;
	return isIP(address) === 4 ? `${address}/32` : `${address}/128`;
}

export interface OutboundTarget {
	/** What the caller connects to, for messages (a URL, a git remote). */
	label: string;
	/** Host name or literal address, as the URL names it. */
	host: string;
	/** The port the connection goes to (the scheme's default when the URL names none). */
	port: number | null;
}

export interface CheckedTarget {
	host: string;
	port: number | null;
	/** Every address the host resolved to, all allowed; connect to these only. */
	addresses: Array<{ address: string; family: 4 | 6 }>;
}

/**
 * Resolves `target.host` and checks every address; throws OutboundRefusedError naming the
 * address, its class and the CDS_OUTBOUND_ALLOW value that would allow it.
 */
export async function checkOutbound(
	target: OutboundTarget,
	policy: OutboundPolicy,
	resolve: Resolver = defaultResolve,
): Promise<CheckedTarget> {
	const host = target.host
		.toLowerCase()
		.replace(/^\[|\]$/g, "")
		.replace(/\.$/, "");
	if (host === "")
		throw new OutboundRefusedError(`${target.label}: no host to connect to`, OUTBOUND_SETTING, "invalid");
	const literal = literalAddress(host);
	let addresses: Array<{ address: string; family: 4 | 6 }>;
	if (literal !== null) addresses = [{ address: literal, family: isIP(literal) === 4 ? 4 : 6 }];
	else {
		let found: Array<{ address: string; family: number }>;
		try {
			found = await resolve(host);
		} catch (e) {
			throw new OutboundRefusedError(
				`${target.label}: cannot resolve ${host} (${(e as Error).message})`,
				OUTBOUND_SETTING,
				"unresolved",
			);
		}
		addresses = found.map((a) => ({
			address: literalAddress(a.address) ?? a.address,
			family: a.family === 6 ? 6 : 4,
		}));
		if (addresses.length === 0)
			throw new OutboundRefusedError(
				`${target.label}: ${host} has no address`,
				OUTBOUND_SETTING,
				"unresolved",
			);
	}
	// Every address must pass: a name with one public and one internal address is refused.
	for (const { address } of addresses) {
		const cls = classifyAddress(address);
		if (cls === "public") continue;
		if (policy.allow.some((rule) => ruleAllows(rule, host, target.port, address))) continue;
		const via = literal !== null ? "is" : `resolves to ${address}, which is`;
		throw new OutboundRefusedError(
			`${target.label}: ${host} ${via} a ${cls} address; allow it with ${OUTBOUND_SETTING}=${exactCidr(address)}`,
		);
	}
	return { host, port: target.port, addresses };
}

/** Checks an http(s) URL (redirect hops and API bases alike). */
export async function checkOutboundUrl(
	raw: string | URL,
	policy: OutboundPolicy,
	resolve?: Resolver,
): Promise<CheckedTarget & { url: URL }> {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new OutboundRefusedError(`"${String(raw)}" is not a URL`, OUTBOUND_SETTING, "invalid");
	}
	if (url.protocol !== "http:" && url.protocol !== "https:")
		throw new OutboundRefusedError(
			`${url.href}: only http and https URLs are connected to`,
			OUTBOUND_SETTING,
			"invalid",
		);
	const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
	const checked = await checkOutbound({ label: url.origin, host: url.hostname, port }, policy, resolve);
	return { ...checked, url };
}

// ---- connecting to what was checked ----

let undici: Promise<typeof import("undici")> | undefined;
/**
 * undici is loaded on first connection, not with this module: the installed CLI (built for the
 * machine's Node, possibly 20) reaches this module through src/vcs but never connects through
 * it, and undici 8 does not load on Node 20.
 */
function loadUndici(): Promise<typeof import("undici")> {
	undici ??= import("undici");
	return undici;
}

/**
 * An undici dispatcher whose connections go to the checked addresses only, whatever DNS says
 * at connect time (TLS still verifies the certificate against the URL's host name).
 */
export async function pinnedDispatcher(
	checked: CheckedTarget,
	/** For a long-lived stream (an event stream): `bodyTimeout: 0` lets it stay quiet. */
	timeouts: { bodyTimeout?: number } = {},
	/** PEM certificates to trust instead of the system's (a private cluster's CA). */
	ca?: string,
): Promise<Agent> {
	const pinned = checked.addresses;
	const { Agent } = await loadUndici();
	return new Agent({
		...timeouts,
		connect: {
			lookup: (_hostname: string, options: { all?: boolean }, callback: (...args: any[]) => void) => {
				if (options?.all) callback(null, pinned);
				else callback(null, pinned[0]!.address, pinned[0]!.family);
			},
			...(ca ? { ca } : {}),
		} as any,
	});
}

export interface OutboundFetchOptions {
	policy: OutboundPolicy;
	resolve?: Resolver;
	/** Largest answer read (default 8 MiB): an API answer, never a download. */
	maxBytes?: number;
	/** PEM certificates the server's must chain to, instead of the system's (a private CA). */
	ca?: string;
}

const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

async function readBounded(response: Response, maxBytes: number, origin: string): Promise<Uint8Array> {
	const chunks: Uint8Array[] = [];
	let size = 0;
	if (!response.body) return new Uint8Array();
	for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
		size += chunk.byteLength;
		if (size > maxBytes) {
			await response.body.cancel().catch(() => {});
			throw new OutboundRefusedError(
				`${origin}: answer larger than ${maxBytes} bytes`,
				OUTBOUND_SETTING,
				"invalid",
			);
		}
		chunks.push(chunk);
	}
	return Buffer.concat(chunks);
}

/**
 * `fetch` for connections on a project's behalf: the URL is checked, the connection pinned to
 * the checked addresses, and a redirect is never followed (a 3xx answer is an error naming it),
 * so an allowed public API cannot bounce the request (and its token) to an internal address.
 */
export async function outboundFetch(
	input: string | URL,
	init: RequestInit,
	options: OutboundFetchOptions,
): Promise<Response> {
	const checked = await checkOutboundUrl(input, options.policy, options.resolve);
	const dispatcher = await pinnedDispatcher(checked, {}, options.ca || undefined);
	const undiciFetch = (await loadUndici()).fetch;
	try {
		// undici's own fetch: the dispatcher must come from the same undici as the fetch using it.
		const response = (await undiciFetch(checked.url, {
			...(init as Record<string, unknown>),
			redirect: "manual",
			dispatcher,
		})) as unknown as Response;
		if (response.status >= 300 && response.status < 400) {
			await response.body?.cancel().catch(() => {});
			const location = response.headers.get("location");
			throw new OutboundRefusedError(
				`${checked.url.origin}: answered a redirect (HTTP ${response.status}${location ? ` to ${location}` : ""}); redirects are not followed`,
			);
		}
		// Read here (bounded), so the pinned agent can be closed before the caller reads the body.
		const body = await readBounded(response, options.maxBytes ?? MAX_RESPONSE_BYTES, checked.url.origin);
		return new Response(response.status === 204 || response.status === 304 ? null : body, {
			status: response.status,
			statusText: response.statusText,
			headers: response.headers,
		});
	} finally {
		await dispatcher.close().catch(() => {});
	}
}

/** A `fetch`-shaped function bound to a policy (what provider clients take as their fetcher). */
export function outboundFetcher(policy: OutboundPolicy, resolve?: Resolver): typeof fetch {
	return ((input: string | URL | Request, init?: RequestInit) =>
		outboundFetch(
			input instanceof Request ? input.url : input,
			init ?? {},
			resolve ? { policy, resolve } : { policy },
		)) as typeof fetch;
}
