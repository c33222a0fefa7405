// The running machine on real hosts: skiboot's device tree for a POWER9 host, the host kernel
// with a KVM build, and a small guest kernel executing instruction words on the vCPUs.

import { decodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { KVM_REG_PPC_DEC_EXPIRY, KVM_REG_PPC_LPCR_64, KVM_REG_PPC_PSSCR, type KvmVcpu } from "@stopsim/host";
import { LPCR_LD } from "@stopsim/isa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QemuError } from "./errors.js";
import type { QemuBuild } from "./machine.js";
import { ONE_REG_SPRS } from "./migration/migration.js";
import { MigrationNetwork, Qemu, readHostCpuProperties } from "./spapr.js";
import { bootTestHost, type TestHost, type TestHostSpec } from "./test-helpers/hosts.js";
import { readTinyGuestState, type Stop0litePolicy, TinyGuestImage } from "./test-helpers/tiny-guest.js";

const CAP_BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const PROBE_BUILD: QemuBuild = { stopLiteCap: false, probeKvmCapStop: true };
const OLD: TestHostSpec = { chip: "dd2.2", firmware: "2020", kernel: "upstream-2020" };
const DD22: TestHostSpec = { chip: "dd2.2", firmware: "new", kernel: "fallback" };
const DD23: TestHostSpec = { chip: "dd2.3", firmware: "new", kernel: "fallback" };

function start(
  sim: Simulation,
  h: TestHost,
  cmd: string,
  opts: { build?: QemuBuild; name?: string; stop0lite?: Stop0litePolicy } = {},
): Qemu {
  const image = new TinyGuestImage({ sim, stop0lite: opts.stop0lite ?? "platform" });
  const r = Qemu.create({
    sim,
    host: h.qemuHost,
    build: opts.build ?? CAP_BUILD,
    commandLine: cmd,
    image,
    name: opts.name ?? "q",
  });
  if (r.kind !== "running") throw new Error(`expected a running QEMU, got ${r.kind}`);
  return r.qemu;
}

function startError(sim: Simulation, h: TestHost, cmd: string): QemuError {
  try {
    start(sim, h, cmd);
  } catch (e) {
    if (e instanceof QemuError) return e;
    throw e;
  }
  throw new Error("QEMU started");
}

/** The host's KVM vCPU behind QEMU's vCPU `id` of the host's newest VM. */
function hostVcpu(h: TestHost, id: number): KvmVcpu {
  const vm = h.host.kvm.vmList.at(-1);
  const v = vm?.vcpus.get(id);
  if (v === undefined) throw new Error(`no vCPU ${id} on ${h.host.name}`);
  return v;
}

describe("starting the machine on a host", () => {
  it("refuses the new machine type on a host kernel without guest-stop support, and says how to fix it", () => {
    const sim = new Simulation();
    const old = bootTestHost(sim, OLD, "old");
    const e = startError(sim, old, "-M pseries -cpu POWER9 -smp 2 -m 1G -nographic");
    expect(e.message).toBe(
      "qemu-system-ppc64: Guest use of the lite stop instruction not available with KVM on this host (the host kernel does not handle guest stop)\nTry appending -machine cap-stop-lite=off",
    );
    const off = start(sim, old, "-M pseries,cap-stop-lite=off -smp 2 -m 1G");
    for (const m of ["pseries-5.0", "pseries-4.2"])
      expect(start(sim, old, `-M ${m} -m 1G`).status).toBe("running");
    sim.runFor(30_000_000);
    expect(off.status).toBe("running");
    const g = readTinyGuestState(off.ram);
    expect(g.useStop0lite).toBe(false);
    expect(g.cpus.every((c) => c.online && c.jiffies > 0)).toBe(true);
  });

  it("starts the new machine type on a fallback host and tells the guest through the tree", () => {
    for (const spec of [DD22, DD23]) {
      const sim = new Simulation();
      const h = bootTestHost(sim, spec, "h");
      const q = start(sim, h, "-M pseries -smp 2 -m 1G");
      expect(q.stopLitePermittedInDt()).toBe(true);
      expect(start(sim, h, "-M pseries-5.0 -m 1G").stopLitePermittedInDt()).toBe(false);
      sim.runFor(20_000_000);
      const g = readTinyGuestState(q.ram);
      expect([spec.chip, g.permitted, g.useStop0lite]).toEqual([spec.chip, true, true]);
    }
  });

  it("copies KVM_CAP_STOP into the tree in the host-probed design", () => {
    const sim = new Simulation();
    const dd23 = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "host-probed" }, "a");
    const dd22 = bootTestHost(sim, { chip: "dd2.2", firmware: "new", kernel: "host-probed" }, "b");
    const dd23old = bootTestHost(sim, { chip: "dd2.3", firmware: "2020", kernel: "host-probed" }, "c");
    const on = (h: TestHost) =>
      start(sim, h, "-M pseries-5.0", { build: PROBE_BUILD }).stopLitePermittedInDt();
    expect([on(dd23), on(dd22), on(dd23old)]).toEqual([true, false, false]);
  });

  it("reads the host CPU from /proc/device-tree: -cpu POWER9 takes the host PVR", () => {
    const sim = new Simulation();
    for (const [spec, pvr] of [
      [DD22, 0x004e1202],
      [DD23, 0x004e1203],
    ] as const) {
      const h = bootTestHost(sim, spec, spec.chip);
      expect(readHostCpuProperties(h.host.tree)).toMatchObject({
        pvr,
        timebaseFrequency: 512_000_000,
        decBits: 56,
      });
      const q = start(sim, h, "-M pseries -cpu POWER9 -smp 2 -m 1G");
      const cpu = decodeDtb(q.dtb).requireNode("/cpus/PowerPC,POWER9@0");
      expect(cpu.requireProp("cpu-version").asU32()).toBe(pvr);
      expect(cpu.requireProp("timebase-frequency").asU32()).toBe(512_000_000);
    }
  });

  it("loads the tree below the RMA top, enters vCPU 0 at the kernel with r3 = the tree, sets LPCR[LD]", () => {
    const sim = new Simulation();
    const h = bootTestHost(sim, DD23, "h");
    const q = start(sim, h, "-M pseries -cpu POWER9 -smp 2 -m 1G -S");
    expect(q.status).toBe("prelaunch");
    expect(q.fdtAddr).toBe((1 << 30) - 0x100000);
    const v0 = hostVcpu(h, 0);
    expect(v0.getRegs().pc).toBe(q.image?.entryPoint);
    expect(v0.getRegs().gpr[3]).toBe(BigInt(q.fdtAddr));
    // cap-large-decr (on in pseries-5.1): kvmppc_enable_cap_large_decr through ONE_REG LPCR
    expect(v0.getOneReg(KVM_REG_PPC_LPCR_64).value & LPCR_LD).toBe(LPCR_LD);
    const bytes = new Uint8Array(q.dtb.length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = q.ram.read8(q.fdtAddr + i);
    expect(bytes).toEqual(q.dtb);
    expect(hostVcpu(h, 1).runState).toBe("created");
    q.qmp("cont");
    sim.runFor(20_000_000);
    // the guest read that tree from RAM and started vCPU 1 through RTAS after asking its state
    const g = readTinyGuestState(q.ram);
    expect(g.bootDone).toBe(true);
    expect(g.cpus.map((c) => [c.id, c.online, c.queriedState])).toEqual([
      [0, true, undefined],
      [1, true, 0],
    ]);
    expect(q.console).toBe("cpuidle: using stop0lite (platform, 2 cpus)\n");
  });

  it("returns the DTB for dumpdtb without running anything", () => {
    const sim = new Simulation();
    const h = bootTestHost(sim, DD23, "h");
    const r = Qemu.create({
      sim,
      host: h.qemuHost,
      build: CAP_BUILD,
      commandLine: "-M pseries,dumpdtb=out.dtb -smp 2",
    });
    expect(r.kind).toBe("dumpdtb");
    if (r.kind === "dumpdtb")
      expect(decodeDtb(r.dtb).requireNode("/rtas").requireProp("start-cpu").asU32()).toBe(0x2006);
    expect(hostVcpu(h, 0).runState).toBe("created");
  });

  it("needs the kernel image, also for an incoming migration", () => {
    const sim = new Simulation();
    const h = bootTestHost(sim, DD23, "h");
    const create = (cmd: string) => () =>
      Qemu.create({ sim, host: h.qemuHost, build: CAP_BUILD, commandLine: cmd });
    expect(create("-M pseries")).toThrow(/No -kernel given/);
    expect(create("-M pseries -incoming defer")).toThrow(/an incoming migration needs the kernel image/);
  });
});

describe("userspace hypercalls, RTAS and run states", () => {
  it("records a guest panic from ibm,os-term: GUEST_PANICKED, vCPUs stopped, cont refused", () => {
    const sim = new Simulation();
    const old = bootTestHost(sim, OLD, "old");
    const q = start(sim, old, "-M pseries-5.0 -smp 2 -m 1G", { build: CAP_BUILD, stop0lite: "always" });
    sim.runFor(10_000_000);
    expect(q.status).toBe("guest-panicked");
    expect(q.events.map((e) => e.event)).toEqual(["RESUME", "GUEST_PANICKED"]);
    expect(q.console).toMatch(/Oops: Exception in kernel mode, sig: 4 \[#1\]\nNIP: 0x[0-9a-f]+ /);
    expect(q.console).toMatch(/Kernel panic - not syncing: Fatal exception\n$/);
    expect(q.qmp("query-status")).toEqual({ status: "guest-panicked", singlestep: false, running: false });
    expect(() => q.qmp("cont")).toThrow(/Resetting the Virtual Machine is required/);
    // the vCPUs are out of KVM_RUN and stay there
    expect([0, 1].map((id) => hostVcpu(old, id).runState)).toEqual(["userspace", "userspace"]);
    const g = readTinyGuestState(q.ram);
    expect(g.panicked).toBe(true);
    expect(old.host.kvm.vmList[0].exitCountsRecord().H_FAC_UNAVAIL).toBeGreaterThan(0);
  });

  it("answers QMP queries and pauses/resumes the vCPUs", () => {
    const sim = new Simulation();
    const q = start(sim, bootTestHost(sim, DD23, "h"), "-M pseries -smp 2");
    sim.runFor(15_000_000);
    expect(q.qmp("query-migrate")).toEqual({});
    const machines = q.qmp("query-machines") as { name: string; alias?: string }[];
    expect(machines.find((m) => m.alias === "pseries")?.name).toBe("pseries-5.1");
    expect(() => q.qmp("bogus")).toThrow("The command bogus has not been found");
    q.qmp("stop");
    sim.runFor(1_000_000);
    expect(q.qmp("query-status")).toMatchObject({ status: "paused" });
    const j = readTinyGuestState(q.ram).cpus[0].jiffies;
    sim.runFor(50_000_000);
    expect(readTinyGuestState(q.ram).cpus[0].jiffies).toBe(j);
    q.qmp("cont");
    sim.runFor(30_000_000);
    expect(readTinyGuestState(q.ram).cpus[0].jiffies).toBeGreaterThan(j);
  });
});

describe("live migration between real hosts", () => {
  function pair(
    fromSpec: TestHostSpec,
    toSpec: TestHostSpec,
    srcCmd: string,
    dstCmd: string,
    seed = 7,
    opts: { returnPath?: boolean; listen?: boolean } = {},
  ) {
    const sim = new Simulation({ seed });
    const h1 = bootTestHost(sim, fromSpec, "h1");
    const h2 = bootTestHost(sim, toSpec, "h2");
    const src = start(sim, h1, srcCmd, { name: "src" });
    const dst = start(sim, h2, `${dstCmd} -incoming defer`, { name: "dst" });
    if (opts.listen !== false) dst.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
    if (opts.returnPath) {
      src.qmp("migrate-set-capabilities", { capabilities: [{ capability: "return-path", state: true }] });
    }
    return { sim, h1, h2, src, dst };
  }

  it("refuses a destination on another Simulation (another partition): the stream has no declared latency", () => {
    const { sim, src } = pair(DD23, DD23, "-M pseries -m 256M", "-M pseries -m 256M");
    const far = new Simulation({ seed: 7 });
    const elsewhere = start(far, bootTestHost(far, DD23, "h3"), "-M pseries -m 256M -incoming defer", {
      name: "far",
    });
    sim.runFor(10_000_000);
    expect(() => src.migrate(elsewhere)).toThrow(
      /cannot migrate src to far: they run on different Simulations/,
    );
    expect(src.status).toBe("running");
  });

  it("-incoming defer listens only after migrate-incoming; the source is refused until then", () => {
    const { sim, src, dst } = pair(DD23, DD23, "-M pseries -m 256M", "-M pseries -m 256M", 7, {
      listen: false,
    });
    sim.runFor(10_000_000);
    expect(dst.qmp("query-status")).toMatchObject({ status: "inmigrate" });
    const m = src.migrate(dst);
    expect(m.info()).toEqual({
      status: "failed",
      "error-desc": "Failed to connect to 'dst': Connection refused",
    });
    expect(src.status).toBe("running");
    expect(() => src.qmp("migrate-incoming", { uri: "tcp:[::]:49152" })).toThrow(
      "For use with '-incoming defer'",
    );
    dst.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
    expect(() => dst.qmp("migrate-incoming", { uri: "tcp:[::]:49152" })).toThrow(
      "The incoming migration has already been started",
    );
    expect(src.qmp("query-migrate-capabilities")).toEqual([{ capability: "return-path", state: false }]);
    expect(() =>
      src.qmp("migrate-set-capabilities", { capabilities: [{ capability: "bogus", state: true }] }),
    ).toThrow("Parameter 'capability' does not accept value 'bogus'");
  });

  it("QMP migrate connects by URI over a MigrationNetwork to the host where the destination listens", () => {
    const sim = new Simulation({ seed: 3 });
    const network = new MigrationNetwork();
    const h1 = bootTestHost(sim, DD23, "h1");
    const h2 = bootTestHost(sim, DD23, "h2");
    const mk = (h: TestHost, hostname: string, cmd: string) => {
      const r = Qemu.create({
        sim,
        host: { ...h.qemuHost, hostname },
        build: CAP_BUILD,
        commandLine: cmd,
        image: new TinyGuestImage({ sim, stop0lite: "platform" }),
        name: hostname,
        network,
      });
      if (r.kind !== "running") throw new Error("no machine");
      return r.qemu;
    };
    const src = mk(h1, "h1", "-M pseries -m 256M");
    const dst = mk(h2, "h2", "-M pseries -m 256M -S -incoming defer");
    sim.runFor(10_000_000);
    src.qmp("migrate", { uri: "tcp:h2:49152" });
    expect(src.qmp("query-migrate")).toEqual({
      status: "failed",
      "error-desc": "Failed to connect to 'h2:49152': Connection refused",
    });
    dst.qmp("migrate-incoming", { uri: "tcp:[::]:49152" });
    src.qmp("migrate", { uri: "tcp:h2:49152" });
    while ((src.qmp("query-migrate") as { status: string }).status === "active") sim.runFor(1_000_000);
    while ((src.qmp("query-migrate") as { status: string }).status === "device") sim.runFor(1_000_000);
    expect(src.qmp("query-migrate")).toMatchObject({ status: "completed" });
    expect(dst.qmp("query-status")).toMatchObject({ status: "paused" });
  });

  it("always sends the spapr/cap/hpt_maxpagesize subsection, other caps only when set off their default", () => {
    const { sim, src, dst } = pair(DD23, DD23, "-M pseries -m 256M", "-M pseries -m 256M");
    sim.runFor(10_000_000);
    let stream = new Uint8Array();
    const m = src.migrate(
      dst,
      {},
      {
        alter: (bytes) => {
          stream = bytes.slice();
          return bytes;
        },
      },
    );
    while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
    expect(m.status).toBe("completed");
    const text = Buffer.from(stream);
    expect(text.includes("spapr/cap/hpt_maxpagesize")).toBe(true);
    expect(text.includes("spapr/cap/stop_lite")).toBe(false);
  });

  it("moves RAM, registers (PSSCR and the ONE_REG SPRs) and the run state; measures downtime", () => {
    const { sim, h1, h2, src, dst } = pair(
      DD23,
      DD22,
      "-M pseries -smp 2 -m 256M",
      "-M pseries -smp 2 -m 256M -S",
    );
    sim.runFor(30_000_000);
    const jiffiesBefore = readTinyGuestState(src.ram).cpus.map((c) => c.jiffies);
    const m = src.migrate(dst);
    expect(m.info().status).toBe("active");
    while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
    expect(m.info().status).toBe("completed");
    expect(src.status).toBe("postmigrate");
    // -S: the destination waits after loading; its vCPUs hold exactly the source's last state
    expect(dst.status).toBe("paused");
    for (const id of [0, 1]) {
      const a = hostVcpu(h1, id);
      const b = hostVcpu(h2, id);
      expect(b.getRegs()).toEqual(a.getRegs());
      for (const [, reg] of ONE_REG_SPRS) {
        const va = a.getOneReg(reg);
        if (va.ret === 0) expect([reg, b.getOneReg(reg).value]).toEqual([reg, va.value]);
      }
    }
    expect(hostVcpu(h2, 0).getOneReg(KVM_REG_PPC_PSSCR)).toEqual(
      hostVcpu(h1, 0).getOneReg(KVM_REG_PPC_PSSCR),
    );
    // the decrementer is not a ONE_REG QEMU syncs: the destination vCPU keeps its own
    expect(hostVcpu(h2, 0).getOneReg(KVM_REG_PPC_DEC_EXPIRY).ret).toBe(0);
    dst.qmp("cont");
    sim.runFor(30_000_000);
    const g = readTinyGuestState(dst.ram);
    expect(g.cpus.map((c) => c.jiffies > jiffiesBefore[g.cpus.indexOf(c)])).toEqual([true, true]);
    // the kernel's variables came with RAM: the tick count continues, it does not restart
    expect(g.cpus[0].jiffies).toBeGreaterThanOrEqual(jiffiesBefore[0] + 2);
    expect(m.rounds).toBeGreaterThanOrEqual(1);
    expect(m.info().ram?.transferred).toBeGreaterThan(65536 * 9);
    expect(m.downtimeNs).toBeGreaterThan(0);
    expect(m.downtimeNs).toBeLessThan(300_000_000);
  });

  it("without return-path: the destination refuses cap-stop-lite=on and exits; the source completes, paused in postmigrate", () => {
    const { sim, src, dst } = pair(DD23, OLD, "-M pseries -m 256M", "-M pseries,cap-stop-lite=off -m 256M");
    sim.runFor(20_000_000);
    const m = src.migrate(dst);
    while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
    // the source sent everything and learns nothing of the destination's error
    expect(m.info()).toMatchObject({ status: "completed" });
    expect(m.info()).not.toHaveProperty("error-desc");
    expect(src.qmp("query-status")).toEqual({ status: "postmigrate", singlestep: false, running: false });
    expect(dst.exitStatus).toBe(1);
    expect(dst.incomingError?.message).toMatch(/cap-stop-lite higher level \(1\) in incoming stream/);
    expect(() => dst.qmp("query-status")).toThrow(/QEMU exited with status 1/);
    // nobody runs the guest now: it is paused on the source and gone on the destination
    const j = readTinyGuestState(src.ram).cpus[0].jiffies;
    sim.runFor(30_000_000);
    expect(readTinyGuestState(src.ram).cpus[0].jiffies).toBe(j);
    // a management layer's cont runs it again ("Continuing after completed migration")
    src.qmp("cont");
    sim.runFor(30_000_000);
    expect(src.status).toBe("running");
    expect(readTinyGuestState(src.ram).cpus[0].jiffies).toBeGreaterThan(j);
  });

  it("with return-path: the same refusal fails the migration on the source, which keeps running", () => {
    const { sim, src, dst } = pair(
      DD23,
      OLD,
      "-M pseries -m 256M",
      "-M pseries,cap-stop-lite=off -m 256M",
      7,
      {
        returnPath: true,
      },
    );
    sim.runFor(20_000_000);
    const m = src.migrate(dst);
    while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
    // the return path closed without the destination's "shut": failed, and no error text with it
    expect(m.info()).toEqual({ status: "failed" });
    expect(dst.incomingError?.message).toBe(
      [
        "qemu-system-ppc64: cap-stop-lite higher level (1) in incoming stream than on destination (0)",
        "qemu-system-ppc64: error while loading state for instance 0x0 of device 'spapr'",
        "qemu-system-ppc64: load of migration failed: Invalid argument",
      ].join("\n"),
    );
    expect(dst.exitStatus).toBe(1);
    expect(src.status).toBe("running");
    const j = readTinyGuestState(src.ram).cpus[0].jiffies;
    sim.runFor(30_000_000);
    expect(readTinyGuestState(src.ram).cpus[0].jiffies).toBeGreaterThan(j);
  });

  it("keeps the source intact when the destination dies mid-stream (property over crash points)", () => {
    fc.assert(
      // (a 256M guest streams at least 65536 zero pages of 9 bytes: every crash point is inside)
      fc.property(fc.integer({ min: 0, max: 580_000 }), (crashAt) => {
        const { sim, src, dst } = pair(DD23, DD23, "-M pseries -m 256M", "-M pseries -m 256M", crashAt);
        sim.runFor(15_000_000);
        const before = readTinyGuestState(src.ram).cpus[0];
        const m = src.migrate(dst, {}, { crashDestinationAfterBytes: crashAt });
        while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
        expect(m.info().status).toBe("failed");
        expect(dst.status).toBe("shutdown");
        expect(src.status).toBe("running");
        sim.runFor(25_000_000);
        const after = readTinyGuestState(src.ram);
        expect(after.panicked).toBe(false);
        expect(after.cpus[0].jiffies).toBeGreaterThan(before.jiffies);
      }),
      { numRuns: 8 },
    );
  });
});
