// Live migration as libvirt's QEMU driver runs it (migration protocol version 3, peer to peer):
// Begin on the source, Prepare on the destination (start QEMU with -S -incoming defer, then QMP
// migrate-incoming), Perform on the source (QMP migrate, wait on query-migrate), Finish on the
// destination (cont, or kill it if anything failed), Confirm on the source (kill it after success,
// or restore its pre-migration state: cont a guest that was running).
// libvirt: src/libvirt-domain.c virDomainMigrateVersion3Full (the order of the five steps),
//          src/qemu/qemu_migration.c qemuMigrationSrcBeginPhase, qemuMigrationDstPrepareAny,
//          qemuMigrationSrcRun, qemuMigrationSrcWaitForCompletion + qemuMigrationJobCheckStatus
//          ("%s: %s", "migration out job", error-desc or "unexpectedly failed"),
//          qemuMigrationDstFinish, qemuMigrationSrcConfirmPhase ("Did the migration go as planned?
//          If yes, kill off the domain object. If something failed, resume CPUs"),
//          qemuMigrationSrcRestoreDomainState ("Restoring pre-migration state due to migration
//          error"), qemuMigrationJobPhase names (begin3, prepare, perform3, perform3_done, finish3,
//          confirm3, confirm3_cancelled); src/qemu/qemu_conf.c migration_port_min 49152.

import type { DomainDef } from "./domain.js";
import type { Domain, DomainState, DomainStateReason, QemuDriver, QmpEventRecord } from "./driver.js";
import { monitorClosedError } from "./driver.js";
import { qemuError, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, type VirError } from "./errors.js";

/** The phases of a migration job (qemuMigrationJobPhase), in the order libvirt runs them. */
export type MigrationPhase =
  | "begin3"
  | "prepare"
  | "perform3"
  | "perform3_done"
  | "finish3"
  | "confirm3"
  | "confirm3_cancelled";

/** virsh migrate --live options modelled. */
export interface MigrateOptions {
  /** Ask QEMU for the return-path capability on both sides (libvirt does for post-copy). */
  readonly returnPath?: boolean;
  /** How often the job polls query-migrate, ns (libvirt reacts to MIGRATION events; 1 ms stands for that). */
  readonly pollNs?: number;
  /**
   * The destination's definition (virsh migrate --xml, VIR_MIGRATE_PARAM_DEST_XML), e.g. with a
   * capability turned off. libvirt checks its ABI stability against the source for the features it
   * knows; a spapr cap libvirt does not know, like stop-lite, passes unchecked.
   */
  readonly destDef?: DomainDef;
}

/** libvirt's default first migration port (qemu.conf migration_port_min). */
export const MIGRATION_PORT_MIN = 49152;

/** One line of the job's log, as libvirtd's debug log shows the steps. */
export interface MigrationLogLine {
  readonly timeNs: number;
  readonly host: string;
  readonly phase: MigrationPhase;
  readonly fn: string;
  readonly message: string;
}

export interface MigrationResult {
  readonly ok: boolean;
  /** virGetLastError of the failed call (virDomainMigrate* returns it). */
  readonly error?: VirError;
  /** The phase that failed. */
  readonly failedPhase?: MigrationPhase;
  /** Phases run, in order. */
  readonly phases: readonly MigrationPhase[];
  /** The source domain as the job left it (shutoff/migrated after success). */
  readonly source: { state: DomainState; reason: DomainStateReason; pausedNs: number; wasPaused: boolean };
  /** The destination domain, when it exists after the job. */
  readonly destination?: { state: DomainState; reason: DomainStateReason };
  /** The source QEMU's last query-migrate. */
  readonly queryMigrate?: Readonly<Record<string, unknown>>;
  /** Job time from Begin to the end of Confirm, ns. */
  readonly totalNs: number;
}

/** A running migration job: the caller advances simulated time until `done`. */
export class MigrationJob {
  done = false;
  result: MigrationResult | undefined;
  readonly log: MigrationLogLine[] = [];
  private readonly phases: MigrationPhase[] = [];
  private readonly startNs: number;
  private readonly eventsBefore: number;
  /** The destination domain, once Prepare started it. */
  private dst: Domain | undefined;
  private queryMigrate: Record<string, unknown> | undefined;
  private readonly wasRunning: boolean;

  constructor(
    readonly src: Domain,
    readonly dconn: QemuDriver,
    readonly opts: MigrateOptions,
    private readonly onDone?: (r: MigrationResult) => void,
  ) {
    if (src.driver.sim !== dconn.sim) {
      // the job calls into both hosts and the guest image moves between them: they share one
      // event heap (a PartitionedSimulation keeps each partition's hosts apart)
      throw new Error(
        `cannot migrate '${src.def.name}' from ${src.driver.hostname} to ${dconn.hostname}: the hosts run on different Simulations (or partitions); build both hosts on one Simulation`,
      );
    }
    this.startNs = src.driver.sim.now;
    this.eventsBefore = src.process.events.length;
    // Begin: qemuMigrationSrcBeginPhase + qemuMigrationSrcStoreDomainState
    this.phase("begin3");
    const st = src.getState();
    this.wasRunning = st.state === "running";
    if (st.state !== "running" && st.state !== "paused") {
      this.fail("begin3", qemuError(VIR_ERR_OPERATION_INVALID, "domain is not running"));
      return;
    }
    this.note(
      src.driver,
      "begin3",
      "qemuMigrationSrcStoreDomainState",
      `Storing pre-migration state=${st.state}`,
    );
    this.prepare();
  }

  private phase(p: MigrationPhase): void {
    this.phases.push(p);
  }

  private note(drv: QemuDriver, phase: MigrationPhase, fn: string, message: string): void {
    this.log.push({ timeNs: drv.sim.now, host: drv.hostname, phase, fn, message });
    drv.debug(fn, message);
  }

  // Prepare on the destination: qemuMigrationDstPrepareAny -> qemuProcessStart(-incoming defer)
  private prepare(): void {
    const { dconn, src } = this;
    this.phase("prepare");
    const def = this.opts.destDef ?? src.def;
    const r = dconn.launch(def, true);
    if (!r.ok) {
      // the destination never started: abort before any page moves; the source is untouched
      this.note(dconn, "prepare", "qemuMigrationDstPrepareAny", `prepare failed: ${r.error.message}`);
      this.fail("prepare", r.error);
      return;
    }
    const dst = dconn.adoptIncoming(def, r.process);
    this.dst = dst;
    const uri = `tcp:[::]:${MIGRATION_PORT_MIN}`;
    try {
      if (this.opts.returnPath) {
        r.process.qmp("migrate-set-capabilities", {
          capabilities: [{ capability: "return-path", state: true }],
        });
      }
      r.process.qmp("migrate-incoming", { uri });
    } catch (e) {
      // qemuMigrationDstPrepareActive's error path: qemuProcessStop(VIR_DOMAIN_SHUTOFF_FAILED),
      // and the transient domain is removed (qemuMigrationDstPrepareFresh cleanup)
      dst.stop("failed");
      this.fail("prepare", monitorClosedError(def.name, `${r.process.stderr.trimEnd()}\n${String(e)}`));
      return;
    }
    this.note(dconn, "prepare", "qemuMigrationDstRun", `Setting up incoming migration with URI ${uri}`);
    this.perform(dst);
  }

  // Perform on the source: qemuMigrationSrcRun (capabilities, migrate) + WaitForCompletion
  private perform(dst: Domain): void {
    const { src, dconn } = this;
    this.phase("perform3");
    const uri = `tcp:${dconn.hostname}:${MIGRATION_PORT_MIN}`;
    src.process.qmp("migrate-set-capabilities", {
      capabilities: [{ capability: "return-path", state: this.opts.returnPath === true }],
    });
    this.note(src.driver, "perform3", "qemuMigrationSrcRun", `migrate to ${uri}`);
    src.process.qmp("migrate", { uri });
    this.waitForCompletion(dst);
  }

  private waitForCompletion(dst: Domain): void {
    const { src } = this;
    const info = src.process.qmp("query-migrate") as Record<string, unknown>;
    this.queryMigrate = info;
    const status = String(info.status);
    if (status === "setup" || status === "active" || status === "device") {
      src.driver.sim.schedule(
        this.opts.pollNs ?? 1_000_000,
        () => this.waitForCompletion(dst),
        "libvirt.migration.poll",
      );
      return;
    }
    if (status === "completed") {
      src.setState("paused", "migration");
      this.note(src.driver, "perform3", "qemuMigrationSrcWaitForCompletion", "migration completed");
      this.phase("perform3_done");
      this.finish(dst, false);
      return;
    }
    // qemuMigrationJobCheckStatus: VIR_DOMAIN_JOB_STATUS_FAILED
    const desc = typeof info["error-desc"] === "string" ? info["error-desc"] : "unexpectedly failed";
    const error = qemuError(VIR_ERR_OPERATION_FAILED, `migration out job: ${desc}`);
    this.note(src.driver, "perform3", "qemuMigrationJobCheckStatus", error.message);
    this.firstError = error;
    this.firstFailedPhase = "perform3";
    this.finish(dst, true);
  }

  private firstError: VirError | undefined;
  private firstFailedPhase: MigrationPhase | undefined;

  // Finish on the destination: qemuMigrationDstFinish
  private finish(dst: Domain, cancelled: boolean): void {
    const { dconn } = this;
    this.phase("finish3");
    if (cancelled) {
      // the source failed: the destination is killed (qemuProcessStop, VIR_DOMAIN_SHUTOFF_FAILED)
      this.note(dconn, "finish3", "qemuMigrationDstFinish", "migration cancelled: stopping the destination");
      dst.stop("failed");
      this.confirm(true);
      return;
    }
    if (dst.process.exitStatus !== undefined) {
      // the destination QEMU quit while loading: the monitor's EOF carries its log
      const error = monitorClosedError(dst.name, dst.process.stderr);
      this.note(dconn, "finish3", "qemuMigrationDstFinish", error.message);
      dst.stop("failed");
      this.firstError = error;
      this.firstFailedPhase = "finish3";
      this.confirm(true);
      return;
    }
    // the guest runs on the destination (qemuProcessStartCPUs, VIR_DOMAIN_RUNNING_MIGRATED)
    dst.startCpus("migrated");
    this.note(dconn, "finish3", "qemuMigrationDstFinish", "guest resumed on the destination");
    this.confirm(false);
  }

  // Confirm on the source: qemuMigrationSrcConfirmPhase
  private confirm(cancelled: boolean): void {
    const { src } = this;
    this.phase(cancelled ? "confirm3_cancelled" : "confirm3");
    if (!cancelled) {
      this.note(
        src.driver,
        "confirm3",
        "qemuMigrationSrcConfirmPhase",
        "migration succeeded: stopping the source",
      );
      src.stop("migrated");
      this.complete();
      return;
    }
    // qemuMigrationSrcRestoreDomainState: a paused source that was running gets its CPUs back
    const st = src.getState();
    if (st.state === "paused" && this.wasRunning) {
      this.note(
        src.driver,
        "confirm3_cancelled",
        "qemuMigrationSrcRestoreDomainState",
        "Restoring pre-migration state due to migration error",
      );
      src.startCpus("migration-canceled");
    }
    this.complete();
  }

  private fail(phase: MigrationPhase, error: VirError): void {
    this.firstError = error;
    this.firstFailedPhase = phase;
    this.complete();
  }

  private complete(): void {
    const { src } = this;
    const events = src.process.events.slice(this.eventsBefore);
    const st = src.getState();
    const dst = this.dst?.getState();
    const r: MigrationResult = {
      ok: this.firstError === undefined,
      ...(this.firstError ? { error: this.firstError, failedPhase: this.firstFailedPhase } : {}),
      phases: this.phases.slice(),
      source: {
        state: st.state,
        reason: st.reason,
        pausedNs: pausedTime(events, src.driver.sim.now),
        wasPaused: events.some((e) => e.event === "STOP"),
      },
      ...(dst ? { destination: dst } : {}),
      ...(this.queryMigrate ? { queryMigrate: this.queryMigrate } : {}),
      totalNs: src.driver.sim.now - this.startNs,
    };
    this.result = r;
    this.done = true;
    this.onDone?.(r);
  }
}

/** Time between each STOP and the following RESUME (or now), ns. */
function pausedTime(events: readonly QmpEventRecord[], now: number): number {
  let total = 0;
  let since: number | undefined;
  for (const e of events) {
    if (e.event === "STOP" && since === undefined) since = e.timestampNs;
    if (e.event === "RESUME" && since !== undefined) {
      total += e.timestampNs - since;
      since = undefined;
    }
  }
  if (since !== undefined) total += now - since;
  return total;
}

/** virDomainMigrateToURI3 with VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER: starts the job. */
export function migrateDomain(
  dom: Domain,
  dconn: QemuDriver,
  opts: MigrateOptions = {},
  onDone?: (r: MigrationResult) => void,
): MigrationJob {
  return new MigrationJob(dom, dconn, opts, onDone);
}
