// Remote URLs as users type them, and the ones git must never receive.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	assertSafeGitUrl,
	detectManager,
	parseRemoteUrl,
	RemoteUrlError,
	sameRepository,
} from "../../src/vcs/remote-url.ts";

describe("parseRemoteUrl", () => {
	test("https, with credentials dropped from the clone URL", () => {
		const r = parseRemoteUrl("https://user:pw@github.com/ovh/cds.git");
		assert.equal(r.kind, "https");
		assert.equal(r.host, "github.com");
		assert.equal(r.path, "ovh/cds");
		assert.equal(r.cloneUrl, "https://github.com/ovh/cds.git");
		assert.equal(detectManager(r), "github");
	});

	test("ssh:// with a port and scp-like git@host:org/repo.git name the same repository", () => {
		const ssh = parseRemoteUrl("ssh://git@gitlab.example.com:2222/group/sub/app.git");
		assert.deepEqual(
			[ssh.kind, ssh.host, ssh.port, ssh.user, ssh.path],
			["ssh", "gitlab.example.com", 2222, "git", "group/sub/app"],
		);
		const scp = parseRemoteUrl("git@gitlab.example.com:group/sub/app.git");
		assert.deepEqual(
			[scp.kind, scp.host, scp.user, scp.path],
			["ssh", "gitlab.example.com", "git", "group/sub/app"],
		);
		assert.equal(scp.cloneUrl, "git@gitlab.example.com:group/sub/app.git");
		assert.ok(sameRepository(ssh, scp));
		assert.ok(sameRepository(scp, parseRemoteUrl("https://gitlab.example.com/group/sub/app")));
		assert.equal(detectManager(scp), "gitlab");
	});

	test("file:// URLs and local paths (relative ones against the clone's root) are plain git", () => {
		const file = parseRemoteUrl("file:///srv/git/demo.git");
		assert.deepEqual(
			[file.kind, file.path, file.cloneUrl],
			["file", "srv/git/demo", "file:///srv/git/demo.git"],
		);
		const relative = parseRemoteUrl("../remote.git", "/srv/dev/clone");
		assert.equal(relative.cloneUrl, "file:///srv/dev/remote.git");
		assert.ok(sameRepository(relative, parseRemoteUrl("/srv/dev/remote.git")));
		assert.equal(detectManager(relative), "git");
	});

	test("providers are recognised from their hosts; unknown hosts are plain git", () => {
		assert.equal(
			detectManager(parseRemoteUrl("https://bitbucket.corp.example/scm/PRJ/app.git")),
			"bitbucket",
		);
		assert.equal(detectManager(parseRemoteUrl("https://codeberg.org/me/app.git")), "gitea");
		assert.equal(detectManager(parseRemoteUrl("https://git.example.org/me/app.git")), "git");
	});

	test("URLs that git could read as an option or a transport helper are refused", () => {
		for (const bad of [
			"-uhack",
			"--upload-pack=touch /tmp/x",
			"ext::sh -c touch% /tmp/pwned",
			"fd::17",
			"https://h/a\nb",
		]) {
			assert.throws(() => parseRemoteUrl(bad), RemoteUrlError, bad);
			assert.throws(() => assertSafeGitUrl(bad), RemoteUrlError, bad);
		}
		assert.throws(() => parseRemoteUrl("https://github.com/"), RemoteUrlError);
		assert.throws(() => parseRemoteUrl("https://github.com/org/../x"), RemoteUrlError);
		assert.throws(() => parseRemoteUrl("ftp://host/org/repo"), /unsupported/);
	});
});
