// Benchmark: log masking throughput — a 10 MB step log with 20 secrets (a few of them printed
// plain, base64-wrapped, hex and spaced) through the worker's StepLog (line assembly, masking,
// capping) and through the bare masker, in 64 KiB chunks (a pipe's) and one line per write.
// Printed as JSON. Run: npm run bench:mask [megabytes] [secrets]
import { randomBytes } from "node:crypto";
import { compileSecrets } from "../src/run/mask.ts";
import { StepLog } from "../src/worker/step-log.ts";

const megabytes = Number(process.argv[2] ?? 10);
const secretCount = Number(process.argv[3] ?? 20);
const secrets = Array.from({ length: secretCount }, () => randomBytes(18).toString("base64url"));

const words = ["compiling", "src/module.ts", "ok", "warning:", "npm", "fetch", "200", "12ms", "PASS", "at"];
const lines: string[] = [];
let size = 0;
for (let i = 0; size < megabytes * 1024 * 1024; i++) {
	let line = `[${String(i).padStart(7, "0")}]`;
	while (line.length < 72) line += ` ${words[(i * 7 + line.length) % words.length]}`;
	if (i % 5000 === 0) {
		const s = secrets[(i / 5000) % secrets.length]!;
		const forms = [
			s,
			Buffer.from(`u:${s}`).toString("base64"),
			Buffer.from(s).toString("hex"),
			[...s].join(" "),
		];
		line += ` ${forms[(i / 5000) % forms.length]}`;
	}
	lines.push(`${line}\n`);
	size += line.length + 1;
}
const text = lines.join("");
const chunks: string[] = [];
for (let at = 0; at < text.length; at += 65536) chunks.push(text.slice(at, at + 65536));

function time(fn: () => number): { ms: number; masks: number } {
	const started = performance.now();
	const masks = fn();
	return { ms: Number((performance.now() - started).toFixed(1)), masks };
}

const compileStarted = performance.now();
const compiled = compileSecrets(secrets);
const compileMs = Number((performance.now() - compileStarted).toFixed(1));

const countMasks = (out: string) => out.split("**********").length - 1;
const masker64k = time(() => {
	const m = compiled.masker();
	let out = "";
	for (const c of chunks) out += m.mask(c);
	return countMasks(out + m.flush());
});
const stepLog = (pieces: string[]) =>
	time(() => {
		let masks = 0;
		const log = new StepLog(0, (e) => (masks += countMasks(e.text)), compiled.masker(), {
			maxLineBytes: 32 * 1024,
			maxStepBytes: 1024 * 1024 * 1024,
		});
		for (const p of pieces) log.write(p);
		log.end();
		return masks;
	});
const stepLog64k = stepLog(chunks);
const stepLogLines = stepLog(lines);
const none = time(() => {
	const log = new StepLog(0, () => {}, undefined, {
		maxLineBytes: 32 * 1024,
		maxStepBytes: 1024 * 1024 * 1024,
	});
	for (const c of chunks) log.write(c);
	log.end();
	return 0;
});
const mbps = (ms: number) => Number(((text.length / 1024 / 1024) * (1000 / ms)).toFixed(1));
console.log(
	JSON.stringify(
		{
			megabytes: Number((text.length / 1024 / 1024).toFixed(1)),
			lines: lines.length,
			secrets: secretCount,
			compileMs,
			masker64kChunks: { ...masker64k, mbPerSecond: mbps(masker64k.ms) },
			stepLog64kChunks: { ...stepLog64k, mbPerSecond: mbps(stepLog64k.ms) },
			stepLogOneLinePerWrite: { ...stepLogLines, mbPerSecond: mbps(stepLogLines.ms) },
			stepLogNoSecrets: { ...none, mbPerSecond: mbps(none.ms) },
		},
		null,
		2,
	),
);
process.exit(0);
