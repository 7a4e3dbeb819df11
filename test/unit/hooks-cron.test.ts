import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	checkTimezone,
	dueTick,
	examinedAfter,
	matchesWallClock,
	parseCron,
	ScheduleError,
	wallClock,
} from "../../src/hooks/cron.ts";

const at = (iso: string) => Date.parse(iso);
const HOUR = 3600_000;

/** Drives dueTick like the service's loop does, with an injected clock; returns [instant, tick] per firing. */
function simulate(
	cron: string,
	timezone: string,
	from: number,
	to: number,
	everyMs: number,
	windowMs = HOUR,
) {
	const spec = parseCron(cron);
	const fired: Array<[string, string]> = [];
	let examined: number | null = null;
	for (let now = from; now <= to; now += everyMs) {
		const due = dueTick({
			spec,
			timezone,
			examinedWallUntil: examined,
			now,
			since: 0,
			catchUpWindowMs: windowMs,
		});
		examined = examinedAfter(examined, now, timezone);
		if (due) fired.push([new Date(now).toISOString(), due.name]);
	}
	return fired;
}

describe("schedule ticks", () => {
	test("a normal day fires each tick once, at its time, in the schedule's timezone", () => {
		const fired = simulate(
			"0 9 * * *",
			"Europe/Paris",
			at("2025-06-01T00:00:00Z"),
			at("2025-06-03T00:00:00Z"),
			20_000,
		);
		assert.deepEqual(fired, [
			["2025-06-01T07:00:00.000Z", "2025-06-01T09:00:00"],
			["2025-06-02T07:00:00.000Z", "2025-06-02T09:00:00"],
		]);
	});

	test("spring forward: a tick inside the skipped hour fires once, right after the jump", () => {
		// Europe/Paris, 2025-03-30: 02:00 CET becomes 03:00 CEST at 01:00Z; 02:30 never exists.
		const fired = simulate(
			"30 2 * * *",
			"Europe/Paris",
			at("2025-03-29T23:00:00Z"),
			at("2025-03-30T03:00:00Z"),
			30_000,
		);
		assert.deepEqual(fired, [["2025-03-30T01:00:00.000Z", "2025-03-30T02:30:00"]]);
	});

	test("fall back: a tick inside the repeated hour fires once, at its first occurrence", () => {
		// Europe/Paris, 2025-10-26: 03:00 CEST becomes 02:00 CET at 01:00Z; 02:30 happens twice.
		const fired = simulate(
			"30 2 * * *",
			"Europe/Paris",
			at("2025-10-25T23:00:00Z"),
			at("2025-10-26T03:00:00Z"),
			30_000,
		);
		assert.deepEqual(fired, [["2025-10-26T00:30:00.000Z", "2025-10-26T02:30:00"]]);
		// An every-15-minutes schedule keeps firing through the repeated hour without repeating a tick name.
		const quarter = simulate(
			"*/15 * * * *",
			"Europe/Paris",
			at("2025-10-26T00:00:00Z"),
			at("2025-10-26T02:00:00Z"),
			30_000,
		);
		const names = quarter.map(([, n]) => n);
		assert.equal(new Set(names).size, names.length);
	});

	test("missed ticks: at most one catch-up (the latest tick), and only within the window", () => {
		const spec = parseCron("*/10 * * * *");
		const base = { spec, timezone: "UTC", since: 0, catchUpWindowMs: HOUR };
		// Every node was down from 09:00 to 12:34:56: one run, for 12:30.
		assert.equal(
			dueTick({ ...base, examinedWallUntil: at("2025-01-01T09:00:00Z"), now: at("2025-01-01T12:34:56Z") })
				?.name,
			"2025-01-01T12:30:00",
		);
		// A node starting without memory: the same single catch-up.
		assert.equal(
			dueTick({ ...base, examinedWallUntil: null, now: at("2025-01-01T12:34:56Z") })?.name,
			"2025-01-01T12:30:00",
		);
		// Out of the window: nothing.
		assert.equal(
			dueTick({ ...base, catchUpWindowMs: 60_000, examinedWallUntil: null, now: at("2025-01-01T12:34:56Z") }),
			null,
		);
		const daily = parseCron("0 3 * * *");
		assert.equal(
			dueTick({ ...base, spec: daily, examinedWallUntil: null, now: at("2025-01-02T05:30:00Z") }),
			null,
			"03:00 is 2.5 h old, beyond the 1 h window",
		);
	});

	test("a schedule created after a tick does not fire it", () => {
		const spec = parseCron("*/10 * * * *");
		const now = at("2025-01-01T12:31:00Z");
		const base = { spec, timezone: "UTC", examinedWallUntil: null, now, catchUpWindowMs: HOUR };
		assert.equal(dueTick({ ...base, since: at("2025-01-01T12:29:30Z") })?.name, "2025-01-01T12:30:00");
		assert.equal(dueTick({ ...base, since: at("2025-01-01T12:30:10Z") }), null);
	});

	test("cron syntax: seconds, day-of-month OR day-of-week, L and #", () => {
		const sec = simulate(
			"*/15 * * * * *",
			"UTC",
			at("2025-01-01T00:00:00Z"),
			at("2025-01-01T00:00:59Z"),
			1000,
		);
		assert.deepEqual(
			sec.map(([, n]) => n.slice(11)),
			["00:00:00", "00:00:15", "00:00:30", "00:00:45"],
		);
		const friday13 = parseCron("0 0 13 * 5");
		assert.equal(matchesWallClock(friday13, at("2025-06-13T00:00:00Z")), true); // Friday the 13th
		assert.equal(matchesWallClock(friday13, at("2025-06-06T00:00:00Z")), true); // a Friday
		assert.equal(matchesWallClock(friday13, at("2025-07-13T00:00:00Z")), true); // a 13th (Sunday)
		assert.equal(matchesWallClock(friday13, at("2025-06-07T00:00:00Z")), false);
		assert.equal(matchesWallClock(parseCron("0 0 L * *"), at("2024-02-29T00:00:00Z")), true);
		assert.equal(matchesWallClock(parseCron("0 0 L * *"), at("2024-02-28T00:00:00Z")), false);
		assert.equal(matchesWallClock(parseCron("0 0 * * 1#2"), at("2025-06-09T00:00:00Z")), true); // 2nd Monday
		assert.equal(matchesWallClock(parseCron("0 0 * * 1#2"), at("2025-06-02T00:00:00Z")), false);
		assert.equal(matchesWallClock(parseCron("0 0 * * 5L"), at("2025-06-27T00:00:00Z")), true); // last Friday
		assert.equal(matchesWallClock(parseCron("0 0 * * 5L"), at("2025-06-20T00:00:00Z")), false);
	});

	test("bad expressions and timezones are clear errors", () => {
		assert.throws(() => parseCron("61 * * * *"), ScheduleError);
		assert.throws(() => parseCron(""), ScheduleError);
		assert.throws(() => parseCron("* * *"), ScheduleError);
		assert.throws(() => checkTimezone("Mars/Olympus"), /unknown timezone/);
		assert.doesNotThrow(() => checkTimezone("America/New_York"));
		assert.equal(wallClock(at("2025-01-01T12:00:00Z"), "America/New_York"), at("2025-01-01T07:00:00Z"));
	});
});
