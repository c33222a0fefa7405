// The sPAPR XIVE backend (linux: arch/powerpc/sysdev/xive/spapr.c, common.c) decision by
// decision, on the tree QEMU 7.2 handed a Linux guest after CAS chose XIVE
// (packages/qemu/fixtures/post-cas, see xive.test.ts) changed one property at a time: the
// priority xive_get_max_prio picks, the queue size, the LISN ranges the IPIs come from, a
// hypervisor that refuses the H_INT_* calls, the queue's generation bit, coalesced IPIs.
import { readFileSync } from "node:fs";
import { type DeviceTree, decodeDtb, encodeDtb } from "@stopsim/devicetree";
import { TM_CPPR, TM_QW1_OS } from "@stopsim/isa";
import {
  H_INT_GET_QUEUE_INFO,
  H_INT_GET_SOURCE_INFO,
  H_INT_SET_QUEUE_CONFIG,
  H_INT_SET_SOURCE_CONFIG,
  H_P2,
} from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { type BootedGuest, bootGuest } from "../test-helpers/booted.js";
import type { TestPlatform } from "../test-helpers/platform.js";
import type { GuestCosts } from "./costs.js";
import type { GuestCpu, KCode } from "./cpu.js";
import { SYNC } from "./cpu.js";
import { DEFAULT_GUEST_COSTS } from "./kernel.js";
import { XIVE_IPI_VIRQ, XIVE_QUEUE_BASE } from "./xive.js";

/** The real post-CAS XIVE tree (`-M pseries-5.1,ic-mode=dual -smp 4`), changed by `edit`. */
function tree(edit: (t: DeviceTree) => void = () => {}): Uint8Array {
  const url = new URL("../../../qemu/fixtures/post-cas/pseries-5.1-dual-smp4.dtb", import.meta.url);
  const t = decodeDtb(new Uint8Array(readFileSync(url)));
  edit(t);
  return encodeDtb(t);
}

/** The XIVE node (compatible "ibm,power-ivpe"). */
function ivpe(t: DeviceTree) {
  const n = t.root.children.find((c) => c.name.startsWith("interrupt-controller@"));
  if (n === undefined) throw new Error("no XIVE node in the fixture");
  return n;
}

function boot(
  edit: (t: DeviceTree) => void = () => {},
  before: (p: TestPlatform) => void = () => {},
): BootedGuest {
  return bootGuest({ cas: false }, { dtb: tree(edit), threads: 1, platformSetup: before });
}

/** The CPPR of the OS ring of the thread vCPU `cpu` runs on (the TIMA's view). */
const osCppr = (g: BootedGuest, cpu: number) =>
  g.platform.xive.tctx(g.kernel.cpus[cpu].thread.pir).regs[TM_QW1_OS + TM_CPPR];

const xiveLines = (g: BootedGuest) =>
  g.kernel.console.lines.filter((l) => l.text.startsWith("xive: ")).map((l) => `${l.level} ${l.text}`);

/** cpu `from` calls a function on cpu `to` `n` times, `gapNs` apart; returns how many ran. */
function ipis(g: BootedGuest, from: number, to: number, n: number, gapNs: number): () => number {
  let ran = 0;
  const src = g.kernel.cpus[from];
  const dst = g.kernel.cpus[to];
  function* loop(): KCode {
    for (let i = 0; i < n; i++) {
      yield* src.callFunctionSingle(dst, () => {
        ran++;
      });
      yield { k: "delay", ns: gapNs };
      yield SYNC;
    }
  }
  while (!src.canInject) g.sim.step();
  expect(src.injectWork(loop())).toBe(true);
  return () => ran;
}

describe("xive_spapr_init", () => {
  it("the real tree: priority 6 (ibm,plat-res-int-priorities reserves 7 and up), LISNs 0-3, 64 kB queues", () => {
    const g = boot();
    expect(g.kernel.state).toBe("running");
    expect(xiveLines(g)).toEqual([
      "info xive: Using IRQ range [0-3]",
      "info xive: Interrupt handling initialized with spapr backend",
      "info xive: Using priority 6 for all interrupts",
      "info xive: Using 64kB queues",
    ]);
    // one IPI per CPU, from the range in order, routed to its CPU's queue at that priority with
    // the IPI's Linux IRQ as event data
    for (const cpu of [0, 1, 2, 3]) {
      expect(g.platform.xive.getEas(cpu)).toMatchObject({
        target: { nvt: 0x400 + cpu },
        priority: 6,
        eisn: XIVE_IPI_VIRQ,
      });
    }
    expect(g.kernel.xive?.queueShift).toBe(16);
    // xive_setup_cpu: every CPU opened its CPPR to every priority
    for (const cpu of [0, 1, 2, 3]) expect(osCppr(g, cpu)).toBe(0xff);
  });

  it("the most favoured priority left is the highest number not reserved", () => {
    const cases: Array<[number[], number]> = [
      [[6, 2], 5],
      [[7, 1, 5, 1], 6],
      [[6, 1, 7, 1], 5],
      [[1, 7], 0],
    ];
    for (const [reserved, prio] of cases) {
      const g = boot((t) => t.root.setPropU32("ibm,plat-res-int-priorities", ...reserved));
      expect(g.kernel.state).toBe("running");
      expect(g.kernel.xive?.priority).toBe(prio);
      expect(g.kernel.console.contains(`xive: Using priority ${prio} for all interrupts`)).toBe(true);
      expect(g.platform.xive.getEas(2)?.priority).toBe(prio);
      // IPIs arrive at that priority; each receive cycle ends with the queue empty and CPPR back at 0xff
      const ran = ipis(g, 0, 2, 5, 20_000);
      g.sim.runFor(1_000_000);
      expect(ran()).toBe(5);
      expect(g.kernel.xive?.stats.ipisSent).toBe(5);
      expect(g.kernel.xive?.stats.ipisReceived).toBe(5);
      expect(osCppr(g, 2)).toBe(0xff);
    }
  });

  it("every priority reserved: XIVE gives up, and with no XICS either the IPI setup hits BUG_ON", () => {
    const g = boot((t) => t.root.setPropU32("ibm,plat-res-int-priorities", 0, 8));
    expect(g.kernel.xive).toBeNull();
    expect(xiveLines(g)).toEqual(["err xive: no valid priority found in 'ibm,plat-res-int-priorities'"]);
    expect(g.kernel.state).toBe("panicked");
  });

  it("the queue size: PAGE_SHIFT (64 kB) when offered, else the last size listed", () => {
    const cases: Array<[number[], number]> = [
      [[12, 16, 21], 16],
      [[12, 14], 14],
      [[21, 12], 12],
    ];
    for (const [sizes, shift] of cases) {
      const g = boot((t) => ivpe(t).setPropU32("ibm,xive-eq-sizes", ...sizes));
      expect(g.kernel.xive?.queueShift).toBe(shift);
      expect(g.kernel.console.contains(`xive: Using ${1 << (shift - 10)}kB queues`)).toBe(true);
      expect(g.kernel.state).toBe("running");
    }
    const none = boot((t) => ivpe(t).removeProp("ibm,xive-eq-sizes"));
    expect(none.kernel.xive).toBeNull();
  });

  it("IPIs come from the LISN ranges in order; a CPU left without one is not started", () => {
    const g = boot((t) => ivpe(t).setPropU32("ibm,xive-lisn-ranges", 0x10, 1, 0x20, 2));
    expect(xiveLines(g).slice(0, 2)).toEqual([
      "info xive: Using IRQ range [10-10]",
      "info xive: Using IRQ range [20-21]",
    ]);
    expect(g.kernel.xive?.ready(0)).toBe(true);
    expect(g.kernel.xive?.ready(2)).toBe(true);
    expect(g.kernel.xive?.ready(3)).toBe(false);
    // each IPI routed to its CPU's NVT (the platform's 0x400 + vCPU)
    for (const [lisn, cpu] of [
      [0x10, 0],
      [0x20, 1],
      [0x21, 2],
    ])
      expect(g.platform.xive.getEas(lisn)).toMatchObject({
        target: { nvt: 0x400 + cpu },
        eisn: XIVE_IPI_VIRQ,
      });
    expect(xiveLines(g)).toContain("err xive: Failed to allocate IPI on CPU 3");
    expect(g.kernel.xive?.ready(4)).toBe(false);
    expect(g.kernel.console.contains("Processor 3 is stuck.")).toBe(true);
    expect(g.kernel.cpus.filter((c) => c?.online)).toHaveLength(3);
  });
});

describe("a hypervisor that refuses the H_INT_* calls", () => {
  // the backend's error (spapr.c), then for the IPI the core's (common.c xive_setup_cpu_ipi)
  const cases: Array<[number, string[]]> = [
    [H_INT_GET_QUEUE_INFO, ["xive: Error -55 getting queue info CPU 0 prio 6"]],
    [H_INT_SET_QUEUE_CONFIG, ["xive: Error -55 setting queue for CPU 0 prio 6"]],
    [
      H_INT_GET_SOURCE_INFO,
      ["xive: H_INT_GET_SOURCE_INFO lisn=0 failed -55", "xive: Failed to populate IPI data on CPU 0"],
    ],
    [
      H_INT_SET_SOURCE_CONFIG,
      ["xive: H_INT_SET_SOURCE_CONFIG lisn=0 target=0 prio=6 failed -55", "xive: Failed to map IPI CPU 0"],
    ],
  ];
  for (const [hcall, messages] of cases) {
    it(`${messages[0].split(" ").slice(1, 3).join(" ")}: the boot CPU cannot set up its interrupts`, () => {
      const g = boot(undefined, (p) => p.hcallFailures.set(hcall, H_P2));
      const errs = g.kernel.console.lines.filter((l) => l.level === "err").map((l) => l.text);
      const at = errs.indexOf(messages[0]);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(errs.slice(at, at + messages.length)).toEqual(messages);
      expect(g.kernel.state).toBe("panicked");
      expect(g.kernel.xive?.ready(0)).toBe(false);
    });
  }
});

describe("receiving IPIs", () => {
  it("the queue memory is cleared before the hypervisor writes to it: stale entries are never taken for IPIs", () => {
    const g = boot(undefined, (p) => p.ram.fill(XIVE_QUEUE_BASE, 4 << 16, 0xff));
    const ran = ipis(g, 0, 1, 10, 20_000);
    g.sim.runFor(2_000_000);
    expect(ran()).toBe(10);
    expect(g.kernel.xive?.stats.ipisReceived).toBe(10);
    expect(g.kernel.xive?.stats.spurious).toBe(0);
  });

  it("the generation bit flips each time the queue wraps: every IPI of many queue lengths is received once", () => {
    // 4 kB queues: 1024 entries
    const g = boot((t) => ivpe(t).setPropU32("ibm,xive-eq-sizes", 12));
    const n = 2_200;
    const ran = ipis(g, 0, 1, n, 4_000);
    g.sim.runFor(n * 40_000);
    expect(ran()).toBe(n);
    expect(g.kernel.xive?.stats.ipisReceived).toBe(n);
  });

  it("each MMIO access takes place once its cost has passed: the trigger store, then the acknowledge load", () => {
    /** From the sender's call to the function running on the target, snooze-only, no jitter. */
    const latency = (costs: Partial<GuestCosts>) => {
      const g = bootGuest(
        { cas: false, disableStates: ["stop0lite", "Shared Cede"], costs: { jitterSigma: 0, ...costs } },
        { dtb: tree(), threads: 1 },
      );
      g.sim.runFor(3_000_000);
      const [cpu0, cpu1] = g.kernel.cpus;
      while (!cpu0.canInject) g.sim.step();
      let sent = -1;
      let ran = -1;
      cpu0.injectWork(
        (function* () {
          yield { k: "delay", ns: 1_000 };
          yield SYNC;
          sent = g.sim.now;
          yield* cpu0.callFunctionSingle(cpu1, () => {
            ran = g.sim.now;
          });
        })(),
      );
      g.sim.runFor(2_000_000);
      return ran - sent;
    };
    const base = latency({});
    const d = 300_000;
    const store = DEFAULT_GUEST_COSTS.xiveMmioStoreNs;
    const tima = DEFAULT_GUEST_COSTS.xiveTimaLoadNs;
    expect(Math.abs(latency({ xiveMmioStoreNs: store + d }) - base - d)).toBeLessThanOrEqual(2);
    expect(Math.abs(latency({ xiveTimaLoadNs: tima + d }) - base - d)).toBeLessThanOrEqual(2);
    // the EOI's ESB load comes after the handler
    expect(latency({ xiveEsbLoadNs: DEFAULT_GUEST_COSTS.xiveEsbLoadNs + d })).toBe(base);
  });

  it("IPIs that coalesce (Q set while P was) are re-triggered at the EOI and none is lost", () => {
    const g = boot();
    const [cpu0, cpu1, cpu2, cpu3] = g.kernel.cpus as GuestCpu[];
    // cpu 1 soft-masked for 200 us: the first IPI is presented and masked (hard-disabled until the
    // replay), the two after it find P set and only set Q
    let ran = 0;
    while (!cpu1.canInject) g.sim.step();
    cpu1.injectWork(
      (function* () {
        cpu1.localIrqDisable();
        yield { k: "delay", ns: 200_000 };
        yield SYNC;
        yield* cpu1.localIrqEnable();
      })(),
    );
    for (const [src, at] of [
      [cpu0, 20_000],
      [cpu2, 40_000],
      [cpu3, 60_000],
    ] as const) {
      while (!src.canInject) g.sim.step();
      src.injectWork(
        (function* () {
          yield { k: "delay", ns: at };
          yield SYNC;
          yield* src.callFunctionSingle(cpu1, () => {
            ran++;
          });
        })(),
      );
    }
    const coalesced = g.platform.xive.stats.coalesced;
    g.sim.runFor(1_000_000);
    expect(ran).toBe(3);
    expect(g.platform.xive.stats.coalesced - coalesced).toBeGreaterThan(0);
    // the EOI that found Q set triggered once more: a second receive cycle found nothing new
    expect(g.kernel.xive?.stats.ipisReceived).toBe(2);
  });
});
