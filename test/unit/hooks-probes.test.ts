// The health check probes against servers this test starts on loopback: HTTP status and body,
// TCP connect, UDP question and answer; and the outbound policy refusing a target before any probe.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { parseOutboundAllow, OutboundRefusedError } from "../../src/net/outbound-policy.ts";
import { checkPlanOf, parseExpectedStatus, runProbe } from "../../src/hooks/probes.ts";

const loopback = { allow: parseOutboundAllow(["127.0.0.1/32"]) };
const none = { allow: [] };
const now = () => Date.now();

describe("health check probes", () => {
	let httpServer: http.Server;
	let httpUrl = "";
	let status = 200;
	let body = "all good";
	before(async () => {
		httpServer = http.createServer((_req, res) => {
			res.writeHead(status, { "content-type": "text/plain" });
			res.end(body);
		});
		await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
		httpUrl = `http://127.0.0.1:${(httpServer.address() as { port: number }).port}/health`;
	});
	after(() => httpServer.close());

	test("expected_status takes codes and classes", () => {
		const t = parseExpectedStatus("2xx, 418");
		assert.deepEqual([200, 204, 301, 418, 500].map(t), [true, true, false, true, false]);
		assert.equal(parseExpectedStatus(undefined)(302), true);
		assert.throws(() => parseExpectedStatus("2xx,teapot"), /teapot/);
	});

	test("the config makes a plan: defaults, the minimum interval, a bad regular expression", () => {
		const plan = checkPlanOf("HTTP health check", { url: httpUrl, interval: "200ms" }, 1000);
		assert.equal(plan.intervalMs, 1000, "raised to the server's minimum");
		assert.deepEqual(plan.thresholds, { failure: 3, recovery: 2 });
		assert.equal(plan.on, "both");
		const tcp = checkPlanOf(
			"TCP health check",
			{ host: "h", port: "80", failure_threshold: "1", on: "down" },
			10,
		);
		assert.equal(tcp.target, "h:80");
		assert.deepEqual(tcp.thresholds, { failure: 1, recovery: 2 });
		assert.equal(tcp.on, "down");
		assert.throws(
			() => checkPlanOf("UDP health check", { host: "h", port: "53", expect: "(" }, 10),
			/expect/,
		);
	});

	test("HTTP: status and body decide; a refused connection is a failed probe", async () => {
		const plan = (extra: Record<string, string> = {}) =>
			checkPlanOf("HTTP health check", { url: httpUrl, timeout: "2s", ...extra }, 10).probe;
		status = 200;
		body = "status: ok";
		const ok = await runProbe(plan({ body_match: "status: (ok|fine)" }), loopback, now);
		assert.equal(ok.ok, true);
		assert.equal(ok.status, 200);
		const mismatch = await runProbe(plan({ body_match: "^degraded" }), loopback, now);
		assert.equal(mismatch.ok, false);
		assert.match(mismatch.error!, /does not match/);
		status = 503;
		const bad = await runProbe(plan(), loopback, now);
		assert.deepEqual([bad.ok, bad.status], [false, 503]);
		const teapot = await runProbe(plan({ expected_status: "503" }), loopback, now);
		assert.equal(teapot.ok, true);
		const closed = await runProbe(
			checkPlanOf("HTTP health check", { url: "http://127.0.0.1:1/x" }, 10).probe,
			loopback,
			now,
		);
		assert.equal(closed.ok, false);
		assert.match(closed.error!, /ECONNREFUSED/);
	});

	test("the outbound policy refuses an internal target before any connection", async () => {
		await assert.rejects(
			runProbe(checkPlanOf("HTTP health check", { url: httpUrl }, 10).probe, none, now),
			(e: unknown) => e instanceof OutboundRefusedError && /CDS_OUTBOUND_ALLOW/.test(e.message),
		);
		await assert.rejects(
			runProbe(checkPlanOf("TCP health check", { host: "10.1.2.3", port: "22" }, 10).probe, loopback, now),
			OutboundRefusedError,
		);
	});

	test("TCP: a listening port is up, a closed one down", async () => {
		const server = createServer((s) => s.end());
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		const port = String((server.address() as { port: number }).port);
		const probe = checkPlanOf("TCP health check", { host: "127.0.0.1", port, timeout: "2s" }, 10).probe;
		assert.equal((await runProbe(probe, loopback, now)).ok, true);
		await new Promise<void>((r) => server.close(() => r()));
		const down = await runProbe(probe, loopback, now);
		assert.equal(down.ok, false);
		assert.ok(down.error);
	});

	test("UDP: an answer matching `expect` is up; a wrong answer or none is down", async () => {
		const server = createSocket("udp4");
		let answer = "PONG";
		server.on("message", (msg, rinfo) => {
			if (msg.toString() === "PING") server.send(answer, rinfo.port, rinfo.address);
		});
		await new Promise<void>((r) => server.bind(0, "127.0.0.1", r));
		const port = String(server.address().port);
		const probe = checkPlanOf(
			"UDP health check",
			{ host: "127.0.0.1", port, send: "PING", expect: "^PONG$", timeout: "500ms" },
			10,
		).probe;
		assert.equal((await runProbe(probe, loopback, now)).ok, true);
		answer = "NOPE";
		const wrong = await runProbe(probe, loopback, now);
		assert.equal(wrong.ok, false);
		assert.match(wrong.error!, /matching/);
		server.close();
		const gone = await runProbe(probe, loopback, now);
		assert.equal(gone.ok, false);
	});

	test("HTTPS: the certificate is verified unless tls_verify is false", async (t) => {
		const dir = mkdtempSync(path.join(tmpdir(), "hc-tls-"));
		try {
			execFileSync(
				"openssl",
				["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
					.concat(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
					.concat(["-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")]),
				{ stdio: "ignore" },
			);
		} catch {
			rmSync(dir, { recursive: true, force: true });
			t.skip("openssl cannot make a self-signed certificate here");
			return;
		}
		const server = https.createServer(
			{ key: readFileSync(path.join(dir, "key.pem")), cert: readFileSync(path.join(dir, "cert.pem")) },
			(_req, res) => res.end("ok"),
		);
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
		try {
			const verified = await runProbe(checkPlanOf("HTTP health check", { url }, 10).probe, loopback, now);
			assert.equal(verified.ok, false, "a self-signed certificate fails verification");
			assert.match(verified.error!, /self[- ]signed|certificate/i);
			const unverified = await runProbe(
				checkPlanOf("HTTP health check", { url, tls_verify: "false" }, 10).probe,
				loopback,
				now,
			);
			assert.deepEqual([unverified.ok, unverified.status], [true, 200]);
		} finally {
			server.close();
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
