// The user-data of a worker server: a shell script cloud-init runs once, as root, at first boot.
// It holds the job's assignment line (token included) only as a here-document that becomes the
// worker's stdin: the token is never in the image, in an environment, an argument or a file
// the script writes. The script first deletes cloud-init's copy of itself; with a persistent
// workspace it mounts the attached Cinder volume (it waits for the device: the hatchery attaches
// it once the server is ACTIVE; a new volume gets an ext4 filesystem); when the worker ends, it unmounts and powers the server off —
// the hatchery sees SHUTOFF and deletes the server.
//
// What a step could still read on a real VM: the user-data itself from the metadata service
// (http://169.254.169.254/openstack/latest/user_data) or a config drive — the script blocks the
// metadata address for every uid but root before the worker starts, and the sandbox runs steps
// as an unprivileged uid that cannot read cloud-init's root-only copies (/var/lib/cloud) nor
// mount the config drive. A step running as root on the VM (no sandbox) can read them all.

import type { PersistentWorkspace } from "../contract.ts";
import { volumeDevice } from "./server-spec.ts";

export interface UserDataInput {
	/** The assignment line's fields (the worker reads them as one JSON line on stdin). */
	apiUrl: string;
	token: string;
	jobId: string;
	/** The worker's command in the image, space-separated. */
	workerCommand: string;
	/** The worker's environment: never the token. */
	env: Record<string, string>;
	workspace?: { ws: PersistentWorkspace; volumeId: string; path: string };
	/** How many seconds the script waits for the workspace device. */
	attachWaitSeconds?: number;
}

const DELIMITER = "CDS_ASSIGNMENT_END";

export function shellQuote(s: string): string {
	return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The assignment line, as the worker reads it on stdin. */
export function assignLine(input: UserDataInput): string {
	return JSON.stringify({
		type: "assign",
		apiUrl: input.apiUrl,
		token: input.token,
		jobId: input.jobId,
		...(input.workspace ? { workspace: { name: input.workspace.ws.name, path: input.workspace.path } } : {}),
	});
}

export function renderUserData(input: UserDataInput): string {
	const line = assignLine(input);
	// JSON.stringify escapes line breaks, so the line cannot end the here-document early.
	if (line.includes("\n") || line === DELIMITER) throw new Error("the assignment line must be one line");
	const command = input.workerCommand.split(/\s+/).filter(Boolean).map(shellQuote).join(" ");
	const env = Object.entries(input.env)
		.map(([k, v]) => {
			if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name ${k}`);
			return `export ${k}=${shellQuote(v)}`;
		})
		.join("\n");
	const lines = [
		"#!/bin/sh",
		"# CDS-TS worker boot script, rendered by the Nova hatchery: runs once, as root, at first boot.",
		'rm -f -- "$0"',
		"umask 077",
		"# Steps must not fetch this user-data (it holds the job token) from the metadata service.",
		"if command -v iptables >/dev/null 2>&1; then",
		"  iptables -I OUTPUT -d 169.254.169.254 -m owner ! --uid-owner 0 -j REJECT 2>/dev/null || true",
		"fi",
		env,
	];
	const ws = input.workspace;
	if (ws) {
		const mount = shellQuote(ws.path);
		lines.push(
			`dev=${shellQuote(volumeDevice(ws.volumeId))}`,
			`mkdir -p ${mount}`,
			"i=0",
			'until blockdev --getsize64 "$dev" >/dev/null 2>&1; do',
			"  i=$((i + 1))",
			`  if [ "$i" -ge ${input.attachWaitSeconds ?? 600} ]; then echo "cds: workspace volume never attached" >&2; poweroff; exit 1; fi`,
			"  sleep 1",
			"done",
			"# A new volume has no filesystem yet: the first job makes one.",
			'if [ -z "$(blkid -o value -s TYPE "$dev" 2>/dev/null)" ]; then mkfs.ext4 -q "$dev" || exit 1; fi',
			`mount "$dev" ${mount} || { echo "cds: cannot mount the workspace volume" >&2; poweroff; exit 1; }`,
			`chmod 0777 ${mount}`,
		);
	}
	lines.push(`${command} <<'${DELIMITER}'`, line, DELIMITER, "code=$?");
	if (ws) lines.push(`sync; umount ${shellQuote(ws.path)} 2>/dev/null`);
	lines.push('echo "cds: worker exited with $code"', "poweroff", 'exit "$code"', "");
	return lines.join("\n");
}
