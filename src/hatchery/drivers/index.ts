// Hatchery drivers by name: CDS_HATCHERY_DRIVER picks one (config/hatchery.ts validates the
// name against this list). A driver module is loaded only by a node that uses it, so a
// Kubernetes client never weighs on a local hatchery. Adding a driver: a module
// `./<kind>.ts` whose factory takes the node's hatchery settings, and one line here.

import type { HatcherySettings } from "../../../config/hatchery.ts";
import type { HatcheryDriver } from "../contract.ts";

export type DriverFactory = (
	settings: HatcherySettings,
	log?: (msg: string) => void,
) => HatcheryDriver | Promise<HatcheryDriver>;

export const HATCHERY_DRIVERS: Record<string, () => Promise<DriverFactory>> = {
	local: async () => (await import("./local.ts")).createLocalDriver,
	kubernetes: async () => (await import("./kubernetes.ts")).createKubernetesDriver,
	marathon: async () => (await import("./marathon.ts")).createMarathonDriver,
	openstack: async () => (await import("./openstack.ts")).createOpenStackDriver,
	mesos: async () => (await import("./mesos.ts")).createMesosDriver,
};

export const DRIVER_KINDS: readonly string[] = Object.keys(HATCHERY_DRIVERS);

/** The driver the settings name (`settings.driver`, already validated by the configuration). */
export async function createDriver(
	settings: HatcherySettings,
	log?: (msg: string) => void,
): Promise<HatcheryDriver> {
	const load = HATCHERY_DRIVERS[settings.driver];
	if (!load)
		throw new Error(`unknown hatchery driver '${settings.driver}' (known: ${DRIVER_KINDS.join(", ")})`);
	return (await load())(settings, log);
}
