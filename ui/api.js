// The web UI's calls to the REST API, authenticated by the HttpOnly session cookie (the browser
// sends it; scripts never see it). Writes carry the session's CSRF token in a header, kept in
// memory only — never in localStorage. Errors come back as the API's {code, type, message}.

let csrf = "";
let user = null;

export class ApiError extends Error {
	constructor(status, body) {
		super(body?.message ?? `HTTP ${status}`);
		this.status = status;
		this.body = body;
	}
}

export const API = "/api/v1";

export function seg(s) {
	return encodeURIComponent(String(s));
}

async function call(method, path, body) {
	const headers = { accept: "application/json" };
	if (method !== "GET" && method !== "HEAD") headers["x-cds-csrf"] = csrf;
	if (body !== undefined) headers["content-type"] = "application/json";
	const res = await fetch(path, {
		method,
		headers,
		body: body === undefined ? undefined : JSON.stringify(body),
		credentials: "same-origin",
	});
	const text = await res.text();
	let parsed;
	try {
		parsed = text ? JSON.parse(text) : undefined;
	} catch {
		parsed = { message: text };
	}
	if (!res.ok) {
		if (res.status === 401 && path !== `${API}/ui/session`) window.dispatchEvent(new Event("cds:signed-out"));
		throw new ApiError(res.status, parsed);
	}
	return parsed;
}

export const get = (path) => call("GET", `${API}${path}`);
export const post = (path, body) => call("POST", `${API}${path}`, body ?? {});

/** The signed-in user, or null (then the sign-in page shows). */
export async function loadSession() {
	try {
		const s = await call("GET", `${API}/ui/session`);
		csrf = s.csrf;
		user = s.user;
	} catch (e) {
		if (!(e instanceof ApiError) || e.status !== 401) throw e;
		user = null;
	}
	return user;
}

export async function signIn(token) {
	const s = await call("POST", `${API}/ui/session`, { token });
	csrf = s.csrf;
	user = s.user;
	return user;
}

export async function signOut() {
	await call("DELETE", `${API}/ui/session`);
	csrf = "";
	user = null;
}

export const currentUser = () => user;

const RANK = { read: 1, write: 2, admin: 3 };

/** Whether the signed-in token may act at `level` on `project` — the API's own rule (src/auth/access.ts). */
export function can(project, level) {
	if (!user) return false;
	if (user.project === null) return RANK[user.role] >= RANK[level];
	return user.project === project && RANK[user.role] >= RANK[level];
}

/** Every item of a paginated listing ({items, next}), up to `max`. */
export async function all(path, max = 500) {
	const items = [];
	let cursor = "";
	for (;;) {
		const sep = path.includes("?") ? "&" : "?";
		const page = await get(`${path}${cursor ? `${sep}cursor=${seg(cursor)}` : ""}`);
		items.push(...(page.items ?? []));
		if (!page.next || items.length >= max) return items;
		cursor = page.next;
	}
}
