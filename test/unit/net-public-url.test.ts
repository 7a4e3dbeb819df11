// Which gateway URL an API node announces, and which URL a node uses: its own CDS_PUBLIC_URL,
// its own gateway, another API node's announcement, or none (never a port where no gateway listens).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseApiUrl, gatewayUrl } from "../../src/net/public-url.ts";

const base = { apiHost: "0.0.0.0", apiPort: 8081, hostname: "api-1", clustered: true };

describe("the URL an API node announces", () => {
	test("CDS_PUBLIC_URL wins, without its trailing slash and without a warning", () => {
		assert.deepEqual(gatewayUrl({ ...base, publicUrl: "https://cds.example.com/" }), {
			url: "https://cds.example.com",
		});
	});

	test("in a cluster, listening on all addresses: the host name, with a warning naming the fix", () => {
		for (const apiHost of ["0.0.0.0", "::", ""]) {
			const r = gatewayUrl({ ...base, apiHost });
			assert.equal(r.url, "http://api-1:8081");
			assert.match(r.warning ?? "", /CDS_PUBLIC_URL is not set .* announces http:\/\/api-1:8081/);
		}
	});

	test("listening on one address: that address (IPv6 in brackets), no warning", () => {
		assert.deepEqual(gatewayUrl({ ...base, apiHost: "10.1.2.3" }), { url: "http://10.1.2.3:8081" });
		assert.deepEqual(gatewayUrl({ ...base, apiHost: "::1", apiPort: 9000 }), { url: "http://[::1]:9000" });
		assert.deepEqual(gatewayUrl({ ...base, apiHost: "127.0.0.1", clustered: false }), {
			url: "http://127.0.0.1:8081",
		});
	});

	test("a single node on all addresses: localhost, where its own workers reach it", () => {
		assert.deepEqual(gatewayUrl({ ...base, clustered: false }), { url: "http://localhost:8081" });
	});
});

describe("the URL a node uses", () => {
	const remote = { nodeId: "b-api", url: "http://api.internal:8081", local: false };
	const other = { nodeId: "a-api", url: "http://api-a.internal:8081", local: false };

	test("its own CDS_PUBLIC_URL first", () => {
		assert.deepEqual(chooseApiUrl("http://mine:1/", [remote]), { url: "http://mine:1", source: "config" });
	});

	test("else its own gateway, else another node's — the same on every node (first node id)", () => {
		const local = { nodeId: "z-self", url: "http://self:8081", local: true };
		assert.deepEqual(chooseApiUrl(undefined, [remote, local]), {
			url: "http://self:8081",
			source: "local",
			nodeId: "z-self",
		});
		assert.deepEqual(chooseApiUrl(undefined, [remote, other]), {
			url: "http://api-a.internal:8081",
			source: "cluster",
			nodeId: "a-api",
		});
		assert.deepEqual(chooseApiUrl(undefined, [other, remote]).nodeId, "a-api");
	});

	test("none when no API node announces a usable URL", () => {
		assert.deepEqual(chooseApiUrl(undefined, []), { source: "none" });
		assert.deepEqual(chooseApiUrl(undefined, [{ nodeId: "x", url: "", local: false }]), { source: "none" });
	});
});
