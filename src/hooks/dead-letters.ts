// Dead letters: hook events the processor gave up on (src/hooks/processor.ts), kept with their
// last error until an operator replays or deletes them. A replay puts the event back in the
// queue with its attempts reset and its progress kept, so the steps it had done (a run already
// created, the message published) are not done again.

import { DuplicateKeyError } from "../store/types.ts";
import type { HookEventDoc } from "./events.ts";
import type { HookIntake } from "./intake.ts";

export type DeadLetterChange =
	| { outcome: "done"; event: HookEventDoc }
	| { outcome: "not-found" | "not-dead" };

/** The dead letter `id` of `project`, back to pending and queued now. */
export async function replayDeadLetter(
	intake: HookIntake,
	project: string,
	id: string,
	now: number = Date.now(),
): Promise<DeadLetterChange> {
	const events = intake.events(id);
	const event = await events.findOne({ _id: id, project });
	if (!event) return { outcome: "not-found" };
	if (event.state !== "dead") return { outcome: "not-dead" };
	const replays = (event.replays ?? 0) + 1;
	await events.update({ _id: id }, { $set: { state: "pending", attempts: 0, replays } });
	try {
		await intake.queue(id).insert({ _id: id, dueAt: now, attempts: 0 });
	} catch (e) {
		// Queued already (a replay racing with this one): one entry is enough.
		if (!(e instanceof DuplicateKeyError)) throw e;
	}
	return { outcome: "done", event: { ...event, state: "pending", attempts: 0, replays } };
}

/** Deletes the dead letter `id` of `project` (an event in any other state is left alone). */
export async function dropDeadLetter(
	intake: HookIntake,
	project: string,
	id: string,
): Promise<DeadLetterChange> {
	const events = intake.events(id);
	const event = await events.findOne({ _id: id, project });
	if (!event) return { outcome: "not-found" };
	if (event.state !== "dead") return { outcome: "not-dead" };
	await events.remove({ _id: id, state: "dead" });
	return { outcome: "done", event };
}
