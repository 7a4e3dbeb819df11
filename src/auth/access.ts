// Who may do what. A principal is what a token resolves to: a role, and the project it is
// bound to (null for a system token, which only an administrator holds).

export type AccessLevel = "read" | "write" | "admin";

export interface Principal {
	id: string;
	role: AccessLevel;
	project: string | null;
	/** Set on job-scoped worker tokens (run engine): the one job attempt the token serves. */
	job?: string;
	/** The run of that job (a worker may read its own run's artifacts). */
	run?: string;
}

const RANK: Record<AccessLevel, number> = { read: 1, write: 2, admin: 3 };

export function isSystemAdmin(p: Principal): boolean {
	return p.project === null && p.role === "admin";
}

/**
 * May `p` act at `level` on `project`? `project` null means "not about one project"
 * (e.g. creating a project), which only a system token allows.
 */
export function canAccess(p: Principal, project: string | null, level: AccessLevel): boolean {
	if (p.job) return false; // worker tokens only reach the job routes of the run engine
	if (p.project === null) return RANK[p.role] >= RANK[level] && (project !== null || p.role === "admin");
	if (project === null || project !== p.project) return false;
	return RANK[p.role] >= RANK[level];
}
