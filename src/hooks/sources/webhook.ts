// The webhook receiver as a hook source: verifies a provider's signed delivery against the
// repository's secret, parses it into git changes and emits one event per signed body, keyed by
// the repository and a SHA-256 of the exact bytes received. The answer (202 / 200 duplicate) is
// given only once `emit` has resolved, i.e. once the event is stored.
//
// Why the body and not the provider's delivery id: the id is a header outside the signature, so
// anyone who saw one signed delivery could replay its body under fresh ids (or none, or in another
// provider's header form) and start a run each time. A real redelivery carries the same body, so
// it still lands on the same key and answers "duplicate"; the delivery id stays in the event's
// `origin` for operators. The key is decided by the intake's unique insert (atomic on every
// backend), so two identical deliveries racing give one event, and it holds as long as the event
// is kept (CDS_HOOKS_EVENT_RETENTION_MS). GitLab's X-Gitlab-Token proves the sender but does not
// sign the body; its deliveries are de-duplicated the same way. No delivery is accepted unsigned.

import { createHash } from "node:crypto";
import { intentOfChange } from "../events.ts";
import { HookPayloadError, parseDelivery } from "../payload.ts";
import { EmitTally, type HookSource, type HookSourceContext, type RepositoryDoc } from "../source.ts";
import { type HeaderMap, verifySignature } from "../signature.ts";

export interface WebhookSettings {
	/** How long a repository's webhook secret is cached (ms). */
	repositoryCacheMs: number;
}

/** What the gateway's webhook route passes on: the hook's uuid, the signature headers, the raw body (base64). */
export interface DeliveryParams {
	uuid: string;
	headers: Record<string, string>;
	body: string;
}

/** What the gateway's webhook route receives back: the HTTP status and body to answer. */
export interface ReceiveResult {
	status: 200 | 202;
	body: Record<string, unknown>;
}

/** A delivery refused before anything is stored: 401 (signature), 404 (no such hook), 400 (body). */
export class WebhookRefusal extends Error {
	readonly status: 400 | 401 | 404;
	constructor(status: 400 | 401 | 404, message: string) {
		super(message);
		this.name = "WebhookRefusal";
		this.status = status;
	}
}

/** The de-duplication key of a signed delivery: its repository and a digest of the signed bytes. */
export function webhookEventKey(repositoryId: string, body: Uint8Array): string {
	return `${repositoryId}:sha256-${createHash("sha256").update(body).digest("hex")}`;
}

export class WebhookSource implements HookSource<WebhookSettings> {
	readonly name = "webhook";
	readonly idPrefix = "wh";
	readonly settingsSchema = { repositoryCacheMs: { type: "number", integer: true, min: 0 } } as const;
	#ctx: HookSourceContext<WebhookSettings> | null = null;
	#cache = new Map<string, { doc: RepositoryDoc | null; until: number }>();
	#tally = new EmitTally();

	async start(ctx: HookSourceContext<WebhookSettings>): Promise<void> {
		this.#ctx = ctx;
	}

	async stop(): Promise<void> {
		this.#ctx = null;
	}

	health() {
		return this.#tally.health(this.#ctx !== null);
	}

	/** Verify, parse, store: what a webhook delivery gets before its answer. */
	async receive(params: DeliveryParams): Promise<ReceiveResult> {
		const ctx = this.#ctx;
		if (!ctx) throw new Error("the webhook source is not started");
		const repo = await this.#repository(ctx, params.uuid);
		if (!repo?.webhook) throw new WebhookRefusal(404, "webhook not found");
		const body = Buffer.from(params.body, "base64");
		const headers = params.headers as HeaderMap;
		const verdict = verifySignature(repo.manager, headers, body, repo.webhook.secret);
		if (!verdict.ok) throw new WebhookRefusal(401, `invalid webhook signature: ${verdict.reason}`);
		let delivery: ReturnType<typeof parseDelivery>;
		try {
			delivery = parseDelivery(verdict.provider, headers, body);
		} catch (e) {
			if (e instanceof HookPayloadError) throw new WebhookRefusal(400, e.message);
			throw e;
		}
		if (delivery.ping) return { status: 200, body: { ping: true } };
		if (delivery.ignored) return { status: 200, body: { ignored: delivery.ignored } };
		if (delivery.changes.length === 0) return { status: 200, body: { ignored: "no branch or tag change" } };
		const key = webhookEventKey(repo.id, body);
		const result = await ctx.emit(
			{
				project: repo.project,
				repository: { id: repo.id, name: repo.repo },
				origin: { provider: delivery.provider, event: delivery.event, deliveryId: delivery.deliveryId },
				intents: delivery.changes.map((c) => intentOfChange(c, repo.id)),
			},
			key,
		);
		this.#tally.record(result, ctx.now());
		const id = `${this.idPrefix}:${key}`;
		if (result === "duplicate") return { status: 200, body: { duplicate: true, event: id } };
		return { status: 202, body: { accepted: true, event: id, changes: delivery.changes.length } };
	}

	async #repository(ctx: HookSourceContext<WebhookSettings>, uuid: string): Promise<RepositoryDoc | null> {
		const cached = this.#cache.get(uuid);
		const now = Date.now();
		if (cached && cached.until > now) return cached.doc;
		const doc = await ctx.ports.repositoryByHookUuid(uuid);
		this.#cache.set(uuid, { doc, until: now + ctx.settings.repositoryCacheMs });
		if (this.#cache.size > 10_000) this.#cache.clear();
		return doc;
	}
}
