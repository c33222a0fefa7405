// `stopsim boot` / `idle` on short runs (3 ms of simulated time: the guest's eight CPUs are up and
// its cpuidle driver registered): each outcome of DOMAIN.md section 5 on one host, the report's
// fields as a user reads them, QEMU's refusal, the run in slices and Ctrl-C, the trace. The
// scenarios of the thread at their full length are in scenarios.test.ts.
import { Simulation, type TraceConsumer } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { NO_HAZARDS, observeHazards } from "./hazards.js";
import { findDesign, findHost, type HostPreset } from "./presets.js";
import {
  createDesignGuest,
  DEFAULT_GUEST,
  guestIdleStates,
  qemuCommandLine,
  startQemu,
  startWorkload,
  vmCounters,
} from "./run.js";
import {
  bootDetail,
  bootSteps,
  cpuidleTable,
  drain,
  firstLine,
  idleEntries,
  mark,
  phaseSince,
  runBoot,
  withMachine,
} from "./scenarios.js";
import { bootSimHost } from "./stack.js";

const ms = 1_000_000;
const opts = { seed: 1, durationNs: 3 * ms };
const SHARED = ["snooze", "stop0lite", "Shared Cede"];

describe("one boot, each outcome", () => {
  it("a stop0lite guest on a 2020 host crashes in its idle path: program check, panic, the trap counted", () => {
    const r = runBoot("dd2.2-old", "rfc-as-posted", opts);
    expect(r.outcome).toBe("crashed");
    expect(r.guest.state).toBe("panicked");
    expect(r.qemu.started).toBe(true);
    // the H_FAC_UNAVAIL exits of the guest's stops, no emulation (KVM queued a program interrupt)
    expect(r.exits.H_FAC_UNAVAIL).toBeGreaterThan(0);
    expect(r.emulatedStops).toBe(0);
    expect(r.host).toMatchObject({ name: "dd2.2-old", kvmBuild: "upstream-2020", emulateStopTrap: false });
    expect(bootDetail(r)).toMatch(/^guest panicked; stop0lite used 0x; exits (\S+=\d+ )*H_FAC_UNAVAIL=\d+/);
    // the console's last eight lines end with the panic
    expect(r.guest.consoleTail).toHaveLength(8);
    expect(r.guest.consoleTail.at(-1)).toMatch(/\] Kernel panic - not syncing: Fatal exception$/);
  });

  it("with patch 1 on DD2.2 each stop traps and is emulated: the guest runs, every stop0lite entry an exit", () => {
    const r = runBoot("dd2.2", "emulate-fallback", opts);
    expect(r.outcome).toBe("emulated");
    expect(r.guest.state).toBe("running");
    const used = r.guest.idleStates.stop0lite.usage;
    expect(used).toBeGreaterThan(0);
    expect(r.emulatedStops).toBe(used);
    expect(r.exits.H_FAC_UNAVAIL).toBe(used);
    expect(bootDetail(r)).toBe(
      `guest running; stop0lite used ${used}x, ${used} stop traps emulated; exits ${Object.entries(r.exits)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`,
    );
  });

  it("DD2.3 with idle-stop-guest runs stop natively: stop0lite used, no emulation, no stop exit", () => {
    const r = runBoot("dd2.3", "spapr-cap", { ...opts, guest: { workload: "mixed" } });
    expect(r.outcome).toBe("native");
    expect(r.guest.idleStates.stop0lite.usage).toBeGreaterThan(0);
    expect(r.emulatedStops).toBe(0);
    expect(r.exits.H_FAC_UNAVAIL).toBeUndefined();
    expect(r.guest.workload.bursts).toBeGreaterThan(0);
    expect(bootDetail(r)).not.toContain("stop traps emulated");
  });

  it("a guest without stop0lite never uses it: not-used, and the detail says it was not offered", () => {
    const r = runBoot("dd2.3", "upstream-2020", opts);
    expect(r.outcome).toBe("not-used");
    expect(r.guest.idleStatesOffered).toEqual(["snooze", "Shared Cede"]);
    expect(r.guest.idleStates.stop0lite).toBeUndefined();
    expect(bootDetail(r)).toContain("stop0lite not offered");
  });

  it("the new machine type on an old host: QEMU's refusal is the outcome, its first line the detail; cap off starts it", () => {
    const r = runBoot("dd2.2-old", "spapr-cap", opts);
    expect(r.outcome).toBe("failed-start");
    expect(r.qemu).toEqual({
      commandLine: "-M pseries-5.1 -cpu POWER9 -smp 8,sockets=1,cores=2,threads=4 -m 1G -nographic",
      started: false,
      error:
        "qemu-system-ppc64: Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)\nTry appending -machine cap-stop-lite=off",
      caps: {},
      stopLitePermitted: false,
    });
    expect(r.guest).toEqual({
      state: "not-started",
      cpus: 0,
      idleStatesOffered: [],
      cpuidleTable: { table: "none", lppacaOldStatus: 0, sharedProc: false, governor: "menu" },
      idleStates: {},
      consoleTail: [],
      workload: {},
    });
    expect(r.exits).toEqual({});
    expect(r.emulatedStops).toBe(0);
    expect(r.hazards).toEqual(NO_HAZARDS);
    expect(r.host.name).toBe("dd2.2-old");
    expect(bootDetail(r)).toBe(
      "Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)",
    );
    expect(bootDetail({ ...r, qemu: { ...r.qemu, error: undefined } })).toBe("QEMU refused to start");
    const off = runBoot("dd2.2-old", "spapr-cap", { ...opts, machineExtra: ",cap-stop-lite=off" });
    expect(off.qemu.started).toBe(true);
    expect(off.qemu.commandLine).toContain("-M pseries-5.1,cap-stop-lite=off ");
    expect(off.qemu.caps["cap-stop-lite"]).toBe("off");
    expect(off.outcome).toBe("not-used");
  });
});

describe("the boot report", () => {
  it("names the design, the seed, QEMU's caps, the interrupt controller CAS chose and the guest's table", () => {
    const r = runBoot("dd2.3", "spapr-cap", { ...opts, seed: "12" });
    expect(r.design).toBe("spapr-cap");
    expect(r.seed).toBe("12");
    expect(r.qemu.started).toBe(true);
    expect(r.qemu.error).toBeUndefined();
    expect(r.qemu.caps["cap-stop-lite"]).toBe("on");
    // every spapr cap QEMU set, by its name, a level by its value name (cap-cfpc=workaround) or number
    expect(Object.keys(r.qemu.caps)).toHaveLength(13);
    expect(r.qemu.caps["cap-htm"]).toBe("off");
    expect(r.qemu.caps["cap-cfpc"]).toBe("workaround");
    expect(r.qemu.caps["cap-hpt-max-page-size"]).toBe("16");
    expect(r.qemu.stopLitePermitted).toBe(true);
    // the host's own idle states from OPAL's power-mgt node, snooze first
    expect(r.host.hostIdleStates[0]).toBe("snooze");
    expect(r.host.hostIdleStates).toContain("stop0_lite");
    expect(r.qemu.interruptController?.mode).toBe("dual");
    expect(r.qemu.interruptController?.active).toBe("xive");
    expect(r.qemu.interruptController?.cas).toContain("ic-mode=dual");
    expect(r.guest.cpus).toBe(8);
    expect(r.guest.idleStatesOffered).toEqual(SHARED);
    // KVM's H_REGISTER_VPA set LPPACA_OLD_SHARED_PROC (0x2): cpuidle-pseries takes shared_states
    expect(r.guest.cpuidleTable).toEqual({
      table: "shared_states",
      lppacaOldStatus: 2,
      sharedProc: true,
      governor: "menu",
    });
    expect(r.guest.consoleTail).toHaveLength(8);
    expect(r.guest.workload.timerWakeups).toBeGreaterThan(0);
    // the idle statistics are the guest's over the run: every offered state, time in ns
    expect(Object.keys(r.guest.idleStates)).toEqual(SHARED);
    const snooze = r.guest.idleStates.snooze;
    expect(snooze.usage).toBeGreaterThan(0);
    expect(snooze.timeNs).toBeGreaterThan(snooze.usage * 1000);
    expect(snooze.timeNs).toBeLessThanOrEqual(8 * opts.durationNs);
    expect(r.hazards.lostWakeups).toBe(0);
    expect(r.stoppedAtNs).toBeUndefined();
    expect(r.trace).toBeUndefined();
  });

  it("a run given no guest time: QEMU started, the guest not yet through CAS or its cpuidle probe, no exit", () => {
    const r = runBoot("dd2.3", "spapr-cap", { ...opts, durationNs: 0 });
    expect(r.qemu.started).toBe(true);
    // the guest made no CAS call yet: no reason, and ic-mode=dual runs XICS until CAS asks for
    // XIVE (qemu: hw/ppc/spapr_irq.c spapr_irq_update_active_intc, ov5_cas without OV5_XIVE_EXPLOIT)
    expect(r.qemu.interruptController).toEqual({ mode: "dual", active: "xics", cas: null });
    expect(r.guest.idleStatesOffered).toEqual([]);
    expect(r.guest.consoleTail).toEqual([]);
    expect(r.exits).toEqual({});
    expect(r.outcome).toBe("not-used");
    expect(bootDetail(r)).toBe("guest running; stop0lite not offered; exits none");
  });

  it("ic-mode=xics: XICS active after CAS, and why; the console's tail is the last eight lines, the driver's registration last", () => {
    const r = runBoot("dd2.3", "spapr-cap", { ...opts, machineExtra: ",ic-mode=xics" });
    expect(r.qemu.interruptController?.mode).toBe("xics");
    expect(r.qemu.interruptController?.active).toBe("xics");
    expect(r.qemu.interruptController?.cas).toContain("only XICS (ic-mode=xics)");
    const full = runBoot("dd2.3", "spapr-cap", opts).guest.consoleTail;
    expect(full).toHaveLength(8);
    expect(full.at(-1)).toMatch(
      /^\[ *\d+\.\d{6}\] cpuidle: using governor menu; pseries_idle_driver registered \(shared\): snooze, stop0lite, Shared Cede$/,
    );
  });

  it("teo and the guest's options go to the guest; a scenario's host and design are found; --machine replaces the type", () => {
    const lab: HostPreset = {
      name: "lab",
      description: "",
      chip: "dd2.2",
      firmware: "new",
      kernel: "patch1",
      sockets: 1,
      coresPerSocket: 2,
    };
    const mine = { ...findDesign("spapr-cap"), name: "mine" };
    const r = runBoot("lab", "mine", {
      ...opts,
      hosts: [lab],
      designs: [mine],
      machine: "pseries-5.0",
      guest: { governor: "teo", smp: "4,sockets=1,cores=1,threads=4", workload: "none" },
    });
    expect(r.design).toBe("mine");
    expect(r.host).toMatchObject({ name: "lab", kvmBuild: "patch1" });
    expect(r.qemu.commandLine).toBe(
      "-M pseries-5.0 -cpu POWER9 -smp 4,sockets=1,cores=1,threads=4 -m 1G -nographic",
    );
    expect(r.qemu.caps["cap-stop-lite"]).toBe("off");
    expect(r.guest.cpus).toBe(4);
    expect(r.guest.cpuidleTable.governor).toBe("teo");
    expect(r.guest.workload).toEqual({});
  });

  it("the seed drives the run: the same seed gives the same report, another seed other choices", () => {
    // rfc-as-posted on an upgraded DD2.2: within 3 ms menu picks stop0lite at seed 4, not at seed 1
    const one = runBoot("dd2.2", "rfc-as-posted", opts);
    expect(runBoot("dd2.2", "rfc-as-posted", opts)).toEqual(one);
    expect(one.outcome).toBe("not-used");
    const four = runBoot("dd2.2", "rfc-as-posted", { ...opts, seed: 4 });
    expect(four.outcome).toBe("native");
    expect(four.guest.idleStates.stop0lite.usage).toBeGreaterThan(0);
  });

  it("the run's hazards count the host's cores: a DD2.2 whose erratum loses every wake event from a guest's stop", () => {
    const lab = { ...findHost("dd2.2"), name: "lab", lostWakeupProbability: 1 };
    const r = runBoot("lab", "rfc-as-posted", { ...opts, seed: 4, hosts: [lab] });
    expect(r.hazards.lostWakeups).toBeGreaterThan(0);
    expect(runBoot("dd2.3", "spapr-cap", opts).hazards.lostWakeups).toBe(0);
  });

  it("the guest's workloads each report their figure", () => {
    const w = (workload: (typeof DEFAULT_GUEST)["workload"]) =>
      runBoot("dd2.3", "emulate-fallback", { ...opts, guest: { workload } }).guest.workload;
    expect(Object.keys(w("ebizzy"))).toEqual(["recordsPerSecond"]);
    expect(Object.keys(w("ctxsw"))).toEqual(["switchesPerSecond"]);
  });

  it("ctxsw ping-pongs between the first two CPUs, or on the only one: a switch on one CPU needs no wake-up of another", () => {
    const rate = (smp: string) =>
      runBoot("dd2.3", "spapr-cap", { ...opts, guest: { smp, workload: "ctxsw" } }).guest.workload
        .switchesPerSecond;
    const alone = rate("1");
    expect(alone).toBeGreaterThan(0);
    expect(alone).toBeGreaterThan(rate("2"));
  });
});

describe("a phase between two marks", () => {
  it("counts what grew since the mark: idle statistics, KVM's exits and emulated stops, the time; nothing at the mark itself", () => {
    const sim = new Simulation({ seed: 1 });
    const d = findDesign("emulate-fallback");
    const h = bootSimHost(sim, findHost("dd2.2"), d);
    const k = createDesignGuest(sim, d, DEFAULT_GUEST);
    const q = startQemu(sim, h, d, k, qemuCommandLine(d, DEFAULT_GUEST), "q");
    if (!q.ok) throw new Error(q.error);
    startWorkload(sim, k, "timers");
    const observe = () => observeHazards(sim, [h], k, [q.qemu]);
    sim.runFor(3 * ms);
    const m = mark(sim, q.qemu, k, observe);
    const idle0 = guestIdleStates(k);
    const c0 = vmCounters(q.qemu);
    // the guest has used stop0lite (each use an emulated stop) before the mark
    expect(idle0.stop0lite.usage).toBeGreaterThan(0);
    expect(c0.emulatedStops).toBeGreaterThan(0);
    const none = phaseSince(sim, q.qemu, k, m, "here", observe);
    expect(none).toMatchObject({
      host: "here",
      durationNs: 0,
      guestState: "running",
      outcome: "not-used",
      exits: {},
      emulatedStops: 0,
    });
    for (const name of SHARED)
      expect(none.idleStates[name]).toEqual({ usage: 0, timeNs: 0, above: 0, below: 0 });
    sim.runFor(2 * ms);
    const p = phaseSince(sim, q.qemu, k, m, "here", observe);
    const idle1 = guestIdleStates(k);
    const c1 = vmCounters(q.qemu);
    expect(p.durationNs).toBe(2 * ms);
    for (const name of SHARED)
      expect(p.idleStates[name]).toEqual({
        usage: idle1[name].usage - idle0[name].usage,
        timeNs: idle1[name].timeNs - idle0[name].timeNs,
        above: idle1[name].above - idle0[name].above,
        below: idle1[name].below - idle0[name].below,
      });
    expect(p.emulatedStops).toBe(c1.emulatedStops - c0.emulatedStops);
    expect(p.exits.H_FAC_UNAVAIL).toBe((c1.exits.H_FAC_UNAVAIL ?? 0) - (c0.exits.H_FAC_UNAVAIL ?? 0));
    expect(p.outcome).toBe(p.idleStates.stop0lite.usage > 0 ? "emulated" : "not-used");
  });
});

describe("a run in slices", () => {
  it("gives the report of one run, yielding the time reached after each slice", () => {
    const steps = bootSteps("dd2.2", "emulate-fallback", opts, { sliceNs: ms });
    const reached: number[] = [];
    let r = steps.next();
    while (!r.done) {
      reached.push(r.value);
      r = steps.next();
    }
    expect(reached).toEqual([ms, 2 * ms, 3 * ms]);
    expect(r.value).toEqual(runBoot("dd2.2", "emulate-fallback", opts));
    expect(drain(bootSteps("dd2.2", "emulate-fallback", opts, { sliceNs: 2 * ms }))).toEqual(r.value);
  });

  it("Ctrl-C between slices ends the idle phase there and the report says where; never after the last", () => {
    let calls = 0;
    const stopped = drain(
      bootSteps("dd2.2", "emulate-fallback", opts, { sliceNs: ms, shouldStop: () => ++calls >= 2 }),
    );
    expect(stopped.stoppedAtNs).toBe(2 * ms);
    expect(calls).toBe(2);
    let asked = 0;
    const whole = drain(
      bootSteps("dd2.2", "emulate-fallback", opts, {
        sliceNs: ms,
        shouldStop: () => {
          asked += 1;
          return false;
        },
      }),
    );
    expect(whole.stoppedAtNs).toBeUndefined();
    expect(asked).toBe(2);
  });
});

describe("the trace", () => {
  it("--trace puts the run's Chrome trace in the report, with the command and seed; a stream gets it instead", () => {
    const r = runBoot("dd2.2", "emulate-fallback", { ...opts, durationNs: ms, trace: true });
    const t = JSON.parse(r.trace ?? "null");
    expect(t.otherData).toMatchObject({ seed: "1", command: "boot dd2.2 emulate-fallback" });
    expect(t.traceEvents.length).toBeGreaterThan(0);
    const got: unknown[] = [];
    const sink: TraceConsumer = {
      track: () => {},
      event: (e) => {
        got.push(e);
      },
      end: () => {},
    };
    const streamed = runBoot("dd2.2", "emulate-fallback", {
      ...opts,
      durationNs: ms,
      trace: true,
      traceTo: sink,
    });
    expect(streamed.trace).toBeUndefined();
    expect(got.length).toBeGreaterThan(0);
  });
});

describe("helpers", () => {
  it("idle entries count every cpuidle state's entries, stop0lite's too (each is the guest's idle loop running); firstLine drops QEMU's program name", () => {
    expect(
      idleEntries({
        snooze: { usage: 3 },
        CEDE: { usage: 4 },
        "Shared Cede": { usage: 5 },
        stop0lite: { usage: 9 },
      }),
    ).toBe(21);
    expect(idleEntries({ stop0lite: { usage: 2 }, snooze: undefined })).toBe(2);
    expect(idleEntries({})).toBe(0);
    expect(firstLine("qemu-system-ppc64: no\nTry appending x")).toBe("no");
    expect(firstLine("not qemu-system-ppc64: x")).toBe("not qemu-system-ppc64: x");
  });

  it("the detail ends with the run's hazards when it counted any", () => {
    const r = runBoot("dd2.2", "emulate-fallback", opts);
    const plain = bootDetail({ ...r, hazards: NO_HAZARDS });
    expect(bootDetail({ ...r, hazards: { ...NO_HAZARDS, lostWakeups: 2 } })).toBe(
      `${plain}; hazards: 2 lost wake-ups`,
    );
    expect(plain).not.toContain("hazards");
  });

  it("cpuidleTable: dedicated_states when the VPA's shared-processor bit is clear", () => {
    // linux: drivers/cpuidle/cpuidle-pseries.c pseries_idle_probe: lppaca_shared_proc() picks
    // shared_states, else dedicated_states
    const k = { driver: { shared: false, lppacaOldStatus: 0 } } as unknown as Parameters<
      typeof cpuidleTable
    >[0];
    expect(cpuidleTable(k, "menu")).toEqual({
      table: "dedicated_states",
      lppacaOldStatus: 0,
      sharedProc: false,
      governor: "menu",
    });
  });

  it("withMachine keeps the design without a machine type; cpuidleTable without a driver is 'none'", () => {
    const d = findDesign("spapr-cap");
    expect(withMachine(d, undefined)).toBe(d);
    expect(withMachine(d, "pseries-5.0")).toEqual({ ...d, machine: "pseries-5.0" });
    const k = { driver: null } as unknown as Parameters<typeof cpuidleTable>[0];
    expect(cpuidleTable(k, "teo")).toEqual({
      table: "none",
      lppacaOldStatus: 0,
      sharedProc: false,
      governor: "teo",
    });
  });
});
