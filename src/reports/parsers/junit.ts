// JUnit XML and its dialects (Surefire, jest-junit, vitest, pytest, go-junit-report).
import type { SaxesTagPlain } from "saxes";
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import type { JUnitDialect, TestCase, TestReport, TestStatus } from "../model.ts";
import type { ByteSource } from "../source.ts";
import { numberAttr, parseXml, stringAttr } from "../xml.ts";

const MESSAGE_LIMIT = 2000;

interface OpenCase {
	suite: string;
	className: string;
	name: string;
	timeSeconds: number;
	status: TestStatus;
	message?: string;
	/** Body of the failure/error/skipped element while it is open. */
	body?: string;
	collecting: boolean;
}

export async function parseJUnit(source: ByteSource, ctx: ParseContext): Promise<TestReport> {
	const cases: TestCase[] = [];
	const suites: string[] = [];
	let root: string | undefined;
	let rootTime: number | undefined;
	let topSuiteTime = 0;
	let sawTopSuiteTime = false;
	let current: OpenCase | undefined;
	const hints = { rootName: "", suiteName: "", surefire: false, goVersion: false };

	await parseXml(source, ctx, {
		open(tag) {
			const name = tag.name;
			if (root === undefined) {
				root = name;
				if (name !== "testsuites" && name !== "testsuite") {
					throw failure(
						ctx,
						`not a JUnit report: root element is <${name}>, expected <testsuites> or <testsuite>`,
					);
				}
				hints.rootName = tag.attributes["name"] ?? "";
				if (name === "testsuites") rootTime = numberAttr(tag, "time");
				const schema = tag.attributes["xsi:noNamespaceSchemaLocation"] ?? "";
				if (schema.includes("surefire")) hints.surefire = true;
			}
			switch (name) {
				case "testsuite": {
					suites.push(tag.attributes["name"] ?? "");
					if (suites.length === 1) {
						hints.suiteName ||= tag.attributes["name"] ?? "";
						const time = numberAttr(tag, "time");
						if (time !== undefined) {
							topSuiteTime += time;
							sawTopSuiteTime = true;
						}
					}
					break;
				}
				case "property":
					detectFromProperty(tag, hints);
					break;
				case "testcase":
					current = {
						suite: suites.at(-1) ?? "",
						className: tag.attributes["classname"] ?? tag.attributes["class"] ?? "",
						name: tag.attributes["name"] ?? "",
						timeSeconds: numberAttr(tag, "time") ?? 0,
						status: "passed",
						collecting: false,
					};
					break;
				case "failure":
				case "error":
				case "skipped":
					if (current) openOutcome(current, tag);
					break;
			}
		},
		text(text) {
			if (current?.collecting && (current.body?.length ?? 0) < MESSAGE_LIMIT)
				current.body = (current.body ?? "") + text;
		},
		close(name) {
			if (name === "testsuite") suites.pop();
			else if ((name === "failure" || name === "error" || name === "skipped") && current) {
				current.collecting = false;
			} else if (name === "testcase" && current) {
				cases.push(finishCase(current));
				current = undefined;
			}
		},
	});

	const totals = { tests: cases.length, passed: 0, failures: 0, errors: 0, skipped: 0, timeSeconds: 0 };
	let casesTime = 0;
	for (const c of cases) {
		if (c.status === "passed") totals.passed++;
		else if (c.status === "failed") totals.failures++;
		else if (c.status === "error") totals.errors++;
		else totals.skipped++;
		casesTime += c.timeSeconds;
	}
	totals.timeSeconds = round(rootTime ?? (sawTopSuiteTime ? topSuiteTime : casesTime));
	return { kind: "tests", format: "junit", file: ctx.file, dialect: dialectOf(hints, cases), totals, cases };
}

// The worst outcome wins when a test case holds several elements (e.g. a failure and an error).
const STATUS_RANK: Record<TestStatus, number> = { passed: 0, skipped: 1, failed: 2, error: 3 };

function openOutcome(current: OpenCase, tag: SaxesTagPlain): void {
	const status: TestStatus = tag.name === "failure" ? "failed" : tag.name === "error" ? "error" : "skipped";
	if (STATUS_RANK[status] < STATUS_RANK[current.status]) return;
	current.status = status;
	current.message = stringAttr(tag, "message");
	current.body = "";
	current.collecting = true;
}

function finishCase(open: OpenCase): TestCase {
	const result: TestCase = {
		suite: open.suite,
		className: open.className,
		name: open.name,
		status: open.status,
		timeSeconds: open.timeSeconds,
	};
	const message = open.message ?? firstLines(open.body);
	if (message)
		result.message = message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT)}…` : message;
	return result;
}

function firstLines(body: string | undefined): string | undefined {
	const trimmed = body?.trim();
	if (!trimmed) return undefined;
	return trimmed.split("\n").slice(0, 5).join("\n");
}

function detectFromProperty(tag: SaxesTagPlain, hints: { surefire: boolean; goVersion: boolean }): void {
	const name = tag.attributes["name"] ?? "";
	if (name === "go.version") hints.goVersion = true;
	if (name === "surefire.version" || name === "maven.home" || name === "java.version") hints.surefire = true;
}

// Go import paths ("example.com/x/y") as suite and class name are go-junit-report's signature.
const GO_IMPORT_PATH = /^[a-z0-9.-]+\.[a-z]+(\/[\w.-]+)+$/i;

function dialectOf(
	hints: { rootName: string; suiteName: string; surefire: boolean; goVersion: boolean },
	cases: TestCase[],
): JUnitDialect {
	if (hints.rootName === "vitest tests") return "vitest";
	if (hints.rootName === "jest tests") return "jest-junit";
	if (hints.suiteName === "pytest" || hints.rootName === "pytest tests") return "pytest";
	const goLike =
		cases.length > 0 && cases.every((c) => c.className === c.suite && GO_IMPORT_PATH.test(c.suite));
	if (hints.goVersion || goLike) return "go-junit-report";
	if (hints.surefire) return "surefire";
	return "generic";
}

function round(seconds: number): number {
	return Math.round(seconds * 1e6) / 1e6;
}
