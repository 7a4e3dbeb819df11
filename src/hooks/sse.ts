// Server-Sent Events (the WHATWG "text/event-stream" format) read incrementally: bytes in, whole
// events out. Marathon's `/v2/events` speaks it; so may other event streams a source follows.

export interface SseEvent {
	/** The `event:` field; "message" when none was sent. */
	event: string;
	/** The `data:` lines joined by "\n". */
	data: string;
	/** The last `id:` seen on the stream (kept across events, as the format says). */
	id: string | null;
	/** A `retry:` the server asked for (ms), when this event carried one. */
	retry?: number;
}

/** Cuts a stream into events; feed it chunks as they come (they may split lines, even characters). */
export class SseParser {
	#decoder = new TextDecoder("utf-8");
	#buffer = "";
	#event = "";
	#data: string[] = [];
	#hasData = false;
	#id: string | null = null;
	#retry: number | undefined;
	/** The largest line kept (a server that never ends a line must not fill the memory). */
	readonly maxLineBytes: number;

	constructor(maxLineBytes = 1024 * 1024) {
		this.maxLineBytes = maxLineBytes;
	}

	/** The complete events in this chunk (and what the previous ones left incomplete). */
	feed(chunk: Uint8Array | string): SseEvent[] {
		this.#buffer += typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
		const events: SseEvent[] = [];
		for (;;) {
			const m = /\r\n|\r|\n/.exec(this.#buffer);
			if (!m) break;
			// A lone "\r" at the end may be the first half of "\r\n": wait for the next chunk.
			if (m[0] === "\r" && m.index === this.#buffer.length - 1) break;
			const line = this.#buffer.slice(0, m.index);
			this.#buffer = this.#buffer.slice(m.index + m[0].length);
			const event = this.#line(line);
			if (event) events.push(event);
		}
		if (this.#buffer.length > this.maxLineBytes)
			throw new Error(`event stream line longer than ${this.maxLineBytes} bytes`);
		return events;
	}

	#line(line: string): SseEvent | null {
		if (line === "") return this.#dispatch();
		if (line.startsWith(":")) return null; // a comment (keep-alive)
		const colon = line.indexOf(":");
		const field = colon === -1 ? line : line.slice(0, colon);
		let value = colon === -1 ? "" : line.slice(colon + 1);
		if (value.startsWith(" ")) value = value.slice(1);
		switch (field) {
			case "event":
				this.#event = value;
				break;
			case "data":
				this.#data.push(value);
				this.#hasData = true;
				break;
			case "id":
				if (!value.includes("\0")) this.#id = value;
				break;
			case "retry":
				if (/^\d+$/.test(value)) this.#retry = Number(value);
				break;
		}
		return null;
	}

	#dispatch(): SseEvent | null {
		const event: SseEvent | null = this.#hasData
			? {
					event: this.#event || "message",
					data: this.#data.join("\n"),
					id: this.#id,
					...(this.#retry !== undefined ? { retry: this.#retry } : {}),
				}
			: null;
		this.#event = "";
		this.#data = [];
		this.#hasData = false;
		this.#retry = undefined;
		return event;
	}
}
