// The MongoDB backend (MongoDB or FerretDB v1 through the wire protocol), via a mongoose
// connection whose native collections we drive directly: the store has no schemas, and
// mongoose's command buffering would turn an unreachable server into hanging calls.
//
// Only features that MongoDB and FerretDB v1 both implement are used: plain CRUD, unique and
// compound unique indexes. No transactions, change streams, TTL indexes or collations. Mutual
// exclusion goes through ClaimLedger (unique inserts), never through filtered updates, which
// FerretDB v1 applies as read-then-write.

import { decodeFields, encodeFields, encodeUpdateValues } from "./field-names.ts";
import { randomUUID } from "node:crypto";
import mongoose from "mongoose";
import { ClaimLedger, CLAIMS_COLLECTION } from "./claim.ts";
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

type NativeCollection = mongoose.mongo.Collection<mongoose.mongo.Document>;

export const SERVER_SELECTION_TIMEOUT_MS = 5000;

const DUPLICATE_KEY = 11000;

/** Error 11000, or FerretDB v1's generic error carrying SQLite's or PostgreSQL's unique violation. */
function isDuplicateKey(err: unknown): boolean {
	const { code, message = "" } = err as { code?: number; message?: string };
	return (
		code === DUPLICATE_KEY ||
		message.includes("UNIQUE constraint failed") ||
		message.includes("duplicate key value violates unique constraint")
	);
}

/** The URL without credentials, for error messages. */
export function redactMongoUrl(url: string): string {
	try {
		const u = new URL(url);
		if (u.username || u.password) {
			u.username = "***";
			u.password = "";
		}
		return u.toString();
	} catch {
		return "<invalid url>";
	}
}

function indexName(index: IndexSpec): string {
	return `cds_${index.fields.join("_")}${index.unique ? "_unique" : ""}`;
}

/**
 * Lets at most `limit` writes run at once. FerretDB on SQLite applies one write at a time
 * whatever the client does; many concurrent writers only meet its file lock and retry with
 * backoff: 3,000 inserts, 32 at a time, measured the same throughput as one at a time with a
 * p99 of 235 ms instead of 3 ms. So against FerretDB a node lets 4 writes through at once (the
 * webhook bench's p99 went from 760 to 107 ms; 1 was worse for the run engine's mixed load);
 * MongoDB gets them all.
 */
export class WriteGate {
	readonly limit: number;
	#running = 0;
	readonly #waiting: Array<() => void> = [];

	constructor(limit: number) {
		this.limit = limit;
	}

	async run<R>(write: () => Promise<R>): Promise<R> {
		if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
		else this.#running++;
		try {
			return await write();
		} finally {
			const next = this.#waiting.shift();
			if (next) next();
			else this.#running--;
		}
	}
}

class MongoCollection<T extends Doc> implements Collection<T> {
	readonly name: string;
	readonly #native: NativeCollection;
	/** index name → fields, to name the fields of a duplicate key error */
	readonly #indexFields = new Map<string, string[]>([["_id_", ["_id"]]]);
	readonly #uniqueIndexNames = new Set<string>(["_id_"]);

	readonly #assertOpen: () => void;
	readonly #writes: WriteGate;

	constructor(name: string, native: NativeCollection, assertOpen: () => void, writes: WriteGate) {
		this.name = name;
		this.#native = native;
		this.#assertOpen = assertOpen;
		this.#writes = writes;
	}

	async ensureIndex(index: IndexSpec): Promise<void> {
		const name = indexName(index);
		const keys = Object.fromEntries(index.fields.map((f) => [f, 1 as const]));
		try {
			await this.#native.createIndex(keys, { name, unique: index.unique === true });
		} catch (err) {
			if ((err as { code?: number }).code === DUPLICATE_KEY) {
				throw new DuplicateKeyError(
					this.name,
					index.fields,
					`cannot create unique index on ${this.name} (${index.fields.join(", ")}): existing documents share a key`,
				);
			}
			throw new Error(`cannot create index ${name} on ${this.name}: ${(err as Error).message}`, {
				cause: err,
			});
		}
		this.#indexFields.set(name, [...index.fields]);
		if (index.unique) this.#uniqueIndexNames.add(name);
	}

	/**
	 * Turns error 11000 into DuplicateKeyError naming the index's fields. MongoDB reports the
	 * index (keyPattern, or its name in the message); FerretDB v1 does not, so then we look for
	 * the document that `candidate` (the document as it would have been written) collides with.
	 */
	async #translate(
		err: unknown,
		candidate: () => Promise<Record<string, unknown> | null>,
		mayHitId: boolean,
	): Promise<unknown> {
		const {
			code,
			keyPattern,
			message = "",
		} = err as {
			code?: number;
			keyPattern?: Record<string, unknown>;
			message?: string;
		};
		// FerretDB v1 reports a unique violation caused by an update as a generic error carrying
		// SQLite's "UNIQUE constraint failed: index '<table>_<hash>_<our index name>'" or
		// PostgreSQL's "duplicate key value violates unique constraint "<table>_<hash>_<our index
		// name>_<hash>_idx"" (PostgreSQL truncates long names: then the index is looked for).
		if (!isDuplicateKey(err)) return err;
		const sqliteUnique = message.includes("UNIQUE constraint failed");
		const postgresUnique = message.includes("duplicate key value violates unique constraint");
		let fields = keyPattern ? Object.keys(keyPattern) : undefined;
		if (!fields) {
			const index = /index: (\S+)/.exec(message)?.[1];
			fields = index ? this.#indexFields.get(index) : undefined;
		}
		if (!fields && sqliteUnique) {
			fields = [...this.#indexFields].find(([name]) => message.includes(`_${name}'`))?.[1];
		}
		if (!fields && postgresUnique) {
			fields = [...this.#indexFields].find(
				([name]) => this.#uniqueIndexNames.has(name) && message.includes(`_${name}_`),
			)?.[1];
		}
		if (!fields && this.#uniqueIndexNames.size === 1) fields = ["_id"];
		if (!fields) fields = await this.#collidingIndex(await candidate().catch(() => null), mayHitId);
		return new DuplicateKeyError(
			this.name,
			fields,
			`duplicate key in ${this.name} on ${fields.join(", ") || "a unique index"}`,
		);
	}

	async #collidingIndex(doc: Record<string, unknown> | null, mayHitId: boolean): Promise<string[]> {
		if (!doc) return [];
		for (const [name, fields] of this.#indexFields) {
			if (name === "_id_") {
				if (!mayHitId) continue;
				if (
					doc._id !== undefined &&
					(await this.#native.countDocuments({ _id: doc._id } as never, { limit: 1 })) > 0
				) {
					return fields;
				}
				continue;
			}
			if (!this.#uniqueIndexNames.has(name)) continue;
			const query: Record<string, unknown> = Object.fromEntries(fields.map((f) => [f, doc[f] ?? null]));
			if (doc._id !== undefined) query._id = { $ne: doc._id };
			if ((await this.#native.countDocuments(query, { limit: 1 })) > 0) return fields;
		}
		return [];
	}

	async insert(doc: T): Promise<T> {
		this.#assertOpen();
		const toInsert = { ...doc, _id: doc._id === undefined ? randomUUID() : doc._id };
		checkDoc(toInsert, `${this.name}.insert`);
		try {
			await this.#writes.run(() =>
				this.#native.insertOne(
					encodeFields(toInsert) as unknown as mongoose.mongo.OptionalId<mongoose.mongo.Document>,
				),
			);
		} catch (err) {
			throw await this.#translate(err, async () => toInsert, true);
		}
		return toInsert as T;
	}

	async insertMany(docs: T[]): Promise<InsertOutcome[]> {
		this.#assertOpen();
		if (docs.length === 0) return [];
		const toInsert = docs.map((doc) => ({ ...doc, _id: doc._id === undefined ? randomUUID() : doc._id }));
		for (const doc of toInsert) checkDoc(doc, `${this.name}.insertMany`);
		const outcomes: InsertOutcome[] = toInsert.map(() => "inserted");
		try {
			await this.#writes.run(() =>
				this.#native.insertMany(
					toInsert.map((doc) =>
						encodeFields(doc),
					) as unknown as mongoose.mongo.OptionalId<mongoose.mongo.Document>[],
					{ ordered: false },
				),
			);
		} catch (err) {
			// Unordered: every document was tried; the refused ones are listed by index. Only unique
			// violations are outcomes, anything else fails the call.
			const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
			const list = (Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : []) as Array<{
				index: number;
				code?: number;
				errmsg?: string;
				err?: { code?: number; errmsg?: string };
			}>;
			if (list.length === 0) throw await this.#translate(err, async () => null, true);
			for (const e of list) {
				const code = e.code ?? e.err?.code;
				const message = e.errmsg ?? e.err?.errmsg ?? "";
				const unique =
					code === DUPLICATE_KEY ||
					message.includes("UNIQUE constraint failed") ||
					message.includes("duplicate key value violates unique constraint");
				if (!unique || !(e.index in outcomes)) throw await this.#translate(err, async () => null, true);
				outcomes[e.index] = "duplicate";
			}
		}
		return outcomes;
	}

	async findOne(query: Query): Promise<T | null> {
		this.#assertOpen();
		checkQuery(query);
		const found = (await this.#native.findOne(query)) as T | null;
		return found ? decodeFields(found) : null;
	}

	async find(query: Query, options: FindOptions = {}): Promise<T[]> {
		this.#assertOpen();
		checkQuery(query);
		checkFindOptions(options);
		let cursor = this.#native.find(query);
		if (options.sort) cursor = cursor.sort(options.sort);
		if (options.skip) cursor = cursor.skip(options.skip);
		if (options.limit) cursor = cursor.limit(options.limit);
		return ((await cursor.toArray()) as unknown as T[]).map((d) => decodeFields(d));
	}

	async count(query: Query): Promise<number> {
		this.#assertOpen();
		checkQuery(query);
		return this.#native.countDocuments(query);
	}

	async update(query: Query, update: Update, options: { multi?: boolean } = {}): Promise<number> {
		this.#assertOpen();
		checkQuery(query);
		checkUpdate(update, `${this.name}.update`);
		const encoded: Update = {
			...update,
			$set: encodeUpdateValues(update.$set),
			$push: encodeUpdateValues(update.$push),
		};
		for (const k of ["$set", "$push"] as const) if (encoded[k] === undefined) delete encoded[k];
		try {
			const filter = encoded as mongoose.mongo.UpdateFilter<mongoose.mongo.Document>;
			const result = await this.#writes.run(() =>
				options.multi ? this.#native.updateMany(query, filter) : this.#native.updateOne(query, filter),
			);
			return result.matchedCount;
		} catch (err) {
			throw await this.#translate(
				err,
				async () => {
					const current = await this.#native.findOne(query);
					return current && { ...current, ...(update.$set ?? {}) };
				},
				false,
			);
		}
	}

	async replace(doc: T): Promise<void> {
		this.#assertOpen();
		checkDoc(doc, `${this.name}.replace`);
		const { _id, ...rest } = encodeFields(doc);
		const write = () =>
			this.#writes.run(() =>
				this.#native.replaceOne({ _id } as unknown as mongoose.mongo.Filter<mongoose.mongo.Document>, rest, {
					upsert: true,
				}),
			);
		try {
			await write();
		} catch (err) {
			if (!isDuplicateKey(err)) throw await this.#translate(err, async () => doc, false);
			// Two upserts of one new _id at once (two nodes starting on a fresh store, say): both
			// found nothing and inserted, and the second is refused (FerretDB reads then writes;
			// MongoDB documents the same race). The document exists now, so once more replaces it;
			// a duplicate on another unique index fails again and is reported.
			try {
				await write();
			} catch (again) {
				throw await this.#translate(again, async () => doc, false);
			}
		}
	}

	async remove(query: Query, options: { multi?: boolean } = {}): Promise<number> {
		this.#assertOpen();
		checkQuery(query);
		const result = await this.#writes.run(() =>
			options.multi ? this.#native.deleteMany(query) : this.#native.deleteOne(query),
		);
		return result.deletedCount;
	}
}

export class MongoStore implements Store {
	readonly kind = "mongo" as const;
	readonly #connection: mongoose.Connection;
	readonly #db: mongoose.mongo.Db;
	readonly #collections = new Map<string, MongoCollection<Doc>>();
	#claims!: ClaimLedger; // set by connect(), before the store is handed out
	#closed = false;
	readonly #writes: WriteGate;

	private constructor(connection: mongoose.Connection, db: mongoose.mongo.Db, writes: WriteGate) {
		this.#connection = connection;
		this.#db = db;
		this.#writes = writes;
	}

	/** How many writes this node runs at once: 4 against FerretDB (see WriteGate), else unbounded. */
	get writeConcurrency(): number {
		return this.#writes.limit;
	}

	/** Connects to `url` (its path names the database); fails within ~5 s when the server is unreachable. */
	static async connect(url: string): Promise<MongoStore> {
		if (typeof url !== "string" || !/^mongodb(\+srv)?:\/\//.test(url)) {
			throw new TypeError(
				`MongoDB URL must start with mongodb:// or mongodb+srv://, got ${JSON.stringify(url)}`,
			);
		}
		const connection = mongoose.createConnection(url, {
			serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
			connectTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
			autoIndex: false,
			autoCreate: false,
			bufferCommands: false,
			// Fields set to undefined are left out, as the embedded store does (never stored as null).
			ignoreUndefined: true,
		});
		try {
			await connection.asPromise();
		} catch (err) {
			await connection.close().catch(() => {});
			throw new Error(
				`cannot reach MongoDB at ${redactMongoUrl(url)} within ${SERVER_SELECTION_TIMEOUT_MS / 1000} s: ${(err as Error).message}`,
				{ cause: err },
			);
		}
		const db = connection.db;
		if (!db) {
			await connection.close();
			throw new Error(`MongoDB connection to ${redactMongoUrl(url)} has no database`);
		}
		const info = await db
			.admin()
			.command({ buildInfo: 1 })
			.catch(() => ({}) as Record<string, unknown>);
		const store = new MongoStore(
			connection,
			db,
			new WriteGate(info.ferretdbVersion ? 4 : Number.POSITIVE_INFINITY),
		);
		try {
			store.#claims = new ClaimLedger(await store.collection(CLAIMS_COLLECTION));
		} catch (err) {
			await store.close();
			throw err;
		}
		return store;
	}

	/** The native database, for GridFS (artifact blobs). */
	get db(): mongoose.mongo.Db {
		return this.#db;
	}

	get databaseName(): string {
		return this.#db.databaseName;
	}

	#assertOpen = (): void => {
		if (this.#closed) throw new Error(`MongoDB store (database ${this.#db.databaseName}) is closed`);
	};

	async collection<T extends Doc = Doc>(spec: CollectionSpec): Promise<Collection<T>> {
		this.#assertOpen();
		checkCollectionSpec(spec);
		let collection = this.#collections.get(spec.name);
		if (!collection) {
			collection = new MongoCollection(
				spec.name,
				this.#db.collection(spec.name),
				this.#assertOpen,
				this.#writes,
			);
			this.#collections.set(spec.name, collection);
		}
		for (const index of spec.indexes ?? []) await collection.ensureIndex(index);
		return collection as unknown as Collection<T>;
	}

	claim(scope: string, key: string, owner: string, options?: ClaimOptions): Promise<ClaimResult> {
		this.#assertOpen();
		return this.#claims.claim(scope, key, owner, options);
	}

	claimAll(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
		this.#assertOpen();
		return this.#claims.claimAll(requests);
	}

	release(scope: string, key: string, owner: string): Promise<void> {
		this.#assertOpen();
		return this.#claims.release(scope, key, owner);
	}

	releaseAll(requests: readonly ClaimRequest[]): Promise<void> {
		this.#assertOpen();
		return this.#claims.releaseAll(requests);
	}

	holder(scope: string, key: string): Promise<ClaimHolder | null> {
		this.#assertOpen();
		return this.#claims.holder(scope, key);
	}

	async forget(scope: string, key: string): Promise<void> {
		this.#assertOpen();
		await this.#claims.forget(scope, key);
	}

	/** Drops the whole database (tests use it to clean up their unique database). */
	async dropDatabase(): Promise<void> {
		this.#assertOpen();
		await this.#db.dropDatabase();
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		await this.#connection.close();
	}
}
