// The outbound policy (src/net/outbound-policy.ts): every internal range refused, in every
// spelling a resolver accepts; names checked by what they resolve to; CDS_OUTBOUND_ALLOW rules;
// git remotes (src/vcs/git-outbound.ts); and through a real HTTP server, pinning and redirects.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../config/index.ts";
import {
	checkOutbound,
	checkOutboundUrl,
	classifyAddress,
	literalAddress,
	OutboundRefusedError,
	outboundFetch,
	parseOutboundAllow,
} from "../../src/net/outbound-policy.ts";
import { gitOutboundArgs } from "../../src/vcs/git-outbound.ts";

const none = { allow: [] };
const refused = (re: RegExp) => (e: unknown) => e instanceof OutboundRefusedError && re.test(e.message);

describe("outbound policy: address classes", () => {
	test("every internal range has its class; public addresses are public", () => {
		const cases: Array<[string, string]> = [
			["127.0.0.1", "loopback"],
			["127.255.255.254", "loopback"],
			["::1", "loopback"],
			["10.0.0.1", "private"],
			["172.16.0.1", "private"],
			["172.31.255.255", "private"],
			["192.168.1.1", "private"],
			["100.64.0.1", "private"],
			["100.127.255.255", "private"],
			["fc00::1", "private"],
			["fd12:3456::1", "private"],
			["169.254.169.254", "link-local"],
			["fe80::1", "link-local"],
			["0.0.0.0", "unspecified"],
			["::", "unspecified"],
			["224.0.0.1", "multicast"],
			["ff02::1", "multicast"],
			["255.255.255.255", "reserved"],
			["64:ff9b::7f00:1", "reserved"],
			["::ffff:127.0.0.1", "loopback"],
			["::ffff:7f00:1", "loopback"],
			["::ffff:10.0.0.1", "private"],
			["::ffff:169.254.169.254", "link-local"],
			["8.8.8.8", "public"],
			["172.32.0.1", "public"],
			["100.128.0.1", "public"],
			["2606:4700:4700::1111", "public"],
		];
		for (const [ip, cls] of cases) assert.equal(classifyAddress(ip), cls, ip);
	});

	test("IPv4 in decimal, octal, hex and short forms is the address a resolver would use", () => {
		assert.equal(literalAddress("2130706433"), "127.0.0.1");
		assert.equal(literalAddress("0x7f.1"), "127.0.0.1");
		assert.equal(literalAddress("0x7f000001"), "127.0.0.1");
		assert.equal(literalAddress("0177.0.0.1"), "127.0.0.1");
		assert.equal(literalAddress("127.1"), "127.0.0.1");
		assert.equal(literalAddress("[::1]"), "::1");
		assert.equal(literalAddress("example.com"), null);
		assert.equal(literalAddress("1.2.3.4.5"), null);
		assert.equal(literalAddress("256.1.1.1"), null);
	});
});

describe("outbound policy: URLs and names", () => {
	test("loopback URLs in every spelling are refused, naming CDS_OUTBOUND_ALLOW and the CIDR", async () => {
		for (const url of [
			"http://127.0.0.1:8080/internal-api",
			"http://2130706433/",
			"http://0x7f.1/",
			"http://0177.0.0.1/",
			"http://[::1]/",
			"http://[::ffff:127.0.0.1]/",
		]) {
			await assert.rejects(
				checkOutboundUrl(url, none),
				refused(/loopback address; allow it with CDS_OUTBOUND_ALLOW=/),
				url,
			);
		}
		await assert.rejects(
			checkOutboundUrl("http://[::ffff:127.0.0.1]/", none),
			refused(/CDS_OUTBOUND_ALLOW=127\.0\.0\.1\/32/),
		);
		for (const url of [
			"http://169.254.169.254/latest/meta-data/",
			"http://10.1.2.3/",
			"http://[fe80::1]/",
			"http://0.0.0.0/",
		])
			await assert.rejects(checkOutboundUrl(url, none), OutboundRefusedError, url);
		await assert.rejects(checkOutboundUrl("ftp://example.com/", none), OutboundRefusedError);
	});

	test("a name is checked by every address it resolves to (localhost here; a fake resolver for a mixed answer)", async () => {
		await assert.rejects(
			checkOutboundUrl("http://localhost:9/", none),
			refused(/localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/),
		);
		const mixed = async () => [
			{ address: "93.184.216.34", family: 4 },
			{ address: "10.0.0.5", family: 4 },
		];
		await assert.rejects(
			checkOutboundUrl("https://rebind.example/", none, mixed),
			refused(/10\.0\.0\.5.*private/),
		);
		const publicOnly = async () => [{ address: "93.184.216.34", family: 4 }];
		const ok = await checkOutboundUrl("https://api.example/", none, publicOnly);
		assert.deepEqual(ok.addresses, [{ address: "93.184.216.34", family: 4 }]);
		const failing = async () => {
			throw new Error("ENOTFOUND");
		};
		await assert.rejects(checkOutboundUrl("https://nowhere.invalid/", none, failing), (e: unknown) => {
			return e instanceof OutboundRefusedError && e.reason === "unresolved";
		});
	});

	test("CDS_OUTBOUND_ALLOW: CIDRs, host and host:port rules; bad items are a ConfigError", async () => {
		const cidr = { allow: parseOutboundAllow(["10.1.0.0/16", "127.0.0.1/32"]) };
		await checkOutboundUrl("http://10.1.2.3/", cidr);
		await assert.rejects(checkOutboundUrl("http://10.2.0.1/", cidr), OutboundRefusedError);
		await checkOutboundUrl("http://[::ffff:127.0.0.1]/", cidr); // mapped IPv4 matches its IPv4 rule
		await checkOutboundUrl("http://2130706433/", cidr);
		const hostPort = { allow: parseOutboundAllow(["forge.internal:8443", "127.0.0.1:3000"]) };
		const internal = async () => [{ address: "10.9.9.9", family: 4 }];
		await checkOutboundUrl("https://forge.internal:8443/", hostPort, internal);
		await assert.rejects(
			checkOutboundUrl("https://forge.internal/", hostPort, internal),
			OutboundRefusedError,
		);
		await checkOutboundUrl("http://127.0.0.1:3000/", hostPort);
		await assert.rejects(checkOutboundUrl("http://127.0.0.1:3001/", hostPort), OutboundRefusedError);
		assert.throws(() => parseOutboundAllow(["10.0.0.0/33"]), /not a CIDR/);
		assert.throws(() => parseOutboundAllow(["http://x/"]), /neither a CIDR nor host/);
		assert.throws(() => loadConfig({ CDS_OUTBOUND_ALLOW: "not a cidr/99" }), /CDS_OUTBOUND_ALLOW/);
		assert.deepEqual(loadConfig({}).outbound.allow, []);
		assert.equal(loadConfig({}).repository.allowLocal, false, "local repositories are off by default");
		assert.equal(loadConfig({ CDS_OUTBOUND_ALLOW: "127.0.0.1/32, ::1/128" }).outbound.allow.length, 2);
	});
});

describe("outbound policy: git remotes", () => {
	test("local paths and file:// need CDS_REPOSITORY_ALLOW_LOCAL; hosts are checked; http(s) is pinned", async () => {
		const off = { policy: none, allowLocal: false };
		await assert.rejects(
			gitOutboundArgs("/srv/git/app.git", off),
			refused(/CDS_REPOSITORY_ALLOW_LOCAL=true/),
		);
		await assert.rejects(
			gitOutboundArgs("file:///srv/git/app.git", off),
			refused(/CDS_REPOSITORY_ALLOW_LOCAL=true/),
		);
		const local = await gitOutboundArgs("/srv/git/app.git", { policy: none, allowLocal: true });
		assert.ok(local.includes("protocol.file.allow=always"));
		for (const url of [
			"http://127.0.0.1/org/app.git",
			"ssh://git@[::1]/org/app.git",
			"git@2130706433:org/app.git",
			"git://10.0.0.1/app.git",
			"https://localhost/org/app.git",
		])
			await assert.rejects(gitOutboundArgs(url, off), refused(/CDS_OUTBOUND_ALLOW=/), url);
		const resolve = async () => [{ address: "93.184.216.34", family: 4 }];
		const args = await gitOutboundArgs("https://git.example/org/app.git", { ...off, resolve });
		assert.ok(args.includes("http.curloptResolve=git.example:443:93.184.216.34"), args.join(" "));
		assert.ok(args.includes("http.followRedirects=false"));
		assert.ok(args.includes("protocol.file.allow=never"));
		assert.ok(args.includes("protocol.ext.allow=never"));
	});
});

describe("outbound policy: connections through a real server", () => {
	let server: Server;
	let port = 0;
	let hits: string[] = [];
	before(async () => {
		server = createServer((req, res) => {
			hits.push(req.url ?? "");
			if (req.url === "/redirect") {
				res.writeHead(302, { location: "http://127.0.0.1:1/elsewhere" });
				res.end();
				return;
			}
			res.writeHead(200, { "content-type": "application/json" });
			res.end('{"ok":true}');
		});
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
		port = (server.address() as { port: number }).port;
	});
	after(() => new Promise((r) => server.close(r)));

	test("refused before connecting; allowed → reached, pinned to the checked address; redirects not followed", async () => {
		hits = [];
		await assert.rejects(
			outboundFetch(`http://127.0.0.1:${port}/x`, {}, { policy: none }),
			OutboundRefusedError,
		);
		assert.deepEqual(hits, [], "nothing reached the server");
		const allowed = { allow: parseOutboundAllow([`127.0.0.1:${port}`]) };
		const ok = await outboundFetch(`http://127.0.0.1:${port}/x`, {}, { policy: allowed });
		assert.deepEqual(await ok.json(), { ok: true });
		// A name whose resolution is pinned: the connection goes to the checked address.
		const named = { allow: parseOutboundAllow([`forge.test:${port}`]) };
		const viaName = await outboundFetch(
			`http://forge.test:${port}/named`,
			{},
			{
				policy: named,
				resolve: async () => [{ address: "127.0.0.1", family: 4 }],
			},
		);
		assert.equal(viaName.status, 200);
		await assert.rejects(
			outboundFetch(`http://127.0.0.1:${port}/redirect`, {}, { policy: allowed }),
			refused(/redirects are not followed/),
		);
		assert.deepEqual(hits, ["/x", "/named", "/redirect"]);
	});

	test("checkOutbound refuses an empty host", async () => {
		await assert.rejects(checkOutbound({ label: "x", host: "", port: null }, none), OutboundRefusedError);
	});
});
