// Where templates may be downloaded from: the allowed prefixes, internal addresses,
// DNS answers, redirects, size limits and file URLs that try to leave their directory.

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { fetchTemplateText, TemplateFetchError } from "../../src/templates/fetch.ts";
import {
	addressAllowed,
	checkAllowed,
	isInternalAddress,
	parseAllowedPrefixes,
	UrlPolicyError,
} from "../../src/templates/url-policy.ts";

describe("URL policy", () => {
	test("prefixes must be https, http or file URLs without credentials", () => {
		assert.equal(parseAllowedPrefixes("https://t.example.com/a/, file:///srv/t/").length, 2);
		assert.deepEqual(parseAllowedPrefixes(undefined), []);
		assert.throws(() => parseAllowedPrefixes("ftp://x/"), UrlPolicyError);
		assert.throws(() => parseAllowedPrefixes("https://u:p@x/"), UrlPolicyError);
		assert.throws(() => parseAllowedPrefixes("not a url"), UrlPolicyError);
	});

	test("a URL must be under a prefix: same scheme, host, port and a path below", () => {
		const prefixes = parseAllowedPrefixes("https://t.example.com/templates/,file:///srv/t/");
		assert.equal(
			checkAllowed("https://t.example.com/templates/a.yml", prefixes).url.pathname,
			"/templates/a.yml",
		);
		for (const bad of [
			"https://t.example.com/templates-evil/a.yml",
			"https://t.example.com/templates/../secret.yml",
			"https://t.example.com/templates/%2e%2e/secret.yml",
			"https://t.example.com/templates/..%2fsecret.yml",
			"http://t.example.com/templates/a.yml",
			"https://t.example.com:8443/templates/a.yml",
			"https://t.example.com.evil.org/templates/a.yml",
			"https://t.example.com@evil.org/templates/a.yml",
			"file:///etc/passwd",
			"file:///srv/t/../../etc/passwd",
			"gopher://t.example.com/templates/a.yml",
		]) {
			assert.throws(() => checkAllowed(bad, prefixes), UrlPolicyError, bad);
		}
		assert.throws(
			() => checkAllowed("https://t.example.com/templates/a.yml", []),
			/CDS_TEMPLATE_ALLOWED_URLS/,
		);
	});

	test("internal addresses are recognised, IPv4 and IPv6", () => {
		for (const a of [
			"127.0.0.1",
			"10.1.2.3",
			"172.16.0.1",
			"192.168.1.1",
			"169.254.169.254",
			"0.0.0.0",
			"100.64.0.1",
			"::1",
			"fd00::1",
			"fe80::1",
			"::ffff:127.0.0.1",
			"::",
		]) {
			assert.equal(isInternalAddress(a), true, a);
		}
		for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"])
			assert.equal(isInternalAddress(a), false, a);
	});

	test("an internal address is allowed only when the prefix names it", () => {
		assert.equal(addressAllowed("127.0.0.1", new URL("http://127.0.0.1:8080/")), true);
		assert.equal(addressAllowed("127.0.0.1", new URL("http://localhost:8080/")), true);
		assert.equal(addressAllowed("10.0.0.5", new URL("https://templates.example.com/")), false);
		assert.equal(addressAllowed("127.0.0.2", new URL("http://127.0.0.1/")), false);
		assert.equal(addressAllowed("93.184.216.34", new URL("https://templates.example.com/")), true);
	});
});

describe("fetching templates", () => {
	let server: Server;
	let base: string;
	let dir: string;

	before(async () => {
		server = createServer((req, res) => {
			if (req.url === "/t/ok.yml") return res.end("name: ok\n");
			if (req.url === "/t/big.yml") return res.end("x".repeat(5000));
			if (req.url === "/t/redirect.yml") {
				res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data" });
				return res.end();
			}
			if (req.url === "/t/slow.yml") return setTimeout(() => res.end("late"), 2000);
			res.writeHead(404);
			res.end();
		});
		await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
		base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
		dir = await mkdtemp(join(tmpdir(), "cds-templates-fetch-"));
		await mkdir(join(dir, "allowed"));
		await writeFile(join(dir, "allowed", "a.yml"), "name: a\n");
		await writeFile(join(dir, "secret.txt"), "secret\n");
		await symlink(join(dir, "secret.txt"), join(dir, "allowed", "link.yml"));
	});

	after(async () => {
		server.closeAllConnections();
		await new Promise((resolve) => server.close(resolve));
		await rm(dir, { recursive: true, force: true });
	});

	test("an allowed http URL on the loopback host named by the prefix is downloaded", async () => {
		const prefixes = parseAllowedPrefixes(`${base}/t/`);
		assert.equal(await fetchTemplateText(`${base}/t/ok.yml`, { prefixes }), "name: ok\n");
	});

	test("the same host reached by a name that the prefix does not name as an address is refused", async () => {
		const prefixes = parseAllowedPrefixes("http://templates.example.com/t/");
		await assert.rejects(
			fetchTemplateText("http://templates.example.com/t/ok.yml", {
				prefixes,
				resolve: async () => [{ address: "127.0.0.1", family: 4 }],
			}),
			(e: unknown) => e instanceof UrlPolicyError && /internal address 127\.0\.0\.1/.test(e.message),
		);
	});

	test("redirects are not followed, errors and limits are reported", async () => {
		const policy = { prefixes: parseAllowedPrefixes(`${base}/t/`), maxBytes: 1000, timeoutMs: 500 };
		await assert.rejects(fetchTemplateText(`${base}/t/redirect.yml`, policy), /redirects are not followed/);
		await assert.rejects(fetchTemplateText(`${base}/t/big.yml`, policy), /larger than 1000 bytes/);
		await assert.rejects(fetchTemplateText(`${base}/t/missing.yml`, policy), /HTTP 404/);
		await assert.rejects(
			fetchTemplateText(`${base}/t/slow.yml`, policy),
			(e: unknown) => e instanceof TemplateFetchError && /timed out/.test(e.message),
		);
	});

	test("file URLs are read inside the allowed directory only, symbolic links resolved", async () => {
		const prefix = pathToFileURL(join(dir, "allowed")).href + "/";
		const prefixes = parseAllowedPrefixes(prefix);
		assert.equal(await fetchTemplateText(`${prefix}a.yml`, { prefixes }), "name: a\n");
		await assert.rejects(
			fetchTemplateText(`${prefix}link.yml`, { prefixes }),
			/outside the allowed directory/,
		);
		await assert.rejects(
			fetchTemplateText(pathToFileURL(join(dir, "secret.txt")).href, { prefixes }),
			UrlPolicyError,
		);
		await assert.rejects(fetchTemplateText(`${prefix}none.yml`, { prefixes }), /no such file/);
	});
});
