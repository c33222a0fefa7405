// bootHost's own decisions, the cost table and the kernel log: how the kernel reads its /cpus
// nodes (linux: arch/powerpc/kernel/prom.c early_init_dt_scan_cpus, setup-common.c
// smp_setup_cpu_maps), which options it refuses, the dmesg format (kernel/printk) and the
// kvm_exit names of arch/powerpc/kvm/trace_book3s.h.
import { encodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { chipById, PnvMachine, SPRN_FSCR, SPRN_HFSCR, SPRN_LPCR } from "@stopsim/isa";
import { buildHostDtb, buildHostTree, parseFirmwareVersion } from "@stopsim/opal";
import { describe, expect, it } from "vitest";
import { CostTableError, DEFAULT_HOST_COSTS, resolveCosts } from "./costs.js";
import { HostBootError, HostConfigError } from "./errors.js";
import { type BootHostOptions, bootHost } from "./host.js";
import { exitName } from "./kvm/trace-names.js";
import { KernelLog } from "./log.js";

const machineOf = (dd = "dd2.3") => new PnvMachine(new Simulation(), { chip: chipById(dd) });
const fw = parseFirmwareVersion("new");

function bootWith(edit: (t: ReturnType<typeof buildHostTree>) => void, o: Partial<BootHostOptions> = {}) {
  const machine = machineOf();
  const tree = buildHostTree({ machine, firmware: fw });
  edit(tree);
  return bootHost({ machine, dtb: encodeDtb(tree), kernel: "fallback", ...o });
}
const cpuNodes = (t: ReturnType<typeof buildHostTree>) =>
  t.requireNode("/cpus").children.filter((c) => c.name.startsWith("PowerPC,POWER9"));

describe("reading /cpus (early_init_dt_scan_cpus)", () => {
  it('only device_type "cpu" nodes with status okay (or none) are CPUs', () => {
    const host = bootWith((t) => {
      const [a, b] = cpuNodes(t);
      b.setPropString("status", "disabled");
      a.setPropString("status", "okay");
    });
    expect(host.cpus.map((c) => c.thread.pir)).toEqual([0, 1, 2, 3]);
    expect(host.log.at("info")).toContain('/cpus/PowerPC,POWER9@4: status "disabled", not started');
    const noType = bootWith((t) => cpuNodes(t)[1].removeProp("device_type"));
    expect(noType.cpus).toHaveLength(4);
    const badType = bootWith((t) =>
      cpuNodes(t)[1].setProp("device_type", new Uint8Array([0x63, 0x70, 0x75])),
    );
    expect(badType.cpus).toHaveLength(4);
    // an unreadable status is taken as okay
    const badStatus = bootWith((t) => cpuNodes(t)[1].setProp("status", new Uint8Array([0x6f, 0x6b])));
    expect(badStatus.cpus).toHaveLength(8);
  });

  it("a CPU node without cpu-version is skipped with a warning", () => {
    const host = bootWith((t) => cpuNodes(t)[1].removeProp("cpu-version"));
    expect(host.cpus).toHaveLength(4);
    expect(host.log.at("warn")).toContain("/cpus/PowerPC,POWER9@4: no cpu-version property: CPU skipped");
    const short = bootWith((t) => cpuNodes(t)[1].setProp("cpu-version", new Uint8Array([0, 0x4e, 0x12])));
    expect(short.cpus).toHaveLength(4);
  });

  it("without ibm,ppc-interrupt-server#s a CPU is the single thread its reg names; with neither it is skipped", () => {
    const host = bootWith((t) => {
      const [, b] = cpuNodes(t);
      b.removeProp("ibm,ppc-interrupt-server#s");
      b.setPropU32("reg", 6);
    });
    expect(host.cpus.map((c) => c.thread.pir)).toEqual([0, 1, 2, 3, 6]);
    const none = bootWith((t) => {
      const [, b] = cpuNodes(t);
      b.removeProp("ibm,ppc-interrupt-server#s");
      b.removeProp("reg");
    });
    expect(none.cpus).toHaveLength(4);
    expect(none.log.at("warn")).toContain(
      "/cpus/PowerPC,POWER9@4: neither ibm,ppc-interrupt-server#s nor reg: CPU skipped",
    );
    // a server list of odd length is unusable: reg is used instead
    const odd = bootWith((t) => {
      const [, b] = cpuNodes(t);
      b.setProp("ibm,ppc-interrupt-server#s", new Uint8Array([0, 0, 0, 4, 0]));
      b.setPropU32("reg", 5);
    });
    expect(odd.cpus.map((c) => c.thread.pir)).toEqual([0, 1, 2, 3, 5]);
  });

  it("ibm,chip-id is read, -1 when absent or too short", () => {
    const host = bootWith((t) => {
      const [a, b] = cpuNodes(t);
      a.removeProp("ibm,chip-id");
      b.setProp("ibm,chip-id", new Uint8Array([0, 0]));
    });
    expect(host.view.cores.map((c) => c.chipId)).toEqual([-1, -1]);
    const seven = bootWith((t) => cpuNodes(t)[0].setPropU32("ibm,chip-id", 7));
    expect(seven.view.cores[0].chipId).toBe(7);
  });

  it("without /cpus the kernel cannot find its CPUs", () => {
    expect(() =>
      bootWith((t) => {
        t.root.removeChild(t.requireNode("/cpus"));
      }),
    ).toThrow(new HostBootError("no /cpus node in the firmware device tree: the host cannot find its CPUs"));
  });
});

describe("bootHost options", () => {
  it("CONFIG_HZ: an integer from 24 to 1000; the tick period follows it", () => {
    for (const hz of [23, 1001, 250.5]) expect(() => bootWith(() => {}, { hz })).toThrow(HostConfigError);
    expect(() => bootWith(() => {}, { hz: 23 })).toThrow(
      "bootHost: hz must be an integer in 24..1000 (CONFIG_HZ), got 23",
    );
    for (const hz of [24, 1000]) expect(bootWith(() => {}, { hz }).kvm.host.tickNs).toBe(1e9 / hz);
    expect(bootWith(() => {}).kvm.host.tickNs).toBe(1e7);
  });

  it("disabledIdleStates must name states of this host", () => {
    expect(() => bootWith(() => {}, { disabledIdleStates: ["stop3"] })).toThrow(
      "bootHost: disabledIdleStates names 'stop3', which is not a cpuidle state of this host (snooze, stop0_lite, stop0, stop1, stop2, stop4, stop5)",
    );
    const host = bootWith(() => {}, { disabledIdleStates: ["stop4", "stop5"] });
    const usage = host.cpus[0].cpuidle.statesUsage;
    expect(usage.map((u) => u.disable)).toEqual([false, false, false, false, false, true, true]);
  });

  it("the cost table's overrides are merged, the name prefixes the seed streams", () => {
    const host = bootWith(() => {}, { costs: { guestEntryNs: 1234 }, name: "h2" });
    expect(host.costs.guestEntryNs).toBe(1234);
    expect(host.costs.guestExitNs).toBe(DEFAULT_HOST_COSTS.guestExitNs);
    expect(host.name).toBe("h2");
    expect(bootWith(() => {}).name).toBe("host");
  });

  it("the boot log says what was built: the kernel, the maps, the CPUs, XIVE and KVM", () => {
    const machine = machineOf("dd2.2");
    const host = bootHost({ machine, dtb: buildHostDtb({ machine, firmware: fw }), kernel: "patch1" });
    const info = host.log.at("info");
    expect(info[0]).toBe("Linux version 5.7.0-stopsim (KVM build patch1) #1 SMP");
    expect(info).toContain("cpu-version 0x004e1202: POWER9 DD2.2");
    expect(info).toContain("CPU maps initialized for 4 threads per core");
    expect(info).toContain("smp: Brought up 1 node, 8 CPUs");
    expect(info).toContain("XIVE: Interrupt handling initialized with native backend (8 CPUs, priority 7)");
    expect(info).toContain(
      "kvm-hv: build patch1: stop emulation on, guest PSSCR policy always-set, enable_guest_stop=false",
    );
    expect(info.some((l) => l.startsWith("cpu features: ") && l.includes("ARCH_300"))).toBe(true);
    expect(host.view.revision).toBe("POWER9 DD2.2");
  });

  it("every thread gets the LPCR, HFSCR and FSCR the feature handlers built", () => {
    const host = bootWith(() => {});
    for (const c of host.cpus) {
      expect(c.thread.getSpr(SPRN_LPCR)).toBe(host.cpuSpec.lpcr);
      expect(c.thread.getSpr(SPRN_HFSCR)).toBe(host.cpuSpec.hfscr);
      expect(c.thread.getSpr(SPRN_FSCR)).toBe(host.cpuSpec.fscr);
    }
  });

  it("idle residency is summed per state over the CPUs", () => {
    const host = bootWith(() => {});
    host.sim.runFor(30_000_000);
    const sum = host.idleResidency();
    const want: Record<string, number> = {};
    for (const c of host.cpus) for (const [k, v] of c.residencyNs) want[k] = (want[k] ?? 0) + v;
    expect(sum).toEqual(want);
    expect(Object.values(sum).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

describe("the cost table (resolveCosts)", () => {
  it("overrides replace defaults; exit handling entries merge with the default ones", () => {
    const t = resolveCosts({ hcallNs: 10, exitHandlingNs: { SYSCALL: 7, NEW_EXIT: 9 } });
    expect(t.hcallNs).toBe(10);
    expect(t.exitHandlingNs.SYSCALL).toBe(7);
    expect(t.exitHandlingNs.NEW_EXIT).toBe(9);
    expect(t.exitHandlingNs.H_DOORBELL).toBe(DEFAULT_HOST_COSTS.exitHandlingNs.H_DOORBELL);
    expect(resolveCosts()).toEqual(DEFAULT_HOST_COSTS);
    expect(resolveCosts({ jitterSigma: 0 }).jitterSigma).toBe(0);
  });

  it("refuses negative, infinite or non-number costs, naming the entry", () => {
    expect(() => resolveCosts({ blockNs: -1 })).toThrow(
      new CostTableError("host cost 'blockNs' must be a finite number >= 0, got -1"),
    );
    expect(() => resolveCosts({ blockNs: Number.POSITIVE_INFINITY })).toThrow(CostTableError);
    expect(() => resolveCosts({ blockNs: "5" as never })).toThrow(CostTableError);
    expect(() => resolveCosts({ exitHandlingNs: { SYSCALL: -2 } })).toThrow(
      "host cost exitHandlingNs.SYSCALL must be a finite number >= 0, got -2",
    );
    expect(() => resolveCosts({ exitHandlingNs: { SYSCALL: Number.NaN } })).toThrow(CostTableError);
    expect(() => resolveCosts({ exitHandlingNs: { SYSCALL: "1" as never } })).toThrow(CostTableError);
    expect(new CostTableError("x").name).toBe("CostTableError");
  });
});

describe("the kernel log", () => {
  it("dmesg prints the virtual time in seconds with six decimals, right-aligned in 12 columns", () => {
    const sim = new Simulation();
    const log = new KernelLog(sim);
    log.info("first");
    sim.runFor(1_234_567_891);
    log.err("later");
    expect(log.dmesg()).toEqual(["[    0.000000] first", "[    1.234568] later"]);
    expect(log.entries().map((l) => [l.time, l.level])).toEqual([
      [0, "info"],
      [1_234_567_891, "err"],
    ]);
  });

  it("lines are kept per level and selected by level", () => {
    const log = new KernelLog(new Simulation());
    log.err("e");
    log.warn("w");
    log.info("i");
    log.debug("d");
    expect(log.at("err")).toEqual(["e"]);
    expect(log.at("warn")).toEqual(["w"]);
    expect(log.at("info")).toEqual(["i"]);
    expect(log.at("debug")).toEqual(["d"]);
    expect(log.at("warn", "err")).toEqual(["e", "w"]);
    expect(log.at()).toEqual([]);
  });

  it("errors are named for what went wrong", () => {
    expect(new HostBootError("x").name).toBe("HostBootError");
    expect(new HostConfigError("x").name).toBe("HostConfigError");
  });
});

describe("kvm_exit names (trace_book3s.h kvm_trace_symbol_exit)", () => {
  it("the vectors of the kernel's table have its names; others print in hex", () => {
    const linux: [number, string][] = [
      [0x100, "SYSTEM_RESET"],
      [0x200, "MACHINE_CHECK"],
      [0x300, "DATA_STORAGE"],
      [0x380, "DATA_SEGMENT"],
      [0x400, "INST_STORAGE"],
      [0x480, "INST_SEGMENT"],
      [0x500, "EXTERNAL"],
      [0x502, "EXTERNAL_HV"],
      [0x600, "ALIGNMENT"],
      [0x700, "PROGRAM"],
      [0x800, "FP_UNAVAIL"],
      [0x900, "DECREMENTER"],
      [0x980, "HV_DECREMENTER"],
      [0xc00, "SYSCALL"],
      [0xd00, "TRACE"],
      [0xe00, "H_DATA_STORAGE"],
      [0xe20, "H_INST_STORAGE"],
      [0xe40, "H_EMUL_ASSIST"],
      [0xf00, "PERFMON"],
      [0xf20, "ALTIVEC"],
      [0xf40, "VSX"],
    ];
    for (const [v, name] of linux) expect([v, exitName(v)]).toEqual([v, name]);
    expect(exitName(0x1500)).toBe("0x1500");
  });
});
