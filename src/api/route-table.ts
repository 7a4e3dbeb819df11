// The REST routes the services declare (`rest` on their actions), known without the services
// being up: the gateway tells a route whose service is away for a moment (503, retry) from a
// path nothing serves (404). Paths are built as moleculer-web's auto-aliases build them.

export interface RestRoute {
	/** Upper-case HTTP method, or "*" for any. */
	method: string;
	/** Full path with `:name` parameters, e.g. `/api/v1/projects/:key`. */
	path: string;
	/** The action it calls, `service.action`. */
	action: string;
}

/** The parts of a service schema that say which routes it serves. */
export interface RoutedSchema {
	name: string;
	settings?: { rest?: unknown };
	actions?: Record<string, unknown>;
	mixins?: unknown[];
}

type RestSpec = string | { method?: string; path?: string; basePath?: string };

const slashes = (s: string) => `${s.startsWith("/") ? "" : "/"}${s}${s.endsWith("/") ? "" : "/"}`;
const normalise = (s: string) => `/${s.replace(/\/{2,}/g, "/").replace(/^\/|\/$/g, "")}`;

/** The schema's actions with those of its mixins (the schema's own win, as in Moleculer). */
function actionsOf(schema: RoutedSchema): Record<string, unknown> {
	const merged: Record<string, unknown> = {};
	for (const mixin of schema.mixins ?? []) {
		if (mixin && typeof mixin === "object") Object.assign(merged, actionsOf(mixin as RoutedSchema));
	}
	return Object.assign(merged, schema.actions ?? {});
}

/** One route per `rest` declaration of a published action, under `prefix` (e.g. `/api/v1`). */
export function restRoutes(schemas: RoutedSchema[], prefix: string): RestRoute[] {
	const routes: RestRoute[] = [];
	for (const schema of schemas) {
		const rest = schema.settings?.rest;
		const basePaths = typeof rest === "string" ? [rest] : Array.isArray(rest) ? rest : [schema.name];
		for (const [key, def] of Object.entries(actionsOf(schema))) {
			if (!def || typeof def !== "object") continue;
			const action = def as { rest?: RestSpec | RestSpec[]; visibility?: string; name?: string };
			if (!action.rest || (action.visibility != null && action.visibility !== "published")) continue;
			const name = `${schema.name}.${action.name ?? key}`;
			for (const base of basePaths) {
				const basePath = slashes(typeof base === "string" ? base : schema.name);
				for (const spec of Array.isArray(action.rest) ? action.rest : [action.rest]) {
					let method = "*";
					let path: string;
					if (typeof spec === "string") {
						const parts = spec.trim().split(/\s+/);
						if (parts.length > 1) [method, path] = [parts[0], basePath + parts[1]];
						else path = basePath + spec;
					} else {
						method = spec.method ?? "*";
						path = (spec.basePath ?? basePath) + (spec.path ?? key);
					}
					routes.push({ method: method.toUpperCase(), path: normalise(`${prefix}/${path}`), action: name });
				}
			}
		}
	}
	return routes;
}

/** The route serving `method path` (no query string), or undefined when none does. */
export function matchRoute(routes: RestRoute[], method: string, path: string): RestRoute | undefined {
	const wanted = normalise(path).split("/");
	const verb = method.toUpperCase();
	return routes.find((route) => {
		if (route.method !== "*" && route.method !== verb) return false;
		const pattern = route.path.split("/");
		if (pattern.length !== wanted.length) return false;
		return pattern.every((seg, i) => (seg.startsWith(":") ? wanted[i] !== "" : seg === wanted[i]));
	});
}
