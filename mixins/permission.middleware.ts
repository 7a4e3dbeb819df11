// Per-project authorisation, kantab-style: every action declares what it needs in its
// schema (`permission: { level, project }`) and this middleware enforces it, so no
// handler repeats the rule. Calls that carry no user come from inside the cluster
// (service to service, the ops REPL); the gateway never forwards a request without one.

import type { Context, Middleware } from "moleculer";
import { Errors, Validators } from "moleculer";
import { type AccessLevel, type Principal, canAccess } from "../src/auth/access.ts";

export interface PermissionSpec {
	/** What the caller needs: a level on the project, or "system-admin" (a token bound to no project). */
	level: AccessLevel | "system-admin" | "authenticated" | "worker";
	/** The name of the parameter holding the project key, when the action is about one project. */
	project?: string;
}

declare module "moleculer" {
	interface ActionSchema {
		permission?: PermissionSpec;
		/** One line for the OpenAPI document. */
		summary?: string;
		/** More for the OpenAPI document, when one line is not enough. */
		description?: string;
	}
}

const FORBIDDEN_MESSAGE = "this token does not grant access to this resource";

/**
 * Checks the permission, then validates the parameters: a caller without access gets 403
 * before anything about the request's shape is revealed. The broker's own validator is
 * therefore switched off (`validator: false`) and run here, inside the permission check.
 */
export function PermissionMiddleware(): Middleware {
	const validator = new Validators.Fastest({ useNewCustomCheckerFunction: true });
	// The validator middleware needs only the broker's Promise; actions are wrapped before `created` runs.
	const validate = validator.middleware({ Promise } as any) as unknown as {
		localAction(handler: unknown, action: unknown): unknown;
		localEvent(handler: unknown, event: unknown): unknown;
	};
	return {
		name: "Permission",
		localEvent(handler: (...args: unknown[]) => unknown, event: unknown) {
			// Compiled on first delivery, like the actions' below.
			let validated: ((...args: unknown[]) => unknown) | undefined;
			return function validatedEvent(this: unknown, ...args: unknown[]) {
				validated ??= validate.localEvent(handler, event) as (...args: unknown[]) => unknown;
				return validated.apply(this, args);
			};
		},
		localAction(
			handler: (ctx: Context) => Promise<unknown>,
			action: { name: string; permission?: PermissionSpec },
		) {
			// The parameters' checker is compiled on the action's first call, not at start: a node
			// compiles only the schemas it is asked for (an embedded `cds run` node calls a handful of
			// several hundred actions; compiling them all took ~70 ms of its start).
			let compiled: ((ctx: Context) => Promise<unknown>) | undefined;
			const validated = (ctx: Context) => {
				compiled ??= validate.localAction(handler, action) as (ctx: Context) => Promise<unknown>;
				return compiled(ctx);
			};
			const spec = action.permission;
			if (!spec) return validated;
			return function checkPermission(ctx: Context) {
				const user = (ctx.meta as { user?: Principal }).user;
				if (!user) return validated(ctx);
				// Worker tokens reach the worker routes and nothing else; other tokens never reach those.
				if (spec.level === "worker") {
					if (user.job) return validated(ctx);
					throw forbidden();
				}
				if (user.job) throw forbidden();
				if (spec.level === "authenticated") return validated(ctx);
				if (spec.level === "system-admin") {
					if (user.project === null && user.role === "admin") return validated(ctx);
					throw forbidden();
				}
				const project = spec.project ? (ctx.params as Record<string, unknown>)[spec.project] : undefined;
				if (!canAccess(user, typeof project === "string" ? project : null, spec.level)) throw forbidden();
				return validated(ctx);
			};
		},
	} as Middleware;
}

function forbidden() {
	// Deliberately the same message whether the project exists or not.
	return new Errors.MoleculerClientError(FORBIDDEN_MESSAGE, 403, "FORBIDDEN");
}
