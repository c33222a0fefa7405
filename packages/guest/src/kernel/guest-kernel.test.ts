// The guest kernel as a whole (kernel.ts): its configuration and the errors for bad values, the
// image QEMU loads (GuestKernelImage), the vCPUs it attaches and moves, the topology questions its
// CPUs ask (cpu_sibling_mask, pSeries_smp_probe's doorbell choice), rtas_call's argument buffer,
// tasks started from outside, and panic() with rtas_os_term.
// linux: arch/powerpc/kernel/rtas.c (rtas_call: the rtas_args buffer, its return slots zeroed
// before the call; rtas_os_term: only with ibm,os-term and ibm,extended-os-term, "OS panic: %s",
// "ibm,os-term call failed %d"), kernel/panic.c (panic: "Kernel panic - not syncing", smp_send_stop,
// the notifier chain, "---[ end Kernel panic - not syncing: ... ]---"),
// arch/powerpc/platforms/pseries/smp.c (pSeries_smp_probe).
import { readFileSync } from "node:fs";
import { decodeDtb, encodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { Memory, POWER9_DD22, POWER9_DD23, SmtCore } from "@stopsim/isa";
import { CPU_FTR_DBELL, CPU_FTR_SMT, H_FUNCTION, H_RTAS, MenuGovernor, TeoGovernor } from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { guestDtb, guestTree } from "../test-helpers/fixtures.js";
import { type StopPolicy, TestPlatform } from "../test-helpers/platform.js";
import { periodicTimer } from "../workloads/workloads.js";
import { KERNEL_TEXT_SIZE, RTAS_OS_TERM_BUF, rtasArgsAddr, TEXT } from "./image.js";
import { createGuestKernel, type GuestKernelConfig, STALL_NS } from "./kernel.js";
import { rtasBusyDelayTime } from "./lpar.js";
import { Task, type TaskProgram } from "./task.js";

interface BootOpts {
  cores?: number;
  threads?: number;
  dtb?: Uint8Array;
  seed?: number;
  trace?: boolean;
  policy?: StopPolicy;
  prepare?: (p: TestPlatform) => void;
  started?: (p: TestPlatform) => void;
}

/** Boots a guest on the test platform until it is no longer booting (at most 1 s of virtual time). */
function boot(config: GuestKernelConfig = {}, o: BootOpts = {}) {
  const sim = new Simulation({ seed: o.seed ?? 5, trace: o.trace ?? false });
  const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, ...config } });
  const threads = o.threads ?? 2;
  const dtb = o.dtb ?? guestDtb({ cores: o.cores ?? 1, threads });
  const platform = new TestPlatform({
    sim,
    image: kernel,
    dtb,
    threadsPerCore: threads,
    stopPolicy: o.policy ?? "native",
  });
  o.prepare?.(platform);
  platform.start();
  o.started?.(platform);
  while ((kernel.state === "created" || kernel.state === "booting") && sim.now < 1e9 && sim.step()) {}
  return { sim, kernel, platform };
}

function* idleProgram(): TaskProgram {}

describe("configuration (GuestKernelConfig)", () => {
  it("defaults to the upstream 2020 pseries kernel: menu, XIVE with CAS, HZ=100, panic_on_oops, a 10 s watchdog", () => {
    const kernel = createGuestKernel({ sim: new Simulation({ seed: 1 }) });
    expect(kernel.config).toEqual({
      stop0lite: "never",
      governor: "menu",
      ipi: "linux",
      xive: true,
      cas: true,
      hz: 100,
      panicOnOops: true,
      watchdogThreshS: 10,
      latencyReqNs: Number.POSITIVE_INFINITY,
      disableStates: [],
      initPollNs: 10_000_000,
      timedSteps: true,
    });
    expect(kernel.governor).toBeInstanceOf(MenuGovernor);
    expect(kernel.state).toBe("created");
    expect(kernel.entryPoint).toBe(0n);
    expect(kernel.release).toBe("5.6.0");
    expect(kernel.tickNs).toBe(10_000_000);
  });

  it("takes every value it is given", () => {
    const config: GuestKernelConfig = {
      stop0lite: "platform",
      governor: "teo",
      ipi: "xics",
      xive: false,
      cas: false,
      hz: 300,
      panicOnOops: false,
      watchdogThreshS: 3,
      latencyReqNs: 5_000,
      disableStates: ["stop0lite"],
      initPollNs: 1_000_000,
      timedSteps: false,
    };
    const kernel = createGuestKernel({ sim: new Simulation({ seed: 1 }), config });
    expect(kernel.config).toEqual(config);
    expect(kernel.governor).toBeInstanceOf(TeoGovernor);
    expect(kernel.release).toBe("5.6.0-stop0lite-platform");
    // the tick period in ns, rounded: 1e9 / 300
    expect(kernel.tickNs).toBe(3_333_333);
  });

  it("refuses bad values with an error naming the value", () => {
    const make = (config: Record<string, unknown>) => () =>
      createGuestKernel({ sim: new Simulation({ seed: 1 }), config: config as GuestKernelConfig });
    expect(make({ initPollNs: 0 })).toThrow("initPollNs must be > 0 ns, got 0");
    expect(make({ initPollNs: Number.NaN })).toThrow("initPollNs must be > 0 ns, got NaN");
    expect(make({ stop0lite: "sometimes" })).toThrow(
      "stop0lite must be one of never, always, arch300, platform, got 'sometimes'",
    );
    expect(make({ governor: "ladder" })).toThrow(`governor must be "menu" or "teo", got 'ladder'`);
    for (const hz of [0, 1001, 2.5, Number.NaN])
      expect(make({ hz })).toThrow(`hz must be an integer in 1..1000, got ${hz}`);
    expect(make({ governor: "ladder" })).toThrow(expect.objectContaining({ name: "GuestKernelError" }));
    // the bounds themselves are accepted
    expect(make({ hz: 1 })().tickNs).toBe(1_000_000_000);
    expect(make({ hz: 1000 })().tickNs).toBe(1_000_000);
    expect(make({ initPollNs: 1 })().config.initPollNs).toBe(1);
  });
});

describe("the image QEMU loads (GuestKernelImage)", () => {
  it("writes every text symbol's instruction words little-endian at its address", () => {
    const kernel = createGuestKernel({ sim: new Simulation({ seed: 1 }) });
    const ram = new Memory(KERNEL_TEXT_SIZE); // exactly the image's size is enough
    kernel.load(ram);
    for (const s of Object.values(TEXT))
      s.words.forEach((w, i) => {
        expect([s.name, i, ram.read32(s.addr + 4 * i, true)]).toEqual([s.name, i, w >>> 0]);
      });
    expect(kernel.memory).toBe(ram);
  });

  it("refuses a RAM too small for the image, saying what it needs", () => {
    const kernel = createGuestKernel({ sim: new Simulation({ seed: 1 }) });
    expect(() => kernel.load(new Memory(KERNEL_TEXT_SIZE - 1))).toThrow(
      "guest RAM of 65535 bytes cannot hold the kernel image (needs 0x10000)",
    );
    expect(kernel.memory).toBe(null);
  });

  it("keeps the first RAM; a later load (a migration destination) is remembered, not switched to", () => {
    const kernel = createGuestKernel({ sim: new Simulation({ seed: 1 }) });
    const first = new Memory(KERNEL_TEXT_SIZE);
    const second = new Memory(KERNEL_TEXT_SIZE);
    kernel.load(first);
    kernel.load(second);
    kernel.load(first);
    expect(kernel.memory).toBe(first);
    expect(kernel.loadedRams).toEqual([first, second]);
  });

  it("hands QEMU one software per vCPU, the same one each time it asks", () => {
    const kernel = createGuestKernel({ sim: new Simulation({ seed: 1 }) });
    const a = kernel.cpu(0);
    expect(kernel.cpu(0)).toBe(a);
    expect(kernel.cpu(1)).not.toBe(a);
  });

  it("whenReady: a listener waits for the boot to finish; once running it is called at once", () => {
    const sim = new Simulation({ seed: 5 });
    const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0 } });
    const platform = new TestPlatform({
      sim,
      image: kernel,
      dtb: guestDtb({ cores: 1, threads: 2 }),
      threadsPerCore: 2,
    });
    const seen: string[] = [];
    kernel.whenReady(() => seen.push(`early:${kernel.state}:${kernel.cpus.filter((c) => c.online).length}`));
    expect(seen).toEqual([]);
    platform.start();
    sim.runFor(200_000_000);
    expect(seen).toEqual(["early:running:2"]);
    kernel.whenReady(() => seen.push("late"));
    expect(seen).toEqual(["early:running:2", "late"]);
    sim.runFor(10_000_000);
    expect(seen).toEqual(["early:running:2", "late"]);
  });
});

describe("the CPUs and their topology", () => {
  it("finds CPUs by hardware id and by logical number, and says how many there are when asked for one too many", () => {
    const { kernel } = boot({}, { cores: 2, threads: 2 });
    expect(kernel.cpus.map((c) => [c.logical, c.hwId])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(kernel.cpuByHwId(2)).toBe(kernel.cpus[2]);
    expect(kernel.cpuByHwId(4)).toBe(undefined);
    expect(kernel.cpuLogical(3)).toBe(kernel.cpus[3]);
    expect(() => kernel.cpuLogical(4)).toThrow("no logical cpu 4: the guest has 4");
    // the services a CPU is given answer the same
    const k = kernel.cpus[0].k;
    expect(k.cpu(1)).toBe(kernel.cpus[1]);
    expect(k.cpuByHwId(3)).toBe(kernel.cpus[3]);
    expect(() => k.cpu(7)).toThrow("no logical cpu 7: the guest has 4");
  });

  it("siblings share a core (cpu_sibling_mask); the thread within the core is the position in the cpu node", () => {
    const { kernel } = boot({}, { cores: 2, threads: 2 });
    const [c0, c1, c2, c3] = kernel.cpus;
    expect(kernel.areSiblings(c0, c1)).toBe(true);
    expect(kernel.areSiblings(c2, c3)).toBe(true);
    expect(kernel.areSiblings(c1, c2)).toBe(false);
    expect(kernel.areSiblings(c0, c3)).toBe(false);
    const k = c0.k;
    expect(k.areSiblings(c3, c2)).toBe(true);
    expect(k.areSiblings(c3, c0)).toBe(false);
    expect(kernel.cpus.map((c) => k.threadInCore(c))).toEqual([0, 1, 0, 1]);
  });

  it("before the tree is read no CPU is anyone's sibling, and IPIs do not use doorbells", () => {
    const sim = new Simulation({ seed: 1 });
    const kernel = createGuestKernel({ sim, config: { xive: false } });
    const core = new SmtCore(sim, { coreId: 0, chip: POWER9_DD23 });
    const a = kernel.attach(0, core.threads[0]);
    const b = kernel.attach(1, core.threads[1]);
    expect([a.logical, b.logical]).toEqual([0, 1]);
    expect(kernel.areSiblings(a, b)).toBe(false);
    expect(kernel.useDoorbell(a, b)).toBe(false);
    expect(a.k.threadInCore(b)).toBe(0);
    // attaching the same thread again gives the same CPU
    expect(kernel.attach(0, core.threads[0])).toBe(a);
  });

  it("doorbells (msgsndp) only to SMT siblings, with CPU_FTR_DBELL and CPU_FTR_SMT, on XICS, with ipi 'linux'", () => {
    const { kernel } = boot({ xive: false }, { cores: 2, threads: 2 });
    expect(kernel.xive).toBe(null);
    const [c0, c1, c2] = kernel.cpus;
    expect(kernel.useDoorbell(c0, c1)).toBe(true);
    expect(c0.k.useDoorbell(c1, c0)).toBe(true);
    expect(kernel.useDoorbell(c1, c2)).toBe(false);
    const bp = kernel.boot;
    if (bp === null) throw new Error("no boot parameters");
    for (const drop of [CPU_FTR_DBELL, CPU_FTR_SMT]) {
      kernel.boot = { ...bp, cpuFeatures: bp.cpuFeatures & ~drop };
      expect(kernel.useDoorbell(c0, c1)).toBe(false);
    }
    kernel.boot = bp;
    expect(kernel.useDoorbell(c0, c1)).toBe(true);
    // ipi "xics": always H_IPI
    const xics = boot({ xive: false, ipi: "xics" }, { cores: 2, threads: 2 }).kernel;
    expect(xics.useDoorbell(xics.cpus[0], xics.cpus[1])).toBe(false);
  });

  it("with XIVE no doorbells at all (pSeries_smp_probe: IPIs through the XIVE MMIOs are faster)", () => {
    // the XIVE node of a real post-CAS tree (QEMU 7.2, packages/qemu/fixtures/post-cas) in a tree
    // of one core with two threads
    const url = new URL("../../../qemu/fixtures/post-cas/pseries-5.1-xive-smp4.dtb", import.meta.url);
    const post = decodeDtb(new Uint8Array(readFileSync(url)));
    const ivpe = post.root.children.find((c) =>
      c.getProp("compatible")?.asStringList().includes("ibm,power-ivpe"),
    );
    if (ivpe === undefined) throw new Error("fixture without an ibm,power-ivpe node");
    const tree = guestTree({ cores: 1, threads: 2 });
    const node = tree.root.addChild(ivpe.name);
    for (const p of ivpe.properties) node.setProp(p.name, p.asBytes());
    const { kernel } = boot({ cas: false }, { dtb: encodeDtb(tree) });
    expect(kernel.state).toBe("running");
    expect(kernel.xive).not.toBe(null);
    expect(kernel.areSiblings(kernel.cpus[0], kernel.cpus[1])).toBe(true);
    expect(kernel.useDoorbell(kernel.cpus[0], kernel.cpus[1])).toBe(false);
  });

  it("each vCPU draws its cost jitter from its own stream, named by the kernel instance and the hardware id", () => {
    const sim = new Simulation({ seed: 1 });
    createGuestKernel({ sim });
    const kernel = createGuestKernel({ sim });
    expect(kernel.instance).toBe(1);
    const core = new SmtCore(sim, { coreId: 0, chip: POWER9_DD23 });
    const c = kernel.attach(3, core.threads[1]);
    expect(c.k.costStream(c)).toBe(sim.rng.stream("guest1/cpu3/costs"));
    expect(c.k.costs).toBe(kernel.costs);
    expect(c.timedSteps).toBe(true);
    const untimed = createGuestKernel({ sim, config: { timedSteps: false } });
    expect(untimed.attach(0, core.threads[2]).timedSteps).toBe(false);
  });

  it("the services tell the kernel's timebase frequency, decrementer maximum and whether it is halting", () => {
    const { kernel } = boot({}, { cores: 1, threads: 2 });
    const k = kernel.cpus[1].k;
    expect(k.tbFreq()).toBe(kernel.boot?.tbFreq);
    expect(k.tbFreq()).toBe(512_000_000);
    expect(k.decMax()).toBe(0x7fffffff);
    expect(k.halted()).toBe(false);
    expect(k.xive()).toBe(kernel.xive);
  });

  it("records its CPUs' events on one trace track per CPU when tracing is on", () => {
    const { sim, kernel } = boot({}, { cores: 1, threads: 2, trace: true });
    sim.runFor(30_000_000);
    const tr = sim.trace;
    const names = (cpu: number) =>
      tr
        .events()
        .filter((e) => e.name === "interrupt" && tr.getTrack(e.track).thread === `cpu${cpu}`)
        .map((e) => [tr.getTrack(e.track).process, e.cat]);
    expect(names(1).length).toBeGreaterThan(0);
    expect(names(1)[0]).toEqual(["guest", "guest"]);
    expect(kernel.tracks.size).toBe(2);
    // the same CPU keeps its track
    expect(kernel.traceTrack(kernel.cpus[1])).toBe(kernel.traceTrack(kernel.cpus[1]));
    expect(kernel.traceTrack(kernel.cpus[0])).not.toBe(kernel.traceTrack(kernel.cpus[1]));
  });

  it("records nothing when tracing is off", () => {
    const { sim, kernel } = boot({ xive: false }, { cores: 1, threads: 2 });
    // an IPI (its send is traced) and the ticks
    function* caller(): TaskProgram {
      yield { k: "callFunction", cpu: 0, fn: () => {} };
    }
    kernel.spawn("caller", 1, caller());
    sim.runFor(10_000_000);
    expect(kernel.cpus[1].stats.ipisSent).toBeGreaterThan(0);
    expect(sim.trace.size).toBe(0);
    expect(kernel.tracks.size).toBe(0);
  });
});

describe("vCPUs moving to another thread (a live migration's destination)", () => {
  it("the kernel boots in the RAM its first vCPU sees, when the image was loaded there", () => {
    const { kernel, platform } = boot(
      {},
      {
        prepare: (p) => {
          // the platform's threads see its RAM; a second RAM was loaded first
          const other = new Memory(1 << 20);
          p.opts.image.load(other);
          for (const t of p.threads) t.memory = p.ram;
        },
      },
    );
    expect(kernel.state).toBe("running");
    expect(kernel.memory).toBe(platform.ram);
  });

  it("a vCPU run on a thread of another RAM it was loaded into moves the kernel's memory there", () => {
    const { sim, kernel, platform } = boot({}, { cores: 1, threads: 2 });
    const cpu1 = kernel.cpus[1];
    const dest = new Memory(1 << 20);
    kernel.load(dest);
    expect(kernel.memory).toBe(platform.ram);
    const core = new SmtCore(sim, { coreId: 9, chip: POWER9_DD23 });
    // a thread whose memory the image was never loaded into: the kernel's memory stays
    const stray = core.threads[0];
    stray.memory = new Memory(1 << 20);
    kernel.cpuMoved(cpu1, stray);
    expect(kernel.memory).toBe(platform.ram);
    expect(cpu1.thread).toBe(stray);
    expect(cpu1.stats.rebinds).toBe(1);
    // a thread without memory: nothing to switch to
    kernel.cpuMoved(cpu1, core.threads[2]);
    expect(kernel.memory).toBe(platform.ram);
    const there = core.threads[1];
    there.memory = dest;
    kernel.cpuMoved(cpu1, there);
    expect(kernel.memory).toBe(dest);
    expect(cpu1.thread).toBe(there);
    expect(cpu1.stats.rebinds).toBe(3);
  });

  it("QEMU's software for a vCPU follows it: the same kernel CPU on the new thread, moved when that thread first runs it", () => {
    const { sim, kernel, platform } = boot({}, { cores: 1, threads: 2 });
    const sw = kernel.cpu(1);
    const cpu1 = kernel.cpus[1];
    const core = new SmtCore(sim, { coreId: 9, chip: POWER9_DD23 });
    const there = core.threads[1];
    // the old thread runs it: nothing moves
    sw.interrupt(platform.threads[1], 0x900);
    expect(cpu1.thread).toBe(platform.threads[1]);
    expect(cpu1.stats.rebinds).toBe(0);
    // the new thread: the same GuestCpu moves there
    sw.resume(there);
    expect(kernel.cpus[1]).toBe(cpu1);
    expect(cpu1.thread).toBe(there);
    expect(cpu1.stats.rebinds).toBe(1);
  });
});

describe("RTAS calls (rtas_call through H_RTAS)", () => {
  it("the arguments go big-endian in the CPU's rtas_args: token, nargs, nret, the arguments, then the return slots", () => {
    const { kernel, platform } = boot({}, { cores: 1, threads: 2 });
    const a = rtasArgsAddr(0);
    const be = (off: number) => platform.ram.read32(a + off, false);
    // the last call the boot CPU made: start-cpu of the secondary (3 arguments, 1 return)
    expect(be(0)).toBe(kernel.rtasToken("start-cpu"));
    expect([be(4), be(8)]).toEqual([3, 1]);
    expect([be(12), be(16), be(20), be(24)]).toEqual([1, 0x8000, 1, 0]);
    const calls = platform.rtasLog.map((r) => [r.service, ...r.args]);
    expect(calls).toEqual([
      ["query-cpu-stopped-state", 1],
      ["start-cpu", 1, 0x8000, 1],
    ]);
  });

  it("the return slots are zeroed before the call: a service that fills in only the status leaves the others 0", () => {
    // query-cpu-stopped-state answered with the status alone: its state slot keeps the 0 the
    // kernel wrote (QCSS_STOPPED), so the secondary is started; garbage there would have said
    // otherwise
    const { kernel, platform } = boot(
      {},
      {
        cores: 1,
        threads: 2,
        started: (p) => {
          p.rtasFailures.set("query-cpu-stopped-state", [0]);
          for (let i = 0; i < 0x100; i += 4) p.ram.write32(rtasArgsAddr(0) + i, 0xffffffff, false);
        },
      },
    );
    expect(kernel.cpus.filter((c) => c.online)).toHaveLength(2);
    expect(platform.rtasLog.map((r) => r.service)).toEqual(["query-cpu-stopped-state", "start-cpu"]);
  });

  it("return values are signed 32-bit: a failing start-cpu prints its negative status", () => {
    const { kernel } = boot(
      {},
      { cores: 1, threads: 2, started: (p) => p.rtasFailures.set("start-cpu", [-3]) },
    );
    expect(kernel.console.contains("start-cpu failed: -3")).toBe(true);
    expect(kernel.cpus.filter((c) => c.online)).toHaveLength(1);
  });

  it("a hypervisor that refuses H_RTAS: rtas_call reads the rets it zeroed as success, and the secondary never calls in", () => {
    const { sim, kernel, platform } = boot(
      {},
      { cores: 1, threads: 2, started: (p) => p.hcallFailures.set(H_RTAS, H_FUNCTION) },
    );
    while (kernel.state === "booting" && sim.now < 7e9 && sim.step()) {}
    expect(kernel.state).toBe("running");
    expect(platform.rtasLog).toEqual([]);
    // query-cpu-stopped-state "answered" status 0, state 0 (stopped); start-cpu "answered" 0
    expect(kernel.console.contains("is not in the stopped state")).toBe(false);
    expect(kernel.console.contains("start-cpu failed")).toBe(false);
    // __cpu_up waited its 5 s for a CPU nobody started
    expect(kernel.console.contains("Processor 1 is stuck.")).toBe(true);
    expect(kernel.cpus.filter((c) => c.online)).toHaveLength(1);
  });

  it("tokens come from /rtas; a missing one is RTAS_UNKNOWN_SERVICE", () => {
    const tree = guestTree({ cores: 1, threads: 2 });
    const token = tree.requireNode("/rtas").getProp("start-cpu")?.asU32();
    const { kernel } = boot({}, { dtb: encodeDtb(tree) });
    expect(kernel.rtasToken("start-cpu")).toBe(token);
    expect(kernel.rtasToken("ibm,no-such-call")).toBe(-1);
  });
});

describe("tasks started from outside the guest (spawn)", () => {
  it("a task spawned on a running guest is woken at once on an online CPU, not at init's next poll", () => {
    const { sim, kernel } = boot({ initPollNs: 1e9 }, { cores: 1, threads: 2 });
    let ranAt = -1;
    const t0 = sim.now;
    function* prog(): TaskProgram {
      ranAt = yield { k: "syscall", ns: 100 };
    }
    const task = kernel.spawn("quick", 1, prog());
    expect(task.state).toBe("sleeping");
    expect(kernel.tasks).toContain(task);
    sim.runFor(2_000_000);
    expect(ranAt).toBeGreaterThan(t0);
    expect(ranAt - t0).toBeLessThan(2_000_000);
    expect(task.state).toBe("dead");
    expect(kernel.pendingSpawns).toEqual([]);
  });

  it("a guest the watchdog found hung still starts a task at once on a CPU that runs", () => {
    const { sim, kernel } = boot({ initPollNs: 1e9 }, { cores: 1, threads: 2 });
    kernel.state = "hung";
    let ranAt = -1;
    function* prog(): TaskProgram {
      ranAt = yield { k: "syscall", ns: 100 };
    }
    const t0 = sim.now;
    kernel.spawn("rescue", 0, prog());
    sim.runFor(2_000_000);
    expect(ranAt).toBeGreaterThan(t0);
  });

  it("a task spawned while the kernel boots starts once it is running, not on a CPU that is still booting", () => {
    const sim = new Simulation({ seed: 5 });
    const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, initPollNs: 1e9 } });
    const platform = new TestPlatform({
      sim,
      image: kernel,
      dtb: guestDtb({ cores: 1, threads: 2 }),
      threadsPerCore: 2,
    });
    let readyAt = -1;
    kernel.whenReady(() => {
      readyAt = sim.now;
    });
    platform.start();
    while (!(kernel.state === "booting" && kernel.cpus[0]?.online) && sim.step()) {}
    let ranAt = -1;
    function* prog(): TaskProgram {
      ranAt = yield { k: "syscall", ns: 100 };
    }
    kernel.spawn("during-boot", 0, prog());
    sim.runFor(300_000_000);
    expect(readyAt).toBeGreaterThan(0);
    expect(ranAt).toBeGreaterThan(readyAt);
  });

  it("a task spawned before the boot waits for it; the boot's end starts it", () => {
    const sim = new Simulation({ seed: 5 });
    const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, initPollNs: 1e9 } });
    const platform = new TestPlatform({
      sim,
      image: kernel,
      dtb: guestDtb({ cores: 1, threads: 2 }),
      threadsPerCore: 2,
    });
    let ran = false;
    function* prog(): TaskProgram {
      yield { k: "syscall", ns: 100 };
      ran = true;
    }
    // before the tree is read any CPU number is taken (the boot checks nothing yet)
    const task = kernel.spawn("early", 1, prog());
    expect(task.pid).toBe(1);
    platform.start();
    sim.runFor(300_000_000);
    expect(kernel.state).toBe("running");
    expect(ran).toBe(true);
    // init came after it
    expect(kernel.tasks.map((t) => [t.name, t.pid])).toEqual([
      ["early", 1],
      ["init", 2],
    ]);
  });

  it("refuses a CPU the guest does not have, and any task once the guest panicked", () => {
    const { kernel } = boot({}, { cores: 1, threads: 2 });
    expect(() => kernel.spawn("x", 2, idleProgram())).toThrow(
      "cannot start task 'x' on cpu 2: the guest has cpus 0..1",
    );
    expect(() => kernel.spawn("y", -1, idleProgram())).toThrow(
      "cannot start task 'y' on cpu -1: the guest has cpus 0..1",
    );
    expect(kernel.spawn("z", 1, idleProgram()).cpu).toBe(1);
    kernel.state = "panicked";
    expect(() => kernel.spawn("w", 0, idleProgram())).toThrow("cannot start task 'w': the guest panicked");
  });

  it("wakeLocal (try_to_wake_up on the task's own CPU): a sleeping task becomes runnable and asks for a reschedule", () => {
    const { sim, kernel } = boot({}, { cores: 1, threads: 2 });
    const cpu = kernel.cpus[1];
    sim.runFor(5_000_000);
    const t = new Task(99, "w", 1, idleProgram());
    t.state = "sleeping";
    cpu.needResched = false;
    kernel.wakeLocal(t);
    expect(t.state).toBe("runnable");
    expect(t.wokenAt).toBe(sim.now);
    expect(cpu.runqueue).toContain(t);
    expect(cpu.needResched).toBe(true);
    // a task that is not sleeping is left alone
    const r = new Task(100, "r", 1, idleProgram());
    kernel.wakeLocal(r);
    expect(r.state).toBe("runnable");
    expect(cpu.runqueue).not.toContain(r);
    // a CPU running a task is not asked to reschedule (the task's next return to user does it)
    const s = new Task(101, "s", 1, idleProgram());
    s.state = "sleeping";
    cpu.needResched = false;
    cpu.current = r;
    kernel.wakeLocal(s);
    expect(cpu.runqueue).toContain(s);
    expect(cpu.needResched).toBe(false);
  });
});

describe("panic (kernel/panic.c) and rtas_os_term", () => {
  /** Boots 4 CPUs on a platform that answers stop with a program interrupt: die(), panic(). */
  function panicking(o: BootOpts = {}) {
    const r = boot({ stop0lite: "always" }, { cores: 1, threads: 4, policy: "program", ...o });
    r.sim.runFor(50_000_000);
    return r;
  }

  it("prints the reason, stops the other CPUs, tells the platform through ibm,os-term (which QEMU does not return from)", () => {
    const { kernel, platform } = panicking({
      started: (p) => {
        for (let i = 0; i < 64; i++) p.ram.write8(RTAS_OS_TERM_BUF + i, 0x58);
      },
    });
    expect(kernel.state).toBe("panicked");
    expect(kernel.halted()).toBe(true);
    const emerg = kernel.console.lines.filter((l) => l.level === "emerg").map((l) => l.text);
    expect(emerg.at(-1)).toBe("Kernel panic - not syncing: Fatal exception");
    // the buffer holds the NUL-terminated message (what the platform read up to the NUL)
    expect(platform.osTerm).toBe("OS panic: Fatal exception");
    expect(kernel.osTermMessage).toBe("OS panic: Fatal exception");
    expect(platform.runState).toBe("guest-panicked");
    expect(platform.rtasLog.at(-1)).toMatchObject({ service: "ibm,os-term", args: [RTAS_OS_TERM_BUF] });
    // smp_send_stop halted every other CPU; the panicking one is still in the call
    const oopsed = kernel.cpus.find((c) => !c.halted);
    expect(oopsed?.activity).toBe("in the hypervisor");
    expect(kernel.cpus.filter((c) => c.halted).map((c) => c.online)).toEqual([false, false, false]);
    expect(emerg).toContain(
      `CPU: ${oopsed?.logical} PID: 0 Comm: swapper/${oopsed?.logical} Not tainted ${kernel.release}`,
    );
  });

  it("a failing ibm,os-term is reported with its status; then the end marker, and the CPU halts too", () => {
    const { kernel } = panicking({ started: (p) => p.rtasFailures.set("ibm,os-term", [-3]) });
    const emerg = kernel.console.lines.filter((l) => l.level === "emerg").map((l) => l.text);
    expect(emerg.slice(-3)).toEqual([
      "Kernel panic - not syncing: Fatal exception",
      "ibm,os-term call failed -3",
      "---[ end Kernel panic - not syncing: Fatal exception ]---",
    ]);
    expect(kernel.cpus.map((c) => [c.halted, c.online])).toEqual([
      [true, false],
      [true, false],
      [true, false],
      [true, false],
    ]);
  });

  it("a busy ibm,os-term is called again at once until it answers (rtas_busy_delay); its final status is reported", () => {
    const { kernel, platform } = panicking({
      started: (p) => p.rtasReplies.set("ibm,os-term", [[-2], [9900], [9902], [-3]]),
    });
    const calls = platform.rtasLog.filter((e) => e.service === "ibm,os-term");
    expect(calls).toHaveLength(4);
    expect(calls.every((c) => c.args[0] === RTAS_OS_TERM_BUF)).toBe(true);
    const emerg = kernel.console.lines.filter((l) => l.level === "emerg").map((l) => l.text);
    expect(emerg.slice(-2)).toEqual([
      "ibm,os-term call failed -3",
      "---[ end Kernel panic - not syncing: Fatal exception ]---",
    ]);
  });

  it("the busy statuses rtas_busy_delay_time retries and how long each asks to wait", () => {
    expect(rtasBusyDelayTime(-2)).toBe(1);
    expect([9899, 9900, 9901, 9902, 9903, 9904, 9905, 9906].map(rtasBusyDelayTime)).toEqual([
      0, 1, 10, 100, 1000, 10000, 100000, 0,
    ]);
    for (const s of [0, -1, -3, 1, -9900]) expect(rtasBusyDelayTime(s)).toBe(0);
  });

  it("an ibm,os-term that returns success: no failure line, then the end marker", () => {
    const { kernel } = panicking({ started: (p) => p.rtasFailures.set("ibm,os-term", [0]) });
    const emerg = kernel.console.lines.filter((l) => l.level === "emerg").map((l) => l.text);
    expect(emerg.slice(-2)).toEqual([
      "Kernel panic - not syncing: Fatal exception",
      "---[ end Kernel panic - not syncing: Fatal exception ]---",
    ]);
  });

  it("without ibm,extended-os-term (firmware that may not return) or without ibm,os-term, no call is made", () => {
    for (const drop of ["ibm,extended-os-term", "ibm,os-term"]) {
      const tree = guestTree({ cores: 1, threads: 4 });
      const rtas = tree.requireNode("/rtas");
      expect(rtas.getProp(drop)).toBeDefined();
      rtas.removeProp(drop);
      const { kernel, platform } = panicking({ dtb: encodeDtb(tree) });
      expect([drop, kernel.state]).toEqual([drop, "panicked"]);
      expect(platform.rtasLog.some((r) => r.service === "ibm,os-term")).toBe(false);
      expect(kernel.osTermMessage).toBe(null);
      expect(platform.osTerm).toBe(null);
      expect(kernel.console.lines.slice(-2).map((l) => l.text)).toEqual([
        "Kernel panic - not syncing: Fatal exception",
        "---[ end Kernel panic - not syncing: Fatal exception ]---",
      ]);
      expect(kernel.cpus.every((c) => c.halted)).toBe(true);
    }
  });
});

describe("reports", () => {
  it("cpuidle sysfs per CPU, in logical order, once the driver is registered", () => {
    const sim = new Simulation({ seed: 5 });
    const kernel = createGuestKernel({ sim, config: { watchdogThreshS: 0, stop0lite: "always" } });
    expect(kernel.cpuidleSysfs()).toEqual([]);
    const platform = new TestPlatform({
      sim,
      image: kernel,
      dtb: guestDtb({ cores: 1, threads: 2 }),
      threadsPerCore: 2,
    });
    platform.start();
    // CPUs up, the driver not yet registered (pseries_processor_idle_init comes last)
    while (!(kernel.cpus.length === 2 && kernel.cpus[1]?.online) && sim.step()) {}
    expect(kernel.state).toBe("booting");
    expect(kernel.cpuidleSysfs()).toEqual([]);
    sim.runFor(200_000_000);
    const s = kernel.cpuidleSysfs();
    expect(s.map((c) => [c.cpu, c.states.map((x) => x.name)])).toEqual([
      [0, ["snooze", "stop0lite", "Shared Cede"]],
      [1, ["snooze", "stop0lite", "Shared Cede"]],
    ]);
    expect(s[1].states).toEqual(kernel.cpus[1].cpuidle?.sysfs());
  });

  it("stalledCpus looks for timers overdue by STALL_NS unless told otherwise", () => {
    // every wake-up from stop0lite lost (the DD2.2 erratum): CPU 1 sleeps past its timer for good
    const sim = new Simulation({ seed: 5 });
    const kernel = createGuestKernel({
      sim,
      config: { watchdogThreshS: 0, stop0lite: "always", disableStates: ["Shared Cede"] },
    });
    const platform = new TestPlatform({
      sim,
      image: kernel,
      dtb: guestDtb({ cores: 1, threads: 2 }),
      threadsPerCore: 2,
      chip: POWER9_DD22,
      guestStopErratum: { enabled: true, lostWakeupProbability: 1 },
    });
    platform.start();
    while (kernel.state !== "running" && sim.step()) {}
    kernel.cpus[0].cpuidle?.setDisabled("stop0lite", true);
    periodicTimer(kernel, 1, 200_000, 1_000);
    // half-way to a stall: overdue, but not by STALL_NS yet
    while (!kernel.stalledCpus(STALL_NS / 2).includes(1) && sim.now < 1e9 && sim.step()) {}
    expect(kernel.stalledCpus(0)).toContain(1);
    expect(kernel.stalledCpus()).not.toContain(1);
    sim.runFor(STALL_NS / 2 + 1_000);
    expect(kernel.stalledCpus()).toContain(1);
  });
});
