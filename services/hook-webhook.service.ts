// `hook-webhook`: the signed webhook receiver (src/hooks/sources/webhook.ts) as a service. The
// gateway's /api/v1/hooks route calls `receive` with the raw body; the answer is sent only once
// the event is stored (202) or known (200 duplicate).

import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import type { Config } from "../config/index.ts";
import { hookProcessorOf } from "./support/hook-node.ts";
import {
	type DeliveryParams,
	type ReceiveResult,
	WebhookRefusal,
	WebhookSource,
} from "../src/hooks/sources/webhook.ts";
import { IntakeUnavailableError } from "../src/hooks/intake.ts";
import { HookSourceMixin, type HookSourceOptions, type HookSourceThis } from "../mixins/hook-source.mixin.ts";

const { MoleculerClientError, MoleculerRetryableError } = Errors;
const REFUSAL_TYPES = { 400: "BAD_REQUEST", 401: "UNAUTHORIZED", 404: "NOT_FOUND" } as const;

export default function HookWebhookService(
	config: Config,
	options: HookSourceOptions = {},
): ServiceSchema<any, any, any, any> {
	return {
		name: "hook-webhook",
		mixins: [
			HookSourceMixin(
				() => new WebhookSource(),
				() => ({ repositoryCacheMs: config.hooks.repositoryCacheMs }),
				options,
			),
		],
		actions: {
			/** Called by the gateway's /api/v1/hooks route with the raw body (base64): verify, insert, answer. */
			receive: {
				visibility: "public",
				params: {
					uuid: { type: "string", min: 1, max: 128 },
					headers: { type: "record", key: { type: "string" }, value: { type: "string" } },
					body: { type: "string" },
				},
				async handler(
					this: HookSourceThis<WebhookSource>,
					ctx: Context<DeliveryParams>,
				): Promise<ReceiveResult> {
					const processor = hookProcessorOf(this.broker);
					if (processor) processor.lastDeliveryAt = Date.now();
					try {
						return await this.source.receive(ctx.params);
					} catch (e) {
						if (e instanceof WebhookRefusal)
							throw new MoleculerClientError(e.message, e.status, REFUSAL_TYPES[e.status]);
						// Not stored as far as anyone knows: the provider redelivers, and the same body
						// lands on the same event id (stored once, or answered "duplicate").
						if (e instanceof IntakeUnavailableError)
							throw new MoleculerRetryableError(e.message, 503, "SERVICE_UNAVAILABLE");
						throw e;
					}
				},
			},
		},
	};
}
