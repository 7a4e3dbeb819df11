// Template versions, instances and index refreshes, decided without a broker or a store.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	applyRequest,
	instanceNumber,
	nextVersion,
	planIndexRefresh,
	recordedParams,
	shouldImport,
	templateSwitchRefusal,
	versionId,
} from "../../src/templates/instances.ts";

describe("template versions", () => {
	test("an unchanged download is the latest version; a changed one the next number", () => {
		assert.deepEqual(nextVersion(undefined, "h1"), { reuse: false, version: 1 });
		assert.deepEqual(nextVersion({ version: 3, hash: "h1" }, "h1"), { reuse: true });
		assert.deepEqual(nextVersion({ version: 3, hash: "h1" }, "h2"), { reuse: false, version: 4 });
		assert.equal(versionId("corp", "go-app", 4), "corp/go-app@4");
	});
});

describe("template instances", () => {
	test("a workflow switches templates only when forced", () => {
		assert.equal(templateSwitchRefusal(null, "w", "corp/a", false), null);
		assert.equal(templateSwitchRefusal({ template: "corp/a" }, "w", "corp/a", false), null);
		assert.equal(templateSwitchRefusal({ template: "corp/a" }, "w", "corp/b", true), null);
		assert.equal(
			templateSwitchRefusal({ template: "corp/a" }, "w", "corp/b", false),
			"workflow w was made from template corp/a: render with force to switch templates",
		);
	});

	test("a re-render keeps its number without claiming", async () => {
		const claims: number[] = [];
		const n = await instanceNumber(
			7,
			2,
			async (c) => {
				claims.push(c);
				return { won: true, owner: "P/w" };
			},
			"P/w",
		);
		assert.equal(n, 7);
		assert.deepEqual(claims, []);
	});

	test("a new instance takes the first number from count+1 it wins or already holds", async () => {
		const holders = new Map([
			[3, "P/other"],
			[4, "P/again"],
			[5, "P/w"],
		]);
		const claim = async (c: number) => {
			const owner = holders.get(c);
			if (owner) return { won: false, owner };
			holders.set(c, "P/w");
			return { won: true, owner: "P/w" };
		};
		// 3 and 4 are taken by others, 5 is already this workflow's (a retried render).
		assert.equal(await instanceNumber(undefined, 2, claim, "P/w"), 5);
		// A fresh workflow skips every held number.
		assert.equal(await instanceNumber(undefined, 2, claim, "P/new"), 6);
	});

	test("recorded parameters: the declared ones, as given", () => {
		assert.deepEqual(
			recordedParams({ a: 1, secret: "clear" }, { a: 1, secret: "-----BEGIN PGP MESSAGE-----", junk: 2 }),
			{
				a: 1,
				secret: "-----BEGIN PGP MESSAGE-----",
			},
		);
	});

	test("apply renders the instance's template at a version, with changed parameters", () => {
		const instance = { template: "corp/a", params: { x: "1", y: "2" } };
		assert.deepEqual(applyRequest(instance, undefined, undefined), {
			template: "corp/a",
			params: { x: "1", y: "2" },
		});
		assert.deepEqual(applyRequest(instance, 3, { y: "9" }), {
			template: "corp/a@3",
			params: { x: "1", y: "9" },
		});
		assert.deepEqual(instance.params, { x: "1", y: "2" }, "the stored instance is not changed");
	});

	test("apply imports unless the workflow is as code or import is false", () => {
		assert.equal(shouldImport(false, undefined), true);
		assert.equal(shouldImport(false, true), true);
		assert.equal(shouldImport(false, false), false);
		assert.equal(shouldImport(true, true), false);
	});
});

describe("index refresh", () => {
	test("drops index entries gone from the index, keeps manual ones, keeps creation dates", () => {
		const plan = planIndexRefresh(
			"corp",
			[
				{ name: "kept", description: "K", url: "https://x/kept.yml" },
				{ name: "hand", description: "H", url: "https://x/hand.yml" },
				{ name: "new", description: "N", url: "https://x/new.yml" },
			],
			[
				{ _id: "corp/kept", origin: "index", created: "2020" },
				{ _id: "corp/gone", origin: "index", created: "2020" },
				{ _id: "corp/hand", origin: "manual", created: "2021" },
				{ _id: "corp/mine", origin: "manual", created: "2021" },
			],
			"NOW",
		);
		assert.deepEqual(plan.remove, ["corp/gone"]);
		assert.deepEqual(
			plan.write.map((d) => [d._id, d.origin, d.created, d.updated, d.url]),
			[
				["corp/kept", "index", "2020", "NOW", "https://x/kept.yml"],
				["corp/new", "index", "NOW", "NOW", "https://x/new.yml"],
			],
		);
	});
});
