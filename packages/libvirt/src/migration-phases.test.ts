// The migration job's decisions phase by phase against scripted QEMU monitors on both hosts: what
// each phase asks QEMU, how it reads query-migrate, what it logs, and how it leaves both domains
// (libvirt: src/qemu/qemu_migration.c qemuMigrationSrcBeginPhase, qemuMigrationDstPrepareActive,
// qemuMigrationSrcRun, qemuMigrationJobCheckStatus, qemuMigrationDstFinish,
// qemuMigrationSrcConfirmPhase, qemuMigrationSrcRestoreDomainState). The same protocol between real
// hosts and a real QEMU: migration.test.ts and stream-faults.test.ts.

import { describe, expect, it } from "vitest";
import {
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VIR_FROM_QEMU,
} from "./errors.js";
import { MIGRATION_PORT_MIN, type MigrateOptions, type MigrationResult, migrateDomain } from "./migration.js";
import { DEF, type ScriptedQemu, scriptedPair } from "./test-helpers/scripted-qemu.js";

const MS = 1_000_000;

/** A running vm1 on h1 at 5 ms, its QEMU answering query-migrate with `replies`. */
function setup(replies: Record<string, unknown>[]) {
  const pair = scriptedPair();
  const dom = pair.h1.driver.createDomain(DEF);
  pair.sim.runFor(5 * MS);
  const src = pair.h1.started[0];
  src.migrate = replies;
  return { ...pair, dom, src };
}

function runJob(s: ReturnType<typeof setup>, opts: MigrateOptions = {}) {
  const done: MigrationResult[] = [];
  const job = migrateDomain(s.dom, s.h2.driver, opts, (r) => done.push(r));
  while (!job.done) s.sim.runFor(MS / 4);
  if (!job.result) throw new Error("no result");
  expect(done).toEqual([job.result]);
  const dst: ScriptedQemu | undefined = s.h2.started[0];
  return { job, r: job.result, dst };
}

describe("a migration that succeeds", () => {
  it("runs the five steps, the guest ends on the destination and the source is shut off", () => {
    const s = setup([{ status: "setup" }, { status: "active" }, { status: "completed", "total-time": 2 }]);
    const { job, r, dst } = runJob(s);
    expect(r.ok).toBe(true);
    expect(r.phases).toEqual(["begin3", "prepare", "perform3", "perform3_done", "finish3", "confirm3"]);
    expect("error" in r || "failedPhase" in r).toBe(false);
    // what each side was asked
    expect(dst.calls).toEqual([
      { command: "migrate-incoming", args: { uri: `tcp:[::]:${MIGRATION_PORT_MIN}` } },
      { command: "cont" },
      { command: "query-status" },
    ]);
    expect(s.src.calls.slice(1)).toEqual([
      { command: "query-status" },
      {
        command: "migrate-set-capabilities",
        args: { capabilities: [{ capability: "return-path", state: false }] },
      },
      { command: "migrate", args: { uri: "tcp:h2:49152" } },
      { command: "query-migrate" },
      { command: "query-migrate" },
      { command: "query-migrate" },
      { command: "quit" },
    ]);
    expect(s.h2.launches[0].argv.slice(-2)).toEqual(["-incoming", "defer"]);
    // the steps as libvirtd logs them on each host, polled every millisecond
    expect(job.log).toEqual([
      {
        timeNs: 5 * MS,
        host: "h1",
        phase: "begin3",
        fn: "qemuMigrationSrcStoreDomainState",
        message: "Storing pre-migration state=running",
      },
      {
        timeNs: 5 * MS,
        host: "h2",
        phase: "prepare",
        fn: "qemuMigrationDstRun",
        message: "Setting up incoming migration with URI tcp:[::]:49152",
      },
      {
        timeNs: 5 * MS,
        host: "h1",
        phase: "perform3",
        fn: "qemuMigrationSrcRun",
        message: "migrate to tcp:h2:49152",
      },
      {
        timeNs: 7 * MS,
        host: "h1",
        phase: "perform3",
        fn: "qemuMigrationSrcWaitForCompletion",
        message: "migration completed",
      },
      {
        timeNs: 7 * MS,
        host: "h2",
        phase: "finish3",
        fn: "qemuMigrationDstFinish",
        message: "guest resumed on the destination",
      },
      {
        timeNs: 7 * MS,
        host: "h1",
        phase: "confirm3",
        fn: "qemuMigrationSrcConfirmPhase",
        message: "migration succeeded: stopping the source",
      },
    ]);
    expect(s.h1.log.slice(1)).toEqual([
      "h1: debug : qemuMigrationSrcStoreDomainState: Storing pre-migration state=running",
      "h1: debug : qemuMigrationSrcRun: migrate to tcp:h2:49152",
      "h1: debug : qemuMigrationSrcWaitForCompletion: migration completed",
      "h1: debug : qemuMigrationSrcConfirmPhase: migration succeeded: stopping the source",
    ]);
    expect(r.source).toEqual({ state: "shutoff", reason: "migrated", pausedNs: 0, wasPaused: true });
    expect(r.destination).toEqual({ state: "running", reason: "migrated" });
    expect(r.queryMigrate).toEqual({ status: "completed", "total-time": 2 });
    expect(r.totalNs).toBe(2 * MS);
    expect(s.h1.driver.list()).toEqual([]);
    expect(s.h2.driver.lookup("vm1").process).toBe(dst);
  });

  it("needs no callback: the caller may read the result when the job is done", () => {
    const s = setup([{ status: "active" }, { status: "completed" }]);
    const job = migrateDomain(s.dom, s.h2.driver);
    expect(job.done).toBe(false);
    s.sim.runFor(MS);
    expect(job.done).toBe(true);
    expect(job.result?.ok).toBe(true);
  });

  it("polls query-migrate at the interval asked through setup, active and device", () => {
    const s = setup([
      { status: "setup" },
      { status: "active" },
      { status: "device" },
      { status: "completed" },
    ]);
    const { r } = runJob(s, { pollNs: MS / 4 });
    expect(r.ok).toBe(true);
    expect(s.src.commands().filter((c) => c === "query-migrate")).toHaveLength(4);
    expect(r.totalNs).toBe((3 * MS) / 4);
  });

  it("asks both sides for the return path when told to", () => {
    const s = setup([{ status: "completed" }]);
    const { r, dst } = runJob(s, { returnPath: true });
    expect(r.ok).toBe(true);
    const capability = {
      command: "migrate-set-capabilities",
      args: { capabilities: [{ capability: "return-path", state: true }] },
    };
    expect(dst.calls[0]).toEqual(capability);
    expect(dst.calls[1].command).toBe("migrate-incoming");
    expect(s.src.calls).toContainEqual(capability);
    // done at the first poll: no time passed
    expect(r.totalNs).toBe(0);
  });

  it("starts the destination from the destination definition when given one", () => {
    const s = setup([{ status: "completed" }]);
    const destDef = { ...DEF, caps: { "stop-lite": "off" } };
    runJob(s, { destDef });
    expect(s.h2.launches[0].argv).toContain("pseries-5.1,cap-stop-lite=off");
    expect(s.h2.driver.lookup("vm1").def).toBe(destDef);
  });

  it("counts the time the source was paused during the job only, to the end of the job", () => {
    const s = setup([{ status: "active" }, { status: "active" }, { status: "completed" }]);
    // before the job: a pause of 1 ms that does not count
    s.src.event("STOP");
    s.sim.runFor(MS);
    s.src.event("RESUME");
    const at = (ns: number, f: () => void) => s.sim.schedule(ns, f, "test");
    at(MS / 2, () => s.src.event("RESUME")); // a RESUME without a STOP: nothing to end
    at(MS / 4 + MS / 2, () => s.src.event("STOP"));
    at(MS - MS / 10, () => s.src.event("STOP")); // already paused: the pause goes on from 0.75 ms
    at(MS + MS / 4, () => s.src.event("RESUME"));
    at(MS + MS / 2, () => {
      s.src.status = "paused";
      s.src.event("STOP");
    });
    const { r } = runJob(s);
    // paused 0.75..1.25 ms and 1.5 ms..the end at 2 ms
    expect(r.source.pausedNs).toBe(MS / 2 + MS / 2);
    expect(r.source.wasPaused).toBe(true);
  });
});

describe("a migration that fails", () => {
  it("in perform: QEMU's error, the destination stopped, a paused source resumed", () => {
    const s = setup([
      { status: "active" },
      { status: "failed", "error-desc": "Unable to write to socket: Broken pipe" },
    ]);
    s.sim.schedule(
      MS / 2,
      () => {
        s.src.status = "postmigrate";
        s.src.event("STOP");
      },
      "test",
    );
    const { job, r, dst } = runJob(s);
    expect(r.ok).toBe(false);
    expect(r.failedPhase).toBe("perform3");
    expect(r.phases).toEqual(["begin3", "prepare", "perform3", "finish3", "confirm3_cancelled"]);
    expect(r.error?.toJSON()).toEqual({
      code: VIR_ERR_OPERATION_FAILED,
      domain: VIR_FROM_QEMU,
      level: 2,
      message: "operation failed: migration out job: Unable to write to socket: Broken pipe",
    });
    expect(job.log.slice(3).map((l) => [l.host, l.phase, l.fn, l.message])).toEqual([
      [
        "h1",
        "perform3",
        "qemuMigrationJobCheckStatus",
        "operation failed: migration out job: Unable to write to socket: Broken pipe",
      ],
      ["h2", "finish3", "qemuMigrationDstFinish", "migration cancelled: stopping the destination"],
      [
        "h1",
        "confirm3_cancelled",
        "qemuMigrationSrcRestoreDomainState",
        "Restoring pre-migration state due to migration error",
      ],
    ]);
    expect(dst.commands()).toEqual(["migrate-incoming", "quit"]);
    expect(r.destination).toEqual({ state: "shutoff", reason: "failed" });
    expect(s.h2.driver.list()).toEqual([]);
    expect(s.src.commands().slice(-3)).toEqual(["query-status", "cont", "query-status"]);
    expect(r.source).toEqual({
      state: "running",
      reason: "migration-canceled",
      pausedNs: MS / 2,
      wasPaused: true,
    });
    expect(r.queryMigrate?.status).toBe("failed");
  });

  it("in perform without a description: 'unexpectedly failed'; a source QEMU resumed itself is left alone", () => {
    for (const reply of [
      { status: "failed" },
      { status: "failed", "error-desc": 42 },
      { status: "cancelled" },
    ]) {
      const s = setup([reply]);
      const { r, job } = runJob(s);
      expect(r.failedPhase).toBe("perform3");
      expect(r.error?.message).toBe("operation failed: migration out job: unexpectedly failed");
      // QEMU kept the source running: nothing to restore
      expect(s.src.commands().at(-1)).toBe("query-status");
      expect(job.log.some((l) => l.fn === "qemuMigrationSrcRestoreDomainState")).toBe(false);
      expect(r.source).toMatchObject({ state: "running", reason: "booted", wasPaused: false });
    }
  });

  it("leaves a source that was paused before the job paused", () => {
    const s = setup([{ status: "failed" }]);
    s.src.status = "paused";
    const { r, job } = runJob(s);
    expect(job.log[0].message).toBe("Storing pre-migration state=paused");
    expect(r.failedPhase).toBe("perform3");
    expect(s.src.commands().filter((c) => c === "cont")).toHaveLength(1);
    expect(r.source).toMatchObject({ state: "paused", reason: "unknown" });
  });

  it("in finish: a destination QEMU that quit while loading reports its log, the source resumes", () => {
    const s = setup([{ status: "active" }, { status: "completed" }]);
    s.sim.schedule(
      MS / 2,
      () => {
        const d = s.h2.started[0];
        d.exitStatus = 1;
        d.stderr = "qemu-system-ppc64: load of migration failed: Invalid argument\n";
      },
      "test",
    );
    const { r, job, dst } = runJob(s);
    expect(r.failedPhase).toBe("finish3");
    expect(r.phases).toEqual([
      "begin3",
      "prepare",
      "perform3",
      "perform3_done",
      "finish3",
      "confirm3_cancelled",
    ]);
    const message =
      "internal error: QEMU unexpectedly closed the monitor (vm='vm1'): qemu-system-ppc64: load of migration failed: Invalid argument";
    expect(r.error?.code).toBe(VIR_ERR_INTERNAL_ERROR);
    expect(r.error?.message).toBe(message);
    expect(job.log.find((l) => l.phase === "finish3")).toMatchObject({
      host: "h2",
      fn: "qemuMigrationDstFinish",
      message,
    });
    // never asked to quit: it is gone
    expect(dst.commands()).toEqual(["migrate-incoming"]);
    expect(r.destination).toEqual({ state: "shutoff", reason: "failed" });
    expect(r.source).toMatchObject({ state: "running", reason: "migration-canceled", wasPaused: true });
  });

  it("in prepare: a destination that does not start, and the source never asked to migrate", () => {
    const s = setup([{ status: "completed" }]);
    s.h2.refuseStart = () => "qemu-system-ppc64: cap-stop-lite refused\n";
    const { r, job } = runJob(s);
    expect(r.phases).toEqual(["begin3", "prepare"]);
    expect(r.failedPhase).toBe("prepare");
    const message =
      "internal error: QEMU unexpectedly closed the monitor (vm='vm1'): qemu-system-ppc64: cap-stop-lite refused";
    expect(r.error?.message).toBe(message);
    expect(job.log.at(-1)).toMatchObject({
      host: "h2",
      phase: "prepare",
      fn: "qemuMigrationDstPrepareAny",
      message: `prepare failed: ${message}`,
    });
    expect(s.src.commands()).toEqual(["cont", "query-status", "query-status"]);
    expect("destination" in r || "queryMigrate" in r).toBe(false);
    expect(r.source).toEqual({ state: "running", reason: "booted", pausedNs: 0, wasPaused: false });
  });

  it("in prepare: a destination that refuses to listen is stopped and removed", () => {
    const s = setup([{ status: "completed" }]);
    s.h2.onStart = (q) => {
      q.stderr = "qemu-system-ppc64: -incoming defer: warning\n";
      q.refuse.set("migrate-incoming", "Failed to bind socket: Address already in use");
    };
    const { r, dst } = runJob(s);
    expect(r.failedPhase).toBe("prepare");
    expect(r.error?.message).toBe(
      "internal error: QEMU unexpectedly closed the monitor (vm='vm1'): qemu-system-ppc64: -incoming defer: warning\nError: Failed to bind socket: Address already in use",
    );
    expect(dst.commands()).toEqual(["migrate-incoming", "quit"]);
    expect(r.destination).toEqual({ state: "shutoff", reason: "failed" });
    expect(s.h2.driver.list()).toEqual([]);
    expect(s.src.commands()).not.toContain("migrate");
  });

  it("in begin: a domain that is neither running nor paused, before anything starts", () => {
    const shut = setup([]);
    shut.dom.stop("destroyed");
    const crashed = setup([]);
    crashed.src.status = "guest-panicked";
    for (const s of [shut, crashed]) {
      const done: MigrationResult[] = [];
      const job = migrateDomain(s.dom, s.h2.driver, {}, (r) => done.push(r));
      expect(job.done).toBe(true);
      expect(done).toEqual([job.result]);
      expect(job.result?.phases).toEqual(["begin3"]);
      expect(job.result?.failedPhase).toBe("begin3");
      expect(job.result?.error?.code).toBe(VIR_ERR_OPERATION_INVALID);
      expect(job.result?.error?.message).toBe("Requested operation is not valid: domain is not running");
      expect(job.log).toEqual([]);
      expect(s.h2.launches).toEqual([]);
    }
  });
});
