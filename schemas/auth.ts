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

/** `auth.issueJobToken`: a token scoped to one job attempt (shown once) and its id, to revoke it. */
export interface JobToken {
	token: string;
	id: string;
}
