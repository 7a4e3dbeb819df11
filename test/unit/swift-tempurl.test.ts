// TempURL signatures against vectors computed by Swift itself (swift.common.digest.get_hmac of
// Debian's python3-swift 2.30, the code its tempurl middleware checks with), and the digest
// chosen from /info.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseDigest, signTempUrl, tempUrlSignature } from "../../src/artifacts/swift/tempurl.ts";

describe("Swift TempURL signing", () => {
	test("HMAC-SHA1 over METHOD\\nEXPIRES\\nPATH (Swift's documented example)", () => {
		assert.equal(
			tempUrlSignature("mykey", "GET", 1323479485, "/v1/AUTH_account/container/object", "sha1"),
			"d9fc2067e52b06598421664cf6610bfc8fc431f6",
		);
	});

	test("HMAC-SHA256, and the URL carries the signature and expiry of the object's path", () => {
		const url = signTempUrl(
			"http://swift:8080/v1/AUTH_test/cds-P/uploads/abc",
			"s3cr3t",
			"PUT",
			1700000000,
			"sha256",
		);
		assert.equal(
			url,
			"http://swift:8080/v1/AUTH_test/cds-P/uploads/abc?temp_url_sig=0b97574b425bc9a660ed0abb9058296286d0ffd8ed9d4936a258625c18de9107&temp_url_expires=1700000000",
		);
	});

	test("the digest: SHA-256 when /info allows it, else SHA-1; none we sign with is an error", () => {
		assert.equal(chooseDigest({ tempurl: { allowed_digests: ["sha1", "sha256", "sha512"] } }), "sha256");
		assert.equal(chooseDigest({ tempurl: { allowed_digests: ["sha1"] } }), "sha1");
		assert.equal(chooseDigest({ tempurl: {} }), "sha1");
		assert.throws(() => chooseDigest({ tempurl: { allowed_digests: ["sha512"] } }), /no TempURL digest/);
	});
});
