// A hatchery: asks the run service for jobs its driver can serve, books them (the booking is
// atomic in the store, so replicas never start one job twice), and starts their workers.
// Runs as its own scaled node (`SERVICES=hatchery`); the driver (CDS_HATCHERY_DRIVER, from
// src/hatchery/drivers) decides where workers live. At start and then periodically it
// reconciles the driver with the jobs the run service counts as live for this hatchery: a
// restarted hatchery adopts the workers of its live jobs, and a worker whose job ended
// while an event was lost is killed. Every heartbeat period it vouches for the workers its
// driver sees alive (`run.workersAlive`): a worker cut off from the gateway is not "lost".
// Not for those the driver lists `unconfirmed` (a pod's phase, a Mesos/Marathon task's state, a
// Nova server's status outlive the machine that ran it).

import { callAction } from "./support/call.ts";
import type { Context, Service, ServiceSchema } from "moleculer";
import type { Config, HatcherySettings } from "../config/index.ts";
import type { HatcheryDriver } from "../src/hatchery/contract.ts";
import { createDriver } from "../src/hatchery/drivers/index.ts";
import { jobRequirements } from "../src/hatchery/requirements.ts";
import { vouchedJobs } from "../src/hatchery/vouch.ts";
import { type InstalledPlugin, pluginsRunnableOn } from "../src/integrations/plugin-manifest.ts";
import { PublicUrlMixin } from "../mixins/public-url.mixin.ts";

/** How long the installed plugins are kept without a `plugin.changed` (a broadcast missed). */
const PLUGINS_TTL_MS = 30_000;

/** How often the driver is reconciled with the live jobs after the first time (at start). */
const RECONCILE_EVERY_MS = 30_000;

interface HatcheryLocals {
	hatchery: HatcherySettings;
	driver?: HatcheryDriver;
	timer?: NodeJS.Timeout;
	reconcileTimer?: NodeJS.Timeout;
	vouchTimer?: NodeJS.Timeout;
	vouching: boolean;
	ticking: boolean;
	wakeAgain: boolean;
	/** Set when a reconcile is due: the tick loop runs it, so no spawn races the live-job list. */
	reconcileDue: boolean;
	/** Set once the node stops: no new job is booked, running ones are drained. */
	stopping: boolean;
	/** Set once drained before the broker stopped (drainBeforeStop): `stopped` waits no more. */
	drained: boolean;
	/** The installed plugins, as last read, and when: re-read after a `plugin.changed` or 30 s. */
	plugins?: { items: InstalledPlugin[]; at: number };
}
interface HatcheryMethods {
	tick(): Promise<void>;
	wake(): void;
	reconcile(driver: HatcheryDriver): Promise<void>;
	deleteWorkspaces(driver: HatcheryDriver): Promise<void>;
	fill(driver: HatcheryDriver): Promise<void>;
	publicUrl(): string | undefined;
	vouch(driver: HatcheryDriver): Promise<void>;
	drain(driver: HatcheryDriver): Promise<number>;
	drainBeforeStop(): Promise<void>;
	installedPlugins(): Promise<InstalledPlugin[]>;
}
type HatcheryThis = Service & HatcheryLocals & HatcheryMethods;

export default function HatcheryService(
	config: Config,
): ServiceSchema<any, HatcheryMethods, HatcheryLocals, HatcheryThis> {
	return {
		name: "hatchery",
		// Workers get the API URL the cluster announces: none known, none started (the mixin says so).
		mixins: [PublicUrlMixin(config)],
		// Books through the run service: start once it is reachable.
		dependencies: ["run"],
		actions: {
			/** What this hatchery offers and runs (ops: `call hatchery.status` in the REPL). Internal. */
			status: {
				params: {},
				async handler(this: HatcheryThis) {
					const driver = this.driver;
					return {
						name: this.hatchery.name,
						driver: this.hatchery.driver,
						capabilities: driver ? await driver.capabilities() : null,
						capacity: driver ? await driver.capacity() : null,
						workers: driver ? await driver.list() : [],
					};
				},
			},
		},
		events: {
			"job.queued"(this: HatcheryThis) {
				this.wake();
			},
			/** A signal only: the store says which (deleteWorkspaces, also run at every reconcile). */
			async "run.workspacesDeleted"(this: HatcheryThis) {
				const driver = this.driver;
				if (driver)
					await this.deleteWorkspaces(driver).catch((e) =>
						this.logger.warn(`deleting persistent workspaces: ${(e as Error).message}`),
					);
			},
			"plugin.changed"(this: HatcheryThis) {
				this.plugins = undefined;
				this.wake();
			},
			async "run.stopped"(this: HatcheryThis, ctx: Context<{ jobs: string[] }>) {
				// Workers learn of the stop through their heartbeat; those that do not react are stopped.
				const driver = this.driver;
				if (driver) await Promise.all(ctx.params.jobs.map((j) => driver.kill(j, 10_000)));
			},
		},
		methods: {
			/** Read once per booking round would be a store read per job: kept until it changes. */
			async installedPlugins(this: HatcheryThis): Promise<InstalledPlugin[]> {
				const now = Date.now();
				if (this.plugins && now - this.plugins.at < PLUGINS_TTL_MS) return this.plugins.items;
				try {
					const { items } = (await this.broker.call("plugin.installed")) as { items: InstalledPlugin[] };
					this.plugins = { items, at: now };
					return items;
				} catch {
					return this.plugins?.items ?? [];
				}
			},
			wake(this: HatcheryThis) {
				if (this.ticking) {
					this.wakeAgain = true;
					return;
				}
				void this.tick();
			},
			async reconcile(this: HatcheryThis, driver: HatcheryDriver) {
				const live = await callAction(this.broker, "run.liveJobs", { hatchery: this.hatchery.name });
				const { adopted, killed } = await driver.reconcile(live);
				if (adopted > 0) this.logger.info(`adopted ${adopted} worker(s) of live jobs`);
				if (killed > 0) this.logger.warn(`killed ${killed} worker(s) whose job is over`);
				await this.deleteWorkspaces(driver);
			},
			/**
			 * Persistent workspaces of deleted workflows: read from the store at every reconcile, so a
			 * missed `workflow.deleted` costs a delay, never a leak.
			 */
			async deleteWorkspaces(this: HatcheryThis, driver: HatcheryDriver) {
				if (!driver.deleteWorkspace) return;
				const hatchery = this.hatchery.name;
				for (const id of await callAction(this.broker, "run.workspacesToDelete", { hatchery })) {
					try {
						await driver.deleteWorkspace(id);
						await callAction(this.broker, "run.workspaceDeleted", { id, hatchery });
						this.logger.info(`deleted persistent workspace ${id} (its workflow was deleted)`);
					} catch (e) {
						this.logger.warn(`deleting persistent workspace ${id}: ${(e as Error).message}`);
					}
				}
			},
			async vouch(this: HatcheryThis, driver: HatcheryDriver) {
				if (this.vouching) return;
				this.vouching = true;
				try {
					const jobs = vouchedJobs(await driver.list());
					if (jobs.length > 0)
						await callAction(this.broker, "run.workersAlive", { hatchery: this.hatchery.name, jobs });
				} catch (e) {
					this.logger.debug(`hatchery vouch: ${(e as Error).message}`);
				} finally {
					this.vouching = false;
				}
			},
			/** Waits for the running jobs to end, up to the drain time; returns how many still run. */
			async drain(this: HatcheryThis, driver: HatcheryDriver) {
				const running = async () => (await driver.list()).filter((w) => w.state === "running").length;
				// In one process the run service and the gateway stop with this node: nothing to wait for.
				// Drained already: those still running are left (or stopped) now.
				const waitMs = config.natsUrl && !this.drained ? this.hatchery.drainSeconds * 1000 : 0;
				const deadline = Date.now() + waitMs;
				let count = await running();
				if (count > 0 && waitMs > 0)
					this.logger.info(
						`draining: waiting up to ${this.hatchery.drainSeconds} s for ${count} running job(s)`,
					);
				while (count > 0 && Date.now() < deadline) {
					await new Promise((r) => setTimeout(r, 250));
					count = await running();
				}
				return count;
			},
			/**
			 * The drain, before the node leaves the cluster (server.ts, at SIGTERM): its run and worker
			 * services, and the gateways' routes to them, still take the reports of the jobs waited for.
			 */
			async drainBeforeStop(this: HatcheryThis) {
				if (this.stopping) return;
				this.stopping = true;
				if (this.timer) clearInterval(this.timer);
				if (this.reconcileTimer) clearInterval(this.reconcileTimer);
				if (this.driver) await this.drain(this.driver).catch(() => 0);
				this.drained = true;
			},
			async fill(this: HatcheryThis, driver: HatcheryDriver) {
				const apiUrl = this.publicUrl();
				if (!apiUrl || this.stopping) return;
				const free = await driver.freeSlots();
				if (free <= 0) return;
				const capabilities = await driver.capabilities();
				// `plugin` requirements: the installed plugins this hatchery's workers can run (none when unknown).
				const installed = await this.installedPlugins();
				const ids = await callAction(this.broker, "run.queueFor", {
					capabilities: {
						...capabilities,
						plugins: pluginsRunnableOn(installed, capabilities.osArch),
						// A driver that can delete a workspace keeps them (src/hatchery/contract.ts).
						persistentWorkspaces: typeof driver.deleteWorkspace === "function",
					},
					limit: free,
				});
				let started = 0;
				for (const jobId of ids) {
					if (this.stopping || (await driver.freeSlots()) <= 0) break;
					const booking = await callAction(this.broker, "run.book", { jobId, hatchery: this.hatchery.name });
					if (!booking.won) continue;
					try {
						await driver.spawn({
							jobId,
							runId: booking.runId,
							token: booking.token,
							apiUrl,
							timeoutSeconds: booking.timeoutSeconds,
							requirements: jobRequirements(booking.requirements),
							...(booking.workspace ? { workspace: booking.workspace } : {}),
						});
						started++;
					} catch (e) {
						await callAction(this.broker, "run.unbook", { jobId, reason: (e as Error).message });
					}
				}
				if (started > 0 && ids.length >= free) this.wakeAgain = true;
			},
			async tick(this: HatcheryThis) {
				const driver = this.driver;
				if (this.ticking || !driver) return;
				this.ticking = true;
				try {
					do {
						this.wakeAgain = false;
						if (this.reconcileDue) {
							await this.reconcile(driver);
							this.reconcileDue = false;
						}
						await driver.maintain?.();
						await this.fill(driver);
					} while (this.wakeAgain);
				} catch (e) {
					this.logger.debug(`hatchery tick: ${(e as Error).message}`);
				} finally {
					this.ticking = false;
				}
			},
		},
		created(this: HatcheryThis) {
			this.hatchery = config.hatchery;
			this.ticking = false;
			this.wakeAgain = false;
			this.reconcileDue = true;
			this.vouching = false;
			this.stopping = false;
			this.drained = false;
		},
		async started(this: HatcheryThis) {
			const driver = await createDriver(this.hatchery, (m) => this.logger.warn(m));
			// A worker that ended frees a slot: look for more work at once.
			driver.onExit((handle) => {
				// The driver knows why this worker's job cannot end well (evicted, image not pullable).
				if (handle.failure && handle.jobId)
					void callAction(this.broker, "run.unbook", {
						jobId: handle.jobId,
						reason: handle.failure.reason,
						lost: handle.failure.started,
					}).catch((e) => this.logger.warn(`failing job ${handle.jobId}: ${(e as Error).message}`));
				this.wake();
			});
			// The first reconcile (adoption after a restart) comes before any new booking: a
			// worker of a previous instance counts against this hatchery's capacity.
			await this.reconcile(driver).then(
				() => {
					this.reconcileDue = false;
				},
				(e) => this.logger.warn(`hatchery reconcile at start: ${(e as Error).message}`),
			);
			this.driver = driver;
			this.timer = setInterval(() => this.wake(), this.hatchery.pollMs);
			this.timer.unref();
			this.reconcileTimer = setInterval(() => {
				this.reconcileDue = true;
				this.wake();
			}, RECONCILE_EVERY_MS);
			this.reconcileTimer.unref();
			// As often as workers heartbeat: the hatchery's word counts as theirs.
			this.vouchTimer = setInterval(() => void this.vouch(driver), config.run.heartbeatSeconds * 1000);
			this.vouchTimer.unref();
			void this.vouch(driver);
			this.wake();
		},
		async stopped(this: HatcheryThis) {
			// Draining (already done by drainBeforeStop when the node stops through server.ts):
			// nothing new is booked; the jobs running go on reporting while this hatchery vouches
			// for them, up to the drain time. Those still running then stay running for the restarted hatchery to adopt
			// (`leave`), or are stopped (`stop`).
			this.stopping = true;
			if (this.timer) clearInterval(this.timer);
			if (this.reconcileTimer) clearInterval(this.reconcileTimer);
			const driver = this.driver;
			if (driver) {
				const left = await this.drain(driver).catch(() => 0);
				const leave = this.hatchery.onStop === "leave";
				if (left > 0)
					this.logger.warn(
						leave
							? `${left} job(s) still running: left running; the restarted hatchery '${this.hatchery.name}' adopts their workers`
							: `${left} job(s) still running: stopping their workers`,
					);
				await driver.close({ leaveRunning: leave });
			}
			if (this.vouchTimer) clearInterval(this.vouchTimer);
		},
	};
}
