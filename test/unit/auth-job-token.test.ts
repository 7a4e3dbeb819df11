// A worker's token names its job and carries a secret; the job's booking keeps its hash
// (src/auth/tokens.ts, src/engine/booking.ts): the token is valid while the booking holds it.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generateJobToken, hashToken, jobOfToken, tokenId } from "../../src/auth/tokens.ts";

describe("job tokens", () => {
	const job = "DEMO/build-é/12/build%20it/j0/a1";

	test("name their job, and their hash is what the booking keeps", () => {
		const a = generateJobToken(job);
		const b = generateJobToken(job);
		assert.equal(jobOfToken(a.token), job);
		assert.equal(a.hash, hashToken(a.token));
		assert.notEqual(a.token, b.token, "a new secret per booking");
		assert.notEqual(a.id, b.id);
		assert.equal(tokenId(a.token), undefined, "never read as an API token's record id");
		assert.ok(a.token.length < 512, "within auth.resolve's limit");
	});

	test("other strings name no job: API tokens, a non-canonical or short spelling, extra characters", () => {
		const { token } = generateJobToken(job);
		const [named, secret] = token.split(".") as [string, string];
		assert.equal(jobOfToken("cds_abc.def0123456789012345678901234567890"), undefined);
		assert.equal(jobOfToken(`${named}=.${secret}`), undefined);
		assert.equal(jobOfToken(`${named}.${secret.slice(1)}`), undefined);
		assert.equal(jobOfToken(`${token} `), undefined);
		assert.equal(jobOfToken(`x${token}`), undefined);
		// base64url with trailing bits set decodes to the same bytes: only the canonical spelling names the job.
		const last = named.at(-1)!;
		const sibling = `${named.slice(0, -1)}${last === "A" ? "B" : "A"}`;
		const decoded = jobOfToken(`${sibling}.${secret}`);
		assert.ok(decoded === undefined || decoded !== job);
	});
});
