// A hatchery: asks the run service for jobs its driver can serve, books them (the booking is
// atomic in the store, so replicas never start one job twice), and starts their workers.
// Runs as its own scaled node (`SERVICES=hatchery`); the driver decides where workers live.

import path from "node:path";
import type { Context, Service, ServiceSchema } from "moleculer";
import type { Config, HatcherySettings } from "../config/index.ts";
import type { HatcheryDriver } from "../src/hatchery/contract.ts";
import { DEFAULT_BINARIES, detectBinaries, LocalDriver } from "../src/hatchery/local-driver.ts";

/** The hatchery's settings with what the configuration leaves to detection filled in. */
export function hatcherySettings(config: Config): HatcherySettings & { binaries: string[] } {
	const h = config.hatchery;
	return { ...h, binaries: h.binaries ?? detectBinaries(DEFAULT_BINARIES) };
}

interface HatcheryLocals {
	hatchery: HatcherySettings & { binaries: string[] };
	driver: HatcheryDriver;
	timer?: NodeJS.Timeout;
	ticking: boolean;
	wakeAgain: boolean;
}
interface HatcheryMethods {
	tick(): Promise<void>;
	wake(): void;
}
type HatcheryThis = Service & HatcheryLocals & HatcheryMethods;

const ROOT = path.resolve(import.meta.dirname, "..");

export default function HatcheryService(
	config: Config,
): ServiceSchema<any, HatcheryMethods, HatcheryLocals, HatcheryThis> {
	return {
		name: "hatchery",
		// Books through the run service: start once it is reachable.
		dependencies: ["run"],
		actions: {
			/** What this hatchery offers and runs (ops: `call hatchery.status` in the REPL). Internal. */
			status: {
				params: {},
				handler(this: HatcheryThis) {
					return {
						name: this.hatchery.name,
						capabilities: this.driver.capabilities(),
						capacity: this.driver.capacity(),
						workers: this.driver.list(),
					};
				},
			},
		},
		events: {
			"job.queued"(this: HatcheryThis) {
				this.wake();
			},
			async "run.stopped"(this: HatcheryThis, ctx: Context<{ jobs: string[] }>) {
				// Workers learn of the stop through their heartbeat; those that do not react are killed.
				await Promise.all(ctx.params.jobs.map((j) => this.driver.kill(j, 10_000)));
			},
		},
		methods: {
			wake(this: HatcheryThis) {
				if (this.ticking) {
					this.wakeAgain = true;
					return;
				}
				void this.tick();
			},
			async tick(this: HatcheryThis) {
				if (this.ticking) return;
				this.ticking = true;
				try {
					do {
						this.wakeAgain = false;
						if (this.driver instanceof LocalDriver) this.driver.fillWarmPool();
						const free = this.driver.freeSlots();
						if (free <= 0) break;
						const ids = (await this.broker.call("run.queueFor", {
							capabilities: this.driver.capabilities(),
							limit: free,
						})) as string[];
						let started = 0;
						for (const jobId of ids) {
							if (this.driver.freeSlots() <= 0) break;
							const booking = (await this.broker.call("run.book", {
								jobId,
								hatchery: this.hatchery.name,
								worker: `${this.hatchery.name}`,
							})) as { won: boolean; token?: string; runId?: string; timeoutSeconds?: number };
							if (!booking.won || !booking.token) continue;
							try {
								await this.driver.spawn({
									jobId,
									runId: booking.runId!,
									token: booking.token,
									apiUrl: config.publicUrl,
									timeoutSeconds: booking.timeoutSeconds ?? 3600,
								});
								started++;
							} catch (e) {
								await this.broker.call("run.unbook", { jobId, reason: (e as Error).message });
							}
						}
						if (started > 0 && ids.length >= free) this.wakeAgain = true;
					} while (this.wakeAgain);
				} catch (e) {
					this.logger.debug(`hatchery tick: ${(e as Error).message}`);
				} finally {
					this.ticking = false;
				}
			},
		},
		created(this: HatcheryThis) {
			this.hatchery = hatcherySettings(config);
			this.ticking = false;
			this.wakeAgain = false;
			this.driver = new LocalDriver({
				name: this.hatchery.name,
				workerEntry: path.join(ROOT, "bin", "cds-worker.mjs"),
				nodeBinary: process.execPath,
				baseDir: this.hatchery.baseDir,
				maxWorkers: this.hatchery.maxWorkers,
				maxProvisioning: this.hatchery.maxProvisioning,
				warmPool: this.hatchery.warmPool,
				jobsPerWorker: this.hatchery.jobsPerWorker,
				models: this.hatchery.models,
				binaries: this.hatchery.binaries,
				memoryMb: this.hatchery.memoryMb,
				log: (m) => this.logger.warn(m),
			});
			// A worker that ended frees a slot: look for more work at once.
			this.driver.onExit(() => this.wake());
		},
		async started(this: HatcheryThis) {
			const orphans = await this.driver.killOrphans([]);
			if (orphans > 0)
				this.logger.warn(`killed ${orphans} orphan worker(s) of a previous run of this hatchery`);
			this.timer = setInterval(() => this.wake(), this.hatchery.pollMs);
			this.timer.unref();
			this.wake();
		},
		async stopped(this: HatcheryThis) {
			if (this.timer) clearInterval(this.timer);
			await this.driver.close();
		},
	};
}
