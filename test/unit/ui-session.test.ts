import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeCursor } from "../../src/engine/log-page.ts";
import { assetFor, CONTENT_SECURITY_POLICY } from "../../src/ui/assets.ts";
import { cookieValue, csrfAllows, sessionCookie } from "../../src/ui/session.ts";
import { cursorAfter, decodePosition, encodePosition, sseMessage } from "../../src/ui/sse.ts";

test("the session cookie is HttpOnly, SameSite=Strict, Secure only over TLS", () => {
	const plain = sessionCookie("abcdefghijklmnop", { maxAgeSeconds: 60, secure: false });
	assert.equal(plain, "cds_session=abcdefghijklmnop; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
	assert.match(sessionCookie("abcdefghijklmnop", { maxAgeSeconds: 60, secure: true }), /; Secure$/);
});

test("cookie values are read strictly", () => {
	const v = "A".repeat(43);
	assert.equal(cookieValue(`x=1; cds_session=${v}; y=2`, "cds_session"), v);
	assert.equal(cookieValue("cds_session=short", "cds_session"), "");
	assert.equal(cookieValue(`cds_session=${v};`.replace("A", "<"), "cds_session"), "");
	assert.equal(cookieValue(undefined, "cds_session"), "");
});

test("cookie-authenticated writes need the session's CSRF token", () => {
	assert.equal(csrfAllows("GET", undefined, "tok"), true);
	assert.equal(csrfAllows("POST", undefined, "tok"), false);
	assert.equal(csrfAllows("DELETE", "tox", "tok"), false);
	assert.equal(csrfAllows("put", "tok", "tok"), true);
	assert.equal(csrfAllows("POST", "", ""), false);
});

test("SSE positions round-trip and the cursor is one the log page reads", () => {
	const cursor = cursorAfter("P/W/0000000001-build-0", "000123");
	assert.deepEqual(decodeCursor(cursor), ["P/W/0000000001-build-0", "000123"]);
	const id = encodePosition({ run: "P/W/0000000001", cursor });
	assert.deepEqual(decodePosition(id), { run: "P/W/0000000001", cursor });
	assert.equal(decodePosition("not base64 !"), undefined);
	assert.equal(decodePosition(Buffer.from("[1,2]").toString("base64url")), undefined);
	// Data is one JSON line: a log line with newlines cannot forge an SSE field.
	assert.equal(
		sseMessage("log", { text: "a\nid: x\n\nevent: run" }, "7"),
		'id: 7\nevent: log\ndata: {"text":"a\\nid: x\\n\\nevent: run"}\n\n',
	);
});

test("UI paths map into ui/ only; the CSP allows no inline code", () => {
	assert.deepEqual(assetFor("/"), { kind: "file", file: "index.html", type: "text/html; charset=utf-8" });
	assert.deepEqual(assetFor("/ui/pages/run.js"), {
		kind: "file",
		file: "pages/run.js",
		type: "text/javascript; charset=utf-8",
	});
	assert.equal(assetFor("/ui/lib/ansi.js")?.kind, "shared");
	assert.equal(assetFor("/ui/lib/session.js"), undefined, "only the listed src/ui modules are served");
	for (const bad of [
		"/ui/../package.json",
		"/ui/%2e%2e/x.js",
		"/ui/.env.js",
		"/ui/a//b.js",
		"/server.ts",
		"/ui/x.ts",
	])
		assert.equal(assetFor(bad), undefined, bad);
	assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe/);
	assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
});
