import { encodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { POWER9_DD22 } from "@stopsim/isa";
import { H_CPPR, H_IPI, H_XIRR, PVR_ARCH_207 } from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { type GuestTreeOptions, guestDtb, guestTree } from "../test-helpers/fixtures.js";
import { type StopPolicy, TestPlatform, type TestPlatformOptions } from "../test-helpers/platform.js";
import { measureWakeupLatency } from "../workloads/wakeup.js";
import { ContextSwitch2, Ebizzy, periodicTimer, randomMix } from "../workloads/workloads.js";
import { createGuestKernel, type GuestKernelConfig, LATE_WAKEUP_FACTOR, STALL_NS } from "./kernel.js";

interface BootOpts {
  tree?: GuestTreeOptions;
  dtb?: Uint8Array;
  policy?: StopPolicy;
  platform?: Partial<TestPlatformOptions>;
}

function boot(config: GuestKernelConfig = {}, o: BootOpts = {}) {
  const sim = new Simulation({ seed: 7 });
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, ...config } });
  const dtb = o.dtb ?? guestDtb({ cores: 1, threads: 4, ...(o.tree ?? {}) });
  const platform = new TestPlatform({
    sim,
    image: kernel,
    dtb,
    threadsPerCore: o.tree?.threads ?? 4,
    stopPolicy: o.policy ?? "native",
    ...(o.platform ?? {}),
  });
  platform.start();
  for (let i = 0; i < 2_000_000 && kernel.state === "created"; i++) sim.step();
  while (kernel.state === "booting" && sim.step()) {}
  return { sim, kernel, platform };
}

function usage(kernel: ReturnType<typeof boot>["kernel"], cpu: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of kernel.cpus[cpu].cpuidle?.sysfs() ?? []) out[s.name] = s.usage;
  return out;
}

describe("which idle states a kernel configuration offers (config x DTB channel x PVR)", () => {
  const P9 = undefined;
  const cases: Array<[GuestKernelConfig["stop0lite"], boolean, number | undefined, boolean]> = [
    ["never", true, P9, false],
    ["always", false, PVR_ARCH_207, true],
    ["arch300", false, P9, true],
    ["arch300", true, PVR_ARCH_207, false],
    ["platform", false, P9, false],
    ["platform", true, P9, true],
    ["platform", true, PVR_ARCH_207, true],
  ];
  for (const [mode, permitted, cpuVersion, expected] of cases) {
    it(`${mode}, ibm,stop-lite-permitted=${permitted}, cpu-version=${cpuVersion === undefined ? "raw POWER9" : "architected POWER8"} -> stop0lite ${expected ? "on" : "off"}`, () => {
      const { kernel } = boot({ stop0lite: mode }, { tree: { stopLitePermitted: permitted, cpuVersion } });
      expect(kernel.state).toBe("running");
      const names = kernel.driver?.states.map((s) => s.name);
      expect(names).toEqual(expected ? ["snooze", "stop0lite", "Shared Cede"] : ["snooze", "Shared Cede"]);
      // every CPU got the same table
      for (const c of kernel.cpus) expect(c.cpuidle?.drv.states.map((s) => s.name)).toEqual(names);
    });
  }

  it("chooses the table from the VPA bit it reads back: dedicated_states (no stop0lite) when the hypervisor leaves it clear", () => {
    const { kernel } = boot({ stop0lite: "always" }, {});
    expect(kernel.driver?.shared).toBe(true);
    expect(kernel.driver?.lppacaOldStatus).toBe(0x02);
    expect(kernel.console.contains("lppaca_shared_proc() = 1")).toBe(true);
    // a platform whose H_REGISTER_VPA leaves the shared bit clear: a dedicated LPAR, the upstream
    // dedicated table (patch 3 adds stop0lite to shared_states only)
    const tree = guestTree({ cores: 1, threads: 4 });
    tree.requireNode("/rtas").setPropStrings("ibm,hypertas-functions", ["hcall-pft", "hcall-splpar"]);
    const sim = new Simulation({ seed: 1 });
    const k2 = createGuestKernel({ sim, config: { stop0lite: "always", watchdogThreshS: 0 } });
    const p2 = new TestPlatform({ sim, image: k2, dtb: encodeDtb(tree), threadsPerCore: 4 });
    p2.markVpaShared = false;
    p2.start();
    sim.runFor(20_000_000);
    expect(k2.driver?.shared).toBe(false);
    expect(k2.driver?.lppacaOldStatus).toBe(0);
    expect(k2.driver?.states.map((s) => s.name)).toEqual(["snooze", "CEDE"]);
    expect(k2.console.contains("lppaca_shared_proc() = 0 (VPA __old_status 0x00): dedicated_states")).toBe(
      true,
    );
  });
});

describe("idle states at run time", () => {
  it("snooze polls at very low SMT priority with interrupts enabled", () => {
    const { sim, kernel } = boot({ stop0lite: "always", disableStates: ["stop0lite", "Shared Cede"] });
    sim.runFor(30_000_000);
    const c = kernel.cpus[2];
    expect(c.activity).toBe("polling (snooze)");
    expect(c.thread.priority).toBe(1);
    expect(c.softEnabled).toBe(true);
    expect(usage(kernel, 2).snooze).toBeGreaterThan(0);
  });

  it("interrupt handlers run at medium SMT priority; the poller's priority comes back on return", () => {
    const { sim, kernel } = boot({ stop0lite: "always", disableStates: ["stop0lite", "Shared Cede"] });
    sim.runFor(30_000_000);
    const c = kernel.cpus[2];
    expect(c.thread.priority).toBe(1);
    const seen: number[] = [];
    c.thread.core?.onSpeedChange(() => seen.push(c.thread.priority));
    // the tick (or the watchdog) interrupts the poller within a few ms
    const before = c.stats.interrupts.get(0x900) ?? 0;
    sim.runFor(20_000_000);
    expect(c.stats.interrupts.get(0x900) ?? 0).toBeGreaterThan(before);
    expect(seen).toContain(4); // HMT_MEDIUM in the exception prolog
    expect(c.activity).toBe("polling (snooze)");
    expect(c.thread.priority).toBe(1); // RESTORE_PPR
  });

  it("kernel code paths jitter around their cost (seeded): spread with jitterSigma, none without", () => {
    const spread = (sigma: number) => {
      const { kernel } = boot({ stop0lite: "always", costs: { jitterSigma: sigma } });
      const r = measureWakeupLatency(kernel, {
        method: "timer",
        target: 1,
        samples: 30,
        onlyState: "stop0lite",
      });
      return { min: r.min, max: r.max, median: r.median };
    };
    const exact = spread(0);
    expect(exact.max).toBe(exact.min);
    const jittered = spread(0.15);
    expect(jittered.max - jittered.min).toBeGreaterThan(0.1 * exact.median);
    expect(Math.abs(jittered.median / exact.median - 1)).toBeLessThan(0.1);
    expect(spread(0.15)).toEqual(jittered); // same seed, same samples
  });

  it("kernel code takes longer beside busy SMT siblings than beside stopped ones", () => {
    // the same timer wakeup from snooze: siblings polling at very low priority slow the woken
    // thread's kernel path (isa smt.ts), siblings in stop0lite do not
    const median = (state: string) => {
      const { kernel } = boot({ stop0lite: "always" });
      return measureWakeupLatency(kernel, { method: "timer", target: 1, samples: 20, onlyState: state })
        .median;
    };
    const snooze = median("snooze");
    const stop = median("stop0lite");
    expect(snooze / stop).toBeGreaterThan(1.08);
    expect(snooze / stop).toBeLessThan(1.2);
  });

  it("stop0lite executes stop on the thread with interrupts hard-disabled", () => {
    const { sim, kernel } = boot({ stop0lite: "always", disableStates: ["Shared Cede"] });
    sim.runFor(30_000_000);
    const c = kernel.cpus[2];
    expect(c.thread.stopped).toBe(true);
    expect(c.thread.stopState?.hv).toBe(false);
    expect(c.thread.stopState?.esl).toBe(false);
    expect(Number(c.thread.pc)).toBe(0x9304);
    expect(c.thread.msr & 0x8000n).toBe(0n);
  });

  it("emulated stop traps to the hypervisor every time and the guest keeps running", () => {
    const { sim, kernel, platform } = boot(
      { stop0lite: "always", disableStates: ["Shared Cede"] },
      { policy: "emulate" },
    );
    sim.runFor(5_000_000);
    expect(platform.stopTraps).toBeGreaterThan(0);
    expect(kernel.state).toBe("running");
    // the emulated stop returns at once, far shorter than its 20 us residency: counted as "above"
    // (and the governor learns to prefer snooze)
    const s = kernel.cpus[2].cpuidle?.sysfs()[1];
    expect(s?.usage).toBeGreaterThan(0);
    expect(s?.above).toBeGreaterThanOrEqual((s?.usage ?? 0) - 1);
  });

  it("Shared Cede blocks the vCPU in the hypervisor (H_CEDE)", () => {
    const { sim, kernel, platform } = boot({ stop0lite: "never" });
    sim.runFor(50_000_000);
    expect(platform.hvCpu(2).ceded).toBe(true);
    expect(usage(kernel, 2)["Shared Cede"]).toBeGreaterThan(0);
  });
});

describe("governors on real idle patterns (periodic timer task on cpu 1)", () => {
  /** The idle state entered most often on cpu 1 over 50 periods, after 20 periods of warm-up. */
  const top = (governor: "menu" | "teo", period: number) => {
    const { sim, kernel } = boot({ stop0lite: "always", governor });
    const p = periodicTimer(kernel, 1, period);
    while (p.wakeups() < 20 && sim.step()) {}
    const b = kernel.cpus[1].cpuidle?.sysfs() ?? [];
    sim.runFor(50 * period);
    const a = kernel.cpus[1].cpuidle?.sysfs() ?? [];
    return a.map((s, i) => ({ name: s.name, n: s.usage - b[i].usage })).sort((x, y) => y.n - x.n)[0].name;
  };

  it("teo: 10 us -> snooze, 100 us -> stop0lite, 5 ms -> Shared Cede", () => {
    expect(top("teo", 10_000)).toBe("snooze");
    expect(top("teo", 100_000)).toBe("stop0lite");
    expect(top("teo", 5_000_000)).toBe("Shared Cede");
  });

  it("menu: 10 us -> snooze, 5 ms -> Shared Cede", () => {
    expect(top("menu", 10_000)).toBe("snooze");
    expect(top("menu", 5_000_000)).toBe("Shared Cede");
  });

  it("menu: 100 us timers can lock into snooze-timeout chains, visible as 'below' in sysfs", () => {
    // snooze_timeout = states[1].target_residency = stop0lite's 20 us. pseries snooze has no
    // CPUIDLE_FLAG_POLLING, so menu_update records each timeout as a ~20 us idle interval and
    // get_typical_interval then predicts just under 20 us: snooze again, five times per period.
    const { sim, kernel } = boot({ stop0lite: "always", governor: "menu" });
    const p = periodicTimer(kernel, 1, 100_000);
    while (p.wakeups() < 20 && sim.step()) {}
    const b = kernel.cpus[1].cpuidle?.sysfs() ?? [];
    sim.runFor(5_000_000);
    const a = kernel.cpus[1].cpuidle?.sysfs() ?? [];
    const snooze = a[0].usage - b[0].usage;
    expect(snooze).toBeGreaterThan(3 * 50);
    expect(a[0].below - b[0].below).toBeGreaterThan(snooze / 2);
    expect(a[1].usage - b[1].usage).toBe(0);
  });

  it("without stop0lite the same 100 us timers are served by snooze", () => {
    const { sim, kernel } = boot({ stop0lite: "never" });
    const p = periodicTimer(kernel, 1, 100_000);
    while (p.wakeups() < 20 && sim.step()) {}
    const b = kernel.cpus[1].cpuidle?.sysfs() ?? [];
    sim.runFor(5_000_000);
    const a = kernel.cpus[1].cpuidle?.sysfs() ?? [];
    expect(a[0].usage - b[0].usage).toBeGreaterThan(a[1].usage - b[1].usage);
  });
});

describe("failure: program interrupt for stop", () => {
  it("oopses, panics and calls ibm,os-term; QEMU marks the guest panicked", () => {
    const { sim, kernel, platform } = boot({ stop0lite: "always" }, { policy: "program" });
    sim.runFor(50_000_000);
    expect(kernel.state).toBe("panicked");
    expect(kernel.console.contains("Oops: Exception in kernel mode, sig: 4 [#1]")).toBe(true);
    expect(kernel.console.lines.some((l) => /TRAP: 0700/.test(l.text))).toBe(true);
    expect(kernel.console.lines.some((l) => /^NIP \[c0+9300\] stop_loop\+0x0/.test(l.text))).toBe(true);
    expect(kernel.console.contains("Kernel panic - not syncing: Fatal exception")).toBe(true);
    expect(platform.osTerm).toBe("OS panic: Fatal exception");
    expect(platform.runState).toBe("guest-panicked");
    expect(platform.rtasLog.some((r) => r.service === "ibm,os-term")).toBe(true);
    // the guest stops running: no CPU runs kernel code afterwards
    const t = sim.now;
    sim.runFor(10_000_000);
    expect(kernel.cpus.every((c) => c.halted || c.thread.hypervisorState || c.thread.stopped)).toBe(true);
    expect(sim.now).toBeGreaterThan(t);
  });

  it("the same platform runs an upstream kernel without stop0lite", () => {
    const { sim, kernel } = boot({ stop0lite: "never" }, { policy: "program" });
    sim.runFor(50_000_000);
    expect(kernel.state).toBe("running");
  });
});

describe("lost wakeups are visible", () => {
  it("the lockup watchdog reports a vCPU that never leaves stop", () => {
    const { sim, kernel } = boot(
      { stop0lite: "always", disableStates: ["Shared Cede"], watchdogThreshS: 0.02 },
      { platform: { chip: POWER9_DD22, guestStopErratum: { enabled: true, lostWakeupProbability: 1 } } },
    );
    // cpu 0 stays out of stop0lite (per-CPU sysfs disable) so that it lives to report
    kernel.cpus[0].cpuidle?.setDisabled("stop0lite", true);
    new Ebizzy(kernel, { cpu: 0 });
    sim.runFor(200_000_000);
    expect(kernel.state).toBe("hung");
    expect(kernel.lockups.length).toBeGreaterThan(0);
    expect(kernel.lockups[0].reporter).toBe(0);
    expect(
      kernel.console.lines.some((l) => /Watchdog CPU:0 detected Hard LOCKUP other CPUS:/.test(l.text)),
    ).toBe(true);
  });
});

describe("hazards the guest observes", () => {
  const sum = (k: ReturnType<typeof boot>["kernel"], f: (c: (typeof k.cpus)[number]) => number) =>
    k.cpus.reduce((a, c) => a + (c ? f(c) : 0), 0);

  it("lost wake-ups show as stalled CPUs, late wake-ups once something wakes them, and near misses", () => {
    const { sim, kernel } = boot(
      { stop0lite: "always", disableStates: ["Shared Cede"], watchdogThreshS: 0.02 },
      { platform: { chip: POWER9_DD22, guestStopErratum: { enabled: true, lostWakeupProbability: 0.3 } } },
    );
    kernel.cpus[0].cpuidle?.setDisabled("stop0lite", true);
    periodicTimer(kernel, 1, 200_000, 1_000);
    sim.runFor(15_000_000);
    const stalled = kernel.stalledCpus();
    expect(stalled.length).toBeGreaterThan(0);
    expect(sum(kernel, (c) => c.stats.lateWakeups)).toBe(0);
    // a task made runnable on a stalled CPU: the reschedule IPI wakes it, 1 ms or more late
    kernel.spawn("kick", stalled[0], (function* () {})());
    sim.runFor(1_000_000);
    expect(sum(kernel, (c) => c.stats.lateWakeups)).toBeGreaterThan(0);
    expect(sum(kernel, (c) => c.stats.stalls)).toBeGreaterThan(0);
    expect(Math.max(...kernel.cpus.map((c) => c?.stats.maxWakeupLatenessNs ?? 0))).toBeGreaterThanOrEqual(
      STALL_NS,
    );
    // each late wake-up is logged with its due and wake times on the guest clock
    const logged = kernel.lateWakeupLog;
    expect(logged.length).toBe(sum(kernel, (c) => c.stats.lateWakeups));
    const stall = logged.find((w) => w.wokeNs - w.dueNs >= STALL_NS);
    expect(stall?.cpu).toBe(stalled[0]);
    expect(stall && stall.wokeNs <= kernel.cpus[0].ktime()).toBe(true);
    sim.runFor(100_000_000);
    expect(kernel.watchdogNearMisses).toBeGreaterThan(0);
  });

  it("a guest whose wake-ups all arrive has timer wake-ups but no late ones, stalls or near misses", () => {
    const { sim, kernel } = boot(
      { stop0lite: "always", disableStates: ["Shared Cede"], watchdogThreshS: 0.02 },
      { platform: { chip: POWER9_DD22, guestStopErratum: { enabled: false } } },
    );
    periodicTimer(kernel, 1, 200_000, 1_000);
    sim.runFor(100_000_000);
    expect(sum(kernel, (c) => c.stats.timerWakeups)).toBeGreaterThan(100);
    expect(sum(kernel, (c) => c.stats.lateWakeups)).toBe(0);
    expect(sum(kernel, (c) => c.stats.stalls)).toBe(0);
    expect(kernel.lateWakeupLog).toEqual([]);
    expect(kernel.watchdogNearMisses).toBe(0);
    expect(kernel.stalledCpus()).toEqual([]);
    expect(Math.max(...kernel.cpus.map((c) => c?.stats.maxWakeupLatenessNs ?? 0))).toBeLessThan(
      LATE_WAKEUP_FACTOR * 2_000,
    );
  });
});

describe("boot failures", () => {
  it("a tree without cpus panics with Linux's message", () => {
    const tree = guestTree({ cores: 1, threads: 4 });
    const cpus = tree.requireNode("/cpus");
    for (const c of [...cpus.children]) cpus.removeChild(c);
    // QEMU would not start such a machine; the platform still runs one vCPU for the test
    const sim = new Simulation({ seed: 1 });
    const kernel = createGuestKernel({ sim, config: {} });
    const platform = new TestPlatform({
      sim,
      image: kernel,
      dtb: guestDtb({ cores: 1, threads: 1 }),
      threadsPerCore: 1,
    });
    platform.ram.load(0, new Uint8Array(0));
    platform.opts.dtb = encodeDtb(tree);
    platform.start();
    sim.runFor(10_000_000);
    expect(kernel.state).toBe("panicked");
    expect(kernel.console.contains("Failed to identify boot CPU !")).toBe(true);
    expect(kernel.console.contains("Kernel panic - not syncing: Failed to identify boot CPU")).toBe(true);
  });

  it("a tree with no interrupt controller it knows: xics_init only warns, then xics_request_ipi hits BUG_ON and the boot dies", () => {
    // as a QEMU 7.2 tree after CAS has chosen XIVE: no XICS presentation controller
    const tree = guestTree({ cores: 1, threads: 4 });
    tree.root.removeChild(tree.requireNode("/interrupt-controller"));
    const { kernel, platform } = boot({ stop0lite: "always" }, { dtb: encodeDtb(tree) });
    expect(kernel.state).toBe("panicked");
    expect(kernel.console.contains("XICS: Cannot find a Presentation Controller !")).toBe(true);
    expect(kernel.console.contains("called with NULL domain")).toBe(true);
    expect(kernel.console.contains("BUG_ON(!ipi)")).toBe(true);
    expect(kernel.console.contains("Kernel panic - not syncing: Fatal exception")).toBe(true);
    // no secondary was started and no XICS hcall was made
    expect(kernel.cpus.filter((c) => c?.online)).toHaveLength(1);
    for (const nr of [H_IPI, H_XIRR, H_CPPR]) expect(platform.hcallCounts.get(nr) ?? 0).toBe(0);
  });

  it("without timebase-frequency the kernel assumes 125 MHz: its timers fire 4x early", () => {
    const tree = guestTree({ cores: 1, threads: 4 });
    for (const c of tree.requireNode("/cpus").children) c.removeProp("timebase-frequency");
    const { sim, kernel } = boot({ stop0lite: "always" }, { dtb: encodeDtb(tree) });
    expect(kernel.console.contains("WARNING: Estimating decrementer frequency (not found)")).toBe(true);
    const p = periodicTimer(kernel, 1, 1_000_000);
    sim.runFor(1_000_000);
    const n0 = p.wakeups();
    sim.runFor(10_000_000);
    // 10 ms of real time: ~41 guest "milliseconds"
    expect(p.wakeups() - n0).toBeGreaterThan(35);
  });
});

describe("workloads and wakeup latency (mechanism, on the test platform)", () => {
  it("measures 60 wakeups per state by timer and by IPI", () => {
    const res: Record<string, number> = {};
    for (const [state, policy] of [
      ["snooze", "native"],
      ["stop0lite", "native"],
      ["Shared Cede", "native"],
    ] as const) {
      for (const method of ["timer", "ipi"] as const) {
        const { kernel } = boot({ stop0lite: "always" }, { policy });
        const r = measureWakeupLatency(kernel, {
          method,
          target: 1,
          source: 0,
          samples: 60,
          onlyState: state,
        });
        expect(r.count).toBe(60);
        expect(r.min).toBeGreaterThan(0);
        res[`${method}/${state}`] = r.median;
      }
    }
    expect(res["timer/Shared Cede"]).toBeGreaterThan(res["timer/stop0lite"]);
    expect(res["ipi/Shared Cede"]).toBeGreaterThan(res["ipi/snooze"]);
  });

  it("wakes a CPU of the other core by IPI: H_IPI through the XICS, whose CPPR each CPU opened at boot", () => {
    // cpu 4 and cpu 1 are on different cores: no doorbell, the IPI is an H_IPI that the ICP only
    // presents once the target's CPPR is above the IPI priority (xics_setup_cpu at CPU setup)
    const { kernel } = boot({ stop0lite: "always" }, { tree: { cores: 2, threads: 4 } });
    expect(kernel.state).toBe("running");
    const cppr = 0x68; // H_CPPR
    for (const c of kernel.cpus) expect(c.stats.hcalls.get(cppr) ?? 0).toBe(1);
    for (const state of ["snooze", "stop0lite", "Shared Cede"]) {
      const r = measureWakeupLatency(kernel, {
        method: "ipi",
        target: 1,
        source: 4,
        samples: 10,
        onlyState: state,
      });
      expect(r.count).toBe(10);
    }
    expect(kernel.cpus[1].stats.interrupts.get(0x500) ?? 0).toBeGreaterThan(0);
  });

  it("ebizzy runs faster with siblings in stop0lite than in snooze; context_switch2 is fastest with snooze", () => {
    const rate = (state: string, which: "ebizzy" | "cs") => {
      const { sim, kernel } = boot({ stop0lite: "always" });
      for (const c of kernel.cpus)
        for (const s of c.cpuidle?.drv.states ?? []) c.cpuidle?.setDisabled(s.name, s.name !== state);
      if (which === "ebizzy") {
        const e = new Ebizzy(kernel, { cpu: 0 });
        sim.runFor(2_000_000);
        e.start();
        sim.runFor(20_000_000);
        return e.result().perSecond;
      }
      const cs = new ContextSwitch2(kernel, 0, 1);
      sim.runFor(2_000_000);
      cs.start();
      sim.runFor(10_000_000);
      return cs.result().perSecond;
    };
    expect(rate("stop0lite", "ebizzy")).toBeGreaterThan(rate("snooze", "ebizzy"));
    const cs = {
      snooze: rate("snooze", "cs"),
      stop: rate("stop0lite", "cs"),
      cede: rate("Shared Cede", "cs"),
    };
    expect(cs.snooze).toBeGreaterThan(cs.stop);
    expect(cs.stop).toBeGreaterThan(cs.cede);
  });
});

describe("random mixes", () => {
  it("are deterministic for a seed and exercise every idle state", () => {
    const run = () => {
      const { sim, kernel } = boot({ stop0lite: "always", governor: "teo" });
      const mix = randomMix(kernel, {
        rng: sim.rng.stream("mix"),
        tasks: 6,
        cpus: [0, 1, 2, 3],
        meanComputeNs: 20_000,
        meanSleepNs: 80_000,
      });
      sim.runFor(30_000_000);
      const used = kernel.cpuidleSysfs().flatMap((c) => c.states.map((s) => s.usage));
      return { bursts: mix.bursts(), used };
    };
    const a = run();
    const b = run();
    expect(a).toEqual(b);
    expect(a.bursts).toBeGreaterThan(100);
  });
});
