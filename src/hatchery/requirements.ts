// A job's requirements as a driver reads them: the run service keeps CDS's list of
// `{type, name, value}`; a driver wants "which image, how much memory, which services".

import { parseMemoryMb } from "../engine/requirements.ts";
import type { Requirement } from "../workflow/model.ts";

export interface ServiceRequirement {
	/** The name the job reaches the service by (its hostname beside the worker). */
	name: string;
	/** The image and its options, as written in the workflow (`postgres:14 POSTGRES_USER=cds`). */
	value: string;
}

export interface JobRequirements {
	/** The worker model (for container drivers: the image). */
	model?: string;
	memoryMb?: number;
	binaries: string[];
	services: ServiceRequirement[];
	/** A network the worker must be attached to (no as-code requirement type sets it yet). */
	network?: string;
	hostname?: string;
	/** GOOS/GOARCH, e.g. linux/amd64 (`os-architecture`). */
	os?: string;
	region?: string;
}

/** The typed view of a job's requirement list (the first of each single-valued kind wins). */
export function jobRequirements(list: readonly Requirement[] | undefined): JobRequirements {
	const out: JobRequirements = { binaries: [], services: [] };
	for (const r of list ?? []) {
		switch (r.type) {
			case "model":
				out.model ??= r.value;
				break;
			case "memory":
				out.memoryMb ??= parseMemoryMb(r.value);
				break;
			case "binary":
				if (!out.binaries.includes(r.value)) out.binaries.push(r.value);
				break;
			case "service":
				out.services.push({ name: r.name, value: r.value });
				break;
			case "hostname":
				out.hostname ??= r.value;
				break;
			case "os-architecture":
				out.os ??= r.value;
				break;
			case "region":
				out.region ??= r.value;
				break;
			default:
				if ((r.type as string) === "network") out.network ??= r.value;
		}
	}
	return out;
}
