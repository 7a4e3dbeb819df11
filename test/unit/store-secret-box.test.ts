import assert from "node:assert/strict";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ensurePrivateDataDir } from "../../src/crypto/master-key.ts";
import { generateKey, isSealed, loadMasterKey, SecretBox } from "../../src/crypto/secret-box.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

const dirs: { remove(): Promise<void> }[] = [];
after(async () => {
	for (const d of dirs) await d.remove();
});

describe("SecretBox", () => {
	const box = SecretBox.fromKey(generateKey());

	test("seal then open gives the original text back, unicode included", () => {
		for (const plain of ["", "hunter2", "mot de passe: ünïcødé ✓", "x".repeat(10_000)]) {
			const sealed = box.seal(plain);
			assert.ok(isSealed(sealed));
			assert.match(sealed, /^enc:v1:[A-Za-z0-9+/]+=*$/);
			assert.ok(!sealed.includes(plain) || plain === "");
			assert.equal(box.open(sealed), plain);
		}
	});

	test("sealing the same text twice gives different ciphertexts (random IV)", () => {
		const a = box.seal("same secret");
		const b = box.seal("same secret");
		assert.notEqual(a, b);
		assert.equal(box.open(a), box.open(b));
	});

	test("a tampered ciphertext is detected", () => {
		const sealed = box.seal("do not touch");
		const raw = Buffer.from(sealed.slice("enc:v1:".length), "base64");
		raw[raw.length - 1]! ^= 1;
		assert.throws(
			() => box.open(`enc:v1:${raw.toString("base64")}`),
			/tampered with or sealed with another master key/,
		);
		assert.throws(() => box.open("enc:v1:AAAA"), /truncated/);
	});

	test("a different key cannot open it", () => {
		const sealed = box.seal("mine");
		assert.throws(() => SecretBox.fromKey(generateKey()).open(sealed), /another master key/);
	});

	test("plain text and bad keys are refused clearly", () => {
		assert.equal(isSealed("plain"), false);
		assert.throws(() => box.open("plain"), /not a sealed secret/);
		assert.throws(() => SecretBox.fromKey(Buffer.alloc(16)), /32 bytes/);
	});
});

describe("loadMasterKey", () => {
	test("CDS_SECRET_KEY wins over the data directory", async () => {
		const key = generateKey();
		const d = await tempDataDir();
		dirs.push(d);
		const loaded = await loadMasterKey({ env: key.toString("base64"), dataDir: d.dir });
		assert.deepEqual(loaded, key);
		await assert.rejects(stat(join(d.dir, "master.key")), { code: "ENOENT" });
	});

	test("a bad CDS_SECRET_KEY is refused clearly", async () => {
		await assert.rejects(
			loadMasterKey({ env: "c2hvcnQ=" }),
			/CDS_SECRET_KEY must be 32 random bytes in base64/,
		);
		await assert.rejects(loadMasterKey({ env: "%%%not base64%%%" }), /CDS_SECRET_KEY must be 32/);
	});

	test("without env the key is created once in <dataDir>/master.key (mode 0600) and reused", async () => {
		const d = await tempDataDir();
		dirs.push(d);
		const first = await loadMasterKey({ dataDir: d.dir });
		assert.equal(first.length, 32);
		const info = await stat(join(d.dir, "master.key"));
		assert.equal(info.mode & 0o777, 0o600);
		const second = await loadMasterKey({ dataDir: d.dir });
		assert.deepEqual(second, first);
		assert.equal((await readFile(join(d.dir, "master.key"), "utf8")).trim(), first.toString("base64"));
	});

	test("a corrupt master.key is reported, not replaced", async () => {
		const d = await tempDataDir();
		dirs.push(d);
		await writeFile(join(d.dir, "master.key"), "garbage");
		await assert.rejects(loadMasterKey({ dataDir: d.dir }), /master\.key must be 32 random bytes/);
		assert.equal(await readFile(join(d.dir, "master.key"), "utf8"), "garbage");
	});

	test("a master.key other users can read is changed to 0600, with a warning; a 0600 one is left alone", async () => {
		const d = await tempDataDir();
		dirs.push(d);
		const first = await loadMasterKey({ dataDir: d.dir });
		const file = join(d.dir, "master.key");
		const warnings: string[] = [];
		await loadMasterKey({ dataDir: d.dir, warn: (m) => warnings.push(m) });
		assert.equal(warnings.length, 0, warnings.join("\n"));
		await chmod(file, 0o644);
		const again = await loadMasterKey({ dataDir: d.dir, warn: (m) => warnings.push(m) });
		assert.deepEqual(again, first);
		assert.equal((await stat(file)).mode & 0o777, 0o600);
		assert.equal(warnings.length, 1);
		assert.match(warnings[0]!, /master\.key had mode 0644: changed to 0600/);
	});

	test("the data directory is created 0700, and an open one is changed to 0700 with a warning", async () => {
		const d = await tempDataDir();
		dirs.push(d);
		const fresh = join(d.dir, "new", "data");
		await ensurePrivateDataDir(fresh);
		assert.equal((await stat(fresh)).mode & 0o777, 0o700);
		const open = join(d.dir, "open");
		await mkdir(open);
		await chmod(open, 0o755);
		const warnings: string[] = [];
		await ensurePrivateDataDir(open, (m) => warnings.push(m));
		assert.equal((await stat(open)).mode & 0o777, 0o700);
		assert.match(warnings.join("\n"), /had mode 0755: changed to 0700/);
	});

	test("neither env nor dataDir is an error", async () => {
		await assert.rejects(loadMasterKey({}), /set CDS_SECRET_KEY/);
	});
});
