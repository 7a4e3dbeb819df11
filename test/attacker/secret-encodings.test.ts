// Attack: a step prints a password variable in many encodings (plain, split across two writes
// or two lines with a pause, fold -w 3, one character per line, spaced, reversed, base64 -w 10 alone and
// inside a longer text, hex from xxd -p and od, %XX URL-encoding) and exports it base64'd.
// None of it may reach the stored logs (read through the API and from the store) or the
// stored run in any recognisable form. The same commands run on a plain variable: its
// encodings do appear, so the attack's commands are proven to work, and the step to have run.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const WF = "/api/v1/projects/ATK/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);
const SECRET = "Zq7-xW3v-Pm9k-Lt2e";
const CONTROL = "plain-Hb5r-Yc8u-Dn4j";

/** The printing commands, for the value of environment variable `v` (12 printings). */
function printer(v: string): string[] {
	return [
		`echo "plain $${v}"`,
		`printf '%s' "\${${v}:0:8}"; sleep 1; printf '%s\\n' "\${${v}:8}"`,
		`echo "\${${v}:0:8}"; sleep 1; echo "\${${v}:8}"`,
		`printf '%s\\n' "$${v}" | fold -w 3`,
		`printf '%s\\n' "$${v}" | fold -w 1`,
		`printf '%s\\n' "$${v}" | sed 's/./& /g'`,
		`printf '%s\\n' "$${v}" | rev`,
		`printf '%s' "$${v}" | base64 -w 10`,
		`printf 'user:%s' "$${v}" | base64 -w 10`,
		// xxd -p where installed (Debian's xxd package), the same plain hex from od otherwise.
		`if command -v xxd >/dev/null; then printf '%s' "$${v}" | xxd -p; else printf '%s' "$${v}" | od -An -tx1 | tr -d ' \\n'; echo; fi`,
		`printf '%s' "$${v}" | od -An -tx1`,
		`printf '%s' "$${v}" | od -An -tx1 | tr -d ' \\n' | sed 's/../%&/g'; echo`,
	];
}

/** Forms of `value` a reader could undo by eye, searched with whitespace removed. */
function formsOf(value: string): string[] {
	const hex = Buffer.from(value).toString("hex");
	return [
		value,
		[...value].reverse().join(""),
		hex,
		hex.replace(/../g, "%$&"),
		Buffer.from(value).toString("base64"),
		Buffer.from(`user:${value}`).toString("base64"),
	];
}

/** Every decoding of base64-looking runs, at every start offset. */
function base64Decodings(flat: string): string[] {
	const out: string[] = [];
	for (const run of flat.match(/[A-Za-z0-9+/=]{8,}/g) ?? [])
		for (let skip = 0; skip < 4; skip++) out.push(Buffer.from(run.slice(skip), "base64").toString("latin1"));
	return out;
}

const script = [
	"echo MARKER-BEGIN-attack",
	...printer("CDS_PROJ_ATTACK_SECRET"),
	...printer("CDS_PROJ_ATTACK_CONTROL"),
	`worker export leak "$(printf %s "$CDS_PROJ_ATTACK_SECRET" | base64 -w0)"`,
	"echo MARKER-END-attack",
];

describe("attack: a secret printed in many encodings", () => {
	let srv: TestServer;
	before(async () => {
		srv = await startTestServer({ CDS_HATCHERY_POLL_MS: "100" });
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "ATK", name: "attacker" })).status, 201);
		for (const [name, type, value] of [
			["attack.secret", "password", SECRET],
			["attack.control", "string", CONTROL],
		]) {
			const r = await srv.api("POST", "/api/v1/projects/ATK/variables", { name, type, value });
			assert.equal(r.status, 201, JSON.stringify(r.body));
		}
	});
	after(async () => srv?.stop());

	test("no encoding of the secret is stored, the control's are", async () => {
		const pipeline = [
			"version: v1.0",
			"name: leak",
			"jobs:",
			"- job: print",
			"  steps:",
			"  - script:",
			...script.map((line) => `    - ${JSON.stringify(line)}`),
			"",
		].join("\n");
		const files = [
			{ path: "w.yml", content: "name: encodings\nversion: v1.0\npipeline: leak\n" },
			{ path: "leak.pip.yml", content: pipeline },
		];
		const imp = await srv.api("POST", "/api/v1/projects/ATK/import", { files });
		assert.equal(imp.status, 200, JSON.stringify(imp.body));
		const n = (await srv.api("POST", `${WF}/encodings/runs`, {})).body.number;
		let run: { status: string; nodes: unknown };
		const deadline = Date.now() + 60_000;
		for (;;) {
			run = (await srv.api("GET", `${WF}/encodings/runs/${n}`)).body;
			if (FINAL.has(run.status) || Date.now() > deadline) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));

		const items: Array<{ text: string }> = [];
		for (let cursor = ""; ; ) {
			const page = (
				await srv.api("GET", `${WF}/encodings/runs/${n}/logs?limit=5000${cursor ? `&cursor=${cursor}` : ""}`)
			).body;
			items.push(...page.items);
			if (!page.next || page.next === cursor) break;
			cursor = page.next;
		}
		const viaApi = items.map((l) => l.text).join("");
		const logs = await (
			await srv.server.store.collection<{ _id: string; text: string }>({ name: "logs" })
		).find({});
		const inStore = logs.map((l) => l.text).join("");

		for (const [where, text] of [
			["API", viaApi],
			["store", inStore],
		] as const) {
			assert.match(text, /MARKER-BEGIN-attack[\s\S]*MARKER-END-attack/, `${where}: the step ran`);
			const flat = text.replace(/\s+/g, "");
			for (const form of formsOf(CONTROL))
				assert.ok(flat.includes(form), `${where}: the control's ${form} is printed, so the command works`);
			for (const form of formsOf(SECRET))
				assert.ok(
					!flat.includes(form) && !flat.toLowerCase().includes(form.toLowerCase()),
					`${where}: ${form}`,
				);
			for (const decoded of base64Decodings(flat)) assert.ok(!decoded.includes(SECRET), `${where}: base64`);
			assert.ok((text.match(/\*{10}/g) ?? []).length >= 12, `${where}: every printing is masked`);
		}

		const runs = await srv.server.store.collection<{ _id: string; workflow: string; number: number }>({
			name: "runs",
		});
		const stored = JSON.stringify(await runs.find({ workflow: "encodings", number: n }));
		for (const form of formsOf(SECRET)) assert.ok(!stored.includes(form), `stored run: ${form}`);
		assert.match(stored, /enc:v1:/, "the exported value is stored sealed");
	});
});
