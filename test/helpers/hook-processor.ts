// A HookProcessor for unit tests: on the test's intake and ports, with quick retries and a quiet
// logger; `settings` overrides what a test is about.

import type { HookIntake } from "../../src/hooks/intake.ts";
import { HookProcessor, type ProcessorPorts } from "../../src/hooks/processor.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

export function testProcessor(
	intake: HookIntake,
	ports: ProcessorPorts,
	owner: string,
	settings: Partial<ConstructorParameters<typeof HookProcessor>[0]["settings"]> = {},
): HookProcessor {
	return new HookProcessor({
		intake,
		ports,
		settings: {
			leaseMs: 5000,
			retryBaseMs: 1,
			retryMaxMs: 1,
			intakeQuietMs: 50,
			intakeDeferMs: 2000,
			eventRetentionMs: 60_000,
			...settings,
		},
		owner,
		logger: silent,
	});
}
