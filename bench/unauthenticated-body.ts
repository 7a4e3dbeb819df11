// How long /health/ready takes while 4 anonymous clients each send 4 MB of nested JSON
// (issue #11: the gateway used to parse bodies before checking the token).
// Run: node bench/unauthenticated-body.ts

import { startTestServer } from "../test/helpers/server.ts";

const server = await startTestServer({ CDS_MAX_BODY_BYTES: String(8 * 1024 * 1024) });
try {
	const half = 2 * 1024 * 1024;
	const body = `${"[".repeat(half)}${"]".repeat(half)}`;
	for (let round = 0; round < 3; round++) {
		const started = performance.now();
		const attacks = Array.from({ length: 4 }, async () => {
			const t0 = performance.now();
			const res = await fetch(`${server.url}/api/v1/projects`, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body,
			});
			await res.text();
			return { status: res.status, ms: Math.round(performance.now() - t0) };
		});
		await new Promise((r) => setTimeout(r, 20));
		const t1 = performance.now();
		const ready = await fetch(`${server.url}/health/ready`);
		await ready.text();
		const readyMs = Math.round(performance.now() - t1);
		const results = await Promise.all(attacks);
		console.log(
			`round ${round}: /health/ready ${ready.status} in ${readyMs} ms; attacks ${results
				.map((r) => `${r.status}/${r.ms}ms`)
				.join(" ")}; total ${Math.round(performance.now() - started)} ms`,
		);
	}
} finally {
	await server.stop();
}
