// A run: the graph with live statuses, the selected node's stages → jobs → steps with durations,
// the selected job's log (live, virtualised, searchable), the stop / restart / resume actions the
// token allows, and the run's reports. Live through the gateway's Server-Sent Events: the browser
// reconnects by itself with Last-Event-ID, and the server resumes after the last line it sent.

import { API, ApiError, can, get, post, seg } from "../api.js";
import { badge, duration, h, replace, shortCommit, when } from "../dom.js";
import { graphView } from "../graph-view.js";
import { logView } from "../log-view.js";

const ACTIVE = new Set(["Building", "Waiting", "Manual"]);

export function runPage(key, name, ref) {
	const base = `/projects/${seg(key)}/workflows/${seg(name)}`;
	let run = null;
	let model = null;
	let selectedNode = null;
	let selectedJob = null;
	let selectedStep = null;
	/** job id → its log lines, in order, as the stream delivered them. */
	const logs = new Map();
	const title = h("h1", {}, `${name} #${ref}`);
	const meta = h("p", { class: "meta" });
	const actions = h("div", { class: "actions" });
	const message = h("p", { class: "error", role: "alert" });
	const graph = h("div", { class: "graph-box" }, h("p", { class: "muted" }, "Loading…"));
	const nodePanel = h("div", { class: "node-panel" });
	const steps = h("div", { class: "steps" });
	const log = logView();
	const logTitle = h("h2", { id: "log-title" }, "Log");
	const reports = h("div", { class: "run-reports" });
	const artifacts = h("div", { class: "run-artifacts" });
	const live = h("span", { class: "live muted", "aria-live": "polite" }, "connecting…");

	const act = async (label, path, body) => {
		message.textContent = "";
		try {
			await post(`${base}/runs/${path}`, body);
			return true;
		} catch (e) {
			const refused = e instanceof ApiError && e.status === 403;
			message.textContent = refused ? `Not allowed: ${label}.` : e.message;
			// The API said no: the action stays visible but cannot be clicked again.
			if (refused)
				for (const b of actions.querySelectorAll("button[data-action]"))
					if (b.dataset.action === label) b.disabled = true;
			return false;
		}
	};
	const button = (label, onclick) =>
		h("button", { type: "button", onclick, dataset: { action: label } }, label);

	function drawActions() {
		const writable = can(key, "write");
		const out = [];
		// What the user can do follows the API's rule; a 403 still shows as a message.
		if (writable && ACTIVE.has(run.status))
			out.push(button("Stop", () => act("Stop", `${run.number}.${run.sub}/stop`)));
		const node = run.nodes.find((n) => n.name === selectedNode);
		if (writable && node && !ACTIVE.has(run.status) && node.pipeline)
			out.push(
				button(`Restart ${node.name}`, () =>
					act(`Restart ${node.name}`, `${run.number}.${run.sub}/restart`, { node: node.name }).then(
						(done) => {
							if (!done) return;
							const target = `#/p/${key}/w/${seg(name)}/r/${run.number}`;
							// The number now names the new sub-run: show it (the same hash fires no hashchange).
							if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
							else location.hash = target;
						},
					),
				),
			);
		if (writable && node?.status === "Manual")
			out.push(
				button(`Resume ${node.name}`, () =>
					act(`Resume ${node.name}`, `${run.number}.${run.sub}/resume`, { node: node.name }),
				),
			);
		replace(actions, ...out);
	}

	/** Shows the selected job's (or step's) lines; lines waiting for the next frame are among them already. */
	function showJobLog() {
		incoming = [];
		log.set(jobLines());
	}

	function jobLines() {
		const lines = selectedJob ? (logs.get(selectedJob) ?? []) : [];
		return selectedStep === null ? lines : lines.filter((l) => l.step === selectedStep);
	}

	/** job id → its steps as the worker reported them ({index, status, started, ended, exitCode, reason}). */
	const stepReports = new Map();
	function loadSteps(jobId) {
		if (!jobId || !run) return;
		get(`${base}/runs/${run.number}.${run.sub}/steps?job=${seg(jobId)}`).then(
			(page) => {
				stepReports.set(jobId, page.items ?? []);
				if (jobId === selectedJob) drawSteps();
			},
			() => {},
		);
	}

	function drawSteps() {
		const lines = selectedJob ? (logs.get(selectedJob) ?? []) : [];
		const byStep = new Map();
		for (const l of lines) byStep.set(l.step, (byStep.get(l.step) ?? 0) + 1);
		const reported = new Map((stepReports.get(selectedJob) ?? []).map((st) => [st.index, st]));
		const indexes = [...new Set([...reported.keys(), ...byStep.keys()])].sort((a, b) => a - b);
		const job = findJob(selectedJob);
		const lastStep = Math.max(-1, ...indexes);
		replace(
			steps,
			indexes.length === 0
				? h("p", { class: "muted" }, selectedJob ? "No step yet." : "Select a job.")
				: null,
			h(
				"button",
				{
					type: "button",
					class: ["step", selectedStep === null ? "on" : ""],
					onclick: () => selectStep(null),
				},
				"All steps",
			),
			indexes.map((step) => {
				const r = reported.get(step);
				const failed = r ? r.status === "Fail" : job?.status === "Fail" && step === lastStep;
				const n = byStep.get(step) ?? 0;
				return h(
					"button",
					{
						type: "button",
						class: ["step", selectedStep === step ? "on" : "", failed ? "failed" : ""],
						onclick: () => selectStep(step),
						dataset: { step, status: r?.status ?? "" },
						title: r?.reason ?? undefined,
					},
					`Step ${step + 1}`,
					r ? ` · ${r.status}` : failed ? " · failed" : "",
					r?.started ? ` · ${duration(r.started, r.ended)}` : "",
					` · ${n} chunk${n === 1 ? "" : "s"}`,
				);
			}),
		);
	}

	function selectStep(step) {
		selectedStep = step;
		drawSteps();
		showJobLog();
	}

	function findJob(id) {
		for (const n of run?.nodes ?? [])
			for (const s of n.stages) for (const j of s.jobs) if (j.id === id) return j;
		return undefined;
	}

	function selectJob(id) {
		selectedJob = id;
		selectedStep = null;
		loadSteps(id);
		const job = findJob(id);
		logTitle.textContent = job ? `Log of ${job.name}` : "Log";
		drawNode();
		drawSteps();
		showJobLog();
	}

	function selectNode(nodeName, keepJob) {
		selectedNode = nodeName;
		const node = run.nodes.find((n) => n.name === nodeName);
		const jobs = node ? node.stages.flatMap((s) => s.jobs) : [];
		if (!keepJob || !jobs.some((j) => j.id === selectedJob)) {
			const pick =
				jobs.find((j) => j.status === "Fail") ?? jobs.find((j) => j.status === "Building") ?? jobs[0];
			if (pick?.id) selectJob(pick.id);
		}
		drawGraph();
		drawNode();
		drawActions();
	}

	function drawNode() {
		const node = run?.nodes.find((n) => n.name === selectedNode);
		if (!node) return replace(nodePanel, h("p", { class: "muted" }, "Select a node of the graph."));
		replace(
			nodePanel,
			h("h2", {}, node.name, " ", badge(node.status)),
			node.reason ? h("p", { class: "error" }, node.reason) : null,
			node.stages.map((st) =>
				h(
					"div",
					{ class: "stage" },
					h("h3", {}, st.name, " ", badge(st.status)),
					h(
						"ul",
						{ class: "jobs" },
						st.jobs.map((j) =>
							h(
								"li",
								{},
								h(
									"button",
									{
										type: "button",
										class: ["job", j.id === selectedJob ? "on" : ""],
										disabled: !j.id,
										onclick: () => selectJob(j.id),
										dataset: { job: j.name, status: j.status },
									},
									badge(j.status),
									" ",
									j.name,
									" ",
									h("span", { class: "muted" }, duration(j.startedAt, j.endedAt)),
								),
								j.reason ? h("span", { class: "muted" }, ` ${j.reason}`) : null,
							),
						),
					),
				),
			),
		);
	}

	function drawGraph() {
		if (!run) return;
		const statuses = new Map(run.nodes.map((n) => [n.name, n.status]));
		const nodes =
			model?.nodes ?? run.nodes.map((n) => ({ name: n.name, dependsOn: [], pipeline: n.pipeline }));
		replace(
			graph,
			graphView(nodes, statuses, {
				selected: selectedNode,
				onSelect: (n) => selectNode(n),
				hooks: model?.hooks,
			}),
		);
	}

	/** The run's artifacts, read again at every change of the run (a job may just have uploaded one). */
	function loadArtifacts() {
		get(`${base}/runs/${run.number}.${run.sub}/artifacts?limit=200`).then(
			(page) =>
				replace(
					artifacts,
					page.items?.length
						? [
								h("h2", {}, "Artifacts"),
								h(
									"ul",
									{ class: "artifacts" },
									page.items.map((a) =>
										h(
											"li",
											{},
											h(
												"a",
												{
													href: `${API}${base}/runs/${run.number}.${run.sub}/artifacts/${seg(a.tag)}/${seg(a.name)}`,
													download: a.name,
												},
												`${a.tag}/${a.name}`,
											),
											h("span", { class: "muted" }, ` ${a.size} bytes`),
										),
									),
								),
							]
						: null,
				),
			() => {},
		);
	}

	function onRun(next) {
		const first = !run;
		run = next;
		title.textContent = `${name} #${run.number}${run.sub ? `.${run.sub}` : ""}`;
		replace(
			meta,
			badge(run.status),
			` branch ${run.branch}`,
			run.commit ? [" · commit ", h("span", { class: "mono" }, shortCommit(run.commit))] : "",
			` · by ${run.triggeredBy} · ${when(run.created)} · ${duration(run.created, run.ended)}`,
			run.tags?.["git.message"]
				? [h("br"), h("span", { class: "commit-message" }, run.tags["git.message"])]
				: "",
		);
		if (first) {
			get(`${base}?branch=${seg(run.branch)}&version=${run.definitionVersion}`).then(
				(w) => {
					model = w.model;
					drawGraph();
				},
				() => drawGraph(),
			);
			get(`${base}/runs/${run.number}/reports`).then(
				(page) =>
					replace(
						reports,
						page.items?.length
							? [
									h("h2", {}, "Reports"),
									h(
										"a",
										{ href: `#/p/${key}/w/${seg(name)}/reports` },
										`${page.items.length} report(s) and trends`,
									),
								]
							: null,
					),
				() => {},
			);
			const start =
				run.nodes.find((n) => n.status === "Fail") ??
				run.nodes.find((n) => n.status === "Building") ??
				run.nodes[0];
			if (start) selectNode(start.name);
		} else if (selectedNode) {
			selectNode(selectedNode, true);
			loadSteps(selectedJob);
		}
		drawGraph();
		drawActions();
		loadArtifacts();
	}

	const events = new EventSource(
		`${API}/ui/projects/${seg(key)}/workflows/${seg(name)}/runs/${seg(ref)}/events`,
	);
	events.addEventListener("open", () => (live.textContent = "live"));
	events.addEventListener(
		"error",
		() => (live.textContent = events.readyState === 2 ? "disconnected" : "reconnecting…"),
	);
	events.addEventListener("run", (e) => onRun(JSON.parse(e.data)));
	events.addEventListener("reset", () => {
		logs.clear();
		log.set([]);
	});
	// Lines arrive by the hundred when a page opens on a long log: they are shown once per frame.
	let incoming = [];
	const flush = () => {
		const batch = incoming;
		incoming = [];
		const shown = batch.filter(
			(l) => l.job === selectedJob && (selectedStep === null || selectedStep === l.step),
		);
		if (shown.length) log.add(shown);
		if (batch.some((l) => l.job === selectedJob && !steps.querySelector(`[data-step="${Number(l.step)}"]`)))
			drawSteps();
	};
	events.addEventListener("log", (e) => {
		const line = JSON.parse(e.data);
		const list = logs.get(line.job) ?? [];
		list.push(line);
		logs.set(line.job, list);
		if (incoming.length === 0) requestAnimationFrame(flush);
		incoming.push(line);
	});
	events.addEventListener("end", () => {
		live.textContent = "ended";
		events.close();
	});

	return {
		el: h(
			"section",
			{ class: "run" },
			h("div", { class: "run-head" }, title, live),
			meta,
			actions,
			message,
			graph,
			h("div", { class: "run-body" }, nodePanel, h("div", { class: "run-log" }, logTitle, steps, log.el)),
			artifacts,
			reports,
		),
		leave: () => events.close(),
	};
}
