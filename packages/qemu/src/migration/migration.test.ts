// The outgoing migration's state machine phase by phase, on two small machines of one host started
// paused (-S), so that nothing but the migration moves: setup, the bulk round and the dirty rounds
// paced by max-bandwidth, the switch to stop-and-copy by the downtime limit or the round limit,
// completion, and every failure (connection refused, a destination that dies or quits, a refused
// load with and without the return path), as QEMU 7.2's migration/migration.c does them
// (migrate_fd_connect, migration_iteration_run, migration_completion, migration_iteration_finish),
// the registers of target/ppc/kvm.c kvm_arch_get/put_registers and hw/ppc/spapr_caps.c
// spapr_caps_post_migration.
import { Simulation } from "@stopsim/engine";
import {
  KVM_REG_PPC_AMR,
  KVM_REG_PPC_BESCR,
  KVM_REG_PPC_CIABR,
  KVM_REG_PPC_DAR,
  KVM_REG_PPC_DAWR,
  KVM_REG_PPC_DAWRX,
  KVM_REG_PPC_DSCR,
  KVM_REG_PPC_DSISR,
  KVM_REG_PPC_EBBHR,
  KVM_REG_PPC_EBBRR,
  KVM_REG_PPC_FSCR,
  KVM_REG_PPC_IAMR,
  KVM_REG_PPC_LPCR_64,
  KVM_REG_PPC_MMCR0,
  KVM_REG_PPC_MMCR1,
  KVM_REG_PPC_MMCR2,
  KVM_REG_PPC_MMCRA,
  KVM_REG_PPC_PID,
  KVM_REG_PPC_PPR,
  KVM_REG_PPC_PSPB,
  KVM_REG_PPC_PSSCR,
  KVM_REG_PPC_PURR,
  KVM_REG_PPC_SDAR,
  KVM_REG_PPC_SIAR,
  KVM_REG_PPC_SIER,
  KVM_REG_PPC_SPURR,
  KVM_REG_PPC_TAR,
  KVM_REG_PPC_TIDR,
  KVM_REG_PPC_UAMOR,
  KVM_REG_PPC_VRSAVE,
  KVM_REG_PPC_WORT,
} from "@stopsim/host";
import { describe, expect, it } from "vitest";
import { MigrationError, QmpError } from "../errors.js";
import { capsOfBuild, type QemuBuild } from "../machine.js";
import { Qemu, type Vcpu } from "../spapr.js";
import { bootTestHost } from "../test-helpers/hosts.js";
import { TinyGuestImage } from "../test-helpers/tiny-guest.js";
import {
  type ChannelFault,
  kvmGetCpuState,
  kvmPutCpuState,
  type MigrationParameters,
  ONE_REG_SPRS,
  type OutgoingMigration,
  spaprCapsPostMigration,
} from "./migration.js";
import { QemuFileWriter } from "./qemu-file.js";
import {
  type LoadedVmState,
  loadVmState,
  type RamPage,
  saveHeader,
  saveRamSetup,
  TARGET_PAGE_SIZE,
} from "./savevm.js";

const BUILD: QemuBuild = { stopLiteCap: true, probeKvmCapStop: false };
const RAM = 128 << 20;
const SRC = "-M pseries -smp 2 -m 128M -S";
const DST = "-M pseries -smp 2 -m 128M -S -incoming tcp:[::]:4444";
const RUNNING = "-M pseries -smp 2 -m 128M";

/** Two machines on one DD2.3 host (fallback KVM), the destination listening unless told not to. */
function pair(srcCmd = SRC, dstCmd = DST, seed = 1) {
  const sim = new Simulation({ seed });
  const h = bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "fallback" }, "h");
  const mk = (cmd: string, name: string) => {
    const r = Qemu.create({
      sim,
      host: h.qemuHost,
      build: BUILD,
      commandLine: cmd,
      image: new TinyGuestImage({ sim, stop0lite: "platform" }),
      name,
    });
    if (r.kind !== "running") throw new Error(`expected a machine, got ${r.kind}`);
    return r.qemu;
  };
  return { sim, src: mk(srcCmd, "src"), dst: mk(dstCmd, "dst") };
}

function settle(sim: Simulation, m: OutgoingMigration): void {
  while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
}

/** The stream as it reached the destination, decoded by the loader, with each page as sent. */
function captured(): {
  fault: ChannelFault;
  decode: (dst: Qemu) => { state: LoadedVmState; pages: RamPage[] };
} {
  let bytes = new Uint8Array();
  return {
    fault: {
      alter: (b) => {
        bytes = b.slice();
        return b;
      },
    },
    decode: (dst) => {
      const pages: RamPage[] = [];
      const state = loadVmState(bytes, {
        machineType: dst.config.machineType.name,
        ramSize: dst.config.ramSize,
        nCpus: dst.vcpus.length,
        capNames: capsOfBuild(dst.build).map((c) => c.migName),
        xive: dst.irq.mode !== "xics",
        writePage: (_addr, p) => pages.push(p),
      });
      return { state, pages };
    },
  };
}

/** A page of distinct bytes (never sent as a fill). */
function writeMixedPage(q: Qemu, page: number, seed: number): void {
  for (let i = 0; i < TARGET_PAGE_SIZE; i += 8)
    q.ram.write64(page * TARGET_PAGE_SIZE + i, BigInt(seed * 4096 + i));
}

describe("the phases of an outgoing migration", () => {
  // the migrations of the timing test start 7 ms into the run
  const START = 7_000_000;
  // the times at which a paused source's two transmissions end: the bulk round, then the
  // stop-and-copy of the devices (a paused guest dirties nothing, so one round is enough)
  function milestones(params: Partial<MigrationParameters>) {
    const { sim, src, dst } = pair();
    sim.runFor(START);
    const m = src.migrate(dst, params);
    while (m.status === "active") sim.runFor(100_000);
    const l1 = m.transferred;
    expect(m.status).toBe("device");
    settle(sim, m);
    return { l1, l: m.transferred };
  }

  it("setup, the bulk round, stop-and-copy, completed: each transmission takes its bytes over max-bandwidth", () => {
    const bw = 1 << 20;
    const { l1, l } = milestones({ maxBandwidth: bw });
    // every page of RAM goes in the bulk round: 32768 pages of at least 9 bytes each
    expect(l1).toBeGreaterThan((RAM / TARGET_PAGE_SIZE) * 9);
    const { sim, src, dst } = pair();
    // the stream header and the RAM setup section are written when the migration starts; the
    // pacing starts with the first round
    const w = new QemuFileWriter();
    saveHeader(w, src.config.machineType.name);
    saveRamSetup(w, RAM, 2);
    const t1 = Math.ceil(((l1 - w.length) / bw) * 1e9);
    const t2 = Math.ceil(((l - l1) / bw) * 1e9);
    sim.runFor(START);
    const m = src.migrate(dst, { maxBandwidth: bw });
    expect(m.info()).toEqual({
      status: "active",
      "total-time": 0,
      ram: { transferred: 0, total: RAM, "dirty-sync-count": 0, "dirty-pages-rate": 0 },
    });
    expect(m.rounds).toBe(1);
    expect(() => src.migrate(dst)).toThrow(
      new QmpError("GenericError", "There's a migration process in progress"),
    );
    sim.runFor(t1 - 1);
    expect([m.status, m.transferred]).toEqual(["active", 0]);
    sim.runFor(1);
    // the round reached the destination: the dirty log is synced (nothing dirty), the source stops
    expect([m.status, m.transferred, m.dirtySyncCount]).toEqual(["device", l1, 1]);
    expect(src.status).toBe("finish-migrate");
    expect(m.info()).toMatchObject({ status: "device", "total-time": Math.round(t1 / 1e6) });
    expect(() => src.migrate(dst)).toThrow(
      new QmpError("GenericError", "There's a migration process in progress"),
    );
    sim.runFor(t2 - 1);
    expect(m.status).toBe("device");
    sim.runFor(1);
    expect([m.status, m.transferred]).toEqual(["completed", l]);
    expect([m.startNs, m.endNs, m.downtimeNs]).toEqual([START, START + t1 + t2, t2]);
    expect(src.status).toBe("postmigrate");
    expect(dst.status).toBe("paused");
    // the figures stop with the migration
    sim.runFor(50_000_000);
    expect(m.info()).toEqual({
      status: "completed",
      "total-time": Math.round((t1 + t2) / 1e6),
      downtime: Math.round(t2 / 1e6),
      ram: { transferred: l, total: RAM, "dirty-sync-count": 1, "dirty-pages-rate": 0 },
    });
    // a source that migrated away cannot migrate again
    expect(() => src.migrate(dst)).toThrow("cannot migrate a guest in state postmigrate");
  });

  it("stops iterating once the pages left fit the downtime limit (pending <= limit), not before", () => {
    // 4104 bytes per dirty page at 4104 kB/s: exactly 1 ms of pending transfer per page
    const run = (downtimeLimitNs: number) => {
      const { sim, src, dst } = pair();
      const m = src.migrate(dst, { maxBandwidth: 4104 * 1000, downtimeLimitNs });
      writeMixedPage(src, 100, 1);
      writeMixedPage(src, 7000, 2);
      settle(sim, m);
      expect(m.status).toBe("completed");
      for (const p of [100, 7000]) expect(dst.ram.readPage(p)).toEqual(src.ram.readPage(p));
      return [m.rounds, m.dirtySyncCount, m.dirtyPagesRate];
    };
    // two dirty pages after the bulk round: 2 ms pending
    expect(run(2_000_000)).toEqual([1, 1, 2]);
    expect(run(1_999_999)).toEqual([2, 2, 0]);
  });

  it("forces stop-and-copy after max-iterations rounds of a guest that keeps dirtying, and sends its last writes", () => {
    const { sim, src, dst } = pair();
    const m = src.migrate(dst, { maxBandwidth: 1 << 20, downtimeLimitNs: 0, maxIterations: 3 });
    let n = 0;
    const dirty = () => {
      if (m.status !== "active") return;
      src.ram.write64(5 * TARGET_PAGE_SIZE, BigInt(++n));
      src.ram.write64(9 * TARGET_PAGE_SIZE + 8, BigInt(n));
      sim.schedule(50_000, dirty);
    };
    dirty();
    settle(sim, m);
    expect(m.status).toBe("completed");
    expect([m.rounds, m.dirtySyncCount, m.dirtyPagesRate]).toEqual([3, 3, 2]);
    expect(dst.ram.read64(5 * TARGET_PAGE_SIZE)).toBe(BigInt(n));
    expect(dst.ram.read64(9 * TARGET_PAGE_SIZE + 8)).toBe(BigInt(n));
  });

  it("sends written pages as data, uniform ones as their fill byte and never-written ones as zero", () => {
    const { sim, src, dst } = pair();
    writeMixedPage(src, 200, 3);
    for (let i = 0; i < TARGET_PAGE_SIZE; i += 8)
      src.ram.write64(201 * TARGET_PAGE_SIZE + i, 0xababababababababn);
    const c = captured();
    const m = src.migrate(dst, {}, c.fault);
    // a page written during the migration comes in the last round
    src.ram.write64(202 * TARGET_PAGE_SIZE, 0x77n);
    settle(sim, m);
    const { pages } = c.decode(dst);
    const at = (page: number) => pages.filter((p) => p.addr === page * TARGET_PAGE_SIZE);
    expect(at(200).map((p) => "data" in p)).toEqual([true]);
    expect(at(201)).toEqual([{ addr: 201 * TARGET_PAGE_SIZE, fill: 0xab }]);
    expect(at(300)).toEqual([{ addr: 300 * TARGET_PAGE_SIZE, fill: 0 }]);
    expect(at(202).map((p) => "data" in p)).toEqual([false, true]);
    expect(dst.ram.readPage(201)).toEqual(new Uint8Array(TARGET_PAGE_SIZE).fill(0xab));
    expect(dst.ram.read64(202 * TARGET_PAGE_SIZE)).toBe(0x77n);
    // the destination never writes a zero fill over RAM it never wrote
    expect(dst.ram.isWritten(300)).toBe(false);
  });

  it("sends the spapr section: timebase and time at the stop, the caps QEMU must migrate, the CAS OV5", () => {
    // cap-large-decr=on is its default: not sent; cap-ccf-assist=off is not: sent
    const { sim, src, dst } = pair(
      "-M pseries,cap-large-decr=on,cap-ccf-assist=off -smp 2 -m 128M -S",
      "-M pseries,cap-ccf-assist=off -smp 2 -m 128M -S -incoming tcp:[::]:4444",
    );
    src.irq.ov5Cas = Uint8Array.from({ length: 27 }, (_, i) => i);
    const c = captured();
    const m = src.migrate(dst, {}, c.fault);
    settle(sim, m);
    expect(m.status).toBe("completed");
    const stoppedAt = (m.endNs ?? 0) - (m.downtimeNs ?? 0);
    expect(stoppedAt).toBeGreaterThan(0);
    const { state } = c.decode(dst);
    expect(state.spapr.timeOfTheDayNs).toBe(BigInt(stoppedAt));
    // the 512 MHz timebase: 0.512 ticks per ns
    expect(state.spapr.guestTimebase).toBe(BigInt(Math.floor((stoppedAt * 512) / 1000)));
    expect([...state.spapr.caps]).toEqual([
      ["hpt_maxpagesize", src.capLevel("hpt-max-page-size")],
      ["ccf_assist", 0],
    ]);
    expect(state.spapr.ov5Cas).toEqual(src.irq.ov5Cas);
    expect(dst.irq.ov5Cas).toEqual(src.irq.ov5Cas);
    // ic-mode dual before CAS runs XICS: no spapr-xive section
    expect(state.xive).toBeUndefined();
    expect(state.cpus).toEqual(src.vcpus.map((_, i) => kvmGetCpuState(src, i)));
  });

  it("sends the XIVE state when XIVE is the active controller", () => {
    const { sim, src, dst } = pair(
      "-M pseries,ic-mode=xive -smp 2 -m 128M -S",
      "-M pseries,ic-mode=xive -smp 2 -m 128M -S -incoming tcp:[::]:4444",
    );
    const c = captured();
    const m = src.migrate(dst, {}, c.fault);
    settle(sim, m);
    expect(m.status).toBe("completed");
    expect(c.decode(dst).state.xive).toEqual(src.irq.xive.saveState());
  });
});

describe("failures of an outgoing migration", () => {
  it("a destination that does not listen refuses the connection: failed in setup, the source as it was", () => {
    const { sim, src, dst } = pair(SRC, "-M pseries -smp 2 -m 128M -S -incoming defer");
    sim.runFor(5_000_000);
    const m = src.migrate(dst);
    expect(m.info()).toEqual({
      status: "failed",
      "error-desc": "Failed to connect to 'dst': Connection refused",
    });
    expect([m.endNs, m.startNs]).toEqual([5_000_000, 5_000_000]);
    expect(src.status).toBe("prelaunch");
    // no dirty logging is left on
    src.ram.write64(0x10000, 1n);
    expect(src.ram.syncDirtyLog()).toEqual([]);
    // the URI without its transport, as qio_channel_socket_connect_sync names it
    expect(src.migrateFailedToConnect("tcp:h2:49152").info()).toEqual({
      status: "failed",
      "error-desc": "Failed to connect to 'h2:49152': Connection refused",
    });
    // a failed migration is no migration in progress: once the destination listens, it goes
    dst.qmp("migrate-incoming", { uri: "tcp:[::]:4444" });
    const again = src.migrate(dst);
    settle(sim, again);
    expect(again.status).toBe("completed");
  });

  it("a destination dying in the bulk round fails the migration; a running source never stopped", () => {
    const { sim, src, dst } = pair(RUNNING);
    sim.runFor(5_000_000);
    const m = src.migrate(dst, {}, { crashDestinationAfterBytes: 1000 });
    settle(sim, m);
    expect(m.info()).toEqual({
      status: "failed",
      "error-desc": "Unable to write to socket: Connection reset by peer",
    });
    expect(m.transferred).toBe(1000);
    expect(dst.exitStatus).toBe(1);
    expect(dst.stderr).toBe("qemu-system-ppc64: destination terminated while receiving the stream");
    expect(src.status).toBe("running");
    expect(src.events.map((e) => e.event)).toEqual(["RESUME"]);
  });

  it("a destination dying in stop-and-copy: a running source runs again, a paused one stays in postmigrate", () => {
    // the bulk round's length, from a twin run
    const probe = pair();
    const pm = probe.src.migrate(probe.dst);
    while (pm.status === "active") probe.sim.runFor(100_000);
    const l1 = pm.transferred;
    for (const [cmd, after] of [
      [RUNNING, "running"],
      [SRC, "postmigrate"],
    ] as const) {
      const { sim, src, dst } = pair(cmd);
      const m = src.migrate(dst, {}, { crashDestinationAfterBytes: l1 });
      settle(sim, m);
      // the bulk round arrived whole (a crash only after more than the limit), the rest did not
      expect([m.status, m.transferred, m.rounds]).toEqual(["failed", l1, 1]);
      expect(dst.exitStatus).toBe(1);
      // qemu 7.2 migration_iteration_finish: vm_start() if it ran, else finish-migrate -> postmigrate
      expect(src.status).toBe(after);
      expect(src.events.filter((e) => e.event === "RESUME")).toHaveLength(cmd === SRC ? 0 : 2);
    }
  });

  it("a destination that quit before the stream reached it: failed, nothing delivered, its exit status kept", () => {
    const { sim, src, dst } = pair();
    const m = src.migrate(dst);
    dst.qmp("quit");
    settle(sim, m);
    expect(m.info()).toEqual({
      status: "failed",
      "error-desc": "Unable to write to socket: Connection reset by peer",
    });
    expect(m.transferred).toBe(0);
    expect(dst.exitStatus).toBe(0);
    expect(dst.incomingError).toBeUndefined();
  });

  it("a load the destination refuses: completed without the return path, failed without error-desc with it", () => {
    for (const returnPath of [false, true]) {
      for (const running of [false, true]) {
        const { sim, src, dst } = pair(
          running ? RUNNING : SRC,
          "-M pseries,cap-stop-lite=off -smp 2 -m 128M -S -incoming tcp:[::]:4444",
        );
        src.qmp("migrate-set-capabilities", {
          capabilities: [{ capability: "return-path", state: returnPath }],
        });
        const m = src.migrate(dst);
        // the capability is read when the migration starts
        src.migrationCapabilities["return-path"] = !returnPath;
        settle(sim, m);
        expect(dst.exitStatus).toBe(1);
        expect(dst.incomingError?.preceding).toEqual([
          "cap-stop-lite higher level (1) in incoming stream than on destination (0)",
          "error while loading state for instance 0x0 of device 'spapr'",
        ]);
        if (returnPath) {
          expect(m.info()).toStrictEqual({ status: "failed" });
          expect(src.status).toBe(running ? "running" : "postmigrate");
        } else {
          expect(m.info().status).toBe("completed");
          expect(m.downtimeNs).toBeGreaterThan(0);
          expect(src.status).toBe("postmigrate");
        }
      }
    }
  });

  it("the channel's alteration reaches the loader: a truncated stream is refused", () => {
    const { sim, src, dst } = pair();
    let ranges = 0;
    let length = 0;
    const m = src.migrate(
      dst,
      {},
      {
        alter: (b, valueRanges) => {
          ranges = valueRanges.length;
          length = b.length;
          return b.subarray(0, b.length - 1);
        },
      },
    );
    settle(sim, m);
    expect(length).toBe(m.transferred);
    expect(ranges).toBeGreaterThan(0);
    expect(dst.exitStatus).toBe(1);
    expect(dst.stderr).toMatch(/load of migration failed/);
    // without the return path the source completes all the same
    expect(m.status).toBe("completed");
  });
});

describe("the registers (kvm_arch_get_registers, kvm_arch_put_registers)", () => {
  it("takes GPRs, the special registers of kvm_regs and every ONE_REG SPR KVM offers, leaving out zeros", () => {
    const { src } = pair();
    const v = src.vcpus[1];
    const regs = v.fd.getRegs();
    regs.gpr = Array.from({ length: 32 }, (_, i) => BigInt(i * 3));
    Object.assign(regs, {
      cr: 0x80000001,
      lr: 0x1111n,
      ctr: 0x2222n,
      xer: 0x20000000n,
      msr: 0x8000000000001033n,
      pc: 0xc000000000001000n,
      srr0: 0x44n,
      srr1: 0n,
      pid: 7n,
      sprg0: 1n,
      sprg1: 2n,
      sprg2: 0n,
      sprg3: 4n,
    });
    v.fd.setRegs(regs);
    v.fd.setOneReg(KVM_REG_PPC_TAR, 0xabcn);
    v.fd.setOneReg(KVM_REG_PPC_DSCR, 0n);
    const s = kvmGetCpuState(src, 1);
    expect(s.index).toBe(1);
    expect(s.halted).toBe(true);
    expect(s.gpr).toEqual(regs.gpr);
    expect([s.cr, s.lr, s.ctr, s.xer, s.msr, s.nip]).toEqual([
      0x80000001,
      0x1111n,
      0x2222n,
      0x20000000n,
      0x8000000000001033n,
      0xc000000000001000n,
    ]);
    // env.spr[] by SPR number: SRR0 26, PID 48, SPRG0..3 272..275, TAR 815; zeros are not kept
    expect(s.spr.get(26)).toBe(0x44n);
    expect(s.spr.get(48)).toBe(7n);
    expect([272, 273, 274, 275].map((n) => s.spr.get(n))).toEqual([1n, 2n, undefined, 4n]);
    expect(s.spr.get(815)).toBe(0xabcn);
    expect(s.spr.has(27)).toBe(false);
    expect(s.spr.has(17)).toBe(false);
    for (const x of s.spr.values()) expect(x).not.toBe(0n);
    // LPCR comes from KVM's ONE_REG: the vCPU's real value
    expect(s.spr.get(318)).toBe(v.fd.getOneReg(ONE_REG_SPRS.find(([n]) => n === 318)?.[1] ?? 0n).value);
  });

  // the SPRs QEMU registers with a ONE_REG id (target/ppc/cpu_init.c spr_register_kvm), by their
  // numbers in target/ppc/cpu.h (SPR_DSCR 0x011 ... SPR_PPR 0x380)
  const QEMU_KVM_SPRS: [number, bigint][] = [
    [0x011, KVM_REG_PPC_DSCR],
    [0x012, KVM_REG_PPC_DSISR],
    [0x013, KVM_REG_PPC_DAR],
    [0x01d, KVM_REG_PPC_AMR],
    [0x030, KVM_REG_PPC_PID],
    [0x090, KVM_REG_PPC_TIDR],
    [0x099, KVM_REG_PPC_FSCR],
    [0x09d, KVM_REG_PPC_UAMOR],
    [0x09f, KVM_REG_PPC_PSPB],
    [0x0b4, KVM_REG_PPC_DAWR],
    [0x0bb, KVM_REG_PPC_CIABR],
    [0x0bc, KVM_REG_PPC_DAWRX],
    [0x100, KVM_REG_PPC_VRSAVE],
    [0x134, KVM_REG_PPC_SPURR],
    [0x135, KVM_REG_PPC_PURR],
    [0x13e, KVM_REG_PPC_LPCR_64],
    [0x310, KVM_REG_PPC_SIER],
    [0x311, KVM_REG_PPC_MMCR2],
    [0x312, KVM_REG_PPC_MMCRA],
    [0x31b, KVM_REG_PPC_MMCR0],
    [0x31c, KVM_REG_PPC_SIAR],
    [0x31d, KVM_REG_PPC_SDAR],
    [0x31e, KVM_REG_PPC_MMCR1],
    [0x324, KVM_REG_PPC_EBBHR],
    [0x325, KVM_REG_PPC_EBBRR],
    [0x326, KVM_REG_PPC_BESCR],
    [0x32f, KVM_REG_PPC_TAR],
    [0x33d, KVM_REG_PPC_IAMR],
    [0x357, KVM_REG_PPC_PSSCR],
    [0x37f, KVM_REG_PPC_WORT],
    [0x380, KVM_REG_PPC_PPR],
  ];

  it("syncs exactly the SPRs QEMU registers with ONE_REG ids, each under its env.spr number", () => {
    const byNumber = (t: readonly (readonly [number, bigint])[]) => [...t].sort((a, b) => a[0] - b[0]);
    expect(byNumber(ONE_REG_SPRS)).toEqual(QEMU_KVM_SPRS);
  });

  it("carries every ONE_REG SPR KVM offers from the source's vCPU into the destination's", () => {
    const { src, dst } = pair();
    const v = src.vcpus[0];
    const offered: [number, bigint, bigint][] = [];
    for (const [i, [n, id]] of QEMU_KVM_SPRS.entries()) {
      if (n === 0x13e) continue; // LPCR: KVM keeps its own bits
      const value = BigInt(0x100 + i);
      if (v.fd.setOneReg(id, value) === 0 && v.fd.getOneReg(id).value === value) offered.push([n, id, value]);
    }
    expect(offered.length).toBeGreaterThan(20);
    const s = kvmGetCpuState(src, 0);
    for (const [n, , value] of offered) expect([n, s.spr.get(n)]).toEqual([n, value]);
    kvmPutCpuState(dst, s);
    for (const [n, id, value] of offered)
      expect([n, dst.vcpus[0].fd.getOneReg(id).value]).toEqual([n, value]);
  });

  it("skips a register KVM refuses to read, as kvm_get_one_spr does", () => {
    const { src } = pair();
    const v = src.vcpus[0];
    v.fd.setOneReg(KVM_REG_PPC_TAR, 0x5n);
    v.fd.setOneReg(KVM_REG_PPC_PSSCR, 0x3n);
    const fd = Object.assign(Object.create(v.fd), {
      getOneReg: (id: bigint) => (id === KVM_REG_PPC_TAR ? { ret: -22, value: 0x5n } : v.fd.getOneReg(id)),
    });
    (src.vcpus as Vcpu[])[0] = { ...v, fd };
    const s = kvmGetCpuState(src, 0);
    expect(s.spr.has(815)).toBe(false);
    expect(s.spr.get(855)).toBe(0x3n);
  });

  it("puts the state into the destination's vCPU: registers, every ONE_REG SPR (absent ones as 0), halted", () => {
    const { src, dst } = pair();
    const v = src.vcpus[0];
    v.fd.setOneReg(KVM_REG_PPC_TAR, 0x99n);
    const regs = v.fd.getRegs();
    Object.assign(regs, { sprg0: 0x30n, sprg1: 0x31n, sprg2: 0x32n, sprg3: 0x33n, cr: 0x12345678 });
    v.fd.setRegs(regs);
    const s = kvmGetCpuState(src, 0);
    const d = dst.vcpus[0];
    d.fd.setOneReg(KVM_REG_PPC_DSCR, 0x10n);
    expect(d.halted).toBe(true);
    kvmPutCpuState(dst, { ...s, halted: false });
    expect(d.halted).toBe(false);
    kvmPutCpuState(dst, { ...s, halted: true });
    expect(d.fd.getRegs()).toEqual(v.fd.getRegs());
    const dr = d.fd.getRegs();
    expect([dr.sprg0, dr.sprg1, dr.sprg2, dr.sprg3]).toEqual([0x30n, 0x31n, 0x32n, 0x33n]);
    expect(d.fd.getOneReg(KVM_REG_PPC_TAR).value).toBe(0x99n);
    // the source had no DSCR: the destination's is cleared
    expect(d.fd.getOneReg(KVM_REG_PPC_DSCR).value).toBe(0n);
    expect(d.halted).toBe(true);
  });

  it("fails the load when KVM refuses KVM_SET_REGS", () => {
    const { src, dst } = pair();
    const s = kvmGetCpuState(src, 0);
    const d = dst.vcpus[0];
    (dst.vcpus as Vcpu[])[0] = { ...d, fd: Object.assign(Object.create(d.fd), { setRegs: () => -14 }) };
    expect(() => kvmPutCpuState(dst, s)).toThrow(new MigrationError("KVM_SET_REGS failed: errno 14"));
  });
});

describe("the destination's cap check (spapr_caps_post_migration)", () => {
  const loaded = (caps: [string, number][]): LoadedVmState => ({
    cpus: [],
    pages: 0,
    spapr: { guestTimebase: 0n, timeOfTheDayNs: 0n, caps: new Map(caps) },
  });

  it("refuses levels above its own, warns of levels below, and takes its defaults for caps not sent", () => {
    // destination: ccf-assist off (default on), stop-lite off (default on)
    const { dst } = pair(SRC, "-M pseries,cap-ccf-assist=off,cap-stop-lite=off -m 128M -S -incoming defer");
    expect(
      spaprCapsPostMigration(
        dst,
        loaded([
          ["ccf_assist", 0],
          ["stop_lite", 0],
        ]),
      ),
    ).toEqual([]);
    // a source level below the destination's: a warning only
    expect(
      spaprCapsPostMigration(
        dst,
        loaded([
          ["ccf_assist", 0],
          ["stop_lite", 0],
          ["fwnmi", 0],
        ]),
      ),
    ).toEqual(["cap-fwnmi lower level (0) in incoming stream than on destination (1)"]);
    // no subsection: the source ran this machine type's defaults (both on), above this destination
    let err: unknown;
    try {
      spaprCapsPostMigration(dst, loaded([["fwnmi", 0]]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as MigrationError).reason).toBe("load of migration failed: Invalid argument");
    expect((err as MigrationError).preceding).toEqual([
      "cap-ccf-assist higher level (1) in incoming stream than on destination (0)",
      "cap-stop-lite higher level (1) in incoming stream than on destination (0)",
      "error while loading state for instance 0x0 of device 'spapr'",
    ]);
  });
});
