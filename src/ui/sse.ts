// Server-Sent Events for the web UI's live run page (docs/ui.md). Events are only signals: each
// message's `id` says how far the stream got in the store (the run and the last log line sent),
// so a browser that reconnects — to any API node — with `Last-Event-ID` resumes after that line:
// no line is missed or sent twice.

/** Where a run's stream stands: the run (a restart makes a new sub-run) and its log cursor. */
export interface StreamPosition {
	run: string;
	/** The log page cursor after the last line sent (src/engine/log-page.ts), or "" for the start. */
	cursor: string;
}

/** The log page cursor that continues after one line (the `[job id, line id]` pair log-page.ts reads). */
export function cursorAfter(job: string, lineId: string): string {
	return Buffer.from(JSON.stringify([job, lineId])).toString("base64url");
}

export function encodePosition(p: StreamPosition): string {
	return Buffer.from(JSON.stringify([p.run, p.cursor])).toString("base64url");
}

/** A position this server handed out, or undefined: a client may send anything. */
export function decodePosition(id: string | undefined): StreamPosition | undefined {
	if (!id || id.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
	try {
		const v = JSON.parse(Buffer.from(id, "base64url").toString("utf8"));
		if (Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "string")
			return { run: v[0], cursor: v[1] };
	} catch {
		/* not ours */
	}
	return undefined;
}

/** One SSE message; data is JSON on one line (JSON.stringify escapes newlines), so no field can be forged. */
export function sseMessage(event: string, data: unknown, id?: string): string {
	return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
