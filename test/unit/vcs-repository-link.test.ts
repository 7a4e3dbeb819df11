// The repository service's link rules, without a broker.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LinkedRepositoryDoc, ManagerDoc } from "../../schemas/repository.ts";
import { parseRemoteUrl } from "../../src/vcs/remote-url.ts";
import {
	StatusDeduper,
	commitStateOf,
	entityRepo,
	internalRepository,
	linkRefusal,
	managerUrl,
	noClientReason,
	noWebhookWarning,
	presentRepository,
	quietStatusFailure,
	repositoryId,
	sameManager,
	watchPlan,
	webhookUrl,
} from "../../src/vcs/repository-link.ts";

describe("managers", () => {
	test("a provider manager needs an http(s) URL, stored without trailing slashes or query", () => {
		assert.deepEqual(managerUrl("github", "https://api.github.com/"), { url: "https://api.github.com" });
		assert.deepEqual(managerUrl("gitlab", "http://gl.example/api//?x=1"), { url: "http://gl.example/api" });
		assert.equal((managerUrl("gitea", undefined) as { field: string }).field, "url");
		assert.match((managerUrl("gitea", "not a url") as { message: string }).message, /is not a URL/);
		assert.match((managerUrl("bitbucket", "ftp://x") as { message: string }).message, /must be http\(s\)/);
	});

	test("plain git has no URL, whatever is given", () => {
		assert.deepEqual(managerUrl("git", "ftp://anything"), { url: "" });
	});

	test("adding the same manager again is a no-op; other settings are not", () => {
		const doc: ManagerDoc = {
			_id: "P/gh",
			project: "P",
			name: "gh",
			type: "github",
			url: "https://api.github.com",
			sealedToken: null,
			created: "T",
		};
		assert.equal(sameManager(doc, "github", "https://api.github.com", undefined), true);
		assert.equal(sameManager(doc, "gitlab", "https://api.github.com", undefined), false);
		assert.equal(sameManager(doc, "github", "https://other", undefined), false);
		// A token where none is stored changes the settings; one given again when stored does not.
		assert.equal(sameManager(doc, "github", "https://api.github.com", "tok"), false);
		assert.equal(sameManager({ ...doc, sealedToken: "s" }, "github", "https://api.github.com", "tok"), true);
	});
});

describe("links", () => {
	const local = parseRemoteUrl("/srv/git/app.git", "/");
	const net = parseRemoteUrl("https://github.com/acme/app.git", "/");

	test("local remotes need the server to allow them and a plain git manager", () => {
		assert.equal(linkRefusal(local, "git", false)?.field, "url");
		assert.equal(linkRefusal(local, "github", true)?.field, "manager");
		assert.equal(linkRefusal(local, "git", true), null);
		assert.equal(linkRefusal(net, "github", false), null);
	});

	test("the link id is per project and repository, case-insensitive on the path", () => {
		const upper = parseRemoteUrl("https://github.com/ACME/App.git", "/");
		assert.equal(repositoryId("P", net), repositoryId("P", upper));
		assert.notEqual(repositoryId("P", net), repositoryId("Q", net));
		assert.match(repositoryId("P", net), /^[0-9a-f]{24}$/);
	});

	test("the application's repo reads a/b", () => {
		assert.equal(entityRepo("acme/app"), "acme/app");
		assert.equal(entityRepo("app"), "local/app");
		assert.equal(entityRepo("my app"), "local/my_app");
	});

	test("a provider webhook replaces polling; plain git is polled and keeps its webhook endpoint", () => {
		assert.deepEqual(watchPlan("github", "42", undefined), { withWebhook: true, poll: null });
		assert.deepEqual(watchPlan("github", undefined, 30), {
			withWebhook: false,
			poll: { intervalSeconds: 30 },
		});
		assert.deepEqual(watchPlan("git", undefined, undefined), {
			withWebhook: true,
			poll: { intervalSeconds: 60 },
		});
	});

	test("a link without a provider webhook says why, except for plain git", () => {
		const gh = { name: "gh", type: "github" as const };
		assert.equal(noWebhookWarning(gh, true, null), null);
		assert.match(noWebhookWarning(gh, true, "403") ?? "", /no webhook on github: 403; polling instead/);
		assert.match(noWebhookWarning(gh, false, null) ?? "", /manager gh has no token/);
		assert.equal(noWebhookWarning({ name: "g", type: "git" }, false, null), null);
	});
});

describe("commit statuses", () => {
	test("run statuses map to commit states", () => {
		assert.equal(commitStateOf("Success"), "success");
		assert.equal(commitStateOf("Fail"), "failure");
		assert.equal(commitStateOf("Stopped"), "failure");
		assert.equal(commitStateOf("Building"), "pending");
		assert.equal(commitStateOf("Waiting"), "pending");
	});

	test("each change is reported once; a finished run is forgotten", () => {
		const d = new StatusDeduper();
		assert.equal(d.shouldReport("r1", "pending"), true);
		assert.equal(d.shouldReport("r1", "pending"), false);
		assert.equal(d.shouldReport("r1", "success"), true);
		assert.equal(d.size, 0);
		// A restarted run reports pending again.
		assert.equal(d.shouldReport("r1", "pending"), true);
	});

	test("the memory is bounded", () => {
		const d = new StatusDeduper(3);
		for (const id of ["a", "b", "c", "d"]) d.shouldReport(id, "pending");
		assert.equal(d.size, 0);
		assert.equal(d.shouldReport("a", "pending"), true);
	});

	test("missing APIs are quiet failures; others are warned about", () => {
		assert.equal(noClientReason("git"), "plain git has no commit status");
		assert.equal(noClientReason("github"), "no token");
		assert.equal(quietStatusFailure(noClientReason("git")), true);
		assert.equal(quietStatusFailure(noClientReason("gitlab")), true);
		assert.equal(quietStatusFailure(undefined), true);
		assert.equal(quietStatusFailure("HTTP 500"), false);
	});
});

describe("answers", () => {
	const doc: LinkedRepositoryDoc = {
		_id: "abc",
		project: "P",
		manager: "gh",
		managerType: "github",
		url: "https://github.com/acme/app.git",
		repo: "acme/app",
		defaultBranch: "main",
		cdsDir: ".cds",
		application: "app",
		hookUuid: "u1",
		webhook: { uuid: "u1", sealedSecret: "sealed(s)", providerHookId: "7" },
		poll: null,
		created: "T",
		updated: "T",
	};

	test("REST answers give the webhook URL and never the secret", () => {
		const shown = presentRepository(doc, "https://cds.example/");
		assert.equal(shown.webhookUrl, "https://cds.example/api/v1/hooks/repository/u1");
		assert.equal(JSON.stringify(shown).includes("sealed"), false);
		assert.equal(presentRepository({ ...doc, webhook: null }, "x").webhookUrl, null);
		assert.equal(webhookUrl("http://h//", "u"), "http://h/api/v1/hooks/repository/u");
	});

	test("services inside the cluster get the webhook secret opened", () => {
		const inside = internalRepository(doc, (s) => s.replace(/^sealed\((.*)\)$/, "$1"));
		assert.deepEqual(inside.webhook, { uuid: "u1", secret: "s", providerHookId: "7" });
		assert.equal(inside.manager, "github");
		assert.equal(inside.managerName, "gh");
	});
});
