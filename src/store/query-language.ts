// Checks queries, updates and collection specs against the subset of MongoDB's language that
// NeDB, MongoDB and FerretDB v1 implement identically (see types.ts). Rejecting anything else
// up front keeps a query that works on the embedded backend from behaving differently on Mongo.

import { checkQueryValues, checkStorableDoc, checkStorableUpdate } from "./subset.ts";
import type { CollectionSpec, FindOptions, Query, Update } from "./types.ts";

const QUERY_OPERATORS = new Set([
	"$in",
	"$nin",
	"$ne",
	"$gt",
	"$gte",
	"$lt",
	"$lte",
	"$exists",
	"$or",
	"$and",
]);
const UPDATE_OPERATORS = new Set(["$set", "$unset", "$inc", "$push"]);
const COLLECTION_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function checkQueryValue(value: unknown, path: string): void {
	if (!isPlainObject(value)) return;
	for (const [key, inner] of Object.entries(value)) {
		if (key.startsWith("$")) {
			if (!QUERY_OPERATORS.has(key)) throw new Error(`unsupported query operator ${key} at ${path}`);
			if ((key === "$in" || key === "$nin") && !Array.isArray(inner)) {
				throw new Error(`query operator ${key} at ${path} needs an array`);
			}
		}
	}
}

export function checkQuery(query: Query, path = "query"): void {
	if (!isPlainObject(query)) throw new TypeError(`${path} must be an object, got ${JSON.stringify(query)}`);
	for (const [key, value] of Object.entries(query)) {
		if (key === "$or" || key === "$and") {
			if (!Array.isArray(value) || value.length === 0) {
				throw new Error(`${key} in ${path} needs a non-empty array of queries`);
			}
			value.forEach((sub, i) => {
				checkQuery(sub as Query, `${path}.${key}[${i}]`);
			});
		} else if (key.startsWith("$")) {
			throw new Error(`unsupported query operator ${key} in ${path}`);
		} else {
			checkQueryValue(value, `${path}.${key}`);
			checkQueryValues(value, path, key);
		}
	}
}

/** Checks an update's operators and its paths and values (subset.ts); `what` names it in errors. */
export function checkUpdate(update: Update, what = "update"): void {
	if (!isPlainObject(update)) throw new TypeError(`update must be an object, got ${JSON.stringify(update)}`);
	const keys = Object.keys(update);
	if (keys.length === 0) throw new Error("update must contain at least one of $set, $unset, $inc, $push");
	for (const key of keys) {
		if (!UPDATE_OPERATORS.has(key)) {
			throw new Error(
				`unsupported update operator ${key} (use $set, $unset, $inc or $push; use replace() for whole documents)`,
			);
		}
		const fields = (update as Record<string, unknown>)[key];
		if (!isPlainObject(fields)) throw new TypeError(`update ${key} must be an object of fields`);
		if ("_id" in fields) throw new Error(`update ${key} cannot change _id`);
		if (key === "$inc") {
			for (const [field, by] of Object.entries(fields)) {
				if (typeof by !== "number" || !Number.isFinite(by)) {
					throw new TypeError(`$inc.${field} must be a finite number, got ${JSON.stringify(by)}`);
				}
			}
		}
	}
	checkStorableUpdate(update, what);
}

export function checkFindOptions(options: FindOptions): void {
	for (const name of ["limit", "skip"] as const) {
		const n = options[name];
		if (n !== undefined && !(Number.isInteger(n) && n >= 0)) {
			throw new TypeError(`find option ${name} must be a non-negative integer, got ${n}`);
		}
	}
	for (const [field, dir] of Object.entries(options.sort ?? {})) {
		if (dir !== 1 && dir !== -1)
			throw new TypeError(`sort direction for ${field} must be 1 or -1, got ${dir}`);
	}
}

export function checkCollectionSpec(spec: CollectionSpec): void {
	if (!isPlainObject(spec) || typeof spec.name !== "string" || !COLLECTION_NAME.test(spec.name)) {
		throw new TypeError(
			`collection name must match ${COLLECTION_NAME} (letters, digits, _ . -), got ${JSON.stringify(spec?.name)}`,
		);
	}
	for (const index of spec.indexes ?? []) {
		if (!Array.isArray(index.fields) || index.fields.length === 0) {
			throw new TypeError(`index on collection ${spec.name} needs at least one field`);
		}
		for (const field of index.fields) {
			if (typeof field !== "string" || field === "" || field.startsWith("$") || field.includes(",")) {
				throw new TypeError(`invalid index field ${JSON.stringify(field)} on collection ${spec.name}`);
			}
		}
	}
}

/** A document must be an object with a non-empty string _id, in the store subset (subset.ts). */
export function checkDoc(doc: unknown, what: string): asserts doc is { _id: string } {
	if (!isPlainObject(doc))
		throw new TypeError(`${what} expects a document object, got ${JSON.stringify(doc)}`);
	if (typeof doc._id !== "string" || doc._id === "") {
		throw new TypeError(`${what} expects a document with a non-empty string _id`);
	}
	checkStorableDoc(doc, what);
}
