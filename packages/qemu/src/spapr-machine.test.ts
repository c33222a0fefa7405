// Creating the machine and its life cycle decision by decision, on machines started paused (-S):
// what QEMU reads of the host CPU (qemu: target/ppc/kvm.c kvmppc_find_cpu_dt / kvmppc_read_int_cpu_dt),
// how it fails when KVM refuses a step (accel/kvm/kvm-all.c kvm_init, kvm_init_vcpu,
// kvm_set_user_memory_region), -M help / dumpdtb, and the run-state transitions of
// softmmu/runstate.c and migration/migration.c.
import { DeviceTree, decodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import {
  KVM_CAP_PPC_FIXUP_HCALL,
  KVM_CAP_PPC_FWNMI,
  KVM_CAP_PPC_GET_CPU_CHAR,
  KVM_CAP_PPC_GUEST_STOP,
  KVM_CAP_PPC_HTM,
  KVM_CAP_PPC_MMU_RADIX,
  KVM_CAP_PPC_NESTED_HV,
  KVM_CAP_STOP,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_MMIO,
  KVM_EXIT_PAPR_HCALL,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_UNKNOWN,
  KVM_REG_PPC_LPCR_64,
} from "@stopsim/host";
import { H_FUNCTION, H_PUT_TERM_CHAR, H_SUCCESS } from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import { MigrationError, QmpError } from "./errors.js";
import {
  KVM_CAP_PPC_RPT_INVALIDATE,
  type KvmRun,
  type KvmSystemFd,
  type KvmVcpuFd,
  type KvmVmFd,
} from "./kvm.js";
import {
  MigrationNetwork,
  QEMU_USERSPACE_EXIT_NS,
  Qemu,
  type QemuCreateOptions,
  readHostCpuProperties,
} from "./spapr.js";
import { qemuErrorOf } from "./test-helpers/errors.js";
import { bootTestHost, type TestHost } from "./test-helpers/hosts.js";
import { startMachine } from "./test-helpers/machines.js";
import { TinyGuestImage } from "./test-helpers/tiny-guest.js";

const BUILD = { stopLiteCap: true, probeKvmCapStop: false };

function host(sim: Simulation): TestHost {
  return bootTestHost(sim, { chip: "dd2.3", firmware: "new", kernel: "fallback" }, "h");
}

function create(over: Partial<QemuCreateOptions> & { sim: Simulation; host: QemuCreateOptions["host"] }) {
  return Qemu.create({
    build: BUILD,
    commandLine: "-M pseries -smp 2 -m 256M -S",
    image: new TinyGuestImage({ sim: over.sim, stop0lite: "platform" }),
    name: "q",
    ...over,
  });
}

function machine(cmd = "-M pseries -smp 2 -m 256M -S"): { sim: Simulation; h: TestHost; q: Qemu } {
  return startMachine(cmd, { seed: 4 });
}

const errorOf = qemuErrorOf;

/** `kvm` with each vCPU fd its VMs create patched. */
function withVcpuFds(kvm: KvmSystemFd, patch: (fd: KvmVcpuFd) => Partial<KvmVcpuFd>): KvmSystemFd {
  return {
    checkExtension: (c) => kvm.checkExtension(c),
    createVm: () => {
      const vm = kvm.createVm();
      if (typeof vm === "number") return vm;
      return Object.assign(Object.create(vm) as KvmVmFd, {
        createVcpu: (id: number) => {
          const fd = vm.createVcpu(id);
          return typeof fd === "number" ? fd : Object.assign(Object.create(fd) as KvmVcpuFd, patch(fd));
        },
      });
    },
  };
}

describe("the host CPU as QEMU reads it from /proc/device-tree", () => {
  it("takes the first PowerPC CPU node with a clock-frequency, one or two cells per property", () => {
    const t = new DeviceTree();
    const cpus = t.root.addChild("cpus");
    cpus.addChild("l2-cache@2000").setPropU32("clock-frequency", 1);
    cpus.addChild("PowerPC,POWER9@0"); // no clock-frequency: skipped
    const cpu = cpus.addChild("PowerPC,POWER9@8");
    cpu.setPropU32("clock-frequency", 2_000_000_000);
    cpu.setPropU64("ibm,extended-clock-frequency", 3_800_000_000n);
    cpu.setPropU32("cpu-version", 0x004e1203);
    cpu.setPropU32("timebase-frequency", 512_000_000);
    cpu.setPropU32("d-cache-size", 0x8000);
    cpu.setPropU64("i-cache-size", 0x10000n);
    cpu.setPropU32("ibm,dec-bits", 56);
    expect(readHostCpuProperties(t)).toEqual({
      pvr: 0x004e1203,
      timebaseFrequency: 512_000_000,
      clockFrequency: 3_800_000_000,
      dcacheSize: 0x8000,
      icacheSize: 0x10000,
      decBits: 56,
    });
    // without the extended property, clock-frequency; a 3-byte property reads as absent
    cpu.removeProp("ibm,extended-clock-frequency");
    cpu.setProp("ibm,dec-bits", new Uint8Array(3));
    const r = readHostCpuProperties(t);
    expect(r.decBits).toBeUndefined();
    expect(r.clockFrequency).toBe(2_000_000_000);
    expect(readHostCpuProperties(undefined)).toEqual({});
    expect(readHostCpuProperties(new DeviceTree())).toEqual({});
  });

  it("reads the real host's tree: the PVR of a POWER9 DD2.3 and its 56 decrementer bits", () => {
    const sim = new Simulation({ seed: 4 });
    const props = readHostCpuProperties(host(sim).host.tree);
    expect(props.pvr).toBe(0x004e1203);
    expect(props.decBits).toBe(56);
    expect(props.timebaseFrequency).toBe(512_000_000);
  });
});

describe("creating the machine", () => {
  it("answers -M help and -M pseries,help without creating a VM", () => {
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const before = h.host.kvm.vmList.length;
    const list = create({ sim, host: h.qemuHost, commandLine: "-M help" });
    expect(list.kind).toBe("help");
    expect(list.kind === "help" && list.text.split("\n")[0]).toBe("Supported machines are:");
    expect(h.host.kvm.vmList.length).toBe(before);
  });

  it("-machine dumpdtb returns the tree it would hand the guest, and runs nothing", () => {
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const r = create({ sim, host: h.qemuHost, commandLine: "-M pseries,dumpdtb=out.dtb -smp 2 -m 256M" });
    expect(r.kind).toBe("dumpdtb");
    if (r.kind !== "dumpdtb") return;
    expect(r.file).toBe("out.dtb");
    expect(new DataView(r.dtb.buffer, r.dtb.byteOffset).getUint32(0)).toBe(0xd00dfeed);
  });

  it("needs a kernel image, saying which use needs it", () => {
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const boot = errorOf(() => create({ sim, host: h.qemuHost, image: undefined }));
    expect(boot.reason).toBe("No -kernel given: this model boots a guest kernel image only");
    const incoming = errorOf(() =>
      create({ sim, host: h.qemuHost, image: undefined, commandLine: "-M pseries -m 256M -incoming defer" }),
    );
    expect(incoming.reason).toBe(
      "No -kernel given: an incoming migration needs the kernel image the source runs",
    );
  });

  it("fails as QEMU does when KVM refuses the VM, a vCPU, the RAM slot or the kernel", () => {
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const kvm = h.qemuHost.kvm;
    const withVm = (patch: (vm: KvmVmFd) => Partial<KvmVmFd>): KvmSystemFd => ({
      checkExtension: (c) => kvm.checkExtension(c),
      createVm: () => {
        const vm = kvm.createVm();
        if (typeof vm === "number") return vm;
        return Object.assign(Object.create(vm) as KvmVmFd, patch(vm));
      },
    });
    const fail = (k: KvmSystemFd) => errorOf(() => create({ sim, host: { ...h.qemuHost, kvm: k } })).reason;
    expect(fail({ checkExtension: () => 0, createVm: () => -24 })).toBe("failed to initialize kvm: errno 24");
    expect(fail(withVm(() => ({ setUserMemoryRegion: () => -12 })))).toBe(
      "kvm_set_user_memory_region: KVM_SET_USER_MEMORY_REGION failed: errno 12",
    );
    expect(fail(withVm(() => ({ createVcpu: (id: number) => (id === 0 ? -17 : -1) })))).toBe(
      "kvm_init_vcpu: kvm_get_vcpu failed (0): errno 17",
    );
    expect(
      fail(
        withVm((vm) => ({
          createVcpu: (id: number) => {
            const fd = vm.createVcpu(id);
            if (typeof fd === "number") return fd;
            return Object.assign(Object.create(fd), { setGuestSoftware: () => -8 });
          },
        })),
      ),
    ).toBe("kvm_init_vcpu: cannot load the kernel on vCPU 0: errno 8");
  });

  it("takes the host's PVR for -cpu POWER9 and applies the command line's caps over the defaults", () => {
    const { q } = machine("-M pseries-5.0,cap-stop-lite=on,cap-ccf-assist=off -cpu POWER9 -smp 2 -m 256M -S");
    expect(q.cpu.pvr).toBe(0x004e1203);
    // the machine type's default model keeps its own PVR
    expect(machine().q.cpu.pvr).toBe(0x004e1200);
    expect(q.capLevel("stop-lite")).toBe(1);
    expect(q.capLevel("ccf-assist")).toBe(0);
    expect(q.capLevel("fwnmi")).toBe(1);
    expect(q.defaultCaps[12]).toBe(0);
    expect(() => q.capLevel("bogus")).toThrow("no capability cap-bogus");
    expect(q.stopLitePermittedInDt()).toBe(true);
    const off = machine("-M pseries,cap-stop-lite=off -smp 2 -m 256M -S").q;
    expect(off.stopLitePermittedInDt()).toBe(false);
  });

  it("puts 32 bytes of rng-seed and the kernel QEMU loaded in /chosen", () => {
    const { q } = machine();
    const chosen = decodeDtb(q.dtb).getNode("/chosen");
    expect(chosen?.getProp("rng-seed")?.length).toBe(32);
    // <addr size> as two 64-bit values: the entry point, and no size
    expect(chosen?.getProp("qemu,boot-kernel")?.asU64Array()).toEqual([q.image?.entryPoint, 0n]);
    expect(chosen?.getProp("qemu,boot-kernel-le")).toBeDefined();
    // another machine of the same simulation draws other random bytes
    const a = create({ sim: q.sim, host: q.host, name: "other" });
    if (a.kind !== "running") throw new Error("no machine");
    expect(decodeDtb(a.qemu.dtb).getNode("/chosen")?.getProp("rng-seed")?.asBytes()).not.toEqual(
      chosen?.getProp("rng-seed")?.asBytes(),
    );
  });

  it("places the tree below the RMA top and starts vCPU 0 at the kernel with r3 pointing at it", () => {
    const { q } = machine();
    expect(q.fdtAddr).toBe((256 << 20) - 0x100000);
    const regs = q.vcpus[0].fd.getRegs();
    expect(regs.gpr[3]).toBe(BigInt(q.fdtAddr));
    expect(regs.pc).toBe(q.image?.entryPoint);
    expect(q.vcpus.map((v) => v.halted)).toEqual([false, true]);
    expect(q.ram.read32(q.fdtAddr, false)).toBe(0xd00dfeed);
    // the kernel's text is in RAM at its entry point (the tiny guest's first word is an instruction)
    const entry = Number(q.image?.entryPoint);
    expect(q.ram.isWritten(entry / 4096)).toBe(true);
    expect(q.ram.read32(entry, true)).not.toBe(0);
    const big = machine("-M pseries -smp 1 -m 4G -S").q;
    expect(big.fdtAddr).toBe(0x80000000 - 0x100000);
  });
});

describe("the entry state (spapr_cpu_set_entry_state)", () => {
  it("enters the kernel 64-bit with machine checks on, r4 and r5 zero", () => {
    const regs = machine().q.vcpus[0].fd.getRegs();
    expect(regs.msr).toBe((1n << 63n) | (1n << 12n));
    expect([regs.gpr[4], regs.gpr[5]]).toEqual([0n, 0n]);
  });

  it("fails when KVM refuses vCPU 0's registers", () => {
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const k = withVcpuFds(h.qemuHost.kvm, () => ({ setRegs: () => -14 }));
    expect(errorOf(() => create({ sim, host: { ...h.qemuHost, kvm: k } })).reason).toBe(
      "KVM_SET_REGS failed: errno 14",
    );
  });

  it("migrate takes QEMU's defaults for the parameters not given", () => {
    const src = machine().q;
    const dst = machine("-M pseries -smp 2 -m 256M -incoming defer").q;
    // (different simulations: refused before anything starts)
    expect(() => src.migrate(dst)).toThrow(/run on different Simulations/);
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const a = create({ sim, host: h.qemuHost, name: "a" });
    const b = create({
      sim,
      host: h.qemuHost,
      name: "b",
      commandLine: "-M pseries -smp 2 -m 256M -S -incoming defer",
    });
    if (a.kind !== "running" || b.kind !== "running") throw new Error("no machines");
    expect(a.qemu.migrate(b.qemu, { maxBandwidth: 1000 }).params).toEqual({
      maxBandwidth: 1000,
      downtimeLimitNs: 300_000_000,
      maxIterations: 30,
    });
  });
});

describe("run states", () => {
  it("stop and cont: paused, then running again; a stop request while paused only changes the state", () => {
    const { sim, q } = machine();
    q.cont();
    expect(q.running).toBe(true);
    q.cont(); // already running: nothing happens
    expect(q.events.filter((e) => e.event === "RESUME")).toHaveLength(1);
    let stopped = 0;
    q.stop("paused", () => stopped++);
    expect(q.status).toBe("paused");
    // the callback runs once vCPU 0 has left KVM_RUN
    sim.runFor(1_000_000);
    expect(stopped).toBe(1);
    expect(q.vcpus.some((v) => v.inKvm)).toBe(false);
    q.stop("paused");
    expect(q.events.filter((e) => e.event === "STOP")).toHaveLength(1);
    q.stop("finish-migrate");
    expect(q.status).toBe("finish-migrate");
    q._status = "shutdown";
    expect(() => q.cont()).toThrow("cannot continue a guest in state shutdown");
    q._status = "guest-panicked";
    expect(() => q.cont()).toThrow("cannot continue a guest in state guest-panicked");
    // vm_stop on a guest that never ran (prelaunch, -S) changes nothing (softmmu/cpus.c do_vm_stop)
    const fresh = machine().q;
    fresh.stop("paused");
    expect([fresh.status, fresh.events]).toEqual(["prelaunch", []]);
    expect(fresh.incomingWarnings).toEqual([]);
    expect(fresh.qmp("query-migrate-capabilities")).toStrictEqual([
      { capability: "return-path", state: false },
    ]);
  });

  it("exit halts every vCPU and closes the machine; stderr lists warnings and errors", () => {
    const { q } = machine();
    q.warnings.push("one");
    q.errors.push("two");
    q.exit(3);
    expect(q.exitStatus).toBe(3);
    expect(q.status).toBe("shutdown");
    expect(q.vcpus.every((v) => v.halted)).toBe(true);
    expect(q.stderr).toBe("qemu-system-ppc64: warning: one\nqemu-system-ppc64: two");
  });

  it("refuses to migrate a guest that panicked, shut down or already migrated, and a stream into a running guest", () => {
    const src = machine().q;
    const dst = machine("-M pseries -smp 2 -m 256M -incoming defer").q;
    for (const s of ["guest-panicked", "shutdown", "postmigrate"] as const) {
      src._status = s;
      expect(() => src.migrate(dst)).toThrow(
        new QmpError("GenericError", `cannot migrate a guest in state ${s}`),
      );
    }
    const running = machine().q;
    expect(() => running.loadIncoming(new Uint8Array(0))).toThrow(
      new MigrationError("incoming migration into a guest in state prelaunch"),
    );
  });

  it("a refused incoming stream ends the destination with status 1 and its error on stderr", () => {
    const { q } = machine("-M pseries -smp 2 -m 256M -incoming defer");
    expect(q.status).toBe("inmigrate");
    expect(() => q.loadIncoming(new Uint8Array([1, 2, 3, 4]))).toThrow(MigrationError);
    expect(q.exitStatus).toBe(1);
    expect(q.stderr).toBe(
      "qemu-system-ppc64: Not a migration stream\nqemu-system-ppc64: load of migration failed: Invalid argument",
    );
  });
});

/** Exits of a scripted KVM_RUN: vCPU `index`'s fd hands its exits to the test instead of running. */
function scriptedRun(q: Qemu, index = 0) {
  const v = q.vcpus[index];
  const pending: ((run: KvmRun) => void)[] = [];
  const s = { runs: 0, exitRequests: 0, ret: 0 };
  const fd = Object.assign(Object.create(v.fd) as KvmVcpuFd, {
    run: (onExit: (run: KvmRun) => void) => {
      s.runs++;
      if (s.ret < 0) return s.ret;
      pending.push(onExit);
      return 0;
    },
    requestExit: () => {
      s.exitRequests++;
    },
  });
  Object.assign(v, { fd });
  const exit = (exit_reason: number, over: Partial<KvmRun> = {}): KvmRun => {
    const run: KvmRun = {
      exit_reason,
      papr_hcall: { nr: 0n, ret: 0n, args: [] },
      hw: { hardware_exit_reason: 0 },
      mmio: { phys_addr: 0n, len: 0, is_write: false },
      internal: { suberror: 0, data: [] },
      vcpu_id: v.id,
      ...over,
    };
    const cb = pending.shift();
    if (cb === undefined) throw new Error(`vCPU ${v.id} is not in KVM_RUN`);
    cb(run);
    return run;
  };
  return { v, s, exit };
}

describe("exits to userspace (kvm_cpu_exec, kvm_arch_handle_exit)", () => {
  it("answers a hypercall and enters KVM_RUN again after QEMU's userspace round trip", () => {
    const { sim, q } = machine();
    const { v, s, exit } = scriptedRun(q);
    q.cont();
    expect([s.runs, v.inKvm]).toEqual([1, true]);
    const run = exit(KVM_EXIT_PAPR_HCALL, {
      papr_hcall: { nr: BigInt(H_PUT_TERM_CHAR), ret: 0n, args: [0n, 2n, 0x4849n << 48n, 0n] },
    });
    expect(q.console).toBe("HI");
    expect(run.papr_hcall.ret).toBe(BigInt(H_SUCCESS));
    expect(v.inKvm).toBe(false);
    sim.runFor(QEMU_USERSPACE_EXIT_NS - 1);
    expect(s.runs).toBe(1);
    sim.runFor(1);
    expect([s.runs, v.inKvm]).toEqual([2, true]);
    // a number beyond 16 bits (or negative) is no hcall QEMU knows
    for (const nr of [0x10000n + BigInt(H_PUT_TERM_CHAR), -1n]) {
      const r = exit(KVM_EXIT_PAPR_HCALL, { papr_hcall: { nr, ret: 0n, args: [0n, 1n, 0x41n << 56n, 0n] } });
      expect(r.papr_hcall.ret).toBe(BigInt(H_FUNCTION));
      sim.runFor(QEMU_USERSPACE_EXIT_NS);
    }
    expect(q.console).toBe("HI");
    // a requested exit (KVM_EXIT_INTR) or an MMIO exit: straight back in
    exit(KVM_EXIT_INTR);
    sim.runFor(QEMU_USERSPACE_EXIT_NS);
    exit(KVM_EXIT_MMIO);
    sim.runFor(QEMU_USERSPACE_EXIT_NS);
    expect([s.runs, q.status]).toEqual([6, "running"]);
  });

  it("a shutdown or system event exit shuts the guest down: SHUTDOWN, every vCPU halted, no re-entry", () => {
    for (const reason of [KVM_EXIT_SHUTDOWN, KVM_EXIT_SYSTEM_EVENT]) {
      const { sim, q } = machine();
      const { s, exit } = scriptedRun(q);
      q.cont();
      sim.runFor(500);
      exit(reason);
      expect(q.status).toBe("shutdown");
      expect(q.vcpus.every((v) => v.halted)).toBe(true);
      expect(q.events.at(-1)).toEqual({
        timestampNs: 500,
        event: "SHUTDOWN",
        data: { guest: true, reason: "guest-shutdown" },
      });
      sim.runFor(10 * QEMU_USERSPACE_EXIT_NS);
      expect(s.runs).toBe(1);
    }
  });

  it("an internal error or unknown exit stops the VM in internal-error with QEMU's message; cont is refused", () => {
    const cases: [number, Partial<KvmRun>, string][] = [
      [KVM_EXIT_INTERNAL_ERROR, { internal: { suberror: 3, data: [] } }, "KVM internal error. Suberror: 3"],
      [KVM_EXIT_UNKNOWN, { hw: { hardware_exit_reason: 0x1f } }, "KVM: unknown exit, hardware reason 1f"],
    ];
    for (const [reason, over, message] of cases) {
      const { sim, q } = machine();
      const { s, exit } = scriptedRun(q);
      q.cont();
      exit(reason, over);
      expect(q.warnings.at(-1)).toBe(message);
      expect(q.status).toBe("internal-error");
      expect(q.events.map((e) => e.event)).toEqual(["RESUME", "STOP"]);
      sim.runFor(10 * QEMU_USERSPACE_EXIT_NS);
      expect(s.runs).toBe(1);
      expect(() => q.cont()).toThrow("cannot continue a guest in state internal-error");
    }
  });

  it("a failing KVM_RUN is an internal error naming the vCPU and the errno", () => {
    const { q } = machine();
    const { v, s } = scriptedRun(q);
    s.ret = -4;
    q.cont();
    expect(q.warnings.at(-1)).toBe("KVM_RUN failed on vCPU 0: errno 4");
    expect([q.status, v.inKvm]).toEqual(["internal-error", false]);
  });

  it("stop kicks the vCPUs out of KVM_RUN and calls back once the last one left; no re-entry while stopped", () => {
    const { sim, q } = machine();
    const { v, s, exit } = scriptedRun(q);
    q.cont();
    let done = 0;
    q.stop("paused", () => done++);
    expect([q.status, s.exitRequests, done]).toEqual(["paused", 1, 0]);
    exit(KVM_EXIT_INTR);
    expect([done, v.inKvm]).toEqual([1, false]);
    sim.runFor(10 * QEMU_USERSPACE_EXIT_NS);
    expect(s.runs).toBe(1);
    // a vCPU that halted (stop-self) while out of KVM_RUN stays out
    q.cont();
    expect(s.runs).toBe(2);
    v.halted = true;
    exit(KVM_EXIT_INTR);
    sim.runFor(10 * QEMU_USERSPACE_EXIT_NS);
    expect(s.runs).toBe(2);
    v.halted = false;
    q.stop("paused");
    // a vCPU started while stopped waits for cont; a halted one never runs
    q.runVcpu(v);
    expect(s.runs).toBe(2);
    q.cont();
    expect(s.runs).toBe(3);
    q.runVcpu(v); // already in KVM_RUN
    q.runVcpu(q.vcpus[1]); // halted (never started)
    expect([s.runs, q.vcpus[1].inKvm]).toEqual([3, false]);
    // exit() kicks a vCPU still inside, not one outside KVM_RUN
    const other = scriptedRun(q, 1);
    q.exit(0);
    expect([s.exitRequests, other.s.exitRequests]).toEqual([2, 0]);
  });
});

describe("the incoming side (process_incoming_migration_co, spapr_post_load)", () => {
  function pairOnOneHost(srcCmd: string, dstCmd: string) {
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const src = create({ sim, host: h.qemuHost, commandLine: srcCmd, name: "src" });
    const dst = create({ sim, host: h.qemuHost, commandLine: dstCmd, name: "dst" });
    if (src.kind !== "running" || dst.kind !== "running") throw new Error("no machines");
    return { sim, src: src.qemu, dst: dst.qemu };
  }
  const settle = (sim: Simulation, m: { status: string }) => {
    while (m.status === "active" || m.status === "device") sim.runFor(1_000_000);
  };

  it("clears the destination's own writes where the source's page is zero, and writes nothing else", () => {
    const { sim, src, dst } = pairOnOneHost(
      "-M pseries -smp 2 -m 256M -S",
      "-M pseries -smp 2 -m 256M -S -incoming tcp:[::]:1",
    );
    dst.ram.write64(0x400000, 0x55n);
    const m = src.migrate(dst);
    settle(sim, m);
    expect(m.status).toBe("completed");
    expect(dst.ram.read64(0x400000)).toBe(0n);
    expect(dst.ram.isWritten(0x500000 / 4096)).toBe(false);
    // -S on the destination: it waits for cont after the load
    expect(dst.status).toBe("paused");
  });

  it("starts the guest after the load unless -S; keeps warnings of lower cap levels", () => {
    const { sim, src, dst } = pairOnOneHost(
      "-M pseries,cap-ccf-assist=off -smp 2 -m 256M -S",
      "-M pseries -smp 2 -m 256M -incoming tcp:[::]:1",
    );
    const m = src.migrate(dst);
    settle(sim, m);
    expect(dst.status).toBe("running");
    expect(dst.events.map((e) => e.event)).toEqual(["MIGRATION", "RESUME"]);
    expect(dst.events[0].data).toEqual({ status: "completed" });
    expect(dst.incomingWarnings).toEqual([
      "cap-ccf-assist lower level (0) in incoming stream than on destination (1)",
    ]);
  });

  it("loads into its own machine type, RAM size and vCPUs only, naming what differs", () => {
    const refusal = (srcCmd: string, dstCmd: string) => {
      const { sim, src, dst } = pairOnOneHost(srcCmd, `${dstCmd} -S -incoming tcp:[::]:1`);
      settle(sim, src.migrate(dst));
      expect(dst.exitStatus).toBe(1);
      return dst.incomingError?.preceding[0];
    };
    expect(refusal("-M pseries-5.0 -smp 2 -m 256M -S", "-M pseries-5.1 -smp 2 -m 256M")).toBe(
      "Machine type received is 'pseries-5.0' and local is 'pseries-5.1'",
    );
    expect(refusal("-M pseries -smp 2 -m 256M -S", "-M pseries -smp 2 -m 512M")).toMatch(
      /^Length mismatch: ppc_spapr.ram: 0x10000000 in != 0x20000000/,
    );
    expect(refusal("-M pseries -smp 2 -m 256M -S", "-M pseries -smp 1 -m 256M")).toMatch(
      /^Unknown savevm section or instance 'cpu_common' 1/,
    );
    expect(
      refusal("-M pseries,ic-mode=xive -smp 2 -m 256M -S", "-M pseries,ic-mode=xics -smp 2 -m 256M"),
    ).toMatch(/^Unknown savevm section or instance 'spapr-xive' 0/);
  });

  it("refuses the source's interrupt controller when its own ic-mode cannot provide it", () => {
    const { sim, src, dst } = pairOnOneHost(
      "-M pseries,ic-mode=xics -smp 2 -m 256M -S",
      "-M pseries,ic-mode=xive -smp 2 -m 256M -S -incoming tcp:[::]:1",
    );
    const m = src.migrate(dst);
    settle(sim, m);
    expect(dst.exitStatus).toBe(1);
    expect(dst.incomingError?.preceding).toEqual([
      "Unknown savevm section or instance 'icp' 0. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices",
    ]);
    expect(dst.incomingError?.reason).toBe("load of migration failed: Invalid argument");
  });
});

describe("the migration network", () => {
  it("finds a listener by host and port while its QEMU runs", () => {
    const net = new MigrationNetwork();
    const { q } = machine("-M pseries -m 256M -S -incoming defer");
    net.listen("h2", "tcp:[::]:49152", q);
    expect(net.connect("tcp:h2:49152")).toBe(q);
    expect(net.connect("tcp:h2:49153")).toBeUndefined();
    expect(net.connect("tcp:h3:49152")).toBeUndefined();
    expect(net.connect("unix:/tmp/sock")).toBeUndefined();
    expect(net.connect("xtcp:h2:49152")).toBeUndefined();
    expect(net.connect("tcp:h2:49152x")).toBeUndefined();
    q.exit(0);
    expect(net.connect("tcp:h2:49152")).toBeUndefined();
  });

  it("a machine listens under its host's name, or its own name on a host without one", () => {
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const network = new MigrationNetwork();
    const named = create({
      sim,
      host: { ...h.qemuHost, hostname: "hostA" },
      network,
      name: "a",
      commandLine: "-M pseries -m 256M -S -incoming tcp:0:7",
    });
    const anon = create({
      sim,
      host: h.qemuHost,
      network,
      name: "b",
      commandLine: "-M pseries -m 256M -S -incoming tcp:0:8",
    });
    if (named.kind !== "running" || anon.kind !== "running") throw new Error("no machines");
    expect(network.connect("tcp:hostA:7")).toBe(named.qemu);
    expect(network.connect("tcp:b:8")).toBe(anon.qemu);
    expect(named.qemu.incomingUri).toBe("tcp:0:7");
  });
});

describe("what QEMU asks KVM while creating the machine (kvmppc_has_cap_*, kvmppc_enable_cap_large_decr)", () => {
  /** The host's KVM with some KVM_CHECK_EXTENSION answers replaced, and the VM's ENABLE_CAPs recorded. */
  function kvmWith(sim: Simulation, answers: Record<number, number>, vmOver: Partial<KvmVmFd> = {}) {
    const h = host(sim);
    const kvm = h.qemuHost.kvm;
    const enabled: [number, readonly (number | bigint)[] | undefined][] = [];
    const answer = (real: (c: number) => number) => (c: number) => (c in answers ? answers[c] : real(c));
    const sys: KvmSystemFd = {
      checkExtension: answer((c) => kvm.checkExtension(c)),
      createVm: () => {
        const vm = kvm.createVm();
        if (typeof vm === "number") return vm;
        return Object.assign(Object.create(vm) as KvmVmFd, {
          checkExtension: answer((c) => vm.checkExtension(c)),
          enableCap: (cap: number, args?: readonly (number | bigint)[]) => {
            enabled.push([cap, args]);
            return vm.enableCap(cap, args);
          },
          ...vmOver,
        });
      },
    };
    return { h, host: { ...h.qemuHost, kvm: sys }, enabled };
  }
  const start = (answers: Record<number, number>, commandLine: string, vmOver: Partial<KvmVmFd> = {}) => {
    const sim = new Simulation({ seed: 4 });
    const k = kvmWith(sim, answers, vmOver);
    return { ...k, run: () => create({ sim, host: k.host, commandLine }) };
  };
  const refusal = (answers: Record<number, number>, commandLine: string, vmOver: Partial<KvmVmFd> = {}) =>
    errorOf(() => start(answers, commandLine, vmOver).run());

  it("refuses each capability KVM does not offer, and starts when it does", () => {
    const cases: [number, string, string][] = [
      [KVM_CAP_PPC_HTM, "cap-htm=on", "KVM implementation does not support Transactional Memory"],
      [KVM_CAP_PPC_NESTED_HV, "cap-nested-hv=on", "KVM implementation does not support Nested-HV"],
      [
        KVM_CAP_PPC_FWNMI,
        "cap-fwnmi=on",
        "Firmware Assisted Non-Maskable Interrupts(FWNMI) not supported by KVM.",
      ],
      [KVM_CAP_PPC_MMU_RADIX, "cap-rpt-invalidate=on", "H_RPT_INVALIDATE only supported on Radix"],
      [
        KVM_CAP_PPC_RPT_INVALIDATE,
        "cap-rpt-invalidate=on",
        "KVM implementation does not support H_RPT_INVALIDATE",
      ],
      [KVM_CAP_PPC_GUEST_STOP, "cap-stop-lite=on", "Guest use of the lite stop instruction not available"],
    ];
    for (const [cap, option, reason] of cases) {
      const cmd = `-M pseries,${option} -smp 2 -m 256M -S`;
      expect(refusal({ [cap]: 0 }, cmd).reason, option).toMatch(reason);
      const offered = {
        [KVM_CAP_PPC_HTM]: 1,
        [KVM_CAP_PPC_NESTED_HV]: 1,
        [KVM_CAP_PPC_RPT_INVALIDATE]: 1,
        [KVM_CAP_PPC_MMU_RADIX]: 1,
        [KVM_CAP_PPC_FWNMI]: 1,
        [KVM_CAP_PPC_GUEST_STOP]: 1,
      };
      expect(start(offered, cmd).run().kind, option).toBe("running");
    }
  });

  it("enables nested HV on the VM, and fails when KVM refuses it", () => {
    const s = start({ [KVM_CAP_PPC_NESTED_HV]: 1 }, "-M pseries,cap-nested-hv=on -smp 2 -m 256M -S");
    expect(s.run().kind).toBe("running");
    expect(s.enabled).toContainEqual([KVM_CAP_PPC_NESTED_HV, [1]]);
    expect(
      refusal({ [KVM_CAP_PPC_NESTED_HV]: 1 }, "-M pseries,cap-nested-hv=on -smp 2 -m 256M -S", {
        enableCap: () => -22,
      }).reason,
    ).toBe("Error enabling cap-nested-hv with KVM");
  });

  it("without KVM_PPC_GET_CPU_CHAR assumes 2020 firmware's levels: workarounds, the count cache disabled", () => {
    const noChar = { [KVM_CAP_PPC_GET_CPU_CHAR]: 0 };
    const cfpc = refusal(noChar, "-M pseries,cap-cfpc=fixed -smp 2 -m 256M -S");
    expect([cfpc.reason, cfpc.hint]).toEqual([
      "Requested safe cache capability level not supported by KVM",
      "Try appending -machine cap-cfpc=workaround",
    ]);
    expect(refusal(noChar, "-M pseries,cap-sbbc=fixed -smp 2 -m 256M -S").hint).toBe(
      "Try appending -machine cap-sbbc=workaround",
    );
    // fixed-ccd is what it assumes: accepted, and with it ccf-assist without the assist
    expect(start(noChar, "-M pseries,cap-ibs=fixed-ccd,cap-ccf-assist=on -smp 2 -m 256M -S").run().kind).toBe(
      "running",
    );
    // a getCpuChar that fails is the same as none
    expect(
      refusal({ [KVM_CAP_PPC_GET_CPU_CHAR]: 1 }, "-M pseries,cap-cfpc=fixed -smp 2 -m 256M -S", {
        getCpuChar: () => -5,
      }).reason,
    ).toBe("Requested safe cache capability level not supported by KVM");
  });

  it("takes the large decrementer's width from the host tree, and sets LPCR[LD] on each vCPU only when it must", () => {
    // a host tree without CPU nodes: no ibm,dec-bits, so no large decrementer
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const bare = { ...h.qemuHost, procDeviceTree: new DeviceTree() };
    const e = errorOf(() => create({ sim, host: bare }));
    expect([e.reason, e.hint]).toEqual([
      "No large decrementer support",
      "Try appending -machine cap-large-decr=off",
    ]);
    // with cap-large-decr=off it starts on the defaults QEMU assumes without the host's values
    const r = create({
      sim,
      host: bare,
      commandLine: "-M pseries,cap-large-decr=off -cpu POWER9 -smp 2 -m 256M -S",
    });
    if (r.kind !== "running") throw new Error("no machine");
    expect(r.qemu.cpu.pvr).toBe(0x004e1202);
    const cpu = decodeDtb(r.qemu.dtb)
      .getNode("/cpus")
      ?.children.find((n) => n.name.startsWith("PowerPC,"));
    expect(cpu?.getProp("timebase-frequency")?.asU32()).toBe(512_000_000);
    expect(cpu?.getProp("clock-frequency")?.asU32()).toBe(1_000_000_000);
    // POWER9's L1 caches (qemu: target/ppc/cpu_init.c POWER9 l1_dcache_size, l1_icache_size 0x8000)
    expect([cpu?.getProp("d-cache-size")?.asU32(), cpu?.getProp("i-cache-size")?.asU32()]).toEqual([
      0x8000, 0x8000,
    ]);
    // a machine given no name is "qemu"
    const unnamed = Qemu.create({
      sim,
      host: bare,
      build: BUILD,
      commandLine: "-M pseries,cap-large-decr=off -m 256M -S",
      image: new TinyGuestImage({ sim, stop0lite: "platform" }),
    });
    expect(unnamed.kind === "running" && unnamed.qemu.name).toBe("qemu");
  });

  it("writes LPCR[LD] through ONE_REG, reads it back, and fails when it does not stick", () => {
    const LPCR_LD_BIT = 1n << 17n;
    const sim = new Simulation({ seed: 4 });
    const h = host(sim);
    const kvm = h.qemuHost.kvm;
    const sets: bigint[] = [];
    const withVcpus = (patch: (fd: KvmVcpuFd) => Partial<KvmVcpuFd>) => withVcpuFds(kvm, patch);
    const run = (
      patch: (fd: KvmVcpuFd) => Partial<KvmVcpuFd>,
      commandLine = "-M pseries -smp 2 -m 256M -S",
    ) => create({ sim, host: { ...h.qemuHost, kvm: withVcpus(patch) }, commandLine });
    const recording = (fd: KvmVcpuFd) => ({
      setOneReg: (id: bigint, v: bigint) => {
        if (id === KVM_REG_PPC_LPCR_64) sets.push(v);
        return fd.setOneReg(id, v);
      },
    });
    const on = run(recording);
    if (on.kind !== "running") throw new Error("no machine");
    // vCPUs 0 and 1 share one virtual core, whose LPCR KVM keeps: the second finds LD set already
    expect(on.qemu.vcpus.map((v) => v.id)).toEqual([0, 1]);
    expect(sets).toHaveLength(1);
    expect(sets[0] & LPCR_LD_BIT).toBe(LPCR_LD_BIT);
    for (const v of on.qemu.vcpus) {
      expect(v.fd.getOneReg(KVM_REG_PPC_LPCR_64).value & LPCR_LD_BIT).toBe(LPCR_LD_BIT);
    }
    // off: LD is clear on a new vCPU already, nothing to write
    sets.length = 0;
    const off = run(recording, "-M pseries,cap-large-decr=off -smp 2 -m 256M -S");
    if (off.kind !== "running") throw new Error("no machine");
    expect(sets).toEqual([]);
    expect(off.qemu.vcpus[0].fd.getOneReg(KVM_REG_PPC_LPCR_64).value & LPCR_LD_BIT).toBe(0n);
    // an LPCR KVM cannot read: left alone
    expect(run((fd) => ({ ...recording(fd), getOneReg: () => ({ ret: -22, value: 0n }) })).kind).toBe(
      "running",
    );
    expect(sets).toEqual([]);
    // a write that does not stick
    const e = errorOf(() => run(() => ({ setOneReg: () => 0 })));
    expect([e.reason, e.hint]).toEqual([
      "No large decrementer support",
      "Try appending -machine cap-large-decr=off",
    ]);
  });

  it("tells the guest of KVM's hcall fixup and, in the host-probed design, of KVM_CAP_STOP", () => {
    const hasProp = (q: Qemu, path: string, prop: string) =>
      decodeDtb(q.dtb).getNode(path)?.getProp(prop) !== undefined;
    const run = (answers: Record<number, number>, build = BUILD) => {
      const sim = new Simulation({ seed: 4 });
      const k = kvmWith(sim, answers);
      const r = create({ sim, host: k.host, build });
      if (r.kind !== "running") throw new Error("no machine");
      return r.qemu;
    };
    expect(hasProp(run({ [KVM_CAP_PPC_FIXUP_HCALL]: 1 }), "/hypervisor", "hcall-instructions")).toBe(true);
    expect(hasProp(run({ [KVM_CAP_PPC_FIXUP_HCALL]: 0 }), "/hypervisor", "hcall-instructions")).toBe(false);
    const probe = { stopLiteCap: false, probeKvmCapStop: true };
    const withStop = run({ [KVM_CAP_STOP]: 1 }, probe);
    const withoutStop = run({ [KVM_CAP_STOP]: 0 }, probe);
    expect(withStop.stopLitePermittedInDt()).toBe(true);
    expect(withoutStop.stopLitePermittedInDt()).toBe(false);
    // the cap build never probes KVM_CAP_STOP
    expect(
      run({ [KVM_CAP_STOP]: 1 }, { stopLiteCap: true, probeKvmCapStop: false }).capLevel("stop-lite"),
    ).toBe(run({ [KVM_CAP_STOP]: 0 }, { stopLiteCap: true, probeKvmCapStop: false }).capLevel("stop-lite"));
  });
});
