// Pure parts of the Nova hatchery: flavor and image choice, names and tags, the user-data boot
// script, the meaning of server statuses and the configuration (Keystone: openstack-keystone.test.ts).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { missingNovaSettings, readNovaSettings } from "../../config/nova.ts";
import { ConfigError } from "../../config/settings.ts";
import { serverState } from "../../src/hatchery/openstack/server-state.ts";
import {
	chooseFlavor,
	hatcheryTag,
	imageNameFor,
	resolveImage,
	serverName,
	volumeDevice,
	workspaceVolume,
} from "../../src/hatchery/openstack/server-spec.ts";
import { assignLine, renderUserData } from "../../src/hatchery/openstack/user-data.ts";

const FLAVORS = [
	{ id: "4", name: "m1.large", ram: 8192, vcpus: 4, disk: 80 },
	{ id: "1", name: "m1.tiny", ram: 512, vcpus: 1, disk: 1 },
	{ id: "3", name: "m1.medium", ram: 4096, vcpus: 2, disk: 40 },
	{ id: "3b", name: "c1.medium", ram: 4096, vcpus: 4, disk: 40 },
];

describe("flavor choice", () => {
	test("the smallest whose RAM covers the requirement (fewer vCPUs first on a tie)", () => {
		assert.equal(chooseFlavor(FLAVORS, 3000).name, "m1.medium");
		assert.equal(chooseFlavor(FLAVORS, 4096).name, "m1.medium");
		assert.equal(chooseFlavor(FLAVORS, 4097).name, "m1.large");
		assert.equal(chooseFlavor(FLAVORS, 1).name, "m1.tiny");
	});
	test("no requirement: the configured default, else the smallest", () => {
		assert.equal(chooseFlavor(FLAVORS, undefined).name, "m1.tiny");
		assert.equal(chooseFlavor(FLAVORS, undefined, "m1.large").id, "4");
		assert.throws(() => chooseFlavor(FLAVORS, undefined, "x1.huge"), /no flavor named x1.huge/);
	});
	test("too much memory names the largest flavor", () => {
		assert.throws(
			() => chooseFlavor(FLAVORS, 16_000),
			/no flavor has 16000 MiB of RAM \(the largest, m1.large, has 8192 MiB\)/,
		);
		assert.throws(() => chooseFlavor([], 1), /no flavor/);
	});
});

describe("image choice", () => {
	const s = { images: { go: "ubuntu-go" }, defaultImage: "cds-worker" };
	test("model → mapped image, else the model's own name, else the default", () => {
		assert.equal(imageNameFor("go", s), "ubuntu-go");
		assert.equal(imageNameFor("debian-12", s), "debian-12");
		assert.equal(imageNameFor(undefined, s), "cds-worker");
	});
	test("a name resolves to the one active image of that name; a UUID is taken as is", () => {
		const images = [
			{ id: "a", name: "x", status: "ACTIVE" },
			{ id: "b", name: "x", status: "DELETED" },
			{ id: "c", name: "dup", status: "active" },
			{ id: "d", name: "dup", status: "active" },
		];
		assert.equal(resolveImage(images, "x"), "a");
		assert.throws(() => resolveImage(images, "y"), /no active image named y/);
		assert.throws(() => resolveImage(images, "dup"), /2 active images/);
		const uuid = "0b3c1f1e-6f52-4d5e-9a6e-3c2d1e0f9a8b";
		assert.equal(resolveImage([], uuid), uuid);
	});
});

describe("names, tags, volumes", () => {
	test("a hatchery tag fits Nova's limits (≤ 60 characters, no ',' or '/')", () => {
		assert.equal(hatcheryTag("nova-1"), "cds-h-nova-1");
		const long = hatcheryTag(`${"x".repeat(100)}/a,b`);
		assert.ok(long.length <= 60 && !/[,/]/.test(long), long);
		assert.notEqual(hatcheryTag("a/b"), hatcheryTag("a-b"), "distinct hatcheries, distinct tags");
	});
	test("server names are hostnames, distinct per attempt", () => {
		const a = serverName("Nova_1", "P/W/1", "n1");
		assert.match(a, /^cds-nova-1-[0-9a-f]{12}$/);
		assert.notEqual(a, serverName("Nova_1", "P/W/1", "n2"));
	});
	test("a workspace volume's size is rounded up to GiB; its device is the virtio serial", () => {
		const ws = { id: "p-w-n-main-cache", name: "cache", sizeBytes: 1, leaseId: "l" };
		assert.deepEqual(workspaceVolume(ws), { name: "cds-ws-p-w-n-main-cache", sizeGiB: 1 });
		assert.equal(workspaceVolume({ ...ws, sizeBytes: 2 * 1024 ** 3 }).sizeGiB, 2);
		assert.equal(workspaceVolume({ ...ws, sizeBytes: 2 * 1024 ** 3 + 1 }).sizeGiB, 3);
		assert.equal(volumeDevice("0123456789abcdef0123456789"), "/dev/disk/by-id/virtio-0123456789abcdef0123");
	});
});

describe("user-data boot script", () => {
	const input = {
		apiUrl: "http://api.example/",
		token: "tok'en-secret",
		jobId: "P/W/1/j",
		workerCommand: "node /opt/cds/bin/cds-worker.mjs",
		env: { CDS_WORKER_NAME: "cds-x", CDS_WORKER_SANDBOX: '{"kind":"none"}' },
	};
	test("the assignment line carries the workspace's name and path only when there is one", () => {
		assert.deepEqual(JSON.parse(assignLine(input)), {
			type: "assign",
			apiUrl: "http://api.example/",
			token: "tok'en-secret",
			jobId: "P/W/1/j",
		});
		const ws = {
			ws: { id: "w", name: "cache", sizeBytes: 1, leaseId: "l" },
			volumeId: "v".repeat(36),
			path: "/mnt/w",
		};
		assert.deepEqual(JSON.parse(assignLine({ ...input, workspace: ws })).workspace, {
			name: "cache",
			path: "/mnt/w",
		});
	});
	test("run by sh, it feeds the line to the worker's stdin, deletes itself, and keeps the token out of env and argv", () => {
		const dir = mkdtempSync(path.join(tmpdir(), "userdata-"));
		try {
			const out = path.join(dir, "out");
			// The "worker": records its stdin, argv and environment.
			const worker = path.join(dir, "worker.sh");
			writeFileSync(
				worker,
				`#!/bin/sh\ncat > ${out}.stdin\necho "$@" > ${out}.argv\nenv > ${out}.env\nexit 3\n`,
				{
					mode: 0o755,
				},
			);
			const script = path.join(dir, "user-data");
			writeFileSync(script, renderUserData({ ...input, workerCommand: `${worker} --flag` }));
			const bin = path.join(dir, "bin");
			execFileSync("mkdir", [bin]);
			for (const cmd of ["poweroff", "iptables"])
				writeFileSync(path.join(bin, cmd), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
			let code = 0;
			try {
				execFileSync("sh", [script], { env: { PATH: `${bin}:/usr/bin:/bin` }, stdio: "pipe" });
			} catch (e) {
				code = (e as { status: number }).status;
			}
			assert.equal(code, 3, "the script exits with the worker's code");
			assert.deepEqual(JSON.parse(readFileSync(`${out}.stdin`, "utf8")), JSON.parse(assignLine(input)));
			assert.equal(readFileSync(`${out}.argv`, "utf8").trim(), "--flag");
			const env = readFileSync(`${out}.env`, "utf8");
			assert.match(env, /CDS_WORKER_NAME=cds-x/);
			assert.equal(env.includes("en-secret"), false);
			assert.throws(() => readFileSync(script), /ENOENT/, "the script deleted itself");
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
	test("with a workspace it mounts the volume's device at the path before starting the worker", () => {
		const ws = {
			ws: { id: "w", name: "cache", sizeBytes: 1, leaseId: "l" },
			volumeId: "abcdefabcdefabcdefabcdef",
			path: "/mnt/cds/w",
		};
		const text = renderUserData({ ...input, workspace: ws });
		const wait = text.indexOf('until blockdev --getsize64 "$dev"');
		const format = text.indexOf('mkfs.ext4 -q "$dev"');
		const mount = text.indexOf(`mount "$dev" '/mnt/cds/w' ||`);
		assert.ok(wait > 0 && wait < format && format < mount && mount < text.indexOf("cds-worker.mjs"), text);
		assert.match(text, /dev='\/dev\/disk\/by-id\/virtio-abcdefabcdefabcdefab'/);
		assert.match(text, /umount '\/mnt\/cds\/w'/);
	});
});

describe("server status → worker state", () => {
	test("BUILD provisioning, ACTIVE running, SHUTOFF ended, ERROR failed with Nova's fault", () => {
		assert.deepEqual(serverState({ name: "s", status: "BUILD" }), { kind: "provisioning" });
		assert.deepEqual(serverState({ name: "s", status: "ACTIVE" }), { kind: "running" });
		assert.deepEqual(serverState({ name: "s", status: "REBOOT" }), { kind: "running" });
		assert.deepEqual(serverState({ name: "s", status: "SHUTOFF" }), { kind: "ended" });
		assert.deepEqual(
			serverState({ name: "s", status: "ERROR", fault: { code: 500, message: "No valid host was found." } }),
			{
				kind: "failed",
				reason: "server s is in ERROR: No valid host was found.",
			},
		);
	});
});

describe("configuration", () => {
	test("nothing is required until the driver is used; then what is missing is named", () => {
		const s = readNovaSettings({});
		assert.deepEqual(missingNovaSettings(s), [
			"CDS_OPENSTACK_AUTH_URL",
			"CDS_OPENSTACK_USERNAME",
			"CDS_OPENSTACK_PASSWORD (or CDS_OPENSTACK_PASSWORD_FILE)",
			"CDS_OPENSTACK_PROJECT",
		]);
	});
	test("a v2.0 address is taken (the Keystone client uses v3 at that host and warns), as the Swift store does", () => {
		assert.equal(
			readNovaSettings({ CDS_OPENSTACK_AUTH_URL: "https://k:5000/v2.0" }).authUrl,
			"https://k:5000/v2.0",
		);
	});
	test("bad values are ConfigErrors", () => {
		assert.throws(() => readNovaSettings({ CDS_OPENSTACK_AUTH_URL: "keystone" }), ConfigError);
		assert.throws(() => readNovaSettings({ CDS_OPENSTACK_IMAGES: "go" }), ConfigError);
		assert.throws(() => readNovaSettings({ CDS_OPENSTACK_INTERFACE: "private" }), ConfigError);
		assert.throws(() => readNovaSettings({ CDS_OPENSTACK_POLL_MS: "fast" }), ConfigError);
		assert.throws(() => readNovaSettings({ CDS_OPENSTACK_WORKSPACE_MOUNT: "mnt" }), ConfigError);
		assert.throws(
			() => readNovaSettings({ CDS_OPENSTACK_PASSWORD: "a", CDS_OPENSTACK_PASSWORD_FILE: "/x" }),
			ConfigError,
		);
		assert.deepEqual(readNovaSettings({ CDS_OPENSTACK_IMAGES: "go=ubuntu-go,js=node" }).images, {
			go: "ubuntu-go",
			js: "node",
		});
	});
});
