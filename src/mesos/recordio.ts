// RecordIO, the framing of the Mesos v1 scheduler event stream: each record is its length in
// bytes as decimal text, a newline, then that many bytes (here one JSON event). A chunk of the
// HTTP response may end anywhere — inside the length, inside a record, or between several — so
// the decoder keeps what it has not yet consumed and hands out only whole records.

export class RecordIODecoder {
	private buffer: Buffer = Buffer.alloc(0);
	/** Refuses a record announced larger than this (a corrupt stream must not eat the memory). */
	private readonly maxRecordBytes: number;

	constructor(maxRecordBytes = 64 * 1024 * 1024) {
		this.maxRecordBytes = maxRecordBytes;
	}

	/** The whole records completed by `chunk`, as text, in order. */
	push(chunk: Uint8Array): string[] {
		this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
		const records: string[] = [];
		let at = 0;
		for (;;) {
			const newline = this.buffer.indexOf(0x0a, at);
			if (newline < 0) {
				if (this.buffer.length - at > 20) throw new Error("recordio: a record length longer than 20 digits");
				break;
			}
			const header = this.buffer.subarray(at, newline).toString("latin1");
			if (!/^\d+$/.test(header)) throw new Error(`recordio: bad record length '${header.slice(0, 20)}'`);
			const length = Number(header);
			if (length > this.maxRecordBytes) throw new Error(`recordio: a record of ${length} bytes is too large`);
			if (this.buffer.length < newline + 1 + length) break;
			records.push(this.buffer.subarray(newline + 1, newline + 1 + length).toString("utf8"));
			at = newline + 1 + length;
		}
		this.buffer = this.buffer.subarray(at);
		return records;
	}

	/** Bytes received but not yet part of a whole record. */
	get pending(): number {
		return this.buffer.length;
	}
}

/** One record: `<length>\n<bytes>` (the length counts bytes, not characters). */
export function encodeRecord(text: string): Buffer {
	const body = Buffer.from(text, "utf8");
	return Buffer.concat([Buffer.from(`${body.length}\n`, "latin1"), body]);
}
