// One active replica for the sources that pull or probe (health checks, Marathon's event stream):
// a check must fire once, and a dead replica's work must be taken over within seconds.
//
// Time is cut into slots of `slotMs`; leading slot n means holding the store claim `leader@n`
// (a unique insert, so one holder per slot). The leader claims slot n+1 half-way through slot n,
// before anyone else tries, so leadership does not move while its holder lives; the others try
// the current slot from a tenth of the way in (a margin for clock skew), and win it only when
// nobody claimed it ahead — its holder died. A dead leader is replaced within two slots.
// Each won slot forgets the claim of the slot three back, so the claims do not pile up.

export interface LeadershipPorts {
	/** True for exactly one caller per key across replicas (Store.claim without expiry). */
	once(key: string): Promise<boolean>;
	/** Drops a key's claim for good (Store.forget): only for slots long past. */
	forget(key: string): Promise<void>;
	now(): number;
}

export class Leadership {
	readonly slotMs: number;
	#ports: LeadershipPorts;
	#won = new Set<number>();
	#tried = new Set<number>();
	#leading = false;
	#onChange: (leading: boolean) => void;

	constructor(slotMs: number, ports: LeadershipPorts, onChange: (leading: boolean) => void) {
		if (!(slotMs >= 100)) throw new RangeError(`leadership slot must be at least 100 ms, got ${slotMs}`);
		this.slotMs = slotMs;
		this.#ports = ports;
		this.#onChange = onChange;
	}

	get leading(): boolean {
		return this.#leading;
	}

	/** How often `tick` should run. */
	get tickMs(): number {
		return Math.max(50, Math.floor(this.slotMs / 10));
	}

	/** One step: claims what is due, then reports a change of leadership. Errors leave it as it was. */
	async tick(): Promise<boolean> {
		const now = this.#ports.now();
		const slot = Math.floor(now / this.slotMs);
		const phase = (now - slot * this.slotMs) / this.slotMs;
		if (this.#won.has(slot)) {
			if (phase >= 0.5 && !this.#won.has(slot + 1) && !this.#tried.has(slot + 1)) await this.#claim(slot + 1);
		} else if (phase >= 0.1 && !this.#tried.has(slot)) {
			await this.#claim(slot);
		}
		for (const s of this.#won) if (s < slot - 1) this.#won.delete(s);
		for (const s of this.#tried) if (s < slot - 1) this.#tried.delete(s);
		this.#set(this.#won.has(slot));
		return this.#leading;
	}

	async #claim(slot: number): Promise<void> {
		this.#tried.add(slot);
		let won: boolean;
		try {
			won = await this.#ports.once(`leader@${slot}`);
		} catch (e) {
			this.#tried.delete(slot);
			throw e;
		}
		if (!won) return;
		this.#won.add(slot);
		this.#ports.forget(`leader@${slot - 3}`).catch(() => {});
	}

	/** Gives up leading (a stopping replica): the others take over from the next slot. */
	resign(): void {
		this.#won.clear();
		this.#set(false);
	}

	#set(leading: boolean): void {
		if (leading === this.#leading) return;
		this.#leading = leading;
		this.#onChange(leading);
	}
}
