// The SNMP trap hook: a v1/v2c trap receiver (net-snmp) on every replica — agents send traps to
// each address they know, so every replica listens — and a run per trap matching a binding's
// filters (`trap_oid`, `agent`, `community`). The same trap heard by two replicas, or resent by
// its agent, has the same key (src/hooks/snmp-trap.ts: agent, trap OID, uptime, request id,
// varbinds), so it starts one run. One UDP socket per replica serves every binding; it is open
// only while at least one SNMP trap hook exists, so a node without any binds no port.
//
// Traps are not acknowledged (informs are, by net-snmp, as they arrive): a trap that arrives while
// the store cannot take it is lost, as it would be by any receiver that is down. v3 traps are not
// served (they need a user database per agent).

import { createRequire } from "node:module";
import type { Socket } from "node:dgram";
import {
	BINDING_SETTINGS_SCHEMA,
	type BindingListener,
	BindingSource,
	type BindingSourceSettings,
	type ListenContext,
} from "../binding-source.ts";
import { hookTypesOfSource } from "../hook-types.ts";
import {
	type RawNotification,
	type SnmpTrap,
	trapFilterOf,
	trapKey,
	trapMatches,
	trapOf,
	trapPayload,
} from "../snmp-trap.ts";

export interface SnmpSettings extends BindingSourceSettings {
	/** UDP port of the receiver; 0: no receiver (the bindings report it). */
	port: number;
	address: string;
}

interface NetSnmp {
	createReceiver(
		options: Record<string, unknown>,
		callback: (error: (Error & { rinfo?: unknown }) | null, notification: RawNotification | null) => void,
	): { close(cb?: () => void): void; listener: { sockets: Record<string, Socket> } };
}

let netSnmp: NetSnmp | undefined;
function loadNetSnmp(): NetSnmp {
	netSnmp ??= createRequire(import.meta.url)("net-snmp") as NetSnmp;
	return netSnmp;
}

interface Subscriber {
	ctx: ListenContext;
	onTrap(trap: SnmpTrap): void;
}

export class SnmpSource extends BindingSource<SnmpSettings> {
	readonly name = "snmp";
	readonly idPrefix = "snmp";
	readonly hookTypes = hookTypesOfSource("snmp");
	readonly activeOn = "all" as const;
	override readonly settingsSchema: Record<string, unknown> = {
		...BINDING_SETTINGS_SCHEMA,
		port: { type: "number", integer: true, min: 0, max: 65535 },
		address: { type: "string", min: 1 },
	};
	#receiver: ReturnType<NetSnmp["createReceiver"]> | null = null;
	#opening: Promise<void> | null = null;
	#subscribers = new Set<Subscriber>();
	#received = 0;
	#dropped = 0;

	/** Traps this replica received (and those it could not decode). */
	counts(): { received: number; dropped: number; listening: boolean } {
		return { received: this.#received, dropped: this.#dropped, listening: this.#receiver !== null };
	}

	protected async listen(ctx: ListenContext): Promise<BindingListener> {
		const settings = this.ctx!.settings;
		if (settings.port === 0) throw new Error("the SNMP trap receiver is off (CDS_HOOKS_SNMP_PORT=0)");
		const filter = trapFilterOf(ctx.binding.config);
		const subscriber: Subscriber = {
			ctx,
			onTrap: (trap) => {
				if (!trapMatches(trap, filter)) return;
				ctx
					.emit(
						{
							payload: trapPayload(trap),
							vars: { trap_oid: trap.trapOid, agent: trap.agent, snmp_version: trap.version },
							origin: {
								agent: trap.agent,
								trap_oid: trap.trapOid,
								from: `${trap.from.address}:${trap.from.port}`,
							},
						},
						trapKey(trap),
					)
					.catch((e: unknown) =>
						ctx.logger.warn(
							`hook source snmp: a trap from ${trap.agent} was not stored: ${(e as Error).message}`,
						),
					);
			},
		};
		this.#subscribers.add(subscriber);
		try {
			await this.#open(settings);
		} catch (e) {
			this.#subscribers.delete(subscriber);
			throw e;
		}
		return {
			stop: async () => {
				this.#subscribers.delete(subscriber);
				if (this.#subscribers.size === 0) await this.#close();
			},
		};
	}

	override async stop(): Promise<void> {
		await super.stop();
		await this.#close();
	}

	async #open(settings: SnmpSettings): Promise<void> {
		if (this.#receiver) return;
		this.#opening ??= (async () => {
			const snmp = loadNetSnmp();
			const receiver = snmp.createReceiver(
				{
					port: settings.port,
					address: settings.address,
					transport: settings.address.includes(":") ? "udp6" : "udp4",
					// Any community: the bindings' `community` filters choose.
					disableAuthorization: true,
					includeAuthentication: true,
				},
				(error, notification) => this.#onNotification(error, notification),
			);
			const sockets = Object.values(receiver.listener.sockets);
			try {
				await Promise.all(
					sockets.map(
						(s) =>
							new Promise<void>((resolve, reject) => {
								s.once("listening", () => resolve());
								s.once("error", reject);
							}),
					),
				);
			} catch (e) {
				receiver.close();
				throw new Error(
					`the SNMP trap receiver cannot listen on ${settings.address}:${settings.port}: ${(e as Error).message}`,
				);
			}
			this.#receiver = receiver;
			this.ctx?.logger.info(`hook source snmp: receiving traps on udp ${settings.address}:${settings.port}`);
		})().finally(() => {
			this.#opening = null;
		});
		return this.#opening;
	}

	async #close(): Promise<void> {
		await this.#opening?.catch(() => {});
		const receiver = this.#receiver;
		this.#receiver = null;
		if (!receiver) return;
		await new Promise<void>((resolve) => {
			try {
				receiver.close(() => resolve());
			} catch {
				resolve();
			}
			// net-snmp calls back once per socket: one socket here, but never wait on it forever.
			setTimeout(resolve, 1000).unref();
		});
	}

	#onNotification(error: (Error & { rinfo?: unknown }) | null, notification: RawNotification | null): void {
		if (error) {
			if (error.rinfo) {
				// A datagram that is not a notification we read (garbage, v3 without a user…).
				this.#dropped++;
				this.ctx?.logger.debug(`hook source snmp: dropped a datagram: ${error.message}`);
				return;
			}
			// The socket itself failed: every binding restarts (and reopens it) after a backoff.
			if (!this.#receiver) return; // still opening: #open reports it
			const receiver = this.#receiver;
			this.#receiver = null;
			try {
				receiver.close();
			} catch {
				/* already closed */
			}
			for (const s of [...this.#subscribers]) s.ctx.fail(error);
			return;
		}
		const trap = notification ? trapOf(notification) : null;
		if (!trap) {
			this.#dropped++;
			return;
		}
		this.#received++;
		for (const s of this.#subscribers) s.onTrap(trap);
	}
}
