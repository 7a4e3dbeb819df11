// How git authenticates to a remote without the secret ever appearing on a command line
// (visible to every local user through ps): an HTTP header passed through GIT_CONFIG_*
// environment variables, or an ssh key in a private temporary file.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RemoteUrl } from "./remote-url.ts";

export interface GitAuth {
	env: Record<string, string>;
	/** Removes temporary key material. */
	dispose(): void;
}

/** Environment for git to use `token` (https) or `privateKey` (ssh) against `remote`. */
export function gitAuth(
	remote: RemoteUrl,
	secrets: { token?: string | null; privateKey?: string | null },
): GitAuth {
	if ((remote.kind === "https" || remote.kind === "http") && secrets.token) {
		const basic = Buffer.from(`x-access-token:${secrets.token}`).toString("base64");
		return {
			env: {
				GIT_CONFIG_COUNT: "1",
				GIT_CONFIG_KEY_0: "http.extraHeader",
				GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
			},
			dispose() {},
		};
	}
	if (remote.kind === "ssh" && secrets.privateKey) {
		const dir = mkdtempSync(join(tmpdir(), "cds-ssh-"));
		const keyFile = join(dir, "id_ed25519");
		writeFileSync(keyFile, secrets.privateKey, { mode: 0o600 });
		const quoted = keyFile.replace(/'/g, "'\\''");
		return {
			env: {
				GIT_SSH_COMMAND: `ssh -i '${quoted}' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new`,
			},
			dispose: () => rmSync(dir, { recursive: true, force: true }),
		};
	}
	return { env: {}, dispose() {} };
}
