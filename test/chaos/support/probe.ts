// What clients see while a scenario breaks the cluster: a loop that reads a few routes with the
// admin token for the whole scenario and records every answer. Every route names something that
// exists, so the only acceptable answers are 2xx and 503 (with Retry-After) — or no answer at all
// while the gateway's own node is down (a refused connection, which no gateway can turn into a 503).

export interface ProbeAnswer {
	route: string;
	status: number | "unreachable";
	ms: number;
	at: number;
	body?: string;
	retryAfter?: string | null;
}

export interface ProbeSummary {
	calls: number;
	/** status → count ("unreachable" for refused connections). */
	byStatus: Record<string, number>;
	/** Answers a client must never see: anything else than 2xx, 503 or unreachable. */
	wrong: ProbeAnswer[];
	/** 503s without a Retry-After header. */
	noRetryAfter: ProbeAnswer[];
	slowestMs: number;
}

export class ApiProbe {
	private readonly url: string;
	private readonly token: string;
	private readonly routes = new Set<string>();
	private readonly answers: ProbeAnswer[] = [];
	private running = false;
	private loop: Promise<void> | undefined;

	constructor(url: string, token: string, routes: string[] = []) {
		this.url = url;
		this.token = token;
		for (const r of routes) this.routes.add(r);
	}

	/** Adds a route (a run just created) to the ones read at every round. */
	watch(route: string): void {
		this.routes.add(route);
	}

	start(everyMs = 250): void {
		this.running = true;
		this.loop = (async () => {
			while (this.running) {
				await Promise.all([...this.routes].map((r) => this.call(r)));
				await new Promise((res) => setTimeout(res, everyMs));
			}
		})();
	}

	private async call(route: string): Promise<void> {
		const started = Date.now();
		try {
			// A client that waits longer than this has been left hanging: recorded as a 599.
			const res = await fetch(`${this.url}${route}`, {
				headers: { authorization: `Bearer ${this.token}` },
				signal: AbortSignal.timeout(45_000),
			});
			const body = await res.text();
			const answer: ProbeAnswer = { route, status: res.status, ms: Date.now() - started, at: started };
			if (res.status >= 300) {
				answer.body = body.slice(0, 300);
				answer.retryAfter = res.headers.get("retry-after");
			}
			this.answers.push(answer);
		} catch (e) {
			const err = e as Error & { cause?: { code?: string } };
			// Refused, or cut by the death of the gateway's node mid-answer: no gateway was there to answer.
			const refused = ["ECONNREFUSED", "ECONNRESET", "UND_ERR_SOCKET"].includes(err.cause?.code ?? "");
			this.answers.push({
				route,
				status: refused ? "unreachable" : 599,
				ms: Date.now() - started,
				at: started,
				body: refused ? undefined : `${err.name}: ${err.message} ${err.cause?.code ?? ""}`,
			});
		}
	}

	async stop(): Promise<ProbeSummary> {
		this.running = false;
		await this.loop;
		this.loop = undefined;
		const byStatus: Record<string, number> = {};
		for (const a of this.answers) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
		const ok = (a: ProbeAnswer) =>
			a.status === "unreachable" || a.status === 503 || (typeof a.status === "number" && a.status < 300);
		return {
			calls: this.answers.length,
			byStatus,
			wrong: this.answers.filter((a) => !ok(a)),
			noRetryAfter: this.answers.filter((a) => a.status === 503 && !a.retryAfter),
			slowestMs: Math.max(0, ...this.answers.map((a) => a.ms)),
		};
	}
}

/** A short account of the wrong answers, grouped by route and status, for an assertion message. */
export function describeWrong(wrong: ProbeAnswer[]): string {
	const groups = new Map<string, { n: number; first: ProbeAnswer }>();
	for (const a of wrong) {
		const k = `${a.status} ${a.route}`;
		const g = groups.get(k);
		if (g) g.n++;
		else groups.set(k, { n: 1, first: a });
	}
	return [...groups.entries()].map(([k, g]) => `${g.n}× ${k}: ${g.first.body ?? ""}`).join("\n");
}
