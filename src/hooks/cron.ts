// When a schedule is due. Cron expressions (5 fields, or 6 with seconds; node-cron's syntax,
// parsed by node-cron) are matched against the WALL CLOCK of the schedule's timezone, and the
// search runs over wall-clock time, which gives the daylight-saving rule for free:
//
// - spring forward (the clock jumps 02:00 → 03:00): wall times in the gap never happen, but
//   the search walks from the last examined wall time to now, so a tick in the gap is found
//   at the first check after the jump and fires once then;
// - fall back (03:00 → 02:00): the repeated hour is walked once only (the wall clock of now is
//   behind the last examined one, so nothing new is examined), so a tick fires once;
// - ticks missed while every hook node was down: only the LATEST tick within the catch-up
//   window is returned (at most one catch-up run); older ones are dropped.
//
// A tick is named by its wall-clock time (`2025-03-30T02:30:00`), and the service claims that
// name per schedule, so replicas and restarts agree on "this tick already fired".

import { parse, validateDetailed } from "node-cron";

export interface CronSpec {
	seconds: Set<number>;
	minutes: Set<number>;
	hours: Set<number>;
	daysOfMonth: Array<number | string>;
	months: Set<number>;
	daysOfWeek: Array<number | string>;
	/** The expression restricts the day of month / the day of week (standard cron ORs them when both do). */
	domRestricted: boolean;
	dowRestricted: boolean;
	/** A 6-field expression: ticks can fall on any second; otherwise only on :00. */
	hasSeconds: boolean;
}

export class ScheduleError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "ScheduleError";
	}
}

export function parseCron(expression: string): CronSpec {
	if (typeof expression !== "string" || expression.trim() === "" || expression.length > 200) {
		throw new ScheduleError("a cron expression is a non-empty string of at most 200 characters");
	}
	const check = validateDetailed(expression);
	if (!check.valid) {
		throw new ScheduleError(
			`invalid cron expression '${expression}': ${check.errors.map((e) => e.message).join("; ")}`,
		);
	}
	const fields = parse(expression);
	const hasSeconds = expression.trim().split(/\s+/).length === 6;
	return {
		seconds: new Set(fields.second),
		minutes: new Set(fields.minute),
		hours: new Set(fields.hour),
		daysOfMonth: fields.dayOfMonth,
		months: new Set(fields.month),
		daysOfWeek: fields.dayOfWeek,
		domRestricted: !(
			fields.dayOfMonth.length === 31 && fields.dayOfMonth.every((d) => typeof d === "number")
		),
		dowRestricted: !(fields.dayOfWeek.length === 7 && fields.dayOfWeek.every((d) => typeof d === "number")),
		hasSeconds,
	};
}

export function checkTimezone(timezone: string): void {
	try {
		new Intl.DateTimeFormat("en-US", { timeZone: timezone });
	} catch {
		throw new ScheduleError(`unknown timezone '${timezone}' (use an IANA name such as Europe/Paris)`);
	}
}

/** Wall-clock fields, as milliseconds of a UTC date carrying them ("naive" local time). */
const formatters = new Map<string, Intl.DateTimeFormat>();
export function wallClock(instantMs: number, timezone: string): number {
	let f = formatters.get(timezone);
	if (!f) {
		f = new Intl.DateTimeFormat("en-US", {
			timeZone: timezone,
			hourCycle: "h23",
			year: "numeric",
			month: "numeric",
			day: "numeric",
			hour: "numeric",
			minute: "numeric",
			second: "numeric",
		});
		formatters.set(timezone, f);
	}
	const p: Record<string, number> = {};
	for (const part of f.formatToParts(new Date(instantMs))) {
		if (part.type !== "literal") p[part.type] = Number(part.value);
	}
	return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

function daysInMonth(year: number, month0: number): number {
	return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
}

function dayOfMonthMatches(spec: CronSpec, d: Date): boolean {
	const day = d.getUTCDate();
	return spec.daysOfMonth.some((v) =>
		v === "L" ? day === daysInMonth(d.getUTCFullYear(), d.getUTCMonth()) : v === day,
	);
}

function dayOfWeekMatches(spec: CronSpec, d: Date): boolean {
	const dow = d.getUTCDay();
	const day = d.getUTCDate();
	return spec.daysOfWeek.some((v) => {
		if (typeof v === "number") return v % 7 === dow;
		const last = /^(\d)L$/.exec(v);
		if (last)
			return Number(last[1]) % 7 === dow && day + 7 > daysInMonth(d.getUTCFullYear(), d.getUTCMonth());
		const nth = /^(\d)#(\d)$/.exec(v);
		if (nth) return Number(nth[1]) % 7 === dow && Math.ceil(day / 7) === Number(nth[2]);
		return false;
	});
}

/** Does a wall-clock time (see wallClock) match the expression? */
export function matchesWallClock(spec: CronSpec, wallMs: number): boolean {
	const d = new Date(wallMs);
	if (!spec.seconds.has(d.getUTCSeconds())) return false;
	if (!spec.minutes.has(d.getUTCMinutes())) return false;
	if (!spec.hours.has(d.getUTCHours())) return false;
	if (!spec.months.has(d.getUTCMonth() + 1)) return false;
	if (spec.domRestricted && spec.dowRestricted)
		return dayOfMonthMatches(spec, d) || dayOfWeekMatches(spec, d);
	return dayOfMonthMatches(spec, d) && dayOfWeekMatches(spec, d);
}

/** The name of a tick: its wall-clock time without zone, to the second. */
export function tickName(wallMs: number): string {
	return new Date(wallMs).toISOString().slice(0, 19);
}

export interface DueTickInput {
	spec: CronSpec;
	timezone: string;
	/**
	 * The newest wall-clock time already examined (see wallClock), or null on a node's first look
	 * at the schedule. Kept as a wall-clock high-water mark, so the repeated hour of a fall-back
	 * change is never walked twice.
	 */
	examinedWallUntil: number | null;
	now: number;
	/** When the schedule was created or last changed: nothing before it is due. */
	since: number;
	/** How far back a missed tick may still be caught up. */
	catchUpWindowMs: number;
}

/** The new high-water mark after examining up to `now`. */
export function examinedAfter(previous: number | null, now: number, timezone: string): number {
	const wall = wallClock(now, timezone);
	return previous === null ? wall : Math.max(previous, wall);
}

/** The latest tick that is due now (wall-clock ms and name), or null. */
export function dueTick(input: DueTickInput): { wallMs: number; name: string } | null {
	const { spec, timezone, now } = input;
	const step = spec.hasSeconds ? 1000 : 60_000;
	const nowWall = wallClock(now, timezone);
	const oldest = Math.max(
		wallClock(Math.max(input.since, now - input.catchUpWindowMs), timezone),
		input.examinedWallUntil === null ? Number.NEGATIVE_INFINITY : input.examinedWallUntil + 1,
	);
	// Walk down from the newest candidate to the oldest one, by whole steps.
	for (let t = Math.floor(nowWall / step) * step; t >= oldest; t -= step) {
		if (matchesWallClock(spec, t)) return { wallMs: t, name: tickName(t) };
	}
	return null;
}
