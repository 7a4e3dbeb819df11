// The embedded backend: one NeDB datafile per collection under a data directory, owned by a
// single process (see data-dir-lock.ts). NeDB runs every operation of a datastore through one
// queue, so an insert into a unique index is atomic here too, which is all claims need.
//
// Compound unique indexes use NeDB's own compound index (`fieldName: [a, b]`, available since
// @seald-io/nedb 4), which NeDB keeps consistent on insert, update and replace and rolls back
// atomically on a violation; no synthetic field is needed.

import { decodeFields, encodeFields, encodeUpdateValues } from "./field-names.ts";
import { type Appender, keepDatafileOpen } from "./nedb-appender.ts";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import nedbModule from "@seald-io/nedb";
import { ClaimLedger, CLAIMS_COLLECTION } from "./claim.ts";
import { DataDirLock } from "./data-dir-lock.ts";
import {
	checkCollectionSpec,
	checkDoc,
	checkFindOptions,
	checkQuery,
	checkUpdate,
} from "./query-language.ts";
import type {
	InsertOutcome,
	ClaimHolder,
	ClaimOptions,
	ClaimRequest,
	ClaimResult,
	Collection,
	CollectionSpec,
	Doc,
	FindOptions,
	IndexSpec,
	Query,
	Store,
	Update,
} from "./types.ts";
import { DuplicateKeyError } from "./types.ts";

// The package is CommonJS (module.exports = Datastore) but its typings declare `export default`,
// so TypeScript sees the class one level deeper than Node does.
const Datastore = nedbModule as unknown as typeof nedbModule.default;
type Datastore<T> = nedbModule.default<T>;

/** Datafiles are append-only between compactions; rewrite them every 10 minutes and at close. */
export const COMPACTION_INTERVAL_MS = 10 * 60 * 1000;

type NedbError = Error & { errorType?: string; key?: unknown };

function isUniqueViolation(err: unknown): err is NedbError {
	return err instanceof Error && (err as NedbError).errorType === "uniqueViolated";
}

function sameValue(a: unknown, b: unknown): boolean {
	if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
	return a === b;
}

function valueAt(doc: Record<string, unknown>, path: string): unknown {
	let value: unknown = doc;
	for (const part of path.split(".")) {
		if (typeof value !== "object" || value === null) return undefined;
		value = (value as Record<string, unknown>)[part];
	}
	return value;
}

class EmbeddedCollection<T extends Doc> implements Collection<T> {
	readonly name: string;
	readonly #db: Datastore<T>;
	readonly #uniqueIndexes: string[][] = [["_id"]];
	readonly #isOpen: () => void;
	readonly #appender: Appender | undefined;

	constructor(name: string, db: Datastore<T>, isOpen: () => void, appender?: Appender) {
		this.name = name;
		this.#db = db;
		this.#isOpen = isOpen;
		this.#appender = appender;
	}

	async ensureIndex(index: IndexSpec): Promise<void> {
		const fieldName = index.fields.length === 1 ? index.fields[0]! : index.fields;
		if (index.lowCardinality && !index.unique) {
			// A datafile written before the index was marked may still declare it: drop it.
			const name = index.fields.join(",");
			const declared = (this.#db as unknown as { indexes: Record<string, unknown> }).indexes;
			if (name in declared) await this.#db.removeIndexAsync(name);
			return;
		}
		try {
			await this.#db.ensureIndexAsync({ fieldName, unique: index.unique === true });
		} catch (err) {
			if (isUniqueViolation(err)) {
				throw new DuplicateKeyError(
					this.name,
					index.fields,
					`cannot create unique index on ${this.name} (${index.fields.join(", ")}): existing documents already share ${JSON.stringify(err.key)}`,
				);
			}
			throw err;
		}
		const known = this.#uniqueIndexes.some((f) => f.join(",") === index.fields.join(","));
		if (index.unique && !known) this.#uniqueIndexes.push([...index.fields]);
	}

	/** Turns NeDB's unique violation into DuplicateKeyError naming the index it hit. */
	#translate(err: unknown, doc?: Record<string, unknown>): unknown {
		if (!isUniqueViolation(err)) return err;
		const key = err.key;
		const fields =
			this.#uniqueIndexes.find((f) => {
				if (f.length > 1) {
					return (
						typeof key === "object" &&
						key !== null &&
						!(key instanceof Date) &&
						f.every((field) => field in (key as Record<string, unknown>))
					);
				}
				return doc !== undefined && sameValue(valueAt(doc, f[0]!), key);
			}) ?? [];
		return new DuplicateKeyError(
			this.name,
			fields,
			`duplicate key in ${this.name} on ${fields.join(", ") || "a unique index"}: ${JSON.stringify(key)}`,
		);
	}

	async insert(doc: T): Promise<T> {
		this.#isOpen();
		const toInsert = doc._id === undefined ? { ...doc, _id: randomUUID() } : doc;
		checkDoc(toInsert, `${this.name}.insert`);
		try {
			await this.#db.insertAsync(encodeFields(toInsert));
			return toInsert as T;
		} catch (err) {
			throw this.#translate(err, toInsert);
		}
	}

	async insertMany(docs: T[]): Promise<InsertOutcome[]> {
		// NeDB's own array insert is all-or-nothing; one insert per document gives each its outcome.
		const outcomes: InsertOutcome[] = [];
		for (const doc of docs) {
			try {
				await this.insert(doc);
				outcomes.push("inserted");
			} catch (err) {
				if (!(err instanceof DuplicateKeyError)) throw err;
				outcomes.push("duplicate");
			}
		}
		return outcomes;
	}

	async findOne(query: Query): Promise<T | null> {
		this.#isOpen();
		checkQuery(query);
		const found = (await this.#db.findOneAsync(query)) as T | null;
		return found ? decodeFields(found) : null;
	}

	async find(query: Query, options: FindOptions = {}): Promise<T[]> {
		this.#isOpen();
		checkQuery(query);
		checkFindOptions(options);
		let cursor = this.#db.findAsync(query);
		if (options.sort) cursor = cursor.sort(options.sort);
		if (options.skip) cursor = cursor.skip(options.skip);
		if (options.limit) cursor = cursor.limit(options.limit);
		return ((await cursor) as unknown as T[]).map((d) => decodeFields(d));
	}

	async count(query: Query): Promise<number> {
		this.#isOpen();
		checkQuery(query);
		return (await this.#db.countAsync(query)) as unknown as number;
	}

	async update(query: Query, update: Update, options: { multi?: boolean } = {}): Promise<number> {
		this.#isOpen();
		checkQuery(query);
		checkUpdate(update, `${this.name}.update`);
		try {
			const encoded = {
				...update,
				$set: encodeUpdateValues(update.$set),
				$push: encodeUpdateValues(update.$push),
			};
			for (const k of ["$set", "$push"] as const) if (encoded[k] === undefined) delete encoded[k];
			const { numAffected } = await this.#db.updateAsync(query, encoded, { multi: options.multi === true });
			return numAffected;
		} catch (err) {
			throw this.#translate(err, (update.$set ?? {}) as Record<string, unknown>);
		}
	}

	async replace(doc: T): Promise<void> {
		this.#isOpen();
		checkDoc(doc, `${this.name}.replace`);
		try {
			await this.#db.updateAsync({ _id: doc._id }, encodeFields(doc), { upsert: true });
		} catch (err) {
			throw this.#translate(err, doc);
		}
	}

	async remove(query: Query, options: { multi?: boolean } = {}): Promise<number> {
		this.#isOpen();
		checkQuery(query);
		return this.#db.removeAsync(query, { multi: options.multi === true });
	}

	async close(): Promise<void> {
		this.#db.stopAutocompaction();
		await this.#db.compactDatafileAsync();
		await this.#appender?.close();
	}
}

export class EmbeddedStore implements Store {
	readonly kind = "embedded" as const;
	readonly dir: string;
	readonly #lock: DataDirLock;
	readonly #collections = new Map<string, Promise<EmbeddedCollection<Doc>>>();
	#claims!: ClaimLedger; // set by open(), before the store is handed out
	#closed = false;

	private constructor(dir: string, lock: DataDirLock) {
		this.dir = dir;
		this.#lock = lock;
	}

	/** Opens (creating when needed) the data directory; throws DataDirLockedError when another live process owns it. */
	static async open(dataDir: string): Promise<EmbeddedStore> {
		if (typeof dataDir !== "string" || dataDir === "") throw new TypeError("embedded store needs a dataDir");
		const dir = resolve(dataDir);
		mkdirSync(dir, { recursive: true, mode: 0o700 });
		const lock = DataDirLock.acquire(dir);
		const store = new EmbeddedStore(dir, lock);
		try {
			store.#claims = new ClaimLedger(await store.collection(CLAIMS_COLLECTION));
			// Nobody else can claim in this directory yet (we hold its lock): the one safe moment.
			await store.#claims.compactExclusive();
			return store;
		} catch (err) {
			await store.close();
			throw err;
		}
	}

	#assertOpen = (): void => {
		if (this.#closed) throw new Error(`embedded store at ${this.dir} is closed`);
	};

	async #openCollection(spec: CollectionSpec): Promise<EmbeddedCollection<Doc>> {
		const db = new Datastore<Doc>({ filename: join(this.dir, `${spec.name}.db`), autoload: true });
		try {
			await db.autoloadPromise;
		} catch (err) {
			throw new Error(`cannot load collection ${spec.name} from ${this.dir}: ${(err as Error).message}`, {
				cause: err,
			});
		}
		db.setAutocompactionInterval(COMPACTION_INTERVAL_MS);
		return new EmbeddedCollection(spec.name, db, this.#assertOpen, keepDatafileOpen(db));
	}

	async collection<T extends Doc = Doc>(spec: CollectionSpec): Promise<Collection<T>> {
		this.#assertOpen();
		checkCollectionSpec(spec);
		let opening = this.#collections.get(spec.name);
		if (!opening) {
			opening = this.#openCollection(spec);
			this.#collections.set(spec.name, opening);
			opening.catch(() => this.#collections.delete(spec.name));
		}
		const collection = await opening;
		for (const index of spec.indexes ?? []) await collection.ensureIndex(index);
		return collection as unknown as Collection<T>;
	}

	claim(scope: string, key: string, owner: string, options?: ClaimOptions): Promise<ClaimResult> {
		return this.#claims.claim(scope, key, owner, options);
	}

	claimAll(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
		return this.#claims.claimAll(requests);
	}

	release(scope: string, key: string, owner: string): Promise<void> {
		return this.#claims.release(scope, key, owner);
	}

	releaseAll(requests: readonly ClaimRequest[]): Promise<void> {
		return this.#claims.releaseAll(requests);
	}

	holder(scope: string, key: string): Promise<ClaimHolder | null> {
		return this.#claims.holder(scope, key);
	}

	async forget(scope: string, key: string): Promise<void> {
		await this.#claims.forget(scope, key);
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		try {
			const collections = await Promise.allSettled(this.#collections.values());
			for (const result of collections) {
				if (result.status === "fulfilled") await result.value.close();
			}
		} finally {
			this.#lock.release();
		}
	}
}
