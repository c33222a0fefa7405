// The guest kernel's boot, path by path, on the test platform: what Linux prints and does when the
// hypervisor or the firmware answers otherwise than a healthy QEMU/KVM does.
// linux: arch/powerpc/platforms/pseries/setup.c (pseries_little_endian_exceptions),
// platforms/pseries/lpar.c (vpa_init, register_vpa), platforms/pseries/smp.c (smp_startup_cpu,
// smp_pSeries_kick_cpu), kernel/cpu.c (__cpu_up), sysdev/xics/icp-hv.c (icp_hv_set_cpu_priority),
// kernel/smp.c (smp_cpus_done: "Brought up %d node(s), %d CPU(s)"), kernel/printk/printk.c
// (print_time), kernel/prom.c (early_init_devtree).
import { encodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import {
  H_CPPR,
  H_FUNCTION,
  H_PARAMETER,
  H_REGISTER_VPA,
  H_SET_MODE,
  KVMPPC_H_CAS,
  LPPACA_OLD_STATUS_OFFSET,
  LPPACA_SIZE,
} from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { guestDtb, guestTree } from "../test-helpers/fixtures.js";
import { TestPlatform } from "../test-helpers/platform.js";
import { LPPACA_BASE, lppacaAddr } from "./image.js";
import { createGuestKernel, type GuestKernelConfig } from "./kernel.js";
import { PROM_CAS_BUF, PROM_CAS_VEC } from "./prom-cas.js";
import type { TaskProgram } from "./task.js";

function platformFor(
  dtb: Uint8Array,
  config: GuestKernelConfig = {},
  prepare: (p: TestPlatform) => void = () => {},
  started: (p: TestPlatform) => void = () => {},
) {
  const sim = new Simulation({ seed: 3 });
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, ...config } });
  const platform = new TestPlatform({ sim, image: kernel, dtb, threadsPerCore: 4 });
  prepare(platform);
  platform.start();
  started(platform);
  return { sim, kernel, platform };
}

/** Boots until the kernel is no longer booting (or `limitNs` of virtual time passed). */
function boot(
  dtb: Uint8Array,
  config: GuestKernelConfig = {},
  prepare?: (p: TestPlatform) => void,
  limitNs = 1e9,
  started?: (p: TestPlatform) => void,
) {
  const r = platformFor(dtb, config, prepare, started);
  while (
    (r.kernel.state === "created" || r.kernel.state === "booting") &&
    r.sim.now < limitNs &&
    r.sim.step()
  ) {}
  return r;
}

const texts = (k: ReturnType<typeof boot>["kernel"], level?: string) =>
  k.console.lines.filter((l) => level === undefined || l.level === level).map((l) => l.text);

describe("early setup (setup_64.c, prom.c, pseries/setup.c)", () => {
  it("prints the banner, the CPU and the timebase as Linux does, then brings the CPUs up", () => {
    const { kernel } = boot(guestDtb({ cores: 1, threads: 4, stopLitePermitted: true }));
    const lines = texts(kernel);
    expect(kernel.state).toBe("running");
    expect(lines[lines.indexOf("Using pSeries machine description") - 1]).toMatch(
      /^Linux version \S+ \(stopsim guest\) #1 SMP$/,
    );
    // the tree's cpu-version (QEMU's POWER9 v2.0 model) and the PVR the vCPU reads (the host's
    // DD2.3 under KVM): the raw POWER9 cpu spec
    expect(lines).toContain("cpu-version: 0x004e1200, PVR 0x004e1203 (POWER9 (raw))");
    expect(lines.find((l) => l.startsWith("CPU features: "))).toMatch(/ ARCH_300 /);
    // timebase-frequency 512 MHz (the POWER9 timebase)
    expect(lines).toContain("time_init: decrementer frequency = 512.000000 MHz");
    expect(lines).toContain("cpuidle: platform permits stop0lite (ibm,stop-lite-permitted)");
    expect(lines).toContain("smp: Brought up 1 node, 4 CPUs");
    // the decrementer: 56-bit large decrementer in the tree, capped at the 32-bit maximum
    expect(kernel.decMaxValue).toBe(0x7fffffff);
  });

  it("says nothing of stop0lite when the platform does not permit it", () => {
    const { kernel } = boot(guestDtb({ cores: 1, threads: 4 }));
    expect(kernel.state).toBe("running");
    expect(kernel.console.contains("platform permits stop0lite")).toBe(false);
  });

  it("a refused H_SET_MODE(LE) is fatal before the console is up: message, panic, the CPU halts", () => {
    const { kernel, platform } = boot(guestDtb(), {}, (p) => p.hcallFailures.set(H_SET_MODE, H_PARAMETER));
    expect(texts(kernel, "emerg")).toEqual([
      "H_SET_MODE LE exception fail",
      "Kernel panic - not syncing: Could not enable little endian exceptions",
    ]);
    expect(kernel.state).toBe("panicked");
    expect(kernel.halted()).toBe(true);
    // nothing after it: no CPU brought up, no RTAS call made
    expect(platform.rtasLog).toEqual([]);
    expect(kernel.cpus.filter((c) => c?.online)).toHaveLength(0);
  });

  it("no flattened device tree at r3: the header check panics with the address it looked at", () => {
    // the tree in guest RAM overwritten after the platform loaded it: magic 0x000dfeed
    const { kernel, platform } = boot(guestDtb(), { cas: false }, undefined, 1e9, (p) =>
      p.ram.write8(p.dtbAddr, 0),
    );
    expect(texts(kernel, "emerg")).toEqual([
      `Invalid device tree blob header: FDT_ERR_BADMAGIC at offset 0: no flattened device tree at r3 = 0x${platform.dtbAddr.toString(16)}`,
      "Kernel panic - not syncing: Invalid device tree",
    ]);
    expect(kernel.state).toBe("panicked");
  });

  it("a header whose total size is too small for a tree is no tree either", () => {
    // totalsize 39 < 40 (the v17 header)
    const { kernel } = boot(guestDtb(), { cas: false }, undefined, 1e9, (p) =>
      p.ram.write32(p.dtbAddr + 4, 39, false),
    );
    expect(texts(kernel, "emerg")[0]).toBe(
      "Invalid device tree blob header: FDT_ERR_BADMAGIC at offset 0: no flattened device tree at r3 = 0x1000000",
    );
  });

  it("a tree with a good header but a broken structure block is an invalid blob", () => {
    const { kernel } = boot(guestDtb(), { cas: false }, undefined, 1e9, (p) => {
      const structOff = p.ram.read32(p.dtbAddr + 8, false);
      p.ram.write32(p.dtbAddr + structOff, 0xdeadbeef, false); // not FDT_BEGIN_NODE
    });
    const emerg = texts(kernel, "emerg");
    expect(emerg[0]).toMatch(/^Invalid device tree blob: /);
    expect(emerg[1]).toBe("Kernel panic - not syncing: Invalid device tree");
  });
});

describe("XICS setup (icp_hv_set_cpu_priority)", () => {
  it("every CPU opens its CPPR to LOWEST_PRIORITY; a failure is only logged", () => {
    const ok = boot(guestDtb({ cores: 1, threads: 4 }), { xive: false });
    expect(ok.platform.icps.map((i) => i.cppr)).toEqual([0xff, 0xff, 0xff, 0xff]);
    const bad = boot(guestDtb({ cores: 1, threads: 4 }), { xive: false }, (p) =>
      p.hcallFailures.set(H_CPPR, H_FUNCTION),
    );
    expect(bad.kernel.state).toBe("running");
    expect(texts(bad.kernel, "err").filter((l) => l === "xics: H_CPPR(0xff) failed with -2")).toHaveLength(4);
  });
});

describe("the VPA (vpa_init -> register_vpa)", () => {
  it("each CPU registers its own lppaca, its size field big-endian at offset 4", () => {
    const { kernel, platform } = boot(guestDtb({ cores: 1, threads: 4 }));
    expect(kernel.state).toBe("running");
    expect(platform.hcallCounts.get(H_REGISTER_VPA)).toBe(4);
    for (let cpu = 0; cpu < 4; cpu++) {
      const a = lppacaAddr(cpu);
      expect((platform.ram.read8(a + 4) << 8) | platform.ram.read8(a + 5)).toBe(LPPACA_SIZE);
    }
    expect(lppacaAddr(1) - lppacaAddr(0)).toBeGreaterThanOrEqual(LPPACA_SIZE);
    expect(lppacaAddr(0)).toBe(LPPACA_BASE);
  });

  it("a refused registration is logged per CPU with its hardware id and the return code", () => {
    const { kernel } = boot(guestDtb({ cores: 1, threads: 4 }), {}, (p) =>
      p.hcallFailures.set(H_REGISTER_VPA, H_PARAMETER),
    );
    expect(kernel.state).toBe("running");
    const warnings = texts(kernel, "err").filter((l) => l.startsWith("WARNING: VPA registration"));
    expect(warnings.sort()).toEqual(
      [0, 1, 2, 3].map((hw) => `WARNING: VPA registration for cpu ${hw} failed with -4`),
    );
    // without the hypervisor's shared-processor bit the kernel takes the dedicated table
    expect(kernel.driver?.shared).toBe(false);
  });

  it("without FW_FEATURE_SPLPAR the kernel never calls H_REGISTER_VPA (and pseries_idle_probe gives up)", () => {
    const tree = guestTree({ cores: 1, threads: 4 });
    tree.requireNode("/rtas").setPropStrings("ibm,hypertas-functions", ["hcall-pft", "hcall-set-mode"]);
    const { kernel, platform } = boot(encodeDtb(tree), { stop0lite: "always" });
    expect(kernel.state).toBe("running");
    expect(platform.hcallCounts.get(H_REGISTER_VPA) ?? 0).toBe(0);
    expect(kernel.console.contains("smp: Brought up 1 node, 4 CPUs")).toBe(true);
    expect(kernel.driver).toBe(null);
    expect(texts(kernel)).toContain("cpuidle: pseries_idle_probe: no FW_FEATURE_SPLPAR, no cpuidle driver");
  });
});

describe("bringing up the secondaries (smp_startup_cpu, __cpu_up)", () => {
  it("asks query-cpu-stopped-state then start-cpu for each secondary, with its hardware id and the entry", () => {
    const { kernel, platform } = boot(guestDtb({ cores: 1, threads: 4 }));
    const calls = platform.rtasLog.map((r) => `${r.service}(${r.args.join(",")})`);
    expect(calls).toEqual([
      "query-cpu-stopped-state(1)",
      "start-cpu(1,32768,1)",
      "query-cpu-stopped-state(2)",
      "start-cpu(2,32768,2)",
      "query-cpu-stopped-state(3)",
      "start-cpu(3,32768,3)",
    ]);
    expect(kernel.cpus.map((c) => c.online)).toEqual([true, true, true, true]);
  });

  it("a secondary that is not in the stopped state is left down, and the count says so", () => {
    const { kernel, platform } = boot(guestDtb({ cores: 1, threads: 2 }), {}, (p) =>
      p.rtasFailures.set("query-cpu-stopped-state", [0, 2]),
    );
    expect(kernel.state).toBe("running");
    expect(texts(kernel, "err")).toContain(
      "smp: cpu 1 (hw 1) is not in the stopped state (status 0, state 2)",
    );
    expect(platform.rtasLog.some((r) => r.service === "start-cpu")).toBe(false);
    expect(kernel.console.contains("smp: Brought up 1 node, 1 CPU")).toBe(true);
    expect(kernel.console.contains("1 CPUs")).toBe(false);
  });

  it("a failing query is as bad as a running CPU", () => {
    const { kernel } = boot(guestDtb({ cores: 1, threads: 2 }), {}, (p) =>
      p.rtasFailures.set("query-cpu-stopped-state", [-3, 0]),
    );
    expect(texts(kernel, "err")).toContain(
      "smp: cpu 1 (hw 1) is not in the stopped state (status -3, state 0)",
    );
    expect(kernel.console.contains("smp: Brought up 1 node, 1 CPU")).toBe(true);
  });

  it("start-cpu failing: the status is printed and the CPU stays down", () => {
    const { kernel } = boot(guestDtb({ cores: 1, threads: 4 }), {}, (p) =>
      p.rtasFailures.set("start-cpu", [-3]),
    );
    expect(texts(kernel, "err").filter((l) => l === "start-cpu failed: -3")).toHaveLength(3);
    expect(kernel.console.contains("smp: Brought up 1 node, 1 CPU")).toBe(true);
    expect(kernel.cpus.filter((c) => c?.online)).toHaveLength(1);
  });

  it("without a start-cpu token every secondary is stuck; without query-cpu-stopped-state it is not asked", () => {
    const tree = guestTree({ cores: 1, threads: 2 });
    tree.requireNode("/rtas").removeProp("start-cpu");
    const { kernel, platform } = boot(encodeDtb(tree));
    expect(texts(kernel, "err")).toContain("Processor 1 is stuck.");
    expect(kernel.console.contains("smp: Brought up 1 node, 1 CPU")).toBe(true);
    const t2 = guestTree({ cores: 1, threads: 2 });
    t2.requireNode("/rtas").removeProp("query-cpu-stopped-state");
    const r2 = boot(encodeDtb(t2));
    expect(r2.platform.rtasLog.map((r) => r.service)).toEqual(["start-cpu"]);
    expect(r2.kernel.console.contains("smp: Brought up 1 node, 2 CPUs")).toBe(true);
    expect(platform.rtasLog.map((r) => r.service)).toEqual(["query-cpu-stopped-state"]);
  });

  it("a secondary that never calls in is given up after 5 s (__cpu_up's wait)", () => {
    // start-cpu answers success but never starts the vCPU
    const { kernel, sim } = boot(
      guestDtb({ cores: 1, threads: 2 }),
      {},
      (p) => p.rtasFailures.set("start-cpu", [0]),
      20e9,
    );
    expect(kernel.state).toBe("running");
    expect(texts(kernel, "err")).toEqual(["Processor 1 is stuck."]);
    const stuck = kernel.console.lines.find((l) => l.text === "Processor 1 is stuck.");
    const started = kernel.console.lines.find((l) => l.text.startsWith("Linux version"));
    const waited = (stuck?.time ?? 0) - (started?.time ?? 0);
    expect(waited).toBeGreaterThanOrEqual(5e9);
    expect(waited).toBeLessThan(7e9);
    expect(sim.now).toBeGreaterThan(5e9);
  });
});

describe("the kernel log (printk, dmesg)", () => {
  it("stamps each line with the seconds and microseconds since boot, as print_time does", () => {
    const { kernel } = boot(guestDtb());
    const d = kernel.console.dmesg();
    expect(d[0]).toMatch(/^\[ {4}0\.\d{6}\] /);
    for (const [i, l] of kernel.console.lines.entries()) {
      const ns = l.time - kernel.bootTime;
      const sec = Math.floor(ns / 1e9);
      const usec = Math.floor((ns % 1e9) / 1e3);
      expect(d[i]).toBe(`[${String(sec).padStart(5, " ")}.${String(usec).padStart(6, "0")}] ${l.text}`);
    }
  });

  it("forwards every line to a listener as it is printed", () => {
    const r = platformFor(guestDtb());
    const seen: string[] = [];
    r.kernel.console.onLine = (l) => seen.push(`${l.level}:${l.text}`);
    while (r.kernel.state !== "running" && r.sim.step()) {}
    expect(seen).toEqual(r.kernel.console.lines.map((l) => `${l.level}:${l.text}`));
    expect(seen.length).toBeGreaterThan(5);
  });
});

describe("CAS (prom_init prom_send_capabilities)", () => {
  it("writes ibm_architecture_vec: the PVR pairs, their terminator, then six option vectors", () => {
    const { platform } = boot(guestDtb(), { cas: true });
    const ram = platform.ram;
    const w = (i: number) => ram.read32(PROM_CAS_VEC + 4 * i, false);
    // POWER9 (raw), architecture 3.00 (logical PVR), terminator: ~mask & value != 0
    expect([0, 1, 2, 3, 4, 5].map(w)).toEqual([
      0xffff0000, 0x004e0000, 0xffffffff, 0x0f000005, 0, 0xffffffff,
    ]);
    let a = PROM_CAS_VEC + 24;
    expect(ram.read8(a++)).toBe(5); // the number of vectors - 1
    const vectors: number[][] = [];
    for (let v = 0; v < 6; v++) {
      const len = ram.read8(a++) + 1;
      vectors.push(Array.from({ length: len }, () => ram.read8(a++)));
    }
    expect(vectors[0]).toEqual([0x80]); // OV1_PPC_3_00
    expect(vectors.slice(1, 4)).toEqual([[0], [0], [0]]);
    expect(vectors[4]).toHaveLength(26); // OV5 bytes 1..26
    expect(vectors[5]).toEqual([0, 0, 0]);
  });

  it("a platform without CAS: the warning, and the kernel boots from the tree it was given", () => {
    const { kernel, platform } = boot(guestDtb({ cores: 1, threads: 4 }), { cas: true });
    expect(platform.hcallCounts.get(KVMPPC_H_CAS)).toBe(1);
    expect(texts(kernel, "warning")).toContain("WARNING: ibm,client-architecture-support call FAILED!");
    expect(kernel.state).toBe("running");
    expect(kernel.cpus.filter((c) => c?.online)).toHaveLength(4);
  });

  it("success without the update header (version 1) in the buffer is a failure too", () => {
    const { kernel } = boot(guestDtb(), { cas: true }, (p) => p.hcallFailures.set(KVMPPC_H_CAS, 0));
    expect(texts(kernel, "warning")).toContain("WARNING: ibm,client-architecture-support call FAILED!");
  });

  it("after a successful CAS the kernel boots from the tree behind the buffer's 4-byte header", () => {
    const after = guestDtb({ cores: 1, threads: 2 });
    const { kernel } = boot(guestDtb({ cores: 1, threads: 4 }), { cas: true }, (p) => {
      p.hcallFailures.set(KVMPPC_H_CAS, 0);
      p.ram.write32(PROM_CAS_BUF, 1, false);
      after.forEach((b, i) => {
        p.ram.write8(PROM_CAS_BUF + 4 + i, b);
      });
    });
    expect(kernel.console.contains("WARNING: ibm,client-architecture-support call FAILED!")).toBe(false);
    // the QEMU tree offers XIVE or XICS (ibm,arch-vec-5-platform-support): the kernel asked for XIVE
    expect(texts(kernel)).toContain(" done (interrupt controller XIVE requested)");
    expect(kernel.state).toBe("running");
    expect(kernel.console.contains("smp: Brought up 1 node, 2 CPUs")).toBe(true);
  });

  it("without cas the kernel makes no CAS call", () => {
    const { platform } = boot(guestDtb(), { cas: false });
    expect(platform.hcallCounts.get(KVMPPC_H_CAS) ?? 0).toBe(0);
  });
});

describe("what the boot leaves behind", () => {
  it("the banner lines at their printk levels: the version at KERN_NOTICE, the rest at KERN_INFO", () => {
    const { kernel } = boot(guestDtb({ cores: 1, threads: 4, stopLitePermitted: true }));
    const level = (prefix: string) => kernel.console.lines.find((l) => l.text.startsWith(prefix))?.level;
    expect(level("Linux version ")).toBe("notice");
    for (const p of [
      "Using pSeries machine description",
      "cpu-version: ",
      "CPU features: ",
      "time_init: decrementer frequency",
      "cpuidle: platform permits stop0lite",
      "smp: Brought up",
    ])
      expect([p, level(p)]).toEqual([p, "info"]);
    expect(texts(kernel, "info")).toContain("time_init: processor frequency   = 1000.000000 MHz");
    expect(texts(kernel, "info").filter((l) => l.startsWith("smp: "))).toEqual([
      "smp: Brought up 1 node, 4 CPUs",
    ]);
  });

  it("one CPU up: 'CPU', not 'CPUs'", () => {
    const { kernel } = boot(guestDtb({ cores: 1, threads: 2 }), {}, (p) =>
      p.rtasFailures.set("start-cpu", [-3]),
    );
    expect(texts(kernel, "info").filter((l) => l.startsWith("smp: "))).toEqual([
      "smp: Brought up 1 node, 1 CPU",
    ]);
  });

  it("init is PID 1, and the tasks started later get the next PIDs", () => {
    const { kernel } = boot(guestDtb());
    const init = kernel.tasks.find((t) => t.name === "init");
    expect(init?.pid).toBe(1);
    function* idle(): TaskProgram {}
    const a = kernel.spawn("a", 1, idle());
    const b = kernel.spawn("b", 2, idle());
    expect([a.pid, b.pid]).toEqual([2, 3]);
  });

  it("vpa_init clears the whole lppaca before it fills in the size", () => {
    // garbage where the lppacas go, written once the image is loaded
    const { kernel, platform } = boot(guestDtb({ cores: 1, threads: 2 }), {}, undefined, 1e9, (p) => {
      for (let i = 0; i < 2 * 0x400; i++) p.ram.write8(LPPACA_BASE + i, 0xa5);
    });
    expect(kernel.state).toBe("running");
    for (let cpu = 0; cpu < 2; cpu++) {
      const a = lppacaAddr(cpu);
      const bytes = Array.from({ length: LPPACA_SIZE }, (_, i) => platform.ram.read8(a + i));
      // size (big-endian u16 at offset 4) and the shared-processor bit the hypervisor sets
      const others = bytes.filter((b, i) => b !== 0 && i !== 4 && i !== 5 && i !== LPPACA_OLD_STATUS_OFFSET);
      expect([cpu, others]).toEqual([cpu, []]);
      expect([bytes[4], bytes[5]]).toEqual([LPPACA_SIZE >> 8, LPPACA_SIZE & 0xff]);
    }
  });

  it("a tree with no interrupt controller it knows: the oops, PID 1 killed, as xics_request_ipi's BUG_ON gives", () => {
    const tree = guestTree({ cores: 1, threads: 2 });
    const intc = tree.root.children.find((c) => c.name.startsWith("interrupt-controller"));
    if (intc === undefined) throw new Error("fixture without an interrupt controller");
    tree.root.removeChild(intc);
    for (const [panicOnOops, reason] of [
      [false, "Attempted to kill init! exitcode=0x00000005"],
      [true, "Fatal exception"],
    ] as const) {
      const { kernel } = boot(encodeDtb(tree), { cas: false, xive: false, panicOnOops });
      const lines = kernel.console.lines
        .filter((l) => l.level === "emerg" || l.text.startsWith("WARNING: irq_create_mapping"))
        .map((l) => `${l.level}: ${l.text}`);
      expect(lines.slice(0, 7)).toEqual([
        "warning: WARNING: irq_create_mapping(, 2) called with NULL domain",
        "emerg: kernel BUG in xics_request_ipi (arch/powerpc/sysdev/xics/xics-common.c): BUG_ON(!ipi)",
        "emerg: Oops: Exception in kernel mode, sig: 5 [#1]",
        `emerg: CPU: 0 PID: 1 Comm: swapper/0 Not tainted ${kernel.release}`,
        "emerg: NIP [xics_request_ipi] LR [xics_smp_probe] Call Trace: pseries_smp_probe, smp_prepare_cpus, kernel_init_freeable",
        "emerg: ---[ end trace 0000000000000000 ]---",
        `emerg: Kernel panic - not syncing: ${reason}`,
      ]);
      expect(kernel.oopsCount).toBe(1);
      expect(kernel.state).toBe("panicked");
    }
  });

  it("dmesg counts from the boot, not from the start of the simulation", () => {
    const sim = new Simulation({ seed: 3 });
    const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0 } });
    const platform = new TestPlatform({ sim, image: kernel, dtb: guestDtb(), threadsPerCore: 4 });
    sim.schedule(2_500_000_000, () => platform.start());
    while (kernel.state !== "running" && sim.step()) {}
    expect(kernel.bootTime).toBeGreaterThanOrEqual(2_500_000_000);
    expect(kernel.console.dmesg()[0]).toMatch(/^\[ {4}0\.0\d{5}\] /);
  });
});

describe("IPIs (smp_muxed_ipi_message_pass, smp_ipi_demux_relaxed)", () => {
  it("smp_call_function_single: another CPU by IPI, counted at both ends; the own CPU directly", () => {
    const { sim, kernel } = boot(guestDtb({ cores: 1, threads: 4 }), { xive: false });
    const ran: number[] = [];
    const sent0 = kernel.cpus[1].stats.ipisSent;
    const recv0 = kernel.cpus[3].stats.ipisReceived;
    function* caller(): TaskProgram {
      yield { k: "callFunction", cpu: 3, fn: (c: number) => ran.push(c) };
      yield { k: "callFunction", cpu: 1, fn: (c: number) => ran.push(10 + c) };
    }
    kernel.spawn("caller", 1, caller());
    sim.runFor(20_000_000);
    expect(ran.sort((x, y) => x - y)).toEqual([3, 11]);
    expect(kernel.cpus[1].stats.ipisSent - sent0).toBe(1);
    expect(kernel.cpus[3].stats.ipisReceived - recv0).toBeGreaterThanOrEqual(1);
  });
});
