// Which hatchery may take a job: a job's requirements against what a hatchery offers.
// Kubernetes, Marathon or OpenStack hatcheries describe themselves the same way, so the run
// service matches jobs without knowing what kind of hatchery it talks to.

import type { Requirement } from "../workflow/model.ts";

export interface HatcheryCapabilities {
	name: string;
	/** Worker models this hatchery can start (CDS `model` requirement). */
	models: string[];
	/** Binaries present on its workers' PATH. */
	binaries: string[];
	hostname: string;
	/** GOOS/GOARCH style, e.g. linux/amd64. */
	osArch: string;
	/** Memory a worker may use, in MB. */
	memoryMb: number;
	/** Services (`service` requirements) it can run beside a worker; empty for local hatcheries. */
	services: string[];
	region?: string;
	/** Installed plugins with a binary for its os/arch (the run side adds them: drivers know nothing of plugins). */
	plugins?: string[];
	/**
	 * Its driver keeps persistent workspaces (it has `deleteWorkspace`; the hatchery service says
	 * so): only such a hatchery is offered a job whose node declares `persistent_workspace`.
	 */
	persistentWorkspaces?: boolean;
}

/** Reads CDS memory values: "6000" (MB), "512Mi", "2Gi", "4G". */
export function parseMemoryMb(value: string): number | undefined {
	const m = /^\s*(\d+(?:\.\d+)?)\s*(k|ki|m|mi|g|gi|kb|mb|gb)?\s*$/i.exec(value);
	if (!m) return undefined;
	const n = Number(m[1]);
	const unit = (m[2] ?? "m").toLowerCase();
	const factor: Record<string, number> = {
		k: 1 / 1024,
		ki: 1 / 1024,
		kb: 1 / 1024,
		m: 1,
		mi: 1,
		mb: 1,
		g: 1024,
		gi: 1024,
		gb: 1024,
	};
	return n * factor[unit]!;
}

/** Why `caps` cannot serve these requirements, or undefined when it can. */
export function unmetRequirement(
	requirements: readonly Requirement[],
	caps: HatcheryCapabilities,
): string | undefined {
	for (const r of requirements) {
		switch (r.type) {
			case "model":
				if (!caps.models.includes(r.value)) return `no hatchery offers model ${r.value}`;
				break;
			case "binary":
				if (!caps.binaries.includes(r.value)) return `no hatchery offers binary ${r.value}`;
				break;
			case "hostname":
				if (caps.hostname !== r.value) return `no hatchery runs on host ${r.value}`;
				break;
			case "os-architecture":
				if (caps.osArch !== r.value) return `no hatchery offers os-architecture ${r.value}`;
				break;
			case "memory": {
				const mb = parseMemoryMb(r.value);
				if (mb === undefined) return `memory requirement '${r.value}' is not a size`;
				if (mb > caps.memoryMb) return `no hatchery offers ${r.value} MB of memory`;
				break;
			}
			case "service":
				if (!caps.services.includes(r.value)) return `no hatchery can run service ${r.name} (${r.value})`;
				break;
			case "region":
				if (caps.region !== r.value) return `no hatchery in region ${r.value}`;
				break;
			case "plugin":
				if (!(caps.plugins ?? []).includes(r.value))
					return `no hatchery offers plugin ${r.value} (not installed for ${caps.osArch})`;
				break;
		}
	}
	return undefined;
}

/** The reason no hatchery of `all` can take the job (the first unmet requirement of the first hatchery), or undefined. */
export function whyNoHatchery(
	requirements: readonly Requirement[],
	all: readonly HatcheryCapabilities[],
): string | undefined {
	if (all.length === 0) return "no hatchery is running";
	const reasons = all.map((c) => unmetRequirement(requirements, c));
	if (reasons.some((r) => r === undefined)) return undefined;
	return reasons[0];
}
