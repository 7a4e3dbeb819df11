// The auth service's stored documents and the answers other services get from it.

import type { AccessLevel } from "../src/auth/access.ts";
import type { Doc } from "../src/store/types.ts";

export interface TokenDoc extends Doc {
	hash: string;
	project: string | null;
	role: AccessLevel;
	name: string;
	created: string;
	expiresAt: string | null;
	revoked: boolean;
	/** Worker tokens: the job attempt and run they are scoped to. */
	job?: string;
	run?: string;
}

/** `auth.resolve`: who a bearer token is, or null (unknown, revoked, expired). */
export type { Principal } from "../src/auth/access.ts";
import type { Principal } from "../src/auth/access.ts";

/**
 * `auth.issueJobToken`: a token scoped to one job attempt (shown once), its id, and its hash,
 * which the job's booking keeps: the token is valid while the booking holds it.
 */
export interface JobToken {
	token: string;
	id: string;
	hash: string;
}

/** A web UI session (src/ui/session.ts): the hash of its cookie value, the token it was opened with. */
export interface SessionDoc extends Doc {
	tokenId: string;
	/** Sent back in the CSRF header by every cookie-authenticated write. */
	csrf: string;
	created: string;
	expiresAt: string;
}

/** `auth.openSession`: the cookie value (shown once), the CSRF token and who signed in. */
export interface OpenedSession {
	session: string;
	csrf: string;
	expiresAt: string;
	principal: Principal;
}

/** `auth.resolveSession`: who a session cookie is and its CSRF token, or null (unknown, expired, token revoked). */
export interface ResolvedSession {
	principal: Principal;
	csrf: string;
	expiresAt: string;
}
