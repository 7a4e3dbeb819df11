// Where hook sources find their bindings: the workflow service keeps, per workflow, the served
// hooks of its default-branch definition (`workflow_hooks`), and opens the integrations they name
// when a source asks. The pure part of that: which hooks are served, and the bindings they make.

import type { Doc } from "../store/types.ts";
import type { IntegrationsForJobAnswer } from "../integrations/model.ts";
import type { WorkflowHook } from "../workflow/model.ts";
import { bindingId, type BoundIntegration, type HookBinding } from "./bindings.ts";
import { hookType } from "./hook-types.ts";

export interface WorkflowHooksDoc extends Doc {
	project: string;
	workflow: string;
	hooks: WorkflowHook[];
	updated: string;
}

/**
 * The hooks a hook source may serve, in the store's subset: the types of the table with a source,
 * and types the table does not know — a source loaded from CDS_HOOK_SOURCES may declare them
 * (docs/hook-sdk.md); the linter warns about them, as about any unknown type.
 */
export function servedHooks(hooks: readonly WorkflowHook[]): WorkflowHook[] {
	return hooks
		.filter((h) => {
			const spec = hookType(h.type);
			return spec ? spec.source !== null : true;
		})
		.map((h) => ({ node: h.node, type: h.type, config: { ...h.config }, ...(h.ref ? { ref: h.ref } : {}) }))
		.map((h) => h as WorkflowHook);
}

export interface BindingDraft {
	project: string;
	workflow: string;
	hook: WorkflowHook;
}

/**
 * The bindings of these hooks, each integration opened with `openIntegrations` (one call per
 * project). A hook whose integration cannot be opened, or is of a model its type does not take,
 * becomes a binding with a `problem` and no integration: the source reports it, serves nothing.
 */
export async function openBindings(
	drafts: readonly BindingDraft[],
	openIntegrations: (project: string, names: string[]) => Promise<IntegrationsForJobAnswer>,
): Promise<HookBinding[]> {
	const byProject = new Map<string, Set<string>>();
	for (const d of drafts) {
		const name = d.hook.config["integration"];
		if (!name) continue;
		const names = byProject.get(d.project) ?? new Set<string>();
		names.add(name);
		byProject.set(d.project, names);
	}
	const opened = new Map<string, BoundIntegration>();
	const failures = new Map<string, string>();
	for (const [project, names] of byProject) {
		for (const name of names) {
			// One at a time: a missing integration answers 404 for the whole call.
			try {
				const answer = await openIntegrations(project, [name]);
				const i = answer.integrations[0];
				if (!i) throw new Error("not found");
				const config: Record<string, string> = {};
				for (const [k, s] of Object.entries(i.config)) config[k] = String(s.value ?? "");
				opened.set(`${project}/${name}`, { name: i.name, model: i.model, config });
			} catch (e) {
				failures.set(`${project}/${name}`, (e as Error).message);
			}
		}
	}
	return drafts.map((d) => {
		const name = d.hook.config["integration"];
		const integration = name ? (opened.get(`${d.project}/${name}`) ?? null) : null;
		const base = {
			project: d.project,
			workflow: d.workflow,
			node: d.hook.node,
			type: d.hook.type,
			config: { ...d.hook.config },
			integration,
		};
		const binding: HookBinding = { id: bindingId(base), ...base };
		const problem = bindingProblem(d.hook, name, integration, failures.get(`${d.project}/${name}`));
		if (problem) binding.problem = problem;
		return binding;
	});
}

function bindingProblem(
	hook: WorkflowHook,
	name: string | undefined,
	integration: BoundIntegration | null,
	failure: string | undefined,
): string | null {
	const spec = hookType(hook.type);
	if (!name) return spec?.integrationModels ? `the '${hook.type}' hook names no integration` : null;
	if (!integration) return `integration '${name}' cannot be used: ${failure ?? "not found"}`;
	if (spec?.integrationModels && !spec.integrationModels.includes(integration.model)) {
		return `integration '${name}' is a ${integration.model}; a '${hook.type}' hook takes ${spec.integrationModels.join(" or ")}`;
	}
	return null;
}
