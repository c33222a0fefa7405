// `stopsim migrate` on short runs: 3 ms of guest time on each host and a 256 MiB guest (a 22 ms
// migration), each way a migration ends as a user reads it in the report: completed and what the
// guest's stops became, refused up front (libvirt's prepare, or the destination QEMU alone),
// refused by the incoming stream (libvirt resumes the source; QEMU alone leaves it paused), the
// source that never started or crashed before the migration. scenarios.test.ts and
// guest-migration.test.ts run the thread's migrations at full length with the thread's guest.
import type { TraceConsumer } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { NO_HAZARDS } from "./hazards.js";
import { hostDomainCapabilities, MIGRATION_STALL_NS, type MigrateOptions, runMigrate } from "./migrate.js";
import { findDesign, findHost, type HostPreset } from "./presets.js";
import { usageMessage } from "./test-helpers/usage.js";

const ms = 1_000_000;
const opts: MigrateOptions = { seed: 1, durationNs: 3 * ms, guest: { memory: "256M" } };
const CAP_REFUSAL =
  "Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)";
const STREAM_REFUSAL = "cap-stop-lite higher level (1) in incoming stream than on destination (0)";
const MONITOR = "internal error: QEMU unexpectedly closed the monitor (vm='guest'): qemu-system-ppc64: ";

describe("a completed migration", () => {
  it("spapr-cap DD2.3 -> upgraded DD2.2 through libvirt: every phase, the downtime, stops native there and emulated here", () => {
    const r = runMigrate("dd2.3", "dd2.2", "spapr-cap", opts);
    expect([r.design, r.from, r.to, r.seed]).toEqual(["spapr-cap", "dd2.3", "dd2.2", "1"]);
    expect(r.outcome).toBe("emulated");
    expect(r.detail).toBe("native on dd2.3, emulated on dd2.2");
    expect(r.migration).toStrictEqual({
      status: "completed",
      totalTimeNs: r.migration.totalTimeNs,
      downtimeNs: r.migration.downtimeNs,
      managementLayer: "libvirt",
      phases: ["begin3", "prepare", "perform3", "perform3_done", "finish3", "confirm3"],
      interruptController: { source: "xive", destination: "xive" },
    });
    // query-migrate's downtime (ms) in ns, within the job's whole time
    expect(r.migration.downtimeNs).toBeGreaterThanOrEqual(ms);
    expect((r.migration.downtimeNs ?? 1) % ms).toBe(0);
    expect(r.migration.totalTimeNs).toBeGreaterThan(r.migration.downtimeNs ?? 0);
    const src = r.source.phase;
    const dst = r.destination.phase;
    expect(r.source.started && r.destination.started).toBe(true);
    expect(src).toMatchObject({
      host: "dd2.3",
      durationNs: 3 * ms,
      guestState: "running",
      outcome: "native",
    });
    expect(src?.emulatedStops).toBe(0);
    expect(src?.idleStates.stop0lite.usage).toBeGreaterThan(0);
    // the destination VM's counters start at zero: its exits are its own
    expect(dst).toMatchObject({
      host: "dd2.2",
      durationNs: 3 * ms,
      guestState: "running",
      outcome: "emulated",
    });
    expect(dst?.emulatedStops).toBe(dst?.idleStates.stop0lite.usage);
    expect(dst?.exits.H_FAC_UNAVAIL).toBe(dst?.emulatedStops);
    expect(r.hazards).toEqual({ ...NO_HAZARDS, maxWakeupLatenessNs: r.hazards.maxWakeupLatenessNs });
    expect(r.trace).toBeUndefined();
  });

  it("QEMU alone (--no-libvirt) completes the same migration over QMP, without libvirt's phases", () => {
    const r = runMigrate("dd2.3", "dd2.2", "spapr-cap", { ...opts, noLibvirt: true });
    // the same stream whoever drives it: QMP migrate to completion as long as libvirt's job, the
    // same stop-and-copy (libvirt's other phases take no simulated time here)
    const managed = runMigrate("dd2.3", "dd2.2", "spapr-cap", opts).migration;
    expect(r.migration.totalTimeNs).toBe(managed.totalTimeNs);
    expect(r.migration.downtimeNs).toBe(managed.downtimeNs);
    expect(r.outcome).toBe("emulated");
    expect(r.detail).toBe("native on dd2.3, emulated on dd2.2");
    expect(r.migration.managementLayer).toBe("none");
    expect(r.migration.status).toBe("completed");
    expect(r.migration.phases).toBeUndefined();
    expect(r.migration.downtimeNs).toBeGreaterThanOrEqual(ms);
    expect(r.migration.totalTimeNs).toBeGreaterThan(r.migration.downtimeNs ?? 0);
    expect(r.migration.interruptController).toEqual({ source: "xive", destination: "xive" });
    expect(r.destination.phase?.guestState).toBe("running");
  });

  it("host-probed DD2.3 -> 2020 DD2.2: completed, then the guest dies there; the detail names each host's outcome and hazard", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "host-probed", opts);
    expect(r.migration.status).toBe("completed");
    expect(r.outcome).toBe("crashed");
    expect(r.destination.phase?.guestState).toBe("panicked");
    expect(r.detail).toMatch(/^native on dd2\.3, crashed on dd2\.2-old; on dd2\.2-old: hazards: .+/);
    expect(r.destination.phase?.hazards.stalledVcpus).toBeGreaterThan(0);
    // the run's hazards, read at its end: the snapshots and the latest lateness as the destination's
    // phase ends
    expect(r.hazards.stalledVcpus).toBe(r.destination.phase?.hazards.stalledVcpus);
    expect(r.hazards.maxWakeupLatenessNs).toBe(r.destination.phase?.hazards.maxWakeupLatenessNs);
    expect(r.hazards.maxWakeupLatenessNs).toBeGreaterThan(r.source.phase?.hazards.maxWakeupLatenessNs ?? 0);
  });
});

describe("a refused migration", () => {
  it("spapr-cap to a 2020 host: libvirt's prepare fails on QEMU's start, the source never pauses", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", opts);
    expect(r.outcome).toBe("refused");
    expect(r.destination).toStrictEqual({
      started: false,
      error: `${MONITOR}${CAP_REFUSAL}\nTry appending -machine cap-stop-lite=off`,
    });
    expect(r.migration).toStrictEqual({
      status: "none",
      sourceAfter: { status: "running", guestState: "running", progressed: true, wasPaused: false },
      managementLayer: "libvirt",
      phases: ["begin3", "prepare"],
      failedPhase: "prepare",
      virError: { code: 1, domain: 10, level: 2, message: r.destination.error },
    });
    expect(r.detail).toBe(`refused in prepare: ${MONITOR}${CAP_REFUSAL}; source running, never paused`);
    expect(r.source.started).toBe(true);
    expect(r.source.phase?.outcome).toBe("native");
  });

  it("the destination's cap off: the stream is refused in finish3, libvirt resumes the source, --verbose keeps the log", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", {
      ...opts,
      destCaps: { "stop-lite": "off" },
      verbose: true,
    });
    expect(r.outcome).toBe("refused");
    expect(r.destination.started).toBe(true);
    expect(r.destination.error).toMatch(new RegExp(`^${literal(MONITOR + STREAM_REFUSAL)}\n`));
    expect(r.migration.status).toBe("completed");
    expect(r.migration.failedPhase).toBe("finish3");
    expect(r.migration.phases?.at(-1)).toBe("confirm3_cancelled");
    expect(r.migration.sourceAfter).toEqual({
      status: "running",
      guestState: "running",
      progressed: true,
      wasPaused: true,
    });
    expect(r.detail).toBe(
      `refused in finish3: ${MONITOR}${STREAM_REFUSAL}; source running again (paused during the attempt)`,
    );
    expect(r.migration.log?.length).toBeGreaterThan(0);
    // every line is one of the two libvirtds'
    expect(r.migration.log?.filter((l) => !/^(dd2\.3-1|dd2\.2-old-2): /.test(l))).toEqual([]);
    // each host's libvirtd names itself in the log; the source's QEMU without -incoming
    expect(r.migration.log).toContain(
      "dd2.3-1: debug : qemuProcessLaunch: vm=guest qemu-system-ppc64 -S -accel kvm -M pseries-5.1 -cpu POWER9 -smp 8,sockets=1,cores=2,threads=4 -m 256M -nographic",
    );
    // the destination's definition is the source's with --dest-caps applied
    expect(r.migration.log).toContain(
      "dd2.2-old-2: debug : qemuProcessLaunch: vm=guest qemu-system-ppc64 -S -accel kvm -M pseries-5.1,cap-stop-lite=off -cpu POWER9 -smp 8,sockets=1,cores=2,threads=4 -m 256M -nographic -incoming defer",
    );
    expect(runMigrate("dd2.3", "dd2.3", "spapr-cap", opts).migration.log).toBeUndefined();
  });

  it("with the return path, the stream's refusal reaches the source: perform3 fails, QEMU's status is failed", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", {
      ...opts,
      destCaps: { "stop-lite": "off" },
      returnPath: true,
    });
    expect(r.outcome).toBe("refused");
    expect(r.migration.status).toBe("failed");
    expect(r.migration.failedPhase).toBe("perform3");
    expect(r.migration.phases).toEqual(["begin3", "prepare", "perform3", "finish3", "confirm3_cancelled"]);
    // VIR_ERR_OPERATION_FAILED (9) from the QEMU driver (VIR_FROM_QEMU, 10), an error (2)
    expect(r.migration.virError).toEqual({
      code: 9,
      domain: 10,
      level: 2,
      message: "operation failed: migration out job: unexpectedly failed",
    });
    expect(r.destination).toStrictEqual({
      started: true,
      error: "operation failed: migration out job: unexpectedly failed",
    });
    expect(r.migration.sourceAfter).toMatchObject({ status: "running", progressed: true, wasPaused: true });
    expect(r.detail).toBe(
      "refused in perform3: operation failed: migration out job: unexpectedly failed; source running again (paused during the attempt)",
    );
  });

  it("QEMU alone, destination refusing to start: the source runs on, never paused", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", { ...opts, noLibvirt: true });
    expect(r.outcome).toBe("refused");
    expect(r.destination).toStrictEqual({
      started: false,
      error: `qemu-system-ppc64: ${CAP_REFUSAL}\nTry appending -machine cap-stop-lite=off`,
    });
    expect(r.migration).toStrictEqual({
      status: "none",
      sourceAfter: { status: "running", guestState: "running", progressed: true, wasPaused: false },
      managementLayer: "none",
    });
    expect(r.detail).toBe(`destination QEMU refused to start: ${CAP_REFUSAL}; source running, never paused`);
    expect(r.source.started).toBe(true);
    expect(r.source.phase?.outcome).toBe("native");
  });

  it("QEMU alone without the return path: 'completed', the destination gone, the source stuck in postmigrate (hung)", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", {
      ...opts,
      destCaps: { "stop-lite": "off" },
      noLibvirt: true,
    });
    expect(r.outcome).toBe("hung");
    expect(r.destination).toStrictEqual({ started: true, error: STREAM_REFUSAL });
    expect(r.migration.status).toBe("completed");
    expect(r.migration.errorDesc).toBeUndefined();
    expect(r.migration.downtimeNs).toBeGreaterThanOrEqual(ms);
    expect(r.migration.totalTimeNs).toBeGreaterThan(0);
    expect(r.migration.sourceAfter).toEqual({
      status: "postmigrate",
      guestState: "running",
      progressed: false,
      wasPaused: true,
    });
    expect(r.detail).toBe(
      `QEMU alone: migration completed, destination exited (${STREAM_REFUSAL}); source left postmigrate, its guest stopped`,
    );
    expect(r.source.started).toBe(true);
    expect(r.source.phase?.outcome).toBe("native");
  });

  it("QEMU alone with the return path: 'failed', and QEMU itself resumes the source", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", {
      ...opts,
      destCaps: { "stop-lite": "off" },
      noLibvirt: true,
      returnPath: true,
    });
    expect(r.outcome).toBe("refused");
    // a failed migration has no downtime (query-migrate gives none)
    expect(r.migration).toStrictEqual({
      status: "failed",
      totalTimeNs: r.migration.totalTimeNs,
      sourceAfter: { status: "running", guestState: "running", progressed: true, wasPaused: true },
      managementLayer: "none",
    });
    expect(r.migration.totalTimeNs).toBeGreaterThan(0);
    expect(r.detail).toBe(
      `migration failed: ${STREAM_REFUSAL}; source running again (paused during the attempt)`,
    );
  });
});

describe("no migration", () => {
  it("a source QEMU that does not start: failed-start, QEMU's complaint through libvirt as the detail", () => {
    const r = runMigrate("dd2.2-old", "dd2.2", "spapr-cap", opts);
    expect(r.outcome).toBe("failed-start");
    expect(r.source).toStrictEqual({
      started: false,
      error: `${MONITOR}${CAP_REFUSAL}\nTry appending -machine cap-stop-lite=off`,
    });
    expect(r.destination).toStrictEqual({ started: false });
    expect(r.migration).toStrictEqual({ status: "none", managementLayer: "libvirt" });
    expect(r.detail).toBe(`${MONITOR}${CAP_REFUSAL}`);
    expect(r.hazards).toEqual(NO_HAZARDS);
    // the source's caps from --machine-extra: the cap off, it starts there
    const off = runMigrate("dd2.2-old", "dd2.2", "spapr-cap", {
      ...opts,
      machineExtra: ",cap-stop-lite=off",
    });
    expect(off.source.started).toBe(true);
    expect(
      runMigrate("dd2.2-old", "dd2.2", "spapr-cap", { ...opts, noLibvirt: true }).migration.managementLayer,
    ).toBe("none");
  });

  it("a guest that crashed on the source is not migrated", () => {
    const r = runMigrate("dd2.2-old", "dd2.2", "rfc-as-posted", opts);
    expect(r.outcome).toBe("crashed");
    expect(r.detail).toBe("guest panicked on dd2.2-old before the migration");
    expect(r.source.started).toBe(true);
    expect(r.source.phase?.guestState).toBe("panicked");
    expect(r.destination).toStrictEqual({ started: false });
    expect(r.migration).toStrictEqual({ status: "none", managementLayer: "libvirt" });
  });

  it("--dest-caps ic-mode=xics: a guest on XIVE cannot land on an XICS-only destination (no spapr-xive section there)", () => {
    const r = runMigrate("dd2.3", "dd2.3", "spapr-cap", {
      ...opts,
      machineExtra: ",cap-htm=off",
      destCaps: { "ic-mode": "xics" },
      verbose: true,
    });
    expect(r.outcome).toBe("refused");
    expect(r.migration.failedPhase).toBe("finish3");
    expect(r.destination.error).toContain("Unknown savevm section or instance 'spapr-xive' 0");
    // the source's caps kept, the mode set, on the destination's command line
    expect(r.migration.log?.find((l) => l.includes("-incoming defer"))).toContain(
      "-M pseries-5.1,ic-mode=xics,cap-htm=off ",
    );
  });

  it("a source progressed when its workload went on, even idling only in stop0lite; not when it has none", () => {
    // spapr-cap's guest on DD2.3 idles in stop0lite (not counted as progress: a stopped thread);
    // ebizzy's records go on on one CPU
    const run = (workload: "ebizzy" | "none") =>
      runMigrate("dd2.3", "dd2.2-old", "spapr-cap", { ...opts, guest: { memory: "256M", workload } })
        .migration.sourceAfter;
    expect(run("ebizzy")).toStrictEqual({
      status: "running",
      guestState: "running",
      progressed: true,
      wasPaused: false,
    });
    expect(run("none")?.progressed).toBe(false);
  });

  it("--dest-caps without ic-mode keeps the source's ic-mode on the destination", () => {
    const r = runMigrate("dd2.3", "dd2.2-old", "spapr-cap", {
      ...opts,
      machineExtra: ",ic-mode=xics",
      destCaps: { htm: "off" },
      verbose: true,
    });
    expect(r.migration.failedPhase).toBe("prepare");
    expect(r.migration.log?.find((l) => l.includes("-incoming defer"))).toContain(
      "-M pseries-5.1,ic-mode=xics,cap-htm=off ",
    );
  });

  it("a source without a workload progressed when its guest went on idling (snooze and CEDE entries)", () => {
    // upstream-2020's guest idles in snooze and CEDE only; the XICS-only destination refuses the
    // stream's spapr-xive section and libvirt resumes the source
    const r = runMigrate("dd2.3", "dd2.3", "upstream-2020", {
      ...opts,
      guest: { memory: "256M", workload: "none" },
      destCaps: { "ic-mode": "xics" },
    });
    expect(r.migration.failedPhase).toBe("finish3");
    expect(r.migration.sourceAfter).toStrictEqual({
      status: "running",
      guestState: "running",
      progressed: true,
      wasPaused: true,
    });
  });

  it("--dest-caps ic-mode must be xics, xive or dual", () => {
    // each of the three is taken (a source that does not start: no migration to wait for)
    for (const mode of ["xics", "xive", "dual"])
      expect(
        runMigrate("dd2.2-old", "dd2.2", "spapr-cap", { ...opts, destCaps: { "ic-mode": mode } }).outcome,
      ).toBe("failed-start");
    expect(
      usageMessage(() =>
        runMigrate("dd2.3", "dd2.2", "spapr-cap", { ...opts, destCaps: { "ic-mode": "apic" } }),
      ),
    ).toBe("--dest-caps ic-mode='apic' is not xics, xive or dual");
  });
});

describe("the run's trace and the hosts' domain capabilities", () => {
  it("--trace: the Chrome trace names the command; streamed, the report has none", () => {
    const t = runMigrate("dd2.2-old", "dd2.2", "rfc-as-posted", { ...opts, trace: true });
    expect(JSON.parse(t.trace ?? "null").traceEvents.length).toBeGreaterThan(0);
    expect(JSON.parse(t.trace ?? "null").otherData).toMatchObject({
      seed: "1",
      command: "migrate dd2.2-old dd2.2 rfc-as-posted",
    });
    let events = 0;
    const sink: TraceConsumer = {
      track: () => {},
      event: () => {
        events += 1;
      },
      end: () => {},
    };
    const s = runMigrate("dd2.2-old", "dd2.2", "rfc-as-posted", { ...opts, trace: true, traceTo: sink });
    expect(s.trace).toBeUndefined();
    expect(events).toBeGreaterThan(0);
    // a refusal carries the trace too
    const refused = runMigrate("dd2.2-old", "dd2.2", "spapr-cap", { ...opts, trace: true });
    expect(refused.trace).toBeDefined();
  });

  it("a host's domain capabilities: the machine types that start there with their default caps", () => {
    const old = hostDomainCapabilities("dd2.2-old", "spapr-cap", opts);
    const upgraded = hostDomainCapabilities("dd2.2", "spapr-cap", opts);
    const types = (c: typeof old) => JSON.stringify(c.machines);
    // the new machine type's cap-stop-lite default needs a KVM that handles guest stop
    expect(old.host).toBe("dd2.2-old");
    expect(old.machines.map((m) => [m.name, m.usable])).toEqual([
      ["pseries-5.1", false],
      ["pseries-5.0", true],
      ["pseries-4.2", true],
    ]);
    expect(old.machines[0].error).toContain(CAP_REFUSAL);
    expect(upgraded.machines.every((m) => m.usable)).toBe(true);
    const lab: HostPreset = { ...upgradedHost(), name: "lab" };
    const mine = { ...findDesign("spapr-cap"), name: "mine" };
    expect(types(hostDomainCapabilities("lab", "mine", { ...opts, hosts: [lab], designs: [mine] }))).toBe(
      types(upgraded),
    );
  });
});

function upgradedHost(): HostPreset {
  return {
    name: "dd2.2",
    description: "",
    chip: "dd2.2",
    firmware: "new",
    kernel: "design",
    sockets: 1,
    coresPerSocket: 4,
  };
}

function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("a migration that stops moving", () => {
  // a DD2.2 host whose guest-stop erratum loses every wake event: the kicks of stop-and-copy's
  // vm_stop never bring the stopped vCPUs out of the guest, so QEMU stays in finish-migrate
  const lab: HostPreset = { ...findHost("dd2.2"), name: "lab", lostWakeupProbability: 1 };
  const stuckOpts: MigrateOptions = { ...opts, seed: 4, hosts: [lab] };
  // the first round sent 651365 bytes (the zero pages of a fresh guest go as flags) before the stop
  const DETAIL =
    "migration stuck in device for 60 s (651365 of 268435456 bytes sent); source QEMU finish-migrate, vCPU 0, 1, 2, 3, 4, 5, 6, 7 still in KVM_RUN";

  for (const noLibvirt of [false, true]) {
    it(`ends as hung after MIGRATION_STALL_NS without progress (${noLibvirt ? "QEMU alone" : "libvirt"})`, () => {
      const r = runMigrate("lab", "dd2.2", "rfc-as-posted", { ...stuckOpts, noLibvirt });
      expect(r.outcome).toBe("hung");
      expect(r.detail).toBe(DETAIL);
      expect(r.destination).toStrictEqual({ started: true });
      expect(r.migration).toStrictEqual({
        status: "device",
        totalTimeNs: r.migration.totalTimeNs,
        managementLayer: noLibvirt ? "none" : "libvirt",
      });
      // the stall is counted from the last change of query-migrate, within the job's time
      const total = r.migration.totalTimeNs ?? 0;
      expect(total).toBeGreaterThanOrEqual(MIGRATION_STALL_NS);
      expect(total).toBeLessThan(MIGRATION_STALL_NS + 100 * ms);
    });
  }

  it("the same hosts with the erratum off complete the migration", () => {
    const fixed: HostPreset = { ...lab, lostWakeupProbability: 0 };
    const r = runMigrate("lab", "dd2.2", "rfc-as-posted", { ...stuckOpts, hosts: [fixed] });
    expect(r.migration.status).toBe("completed");
    expect(r.outcome).not.toBe("hung");
  });
});
