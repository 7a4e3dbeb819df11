// Group commit: items submitted while a batch is being written wait and go out together in the
// next one, so N concurrent deliveries cost about one store round trip instead of N. Nobody waits
// for a timer: an idle committer writes at the end of the current turn of the event loop (what
// arrived in the same turn shares the batch), a busy one as soon as its batch is acknowledged.
// Each submitter gets its own item's outcome, only once the whole write has answered; a failed
// write rejects every item of its batch (none is retried here: the caller's client retries).

export interface GroupCommitOptions {
	/** Most items in one write; more wait for the next. */
	maxBatch: number;
}

interface Waiting<T, R> {
	item: T;
	resolve: (outcome: R) => void;
	reject: (err: unknown) => void;
}

export class GroupCommit<T, R> {
	readonly #write: (items: T[]) => Promise<R[]>;
	readonly #maxBatch: number;
	#waiting: Waiting<T, R>[] = [];
	#busy = false;
	#scheduled = false;

	constructor(write: (items: T[]) => Promise<R[]>, options: GroupCommitOptions) {
		this.#write = write;
		this.#maxBatch = Math.max(1, options.maxBatch);
	}

	/** Writes `item` with the next batch; resolves to its own outcome once that batch is written. */
	submit(item: T): Promise<R> {
		return new Promise<R>((resolve, reject) => {
			this.#waiting.push({ item, resolve, reject });
			this.#schedule();
		});
	}

	#schedule(): void {
		if (this.#busy || this.#scheduled || this.#waiting.length === 0) return;
		this.#scheduled = true;
		setImmediate(() => {
			this.#scheduled = false;
			void this.#flush();
		});
	}

	async #flush(): Promise<void> {
		if (this.#busy || this.#waiting.length === 0) return;
		this.#busy = true;
		const batch = this.#waiting.splice(0, this.#maxBatch);
		try {
			const outcomes = await this.#write(batch.map((w) => w.item));
			if (outcomes.length !== batch.length)
				throw new Error(`group commit: ${outcomes.length} outcomes for ${batch.length} items`);
			for (const [i, w] of batch.entries()) w.resolve(outcomes[i]!);
		} catch (err) {
			for (const w of batch) w.reject(err);
		} finally {
			this.#busy = false;
			this.#schedule();
		}
	}
}
