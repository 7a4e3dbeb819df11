// Which waiting jobs an offer can take: each job needs its cpus and memory (its requirement,
// else the configured default) out of what is left of the offer's scalar resources, and the
// offer's agent must carry every attribute the configuration asks for (`name=value`, compared
// with the attribute's text, scalar or set value). First come, first served: a job that does
// not fit does not block smaller ones behind it.

import type { Attribute, Offer, Resource } from "./scheduler-api.ts";

export interface TaskNeeds {
	cpus: number;
	memMb: number;
	/** Agent attributes the task needs, name → value. */
	attributes: Record<string, string>;
}

export function scalar(resources: readonly Resource[], name: string): number {
	let total = 0;
	for (const r of resources) if (r.name === name && r.type === "SCALAR") total += r.scalar?.value ?? 0;
	return total;
}

function attributeText(a: Attribute): string | undefined {
	if (a.type === "TEXT") return a.text?.value;
	if (a.type === "SCALAR") return a.scalar ? String(a.scalar.value) : undefined;
	return undefined;
}

export function hasAttributes(offer: Offer, wanted: Record<string, string>): boolean {
	for (const [name, value] of Object.entries(wanted)) {
		const found = (offer.attributes ?? []).find((a) => a.name === name);
		if (!found) return false;
		if (found.type === "SET") {
			if (!(found.set?.item ?? []).includes(value)) return false;
		} else if (attributeText(found) !== value) return false;
	}
	return true;
}

/** Indexes of `jobs` (in order) that `offer` takes, each within what the previous ones left. */
export function matchOffer(
	offer: Offer,
	jobs: readonly TaskNeeds[],
	limit = Number.POSITIVE_INFINITY,
): number[] {
	let cpus = scalar(offer.resources, "cpus");
	let mem = scalar(offer.resources, "mem");
	const taken: number[] = [];
	for (let i = 0; i < jobs.length && taken.length < limit; i++) {
		const j = jobs[i]!;
		// Float sums of offers (0.1 + 0.2): a small tolerance, as Mesos' own fixed-point compare.
		if (j.cpus > cpus + 1e-6 || j.memMb > mem + 1e-6) continue;
		if (!hasAttributes(offer, j.attributes)) continue;
		cpus -= j.cpus;
		mem -= j.memMb;
		taken.push(i);
	}
	return taken;
}

/** The resources a task asks for, in the offer's role. */
export function taskResources(needs: TaskNeeds, role?: string): Resource[] {
	const r = (name: string, value: number): Resource => ({
		name,
		type: "SCALAR",
		scalar: { value },
		...(role && role !== "*" ? { role } : {}),
	});
	return [r("cpus", needs.cpus), r("mem", needs.memMb)];
}
