// Benchmark: generate a ~200 MB lcov tracefile in /tmp (streamed to disk), parse it, report speed and
// peak memory. Run: node bench/reports.ts [megabytes]
import { createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseReportFile, type CoverageReport } from "../src/reports/index.ts";

const targetMb = Number(process.argv[2] ?? 200);
const path = join(tmpdir(), `cds-bench-${process.pid}.lcov`);

async function generate(): Promise<void> {
	const out = createWriteStream(path);
	let written = 0;
	const write = async (text: string) => {
		written += text.length;
		if (!out.write(text)) await once(out, "drain");
	};
	// Files of 2000 lines; every 10th line has a branch pair, every 50th starts a function. Each file also
	// appears under a second test name every 10 files, so the merge path is exercised too.
	for (let file = 0; written < targetMb * 1024 * 1024; file++) {
		const testNames = file % 10 === 0 ? ["unit", "e2e"] : ["unit"];
		for (const tn of testNames) {
			const parts: string[] = [`TN:${tn}\nSF:src/module${file}/file${file}.ts\n`];
			for (let fn = 1; fn <= 2000; fn += 50) parts.push(`FN:${fn},fn${fn}\nFNDA:${fn % 3},fn${fn}\n`);
			for (let line = 1; line <= 2000; line++) {
				parts.push(`DA:${line},${(line * 7 + file) % 5}\n`);
				if (line % 10 === 0) parts.push(`BRDA:${line},0,0,${line % 3}\nBRDA:${line},0,1,-\n`);
			}
			parts.push("end_of_record\n");
			await write(parts.join(""));
		}
	}
	out.end();
	await once(out, "finish");
}

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
	peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

try {
	await generate();
	const bytes = (await stat(path)).size;
	// Peak memory is measured from here: generating the file is not part of the parse.
	const rssBeforeParse = process.memoryUsage().rss;
	peakRss = rssBeforeParse;
	const started = process.hrtime.bigint();
	const report = (await parseReportFile(path)) as CoverageReport;
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	peakRss = Math.max(peakRss, process.memoryUsage().rss);
	clearInterval(sampler);
	const fileMb = bytes / (1024 * 1024);
	console.log(
		JSON.stringify({
			file_mb: Math.round(fileMb * 10) / 10,
			seconds: Math.round(seconds * 100) / 100,
			mb_per_s: Math.round((fileMb / seconds) * 10) / 10,
			peak_rss_mb: Math.round(peakRss / (1024 * 1024)),
			rss_before_parse_mb: Math.round(rssBeforeParse / (1024 * 1024)),
			files: report.files.length,
			lines: report.totals.lines,
		}),
	);
} finally {
	clearInterval(sampler);
	await rm(path, { force: true });
}
