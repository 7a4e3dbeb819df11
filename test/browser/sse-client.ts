// A minimal Server-Sent Events reader for tests: fetch, then `id:` / `event:` / `data:` fields
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).

export interface SseEvent {
	id: string;
	event: string;
	data: string;
}

/** Reads events until `until` says stop, the stream ends or breaks; never throws for a broken stream. */
export async function readSse(
	url: string,
	headers: Record<string, string>,
	until: (e: SseEvent) => boolean,
	signal?: AbortSignal,
): Promise<{ status: number; events: SseEvent[]; broken: boolean }> {
	const events: SseEvent[] = [];
	const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal });
	if (res.status !== 200 || !res.body) return { status: res.status, events, broken: false };
	const decoder = new TextDecoder();
	let buffer = "";
	let current: SseEvent = { id: "", event: "message", data: "" };
	let lastId = "";
	try {
		for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
			buffer += decoder.decode(chunk, { stream: true });
			let nl = buffer.indexOf("\n");
			while (nl >= 0) {
				const line = buffer.slice(0, nl);
				buffer = buffer.slice(nl + 1);
				if (line === "") {
					if (current.data !== "" || current.event !== "message") {
						const e = { ...current, id: lastId };
						events.push(e);
						if (until(e)) {
							await res.body.cancel().catch(() => {});
							return { status: 200, events, broken: false };
						}
					}
					current = { id: "", event: "message", data: "" };
				} else if (!line.startsWith(":")) {
					const colon = line.indexOf(":");
					const field = colon < 0 ? line : line.slice(0, colon);
					const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
					if (field === "id") lastId = value;
					else if (field === "event") current.event = value;
					else if (field === "data") current.data += current.data ? `\n${value}` : value;
				}
				nl = buffer.indexOf("\n");
			}
		}
	} catch {
		return { status: 200, events, broken: true };
	}
	return { status: 200, events, broken: false };
}
