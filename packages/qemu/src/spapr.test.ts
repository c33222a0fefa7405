import { decodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import type { Memory, ThreadSoftware } from "@stopsim/isa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QemuError } from "./errors.js";
import { KVM_EXIT_PAPR_HCALL } from "./kvm.js";
import type { QemuBuild } from "./machine.js";
import { ONE_REG_SPRS } from "./migration/migration.js";
import { rtasToken } from "./rtas-tokens.js";
import { type GuestKernelImage, H_RTAS, Qemu, type QemuHost } from "./spapr.js";
import { type DoubleVcpu, doubleHost, type GuestScript } from "./test-helpers/kvm-double.js";

const CAP_BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const PROBE_BUILD: QemuBuild = { stopLiteCap: false, probeKvmCapStop: true };
const KVM_REG_PPC_PSSCR = ONE_REG_SPRS.find(([n]) => n === 855)?.[1] ?? 0n;

const idleSoftware: ThreadSoftware = { interrupt: () => {}, resume: () => {} };
const image: GuestKernelImage = {
  entryPoint: 0x10000n,
  load: (ram: Memory) => ram.loadWords(0x10000, [0x210000000], false),
  cpu: () => idleSoftware,
};

function start(sim: Simulation, host: QemuHost, cmd: string, build = CAP_BUILD, name = "q"): Qemu {
  const r = Qemu.create({ sim, host, build, commandLine: cmd, image, name });
  if (r.kind !== "running") throw new Error(`expected a running QEMU, got ${r.kind}`);
  return r.qemu;
}

function startError(sim: Simulation, host: QemuHost, cmd: string, build = CAP_BUILD): QemuError {
  try {
    start(sim, host, cmd, build);
  } catch (e) {
    if (e instanceof QemuError) return e;
    throw e;
  }
  throw new Error("QEMU started");
}

/** Writes a PAPR rtas_args block (big-endian) and returns the H_RTAS exit for it. */
function rtasCall(ram: Memory, at: number, name: string, args: number[], nret: number) {
  ram.write32(at, rtasToken(name), false);
  ram.write32(at + 4, args.length, false);
  ram.write32(at + 8, nret, false);
  args.forEach((a, i) => {
    ram.write32(at + 12 + 4 * i, a, false);
  });
  return { reason: KVM_EXIT_PAPR_HCALL, paprHcall: { nr: H_RTAS, args: [BigInt(at)], ret: 0n } };
}

describe("starting the machine on a host", () => {
  it("refuses the new machine type on a host kernel without guest stop, and says how to fix it", () => {
    const sim = new Simulation();
    const host = doubleHost(sim, { guestStop: false });
    const e = startError(sim, host, "-M pseries -cpu POWER9 -smp 2 -m 1G -nographic");
    expect(e.message).toBe(
      "qemu-system-ppc64: Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)\nTry appending -machine cap-stop-lite=off",
    );
    expect(start(sim, host, "-M pseries,cap-stop-lite=off -smp 2 -m 1G").status).toBe("running");
    for (const m of ["pseries-5.0", "pseries-4.2"])
      expect(start(sim, host, `-M ${m} -m 1G`).status).toBe("running");
  });

  it("enables guest stop in KVM when the host supports it, and tells the guest through the tree", () => {
    const sim = new Simulation();
    const host = doubleHost(sim, { guestStop: true });
    const q = start(sim, host, "-M pseries -smp 2 -m 1G");
    expect(host.vms[0].enabled).toContain(0x53540002);
    expect(q.stopLitePermittedInDt()).toBe(true);
    expect(start(sim, host, "-M pseries-5.0 -m 1G").stopLitePermittedInDt()).toBe(false);
  });

  it("copies KVM_CAP_STOP in the host-probed design", () => {
    const sim = new Simulation();
    const dd23 = start(
      sim,
      doubleHost(sim, { guestStop: false, kvmCapStop: true }),
      "-M pseries-5.0",
      PROBE_BUILD,
    );
    const dd22 = start(
      sim,
      doubleHost(sim, { guestStop: false, kvmCapStop: false }),
      "-M pseries-5.0",
      PROBE_BUILD,
    );
    expect(dd23.stopLitePermittedInDt()).toBe(true);
    expect(dd22.stopLitePermittedInDt()).toBe(false);
  });

  it("writes the DTB into RAM and enters vCPU 0 at the kernel with r3 = the tree", () => {
    const sim = new Simulation();
    const host = doubleHost(sim, { guestStop: true });
    const q = start(sim, host, "-M pseries -cpu POWER9 -smp 2 -m 1G");
    const v0 = host.vms[0].vcpus[0];
    expect(v0.regs.pc).toBe(0x10000n);
    expect(v0.regs.gpr[3]).toBe(BigInt(q.fdtAddr));
    expect(q.fdtAddr).toBe((1 << 30) - 0x100000);
    const bytes = new Uint8Array(q.dtb.length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = q.ram.read8(q.fdtAddr + i);
    const tree = decodeDtb(bytes);
    expect(tree.requireNode("/cpus/PowerPC,POWER9@0").requireProp("cpu-version").asU32()).toBe(0x004e1202);
    expect(v0.runs).toBe(1);
    expect(host.vms[0].vcpus[1].runs).toBe(0);
  });

  it("returns the DTB for dumpdtb without running anything", () => {
    const sim = new Simulation();
    const host = doubleHost(sim, { guestStop: true });
    const r = Qemu.create({ sim, host, build: CAP_BUILD, commandLine: "-M pseries,dumpdtb=out.dtb -smp 2" });
    expect(r.kind).toBe("dumpdtb");
    if (r.kind === "dumpdtb")
      expect(decodeDtb(r.dtb).requireNode("/rtas").requireProp("start-cpu").asU32()).toBe(0x2006);
  });
});

describe("userspace hypercalls and RTAS", () => {
  it("starts a secondary with start-cpu, answers query-cpu-stopped-state, and records a panic from ibm,os-term", () => {
    const sim = new Simulation();
    const steps: Record<number, number> = {};
    const script: GuestScript = (v: DoubleVcpu, ram: Memory) => {
      const n = (steps[v.id] ?? 0) + 1;
      steps[v.id] = n;
      if (v.id === 0 && n === 1)
        return { delayNs: 1000, exit: rtasCall(ram, 0x2000, "query-cpu-stopped-state", [1], 2) };
      if (v.id === 0 && n === 2)
        return { delayNs: 1000, exit: rtasCall(ram, 0x2000, "start-cpu", [1, 0x3000, 7], 1) };
      if (v.id === 1 && n === 1)
        return { delayNs: 1000, exit: rtasCall(ram, 0x2100, "ibm,os-term", [0x4000], 1) };
      return { delayNs: 0, exit: null };
    };
    const host = doubleHost(sim, { guestStop: true, script });
    const q = start(sim, host, "-M pseries -smp 2 -m 1G");
    sim.runFor(1_500);
    expect(q.ram.read32(0x2000 + 16, false)).toBe(0); // status
    expect(q.ram.read32(0x2000 + 20, false)).toBe(0); // cpu 1 is stopped
    sim.runFor(10_000);
    const v1 = host.vms[0].vcpus[1];
    expect(v1.regs.pc).toBe(0x3000n);
    expect(v1.regs.gpr[3]).toBe(7n);
    expect(q.status).toBe("guest-panicked");
    expect(q.events.map((e) => e.event)).toContain("GUEST_PANICKED");
    expect(q.qmp("query-status")).toEqual({ status: "guest-panicked", singlestep: false, running: false });
    expect(() => q.qmp("cont")).toThrow(/Resetting the Virtual Machine is required/);
  });
});

/** A guest that keeps writing RAM (dirtying pages) through periodic exits. */
function busyGuest(pagesPerTick: number): GuestScript {
  let tick = 0;
  return (v, ram) => {
    if (v.id !== 0) return { delayNs: 0, exit: null };
    tick++;
    for (let i = 0; i < pagesPerTick; i++)
      ram.write32(0x100000 + ((tick * pagesPerTick + i) % 4096) * 4096, tick, false);
    return {
      delayNs: 1_000_000,
      exit: { reason: KVM_EXIT_PAPR_HCALL, paprHcall: { nr: 0x9999, args: [], ret: 0n } },
    };
  };
}

describe("live migration", () => {
  function pair(srcCmd: string, dstCmd: string, dstGuestStop: boolean, guest = busyGuest(4)) {
    const sim = new Simulation({ seed: 7 });
    const srcHost = doubleHost(sim, { guestStop: true, script: guest });
    const dstHost = doubleHost(sim, { guestStop: dstGuestStop, script: guest });
    const src = start(sim, srcHost, srcCmd, CAP_BUILD, "src");
    const dst = start(sim, dstHost, `${dstCmd} -incoming defer`, CAP_BUILD, "dst");
    return { sim, src, dst, srcHost, dstHost };
  }

  it("moves RAM, registers (PSSCR through ONE_REG) and the run state; measures downtime", () => {
    const { sim, src, dst, srcHost, dstHost } = pair(
      "-M pseries -smp 2 -m 256M",
      "-M pseries -smp 2 -m 256M",
      true,
    );
    sim.runFor(5_000_000);
    const sv0 = srcHost.vms[0].vcpus[0];
    sv0.setOneReg(KVM_REG_PPC_PSSCR, 0x3f0300n);
    src.ram.write32(0x2000000, 0xdeadbeef, false);
    const m = src.migrate(dst);
    expect(m.info().status).toBe("active");
    sim.runFor(2_000_000_000);
    expect(m.info().status).toBe("completed");
    expect(src.status).toBe("postmigrate");
    expect(dst.status).toBe("running");
    expect(dst.ram.read32(0x2000000, false)).toBe(0xdeadbeef);
    const dv0 = dstHost.vms[0].vcpus[0];
    expect(dv0.getOneReg(KVM_REG_PPC_PSSCR)).toBe(0x3f0300n);
    expect(dv0.regs.pc).toBe(sv0.regs.pc);
    expect(m.rounds).toBeGreaterThanOrEqual(1);
    expect(m.info().ram?.transferred).toBeGreaterThan(65536 * 9);
    expect(m.downtimeNs).toBeGreaterThan(0);
    expect(m.downtimeNs).toBeLessThan(300_000_000);
  });

  it("refuses cap-stop-lite=on into a destination that cannot provide it; the source keeps running", () => {
    const { sim, src, dst, srcHost } = pair(
      "-M pseries -m 256M",
      "-M pseries,cap-stop-lite=off -m 256M",
      false,
    );
    sim.runFor(5_000_000);
    const runsBefore = srcHost.vms[0].vcpus[0].runs;
    const m = src.migrate(dst);
    sim.runFor(2_000_000_000);
    expect(m.info()).toEqual({
      status: "failed",
      "error-desc": "load of migration failed: Invalid argument",
    });
    expect(dst.incomingError?.message).toBe(
      [
        "qemu-system-ppc64: cap-stop-lite higher level (1) in incoming stream than on destination (0)",
        "qemu-system-ppc64: error while loading state for instance 0x0 of device 'spapr'",
        "qemu-system-ppc64: load of migration failed: Invalid argument",
      ].join("\n"),
    );
    expect(src.status).toBe("running");
    sim.runFor(10_000_000);
    expect(srcHost.vms[0].vcpus[0].runs).toBeGreaterThan(runsBefore);
  });

  it("a destination without cap-stop-lite on the same machine type cannot even start; the old type migrates", () => {
    const sim = new Simulation();
    const dstHost = doubleHost(sim, { guestStop: false });
    expect(() => start(sim, dstHost, "-M pseries -incoming defer")).toThrow(/cap-stop-lite=off/);
    const { sim: s2, src, dst } = pair("-M pseries-5.0 -m 256M", "-M pseries-5.0 -m 256M", false);
    const m = src.migrate(dst);
    s2.runFor(2_000_000_000);
    expect(m.info().status).toBe("completed");
  });

  it("keeps the source intact when the destination dies mid-stream (property over crash points)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400_000 }), (crashAt) => {
        const { sim, src, dst, srcHost } = pair("-M pseries -m 256M", "-M pseries -m 256M", true);
        sim.runFor(3_000_000);
        src.ram.write32(0x2100000, 0x12345678, false);
        srcHost.vms[0].vcpus[0].setOneReg(KVM_REG_PPC_PSSCR, 0x300n);
        const m = src.migrate(dst, {}, { crashDestinationAfterBytes: crashAt });
        sim.runFor(2_000_000_000);
        expect(m.info().status).toBe("failed");
        expect(src.status).toBe("running");
        expect(src.ram.read32(0x2100000, false)).toBe(0x12345678);
        expect(srcHost.vms[0].vcpus[0].getOneReg(KVM_REG_PPC_PSSCR)).toBe(0x300n);
      }),
      { numRuns: 10 },
    );
  });

  it("answers QMP queries", () => {
    const sim = new Simulation();
    const q = start(sim, doubleHost(sim, { guestStop: true }), "-M pseries");
    expect(q.qmp("query-migrate")).toEqual({});
    const machines = q.qmp("query-machines") as { name: string; alias?: string }[];
    expect(machines.find((m) => m.alias === "pseries")?.name).toBe("pseries-5.1");
    expect(() => q.qmp("bogus")).toThrow("The command bogus has not been found");
    q.qmp("stop");
    sim.runFor(1000);
    expect(q.qmp("query-status")).toMatchObject({ status: "paused" });
  });
});
