// Hook sources written outside CDS-TS (docs/hook-sdk.md): CDS_HOOK_SOURCES names their modules;
// each module's default export is a source (a `HookSource` — usually a `BindingSource` of
// `cds-ts/hooks` — an instance, a class, or a function returning one). Each runs as the service
// `hook-<name>` beside the hook processor, selected like the built-in ones in SERVICES. A module
// that cannot be loaded, or a name taken or asked for and not served, stops the node (exit 2).

import type { ServiceSchema } from "moleculer";
import { type Config, ConfigError, HOOK_SOURCE_SERVICES } from "../../config/index.ts";
import { pathToFileURL } from "node:url";
import { BindingSourceMixin, bindingSettings } from "../../mixins/binding-source.mixin.ts";
import { HookSourceMixin } from "../../mixins/hook-source.mixin.ts";
import type { BindingSource } from "../../src/hooks/binding-source.ts";
import { hookType } from "../../src/hooks/hook-types.ts";
import type { HookSource } from "../../src/hooks/source.ts";

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Whether a value is a source: the contract of src/hooks/source.ts, checked by shape (it comes from another copy of the SDK). */
function isSource(value: unknown): value is HookSource<any> {
	const s = value as HookSource<any> | null;
	return (
		typeof s === "object" &&
		s !== null &&
		typeof s.name === "string" &&
		typeof s.idPrefix === "string" &&
		typeof s.start === "function" &&
		typeof s.stop === "function" &&
		typeof s.health === "function"
	);
}

/** A BindingSource (of any copy of the SDK): it serves workflow hooks of its `hookTypes`. */
function isBindingSource(source: HookSource<any>): source is BindingSource<any> {
	const s = source as Partial<BindingSource<any>>;
	return Array.isArray(s.hookTypes) && typeof s.refresh === "function" && typeof s.bindings === "function";
}

async function sourceOf(file: string): Promise<HookSource<any>> {
	let mod: { default?: unknown };
	try {
		mod = await import(pathToFileURL(file).href);
	} catch (e) {
		throw new ConfigError(`CDS_HOOK_SOURCES: ${file} cannot be loaded: ${(e as Error).message}`);
	}
	let made: unknown = mod.default;
	if (typeof made === "function") {
		const fn = made as (...args: unknown[]) => unknown;
		try {
			made = /^class[\s{]/.test(Function.prototype.toString.call(fn))
				? new (fn as unknown as new () => unknown)()
				: await fn();
		} catch (e) {
			throw new ConfigError(`CDS_HOOK_SOURCES: ${file}: making its source failed: ${(e as Error).message}`);
		}
	}
	if (!isSource(made))
		throw new ConfigError(
			`CDS_HOOK_SOURCES: ${file} must export by default a hook source (name, idPrefix, start, stop, health), a class or a function making one`,
		);
	if (!NAME.test(made.name))
		throw new ConfigError(
			`CDS_HOOK_SOURCES: ${file}: source name '${made.name}' must be lower-case letters, digits and '-' (at most 40)`,
		);
	return made;
}

/** The services of the CDS_HOOK_SOURCES this node runs (none when it runs none of them). */
export async function userHookServices(config: Config): Promise<ServiceSchema<any, any, any, any>[]> {
	const modules = config.hooks.sourceModules;
	if (modules.length === 0) return [];
	const sources = new Map<string, HookSource<any>>();
	for (const file of modules) {
		const source = await sourceOf(file);
		const service = `hook-${source.name}`;
		if ((HOOK_SOURCE_SERVICES as readonly string[]).includes(service) || sources.has(service))
			throw new ConfigError(`CDS_HOOK_SOURCES: ${file}: the service ${service} exists already`);
		// A type of the table is CDS-TS's: two sources serving one hook would start each run twice.
		const taken = isBindingSource(source) ? source.hookTypes.filter((t) => hookType(t)) : [];
		if (taken.length > 0)
			throw new ConfigError(
				`CDS_HOOK_SOURCES: ${file}: hook type ${taken.map((t) => `'${t}'`).join(", ")} is CDS-TS's own; declare a type of your own (docs/hook-sdk.md)`,
			);
		sources.set(service, source);
	}
	const wanted = config.userHookServices === "all" ? [...sources.keys()] : config.userHookServices;
	for (const name of wanted)
		if (!sources.has(name))
			throw new ConfigError(
				`SERVICES names ${name}, which neither CDS-TS nor CDS_HOOK_SOURCES serves (loaded: ${[...sources.keys()].join(", ")})`,
			);
	return wanted.map((name) => {
		const source = sources.get(name)!;
		// Every loaded source is given the binding settings (a BindingSource needs them; a plain
		// HookSource's schema may take them or not): its own settings are its module's business.
		const settings = () => bindingSettings(config);
		return {
			name,
			mixins: [
				isBindingSource(source)
					? BindingSourceMixin(() => source, settings)
					: HookSourceMixin(() => source, settings),
			],
		};
	});
}
