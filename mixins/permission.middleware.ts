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
		localEvent(handler: unknown, event: unknown) {
			return validate.localEvent(handler, event);
		},
		localAction(
			handler: (ctx: Context) => Promise<unknown>,
			action: { name: string; permission?: PermissionSpec },
		) {
			const validated = validate.localAction(handler, action) as (ctx: Context) => Promise<unknown>;
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
