// The worker's StepLog with the streaming masker: a secret cut across writes and across lines
// is masked whatever the chunking, ordinary lines are not held back, and a held tail is let go
// after the hold delay only when it matches just the first characters of a secret's form.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { createMasker, MASK } from "../../src/run/mask.ts";
import type { LogEntry } from "../../src/worker/api-client.ts";
import { StepLog } from "../../src/worker/step-log.ts";

const secret = "Tr0ub4dor&3-horse";
const limits = { maxLineBytes: 32 * 1024, maxStepBytes: 1024 * 1024 };

function collect(holdMs = 200) {
	const entries: LogEntry[] = [];
	const log = new StepLog(0, (entry) => entries.push(entry), createMasker([secret]), limits, { holdMs });
	return { log, entries, text: () => entries.map((e) => e.text).join("") };
}

async function until(condition: () => boolean, what: string): Promise<void> {
	for (let waited = 0; !condition(); waited += 10) {
		if (waited > 5000) assert.fail(`timed out waiting for ${what}`);
		await sleep(10);
	}
}

describe("StepLog masking", () => {
	test("a line with nothing secret-like is shipped at once", () => {
		const { log, text } = collect();
		log.write("compiling module 1\nok\n");
		assert.equal(text(), "compiling module 1\nok\n");
		log.end();
	});

	test("a secret cut across writes at every offset, and a secret folded over lines written one by one", () => {
		const output = `token ${secret} end\n`;
		for (let cut = 1; cut < output.length; cut++) {
			const { log, text } = collect();
			log.write(output.slice(0, cut));
			log.write(output.slice(cut));
			log.end();
			assert.equal(text(), `token ${MASK} end\n`, `cut at ${cut}`);
		}
		for (const width of [1, 3, 5]) {
			const { log, text } = collect();
			log.write("before\n");
			for (let i = 0; i < secret.length; i += width) log.write(`${secret.slice(i, i + width)}\n`);
			log.write("after\n");
			log.end();
			assert.equal(text(), `before\n${MASK}\nafter\n`, `fold -w ${width}`);
		}
	});

	test("a secret split in two writes with a pause between is still masked", async () => {
		const { log, text } = collect(20);
		log.write(`half ${secret.slice(0, 8)}`);
		await sleep(80);
		log.write(`${secret.slice(8)} done\n`);
		log.end();
		assert.equal(text(), `half ${MASK} done\n`);
	});

	test("lines starting a secret wait for the rest, even past the hold delay", async () => {
		const { log, text } = collect(20);
		log.write(`line one\n${secret.slice(0, 6)}\n`);
		assert.equal(text(), "line one\n");
		await sleep(80);
		assert.equal(text(), "line one\n", "six characters of the secret are not let go on a timer");
		log.write(`${secret.slice(6)}\nline two\n`);
		assert.equal(text(), `line one\n${MASK}\nline two\n`);
		log.end();
	});

	test("a tail matching only the first characters of a form is let go after the hold delay", async () => {
		const { log, text } = collect(20);
		log.write(`progress ${secret.slice(0, 2)}\n`);
		await until(() => text() === `progress ${secret.slice(0, 2)}\n`, "the held line");
		log.end();
	});

	test("worker messages and the end of the step keep their order with held text", () => {
		const { log, text } = collect();
		log.write(`${secret.slice(0, 9)}\n`);
		log.line("worker says hi");
		log.end("step done");
		assert.equal(text(), `${secret.slice(0, 9)}\nworker says hi\nstep done\n`);
	});
});
