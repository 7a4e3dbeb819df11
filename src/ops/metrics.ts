// A small metrics registry and the Prometheus text exposition (format 0.0.4), written here
// rather than taken from a package: counters, gauges and histograms with fixed label names.
//
// Hot paths (a store operation, an event) must cost a few additions: callers bind a label set
// once (`family.labels(...)`, cached) and keep the child, whose `inc`/`observe` allocate nothing.
// A node's registry is turned into a plain snapshot (JSON over the broker), and the gateway
// merges the snapshots of every node, each sample labelled with its node, into one exposition.

export type MetricType = "counter" | "gauge" | "histogram";

export class CounterChild {
	value = 0;
	inc(by = 1): void {
		this.value += by;
	}
}

export class GaugeChild {
	value = 0;
	set(v: number): void {
		this.value = v;
	}
}

export class HistogramChild {
	/** Upper bounds, ascending (+Inf is implied). */
	readonly bounds: readonly number[];
	/** counts[i]: observations ≤ bounds[i] and > bounds[i-1] (not cumulative; the exposition adds up). */
	readonly counts: Float64Array;
	sum = 0;
	count = 0;
	constructor(bounds: readonly number[]) {
		this.bounds = bounds;
		this.counts = new Float64Array(bounds.length);
	}
	observe(v: number): void {
		this.sum += v;
		this.count++;
		const b = this.bounds;
		for (let i = 0; i < b.length; i++) {
			if (v <= b[i]!) {
				this.counts[i]!++;
				return;
			}
		}
	}
}

type Child = CounterChild | GaugeChild | HistogramChild;

export interface SampleSnapshot {
	labels: Record<string, string>;
	/** Counter or gauge value. */
	value?: number;
	/** Histogram: cumulative counts per bound, then sum and count. */
	buckets?: number[];
	sum?: number;
	count?: number;
}

export interface FamilySnapshot {
	name: string;
	help: string;
	type: MetricType;
	/** Histogram bounds (seconds, …), ascending. */
	bounds?: number[];
	samples: SampleSnapshot[];
}

export class Family<C extends Child> {
	readonly name: string;
	readonly help: string;
	readonly type: MetricType;
	readonly labelNames: readonly string[];
	readonly bounds?: readonly number[];
	private readonly children = new Map<string, { values: string[]; child: C }>();
	private readonly make: () => C;

	constructor(
		name: string,
		help: string,
		type: MetricType,
		labelNames: readonly string[],
		make: () => C,
		bounds?: readonly number[],
	) {
		this.name = name;
		this.help = help;
		this.type = type;
		this.labelNames = labelNames;
		this.make = make;
		this.bounds = bounds;
	}

	/** The child of one label set (created once): keep it where the same labels are used often. */
	labels(...values: string[]): C {
		const key = values.length === 1 ? values[0]! : values.join("\u0001");
		let entry = this.children.get(key);
		if (!entry) {
			if (values.length !== this.labelNames.length)
				throw new Error(
					`${this.name}: ${this.labelNames.length} label values expected, got ${values.length}`,
				);
			entry = { values, child: this.make() };
			this.children.set(key, entry);
		}
		return entry.child;
	}

	snapshot(): FamilySnapshot {
		const samples: SampleSnapshot[] = [];
		for (const { values, child } of this.children.values()) {
			const labels: Record<string, string> = {};
			this.labelNames.forEach((n, i) => {
				labels[n] = values[i]!;
			});
			if (child instanceof HistogramChild) {
				// Label sets bound ahead (every collection × operation) stay out until first observed.
				if (child.count === 0) continue;
				const buckets: number[] = [];
				let running = 0;
				for (const c of child.counts) {
					running += c;
					buckets.push(running);
				}
				samples.push({ labels, buckets, sum: child.sum, count: child.count });
			} else samples.push({ labels, value: child.value });
		}
		return {
			name: this.name,
			help: this.help,
			type: this.type,
			...(this.bounds ? { bounds: [...this.bounds] } : {}),
			samples,
		};
	}
}

/** Bounds for latencies from 0.1 ms to 10 s (store operations, event handling). */
export const FAST_SECONDS = [
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10,
];
/** Bounds for waits from 10 ms to an hour (queue wait, worker start). */
export const SLOW_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export class MetricsRegistry {
	private readonly families: Family<Child>[] = [];
	private readonly collectors: Array<() => void> = [];

	counter(name: string, help: string, labelNames: readonly string[] = []): Family<CounterChild> {
		return this.add(new Family(name, help, "counter", labelNames, () => new CounterChild()));
	}

	gauge(name: string, help: string, labelNames: readonly string[] = []): Family<GaugeChild> {
		return this.add(new Family(name, help, "gauge", labelNames, () => new GaugeChild()));
	}

	histogram(
		name: string,
		help: string,
		labelNames: readonly string[],
		bounds: readonly number[],
	): Family<HistogramChild> {
		return this.add(
			new Family(name, help, "histogram", labelNames, () => new HistogramChild(bounds), bounds),
		);
	}

	/** Runs before every snapshot: gauges read at scrape time (event-loop lag…). */
	onCollect(collect: () => void): void {
		this.collectors.push(collect);
	}

	snapshot(): FamilySnapshot[] {
		for (const collect of this.collectors) collect();
		return this.families.map((f) => f.snapshot());
	}

	private add<C extends Child>(family: Family<C>): Family<C> {
		if (this.families.some((f) => f.name === family.name))
			throw new Error(`metric ${family.name} declared twice`);
		this.families.push(family as unknown as Family<Child>);
		return family;
	}
}

/**
 * The families of several nodes as one list: samples of the same family are put together, each
 * labelled with its node (`node="…"`), so sums across the cluster are a PromQL `sum by`.
 */
export function mergeNodeSnapshots(
	nodes: Array<{ node: string; families: FamilySnapshot[] }>,
): FamilySnapshot[] {
	const byName = new Map<string, FamilySnapshot>();
	for (const { node, families } of nodes) {
		for (const f of families) {
			let merged = byName.get(f.name);
			if (!merged) {
				merged = { ...f, samples: [] };
				byName.set(f.name, merged);
			}
			for (const s of f.samples) merged.samples.push({ ...s, labels: { node, ...s.labels } });
		}
	}
	return [...byName.values()];
}

function escapeLabel(v: string): string {
	return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Record<string, string>, extra?: [string, string]): string {
	const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
	if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
	return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
	if (v === Number.POSITIVE_INFINITY) return "+Inf";
	if (v === Number.NEGATIVE_INFINITY) return "-Inf";
	if (Number.isNaN(v)) return "NaN";
	return String(v);
}

/** The Prometheus text format (version 0.0.4) of `families`. */
export function renderExposition(families: FamilySnapshot[]): string {
	const out: string[] = [];
	for (const f of families) {
		out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
		out.push(`# TYPE ${f.name} ${f.type}`);
		for (const s of f.samples) {
			if (f.type !== "histogram") {
				out.push(`${f.name}${labelText(s.labels)} ${num(s.value ?? 0)}`);
				continue;
			}
			const bounds = f.bounds ?? [];
			bounds.forEach((b, i) => {
				out.push(`${f.name}_bucket${labelText(s.labels, ["le", num(b)])} ${num(s.buckets?.[i] ?? 0)}`);
			});
			out.push(`${f.name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${num(s.count ?? 0)}`);
			out.push(`${f.name}_sum${labelText(s.labels)} ${num(s.sum ?? 0)}`);
			out.push(`${f.name}_count${labelText(s.labels)} ${num(s.count ?? 0)}`);
		}
	}
	return `${out.join("\n")}\n`;
}
