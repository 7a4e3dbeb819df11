// Webhook signature checks, one per provider. Every comparison is timing-safe, and the
// scheme a repository accepts depends on its manager, so a GitHub repository cannot be
// fed a GitLab-style plain token (a weaker proof) instead of an HMAC.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export type HookProvider = "github" | "gitea" | "forgejo" | "gitlab" | "bitbucket";
export type RepositoryManager = "github" | "gitlab" | "gitea" | "bitbucket" | "git";

/** Lower-cased header names to their (first) value. */
export type HeaderMap = Readonly<Record<string, string | undefined>>;

/** Which delivery formats a repository of each manager accepts. */
export const PROVIDERS_BY_MANAGER: Record<RepositoryManager, readonly HookProvider[]> = {
	github: ["github"],
	gitlab: ["gitlab"],
	gitea: ["gitea", "forgejo"],
	bitbucket: ["bitbucket"],
	// A plain git remote has no provider: any HMAC-signed format is accepted, never a bare token.
	git: ["github", "gitea", "forgejo", "bitbucket"],
};

/** The headers a provider signs or identifies its deliveries with (what the gateway forwards). */
export const HOOK_HEADERS = [
	"content-type",
	"x-hub-signature-256",
	"x-hub-signature",
	"x-github-event",
	"x-github-delivery",
	"x-gitea-signature",
	"x-gitea-event",
	"x-gitea-delivery",
	"x-forgejo-signature",
	"x-forgejo-event",
	"x-forgejo-delivery",
	"x-gitlab-token",
	"x-gitlab-event",
	"x-gitlab-event-uuid",
	"x-event-key",
	"x-request-id",
] as const;

/** Recognises the delivery format from its headers (Forgejo and Gitea before GitHub: they also send GitHub's headers). */
export function detectProvider(headers: HeaderMap): HookProvider | null {
	if (headers["x-forgejo-signature"] !== undefined || headers["x-forgejo-event"] !== undefined)
		return "forgejo";
	if (headers["x-gitea-signature"] !== undefined || headers["x-gitea-event"] !== undefined) return "gitea";
	if (headers["x-gitlab-token"] !== undefined || headers["x-gitlab-event"] !== undefined) return "gitlab";
	if (headers["x-event-key"] !== undefined) return "bitbucket";
	if (headers["x-hub-signature-256"] !== undefined || headers["x-github-event"] !== undefined)
		return "github";
	return null;
}

export function hmacSha256Hex(secret: string, body: Uint8Array): string {
	return createHmac("sha256", secret).update(body).digest("hex");
}

/** Constant-time equality of two strings of any length (hashing first equalises the lengths). */
export function safeEqual(a: string, b: string): boolean {
	const ha = createHash("sha256").update(a).digest();
	const hb = createHash("sha256").update(b).digest();
	return timingSafeEqual(ha, hb) && a.length === b.length;
}

function hexMatches(expectedHex: string, given: string | undefined): boolean {
	if (typeof given !== "string" || !/^[0-9a-fA-F]{64}$/.test(given)) return false;
	return timingSafeEqual(Buffer.from(expectedHex, "hex"), Buffer.from(given.toLowerCase(), "hex"));
}

function prefixedHex(value: string | undefined): string | undefined {
	if (typeof value !== "string" || !value.startsWith("sha256=")) return undefined;
	return value.slice("sha256=".length);
}

export type SignatureVerdict = { ok: true; provider: HookProvider } | { ok: false; reason: string };

/**
 * Checks that `body` (the exact bytes received) was sent by someone knowing `secret`, in one of
 * the formats the repository's manager allows:
 * - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
 * - Gitea / Forgejo: `X-Gitea-Signature` / `X-Forgejo-Signature: <hex HMAC-SHA256 of the body>`
 * - GitLab: `X-Gitlab-Token: <the secret itself>`
 * - Bitbucket Server: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`
 */
export function verifySignature(
	manager: RepositoryManager,
	headers: HeaderMap,
	body: Uint8Array,
	secret: string,
): SignatureVerdict {
	if (!secret) return { ok: false, reason: "the repository has no webhook secret" };
	const provider = detectProvider(headers);
	if (!provider) return { ok: false, reason: "no known webhook signature header" };
	if (!PROVIDERS_BY_MANAGER[manager].includes(provider)) {
		return { ok: false, reason: `a ${manager} repository does not accept ${provider} deliveries` };
	}
	if (provider === "gitlab") {
		const token = headers["x-gitlab-token"];
		return typeof token === "string" && safeEqual(token, secret)
			? { ok: true, provider }
			: { ok: false, reason: "X-Gitlab-Token does not match" };
	}
	const expected = hmacSha256Hex(secret, body);
	const given =
		provider === "github"
			? prefixedHex(headers["x-hub-signature-256"])
			: provider === "bitbucket"
				? prefixedHex(headers["x-hub-signature"])
				: provider === "gitea"
					? headers["x-gitea-signature"]
					: headers["x-forgejo-signature"];
	return hexMatches(expected, given)
		? { ok: true, provider }
		: { ok: false, reason: `${provider} signature does not match` };
}
