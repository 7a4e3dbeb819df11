// Builds a run engine (src/engine/run-engine.ts): its repository over the broker's store, and
// its ports as Moleculer calls and events. The run service and the worker API service, hosted
// together, share one engine per store: what it keeps in memory (definitions, the runs this node
// wrote last, jobs it just booked) only spares reads, each checked against the store's truth
// (run-lock generations, job results), so a job booked by one service is started by the other
// without reading back what was just written.

import { callAction } from "./call.ts";
import type { Logger, ServiceBroker } from "moleculer";
import type { Config } from "../../config/index.ts";
import type { RunPorts } from "../../src/engine/ports.ts";
import { RunEngine } from "../../src/engine/run-engine.ts";
import { RunRepository } from "../../src/engine/run-repository.ts";
import { conflict, invalid, notFound } from "./errors.ts";
import { storeOf } from "../../mixins/store.mixin.ts";
import { RunConflictError, RunInputError, RunNotFoundError } from "../../src/engine/errors.ts";

export function runPorts(broker: ServiceBroker, logger: Logger): RunPorts {
	// As the system, not as a caller: a worker's token reaches only the worker routes.
	const system = { meta: { user: undefined } };
	return {
		issueJobToken: (p) => callAction(broker, "auth.issueJobToken", p),
		async revokeJobToken(p) {
			await callAction(broker, "auth.revokeJobToken", p);
		},
		definition: (ref) =>
			callAction(
				broker,
				"workflow.get",
				{ key: ref.project, name: ref.workflow, branch: ref.branch, version: ref.version },
				system,
			),
		emit: (event, payload) => void broker.emit(event, payload),
		broadcast: (event, payload) => void broker.broadcast(event, payload),
		warn: (message) => logger.warn(message),
	};
}

const engines = new WeakMap<ServiceBroker, { store: object; engine: Promise<RunEngine> }>();

export function openRunEngine(broker: ServiceBroker, config: Config, logger: Logger): Promise<RunEngine> {
	const store = storeOf(broker);
	const known = engines.get(broker);
	if (known?.store === store) return known.engine;
	const engine = RunRepository.open(store).then(
		(repo) =>
			new RunEngine({ repo, ports: runPorts(broker, logger), settings: config.run, owner: broker.nodeID }),
	);
	// A failed open (store unavailable) is tried again by the next caller.
	engine.catch(() => {
		if (engines.get(broker)?.engine === engine) engines.delete(broker);
	});
	engines.set(broker, { store, engine });
	return engine;
}

/** The engine's refusals as client errors (404, 409); anything else unchanged. */
export function clientError(e: unknown): unknown {
	if (e instanceof RunNotFoundError) return notFound(e.what, e.data);
	if (e instanceof RunConflictError) return conflict(e.message, e.data);
	if (e instanceof RunInputError) return invalid(e.message, [{ field: e.field, message: e.message }]);
	return e;
}

/** Runs `fn`, reporting the engine's refusals as client errors. */
export async function engineCall<T>(fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (e) {
		throw clientError(e);
	}
}
