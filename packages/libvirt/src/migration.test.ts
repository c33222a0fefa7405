// Live migration driven by the management layer between real hosts, each path of the protocol:
// success, a destination that cannot start (cap apply), a destination that cannot load the stream
// (cap level in the stream), with and without QEMU's return path; and the same refusal without
// the management layer, where QEMU alone leaves the source paused.

import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { QemuDriver } from "./driver.js";
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU } from "./errors.js";
import { type MigrateOptions, type MigrationResult, migrateDomain } from "./migration.js";
import { DD22, DD23, guestTicks, makeWorld, OLD, VM1, type World } from "./test-helpers/world.js";

const BOOT_NS = 30_000_000;

function boot(world: World) {
  const dom = world.drivers[0].createDomain(VM1);
  world.sim.runFor(BOOT_NS);
  expect(dom.getState()).toEqual({ state: "running", reason: "booted" });
  return dom;
}

function run(world: World, opts: MigrateOptions = {}): MigrationResult {
  const dom = world.drivers[0].lookup("vm1");
  const job = migrateDomain(dom, world.drivers[1], opts);
  while (!job.done) world.sim.runFor(1_000_000);
  if (!job.result) throw new Error("no result");
  return job.result;
}

function ticksGoOn(world: World): boolean {
  const k = world.kernel("vm1");
  const before = guestTicks(k);
  world.sim.runFor(20_000_000);
  return k.state === "running" && guestTicks(k) > before;
}

describe("virsh migrate --live through the QEMU driver", () => {
  it("refuses a destination host on another Simulation (another partition)", () => {
    const w = makeWorld([DD23, DD22]);
    const dom = boot(w);
    const elsewhere = new QemuDriver({
      sim: new Simulation(),
      hostname: "far",
      launcher: () => ({ ok: false, stderr: "" }),
      log: () => {},
    });
    expect(() => migrateDomain(dom, elsewhere)).toThrow(
      /cannot migrate 'vm1' from h1 to far: the hosts run on different Simulations/,
    );
    expect(dom.getState()).toEqual({ state: "running", reason: "booted" });
  });

  it("succeeds: finish runs the guest on the destination, confirm kills the source", () => {
    const w = makeWorld([DD23, DD22]);
    boot(w);
    const r = run(w);
    expect(r.ok).toBe(true);
    expect(r.phases).toEqual(["begin3", "prepare", "perform3", "perform3_done", "finish3", "confirm3"]);
    expect(r.source).toMatchObject({ state: "shutoff", reason: "migrated", wasPaused: true });
    expect(r.destination).toEqual({ state: "running", reason: "migrated" });
    expect(w.processes.get("vm1@h1")?.exitStatus).toBe(0);
    expect(w.processes.get("vm1@h2")?.status).toBe("running");
    // the source was paused for the stop-and-copy only: QEMU's downtime
    expect(r.queryMigrate?.status).toBe("completed");
    expect(r.source.pausedNs).toBeGreaterThan(0);
    expect(r.source.pausedNs).toBeLessThan(300_000_000);
    expect(() => w.drivers[0].lookup("vm1")).toThrow("Domain not found: no domain with matching name 'vm1'");
    expect(w.drivers[1].lookup("vm1").getState().state).toBe("running");
    expect(ticksGoOn(w)).toBe(true);
    // the steps as libvirtd logs them, source and destination
    expect(
      w.log.some((l) => l.startsWith("h2: debug : qemuProcessLaunch: vm=vm1 qemu-system-ppc64 -S")),
    ).toBe(true);
    expect(w.log.some((l) => l.includes("-incoming defer"))).toBe(true);
  });

  it("aborts in prepare when the destination QEMU refuses to start (cap apply): no page moves, the source never pauses", () => {
    const w = makeWorld([DD23, OLD]);
    boot(w);
    const r = run(w);
    expect(r.ok).toBe(false);
    expect(r.failedPhase).toBe("prepare");
    expect(r.phases).toEqual(["begin3", "prepare"]);
    expect(r.error?.code).toBe(VIR_ERR_INTERNAL_ERROR);
    expect(r.error?.domain).toBe(VIR_FROM_QEMU);
    expect(r.error?.message).toBe(
      "internal error: QEMU unexpectedly closed the monitor (vm='vm1'): qemu-system-ppc64: Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)\nTry appending -machine cap-stop-lite=off",
    );
    expect(r.source).toEqual({ state: "running", reason: "booted", pausedNs: 0, wasPaused: false });
    expect(r.destination).toBeUndefined();
    // QEMU on the source was never asked to migrate
    expect(w.processes.get("vm1@h1")?.qmp("query-migrate")).toEqual({});
    expect(ticksGoOn(w)).toBe(true);
  });

  it("without return-path: a destination refusing the stream dies, finish reports its log, confirm resumes the paused source", () => {
    const w = makeWorld([DD23, OLD]);
    boot(w);
    // the destination XML with the cap off, as QEMU's hint says: it starts, then refuses the stream
    const r = run(w, { destDef: { ...VM1, caps: { "stop-lite": "off" } } });
    expect(r.ok).toBe(false);
    expect(r.failedPhase).toBe("finish3");
    expect(r.phases).toEqual([
      "begin3",
      "prepare",
      "perform3",
      "perform3_done",
      "finish3",
      "confirm3_cancelled",
    ]);
    expect(r.queryMigrate?.status).toBe("completed");
    expect(r.error?.code).toBe(VIR_ERR_INTERNAL_ERROR);
    expect(r.error?.message).toBe(
      [
        "internal error: QEMU unexpectedly closed the monitor (vm='vm1'): qemu-system-ppc64: cap-stop-lite higher level (1) in incoming stream than on destination (0)",
        "qemu-system-ppc64: error while loading state for instance 0x0 of device 'spapr'",
        "qemu-system-ppc64: load of migration failed: Invalid argument",
      ].join("\n"),
    );
    expect(r.source).toMatchObject({ state: "running", reason: "migration-canceled", wasPaused: true });
    expect(w.log.some((l) => l.includes("Restoring pre-migration state due to migration error"))).toBe(true);
    expect(w.processes.get("vm1@h2")?.exitStatus).toBe(1);
    expect(ticksGoOn(w)).toBe(true);
  });

  it("with return-path: QEMU fails the migration itself and resumes the source; perform reports it", () => {
    const w = makeWorld([DD23, OLD]);
    boot(w);
    const r = run(w, { returnPath: true, destDef: { ...VM1, caps: { "stop-lite": "off" } } });
    expect(r.ok).toBe(false);
    expect(r.failedPhase).toBe("perform3");
    expect(r.phases).toEqual(["begin3", "prepare", "perform3", "finish3", "confirm3_cancelled"]);
    expect(r.error?.code).toBe(VIR_ERR_OPERATION_FAILED);
    expect(r.error?.message).toBe("operation failed: migration out job: unexpectedly failed");
    // QEMU resumed it: libvirt finds it running and has nothing to restore
    expect(r.source).toMatchObject({ state: "running", wasPaused: true });
    expect(w.log.some((l) => l.includes("Restoring pre-migration state"))).toBe(false);
    expect(ticksGoOn(w)).toBe(true);
  });

  it("without the management layer the same refusal leaves QEMU's source completed and paused in postmigrate", () => {
    const w = makeWorld([DD23, OLD]);
    const src = w.drivers[0].createDomain(VM1).process;
    w.sim.runFor(BOOT_NS);
    // what libvirt would have done, by hand: start the destination, listen, migrate
    const launched = w.drivers[1].launch({ ...VM1, caps: { "stop-lite": "off" } }, true);
    if (!launched.ok) throw launched.error;
    launched.process.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
    src.qmp("migrate", { uri: "tcp:h2:49152" });
    let info = src.qmp("query-migrate") as { status: string };
    while (info.status === "active" || info.status === "device") {
      w.sim.runFor(1_000_000);
      info = src.qmp("query-migrate") as { status: string };
    }
    expect(info.status).toBe("completed");
    expect(src.qmp("query-status")).toMatchObject({ status: "postmigrate", running: false });
    expect(launched.process.exitStatus).toBe(1);
    expect(ticksGoOn(w)).toBe(false);
  });

  it("refuses to begin for a domain that does not run", () => {
    const w = makeWorld([DD23, DD22]);
    const dom = boot(w);
    dom.stop("destroyed");
    const job = migrateDomain(dom, w.drivers[1]);
    expect(job.done).toBe(true);
    expect(job.result?.failedPhase).toBe("begin3");
    expect(job.result?.error?.message).toBe("Requested operation is not valid: domain is not running");
  });
});
