// The Marathon hook: follows Marathon's event stream (`GET <url>/v2/events`, Server-Sent Events,
// `?event_type=` for the types the binding wants, HTTP basic auth from its Marathon integration)
// and starts a run per event matching the binding's filters. A stream is pulled, so it runs on the
// one leader replica (src/hooks/leadership.ts); a stream that ends or fails is reconnected by the
// source with backoff and jitter. Marathon keeps no history: events sent while no replica was
// connected (a leader change, a reconnection) are not seen. Each event is stored under its own
// identity (type, task or instance or deployment, status, timestamp), so an event read twice —
// by a leader and its successor in the same moment — starts one run.

import { checkOutboundUrl, type OutboundPolicy, pinnedDispatcher } from "../../net/outbound-policy.ts";
import {
	type BindingListener,
	BindingSource,
	type BindingSourceSettings,
	type ListenContext,
} from "../binding-source.ts";
import { hookTypesOfSource } from "../hook-types.ts";
import {
	appIdsOf,
	marathonEventKey,
	marathonFilterOf,
	marathonMatches,
	parseMarathonEvent,
} from "../marathon-events.ts";
import { SseParser } from "../sse.ts";

export interface MarathonDeps {
	/** The server's outbound policy (CDS_OUTBOUND_ALLOW). */
	outbound: OutboundPolicy;
}

/** The event stream URL of a Marathon at `base`, asking for these event types. */
export function eventStreamUrl(base: string, eventTypes: readonly string[]): URL {
	const url = new URL("v2/events", base.endsWith("/") ? base : `${base}/`);
	for (const t of eventTypes) url.searchParams.append("event_type", t);
	return url;
}

export class MarathonSource extends BindingSource<BindingSourceSettings> {
	readonly name = "marathon";
	readonly idPrefix = "marathon";
	readonly hookTypes = hookTypesOfSource("marathon");
	readonly activeOn = "leader" as const;
	#deps: MarathonDeps;

	constructor(deps: MarathonDeps) {
		super();
		this.#deps = deps;
	}

	protected async listen(ctx: ListenContext): Promise<BindingListener> {
		const integration = ctx.binding.integration;
		const base = integration?.config.url;
		if (!integration || !base) throw new Error("the Marathon integration has no url");
		const filter = marathonFilterOf(ctx.binding.config);
		const url = eventStreamUrl(base, filter.eventTypes);
		const checked = await checkOutboundUrl(url, this.#deps.outbound);
		// Marathon may stay quiet for long: no body timeout on this connection.
		const dispatcher = await pinnedDispatcher(checked, { bodyTimeout: 0 });
		const stop = new AbortController();
		const signal = AbortSignal.any([ctx.signal, stop.signal]);
		const headers: Record<string, string> = { accept: "text/event-stream" };
		const { username, password } = integration.config;
		if (username)
			headers.authorization = `Basic ${Buffer.from(`${username}:${password ?? ""}`).toString("base64")}`;
		let response: Response;
		try {
			const { fetch } = await import("undici");
			response = (await fetch(checked.url, {
				headers,
				redirect: "manual",
				dispatcher,
				signal,
			})) as unknown as Response;
		} catch (e) {
			await dispatcher.close().catch(() => {});
			throw new Error(`${url.origin}: ${(e as Error).message}`);
		}
		if (response.status !== 200 || !response.body) {
			await response.body?.cancel().catch(() => {});
			await dispatcher.close().catch(() => {});
			throw new Error(`${url.origin}/v2/events answered HTTP ${response.status}`);
		}
		const body = response.body;
		const loop = (async () => {
			const parser = new SseParser();
			try {
				for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
					for (const sse of parser.feed(chunk)) {
						const event = parseMarathonEvent(sse.data);
						if (!event || !marathonMatches(event, filter)) continue;
						const appId = appIdsOf(event)[0] ?? "";
						const vars: Record<string, string> = { event_type: event.eventType, app_id: appId };
						if (typeof event.taskStatus === "string") vars.task_status = event.taskStatus;
						if (typeof event.taskId === "string") vars.task_id = event.taskId;
						// One at a time and in order; the stream waits while the store takes each.
						await ctx.emit(
							{
								payload: event,
								vars,
								origin: {
									event_type: event.eventType,
									app_id: appId,
									...(typeof event.timestamp === "string" ? { timestamp: event.timestamp } : {}),
								},
							},
							marathonEventKey(event),
						);
					}
				}
				if (!signal.aborted) ctx.fail(new Error(`${url.origin}/v2/events: the event stream ended`));
			} catch (e) {
				if (!signal.aborted) ctx.fail(new Error(`${url.origin}/v2/events: ${(e as Error).message}`));
			} finally {
				await dispatcher.destroy().catch(() => {});
			}
		})();
		ctx.ok();
		return {
			stop: async () => {
				stop.abort();
				await body.cancel().catch(() => {});
				await loop;
			},
		};
	}
}
