// A small test platform that plays the hypervisor for the guest kernel: "hv" software on ISA
// hardware threads that handles `sc 1` hypercalls (H_CEDE, H_PROD, H_IPI/H_XIRR/H_EOI/H_CPPR of a
// hypervisor XICS presentation controller, H_REGISTER_VPA, H_RTAS with start-cpu,
// query-cpu-stopped-state, stop-self and ibm,os-term) and Hypervisor Facility Unavailable
// interrupts (stop: native / emulate PC+4 / program interrupt; msgsndp: emulated doorbell like
// KVM on POWER9). Its time costs are placeholders; the real host and QEMU packages replace it.
//
// Semantics follow linux: arch/powerpc/kvm/book3s_hv.c (kvmppc_h_cede: the vCPU returns with
// MSR[EE]=1; init_vpa sets the shared-processor bit; kvmppc_emulate_doorbell_instr),
// arch/powerpc/kvm/book3s_xics.c (ICP MFRR/CPPR/XISR) and qemu: hw/ppc/spapr_rtas.c.

import { decodeDtb } from "@stopsim/devicetree";
import type { Simulation } from "@stopsim/engine";
import {
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_SYSCALL,
  type ChipModel,
  EXEC_OK,
  EXEC_STOPPED,
  FSCR_MSGP_LG,
  FSCR_STOP_LG,
  type GuestStopErratumConfig,
  HFSCR_MSGP,
  HRFID,
  type HwThread,
  KThread,
  LPCR_ILE,
  LPCR_LD,
  LPCR_LPES0,
  LPCR_PECE_HVEE,
  LPCR_PECE0,
  LPCR_PECE1,
  LPCR_PECEDH,
  LPCR_PECEDP,
  Memory,
  MSR_EE,
  MSR_LE,
  MSR_ME,
  MSR_RI,
  MSR_SF,
  POWER9_DD23,
  PSSCR_EC,
  PSSCR_ESL,
  PSSCR_PSLL_MASK,
  RFID,
  SmtCore,
  SPAPR_XIVE_TM_BASE,
  SPAPR_XIVE_VC_BASE,
  SPRN_DEC,
  SPRN_HFSCR,
  SPRN_HSRR0,
  SPRN_HSRR1,
  SPRN_LPCR,
  SPRN_PSSCR,
  SPRN_SRR0,
  SPRN_SRR1,
  SRR1_PROGILL,
  STOP,
  type ThreadSoftware,
  Xive,
  XiveEventQueue,
} from "@stopsim/isa";
import {
  H_CEDE,
  H_CPPR,
  H_EOI,
  H_FUNCTION,
  H_INT_GET_QUEUE_INFO,
  H_INT_GET_SOURCE_INFO,
  H_INT_SET_QUEUE_CONFIG,
  H_INT_SET_SOURCE_CONFIG,
  H_IPI,
  H_P2,
  H_P3,
  H_PARAMETER,
  H_PROD,
  H_REGISTER_VPA,
  H_RTAS,
  H_SET_MODE,
  H_SET_MODE_RESOURCE_LE,
  H_SUCCESS,
  H_XIRR,
  LPPACA_OLD_SHARED_PROC,
  LPPACA_OLD_STATUS_OFFSET,
  XICS_IPI,
} from "@stopsim/linux";

/** What the platform does with a guest `stop`. */
export type StopPolicy =
  /** PSSCR[ESL|EC] cleared on entry: the stop pauses the thread natively. */
  | "native"
  /** ESL|EC set, H_FAC_UNAVAIL emulated by PC+4 (RFC patch 1). */
  | "emulate"
  /** ESL|EC set, H_FAC_UNAVAIL answered with a program interrupt (KVM of 2020). */
  | "program";

export interface TestPlatformCosts {
  /** Guest exit, hcall dispatch and re-entry for a hypercall handled in the hypervisor. */
  hcallNs: number;
  /** From the wake condition of a ceded vCPU to its re-entry. */
  cedeWakeNs: number;
  /** H_FAC_UNAVAIL for stop: exit, emulation, re-entry. */
  stopEmulateNs: number;
  /** An RTAS call (exit to userspace and back). */
  rtasNs: number;
  /** msgsndp emulation. */
  doorbellEmulateNs: number;
}

export const TEST_PLATFORM_COSTS: TestPlatformCosts = {
  hcallNs: 1_000,
  cedeWakeNs: 20_000,
  stopEmulateNs: 3_000,
  rtasNs: 20_000,
  doorbellEmulateNs: 1_500,
};

export interface TestPlatformOptions {
  sim: Simulation;
  image: { readonly entryPoint: bigint; load(ram: Memory): void; cpu(vcpuId: number): ThreadSoftware };
  dtb: Uint8Array;
  /** vCPU threads per core (cpu nodes of the DTB must match). */
  threadsPerCore?: number;
  chip?: ChipModel;
  /** Guest-stop erratum of the cores (see @stopsim/isa errata.ts). */
  guestStopErratum?: Partial<GuestStopErratumConfig>;
  stopPolicy?: StopPolicy;
  costs?: Partial<TestPlatformCosts>;
  ramBytes?: number;
  /** Guest physical address the DTB is written to. */
  dtbAddr?: number;
}

interface Icp {
  mfrr: number;
  cppr: number;
}

export class TestPlatform {
  readonly sim: Simulation;
  readonly ram: Memory;
  readonly cores: SmtCore[] = [];
  readonly threads: HwThread[] = [];
  readonly costs: TestPlatformCosts;
  readonly stopPolicy: StopPolicy;
  readonly dtbAddr: number;
  readonly rtasLog: Array<{ time: number; service: string; args: number[] }> = [];
  osTerm: string | null = null;
  /** Whether H_REGISTER_VPA marks the VPA shared-processor (KVM's init_vpa does). */
  markVpaShared = true;
  /** Hcalls the platform answers with this return code instead of carrying them out (a failing hypervisor). */
  readonly hcallFailures = new Map<number, number>();
  /** RTAS services the platform answers with these return values instead of carrying them out. */
  readonly rtasFailures = new Map<string, number[]>();
  /** Return values the platform gives the next calls of an RTAS service, one list per call, before the usual answers. */
  readonly rtasReplies = new Map<string, number[][]>();
  /** QEMU's run state: "guest-panicked" after ibm,os-term. */
  runState: "created" | "running" | "guest-panicked" = "created";
  readonly hcallCounts = new Map<number, number>();
  stopTraps = 0;
  private readonly hv: HvCpu[] = [];
  private readonly tokens = new Map<number, string>();
  readonly icps: Icp[] = [];
  /** The sPAPR XIVE the platform offers when its tree has an `ibm,power-ivpe` node. */
  readonly xive = new Xive();
  readonly xiveReady: boolean;

  constructor(public opts: TestPlatformOptions) {
    this.sim = opts.sim;
    this.costs = { ...TEST_PLATFORM_COSTS, ...(opts.costs ?? {}) };
    this.stopPolicy = opts.stopPolicy ?? "native";
    this.ram = new Memory(opts.ramBytes ?? 1 << 28);
    this.dtbAddr = opts.dtbAddr ?? 0x1000000;
    const tree = decodeDtb(opts.dtb);
    const rtas = tree.getNode("/rtas");
    for (const p of rtas?.properties ?? []) if (p.length === 4) this.tokens.set(p.asU32(), p.name);
    let n = 0;
    for (const c of tree.requireNode("/cpus").children) {
      const s = c.getProp("ibm,ppc-interrupt-server#s");
      if (s !== undefined) n += s.length / 4;
    }
    const tpc = opts.threadsPerCore ?? 4;
    const ncores = Math.ceil(n / tpc);
    for (let i = 0; i < ncores; i++) {
      const core = new SmtCore(this.sim, {
        coreId: i,
        chip: opts.chip ?? POWER9_DD23,
        guestStopErratum: opts.guestStopErratum,
        threads: tpc,
      });
      this.cores.push(core);
    }
    for (let v = 0; v < n; v++) {
      const t = this.cores[Math.floor(v / tpc)].threads[v % tpc];
      this.threads.push(t);
      this.hv.push(new HvCpu(this, v, t));
      this.icps.push({ mfrr: 0xff, cppr: 0 });
    }
    // XIVE exploitation mode: ESB and TIMA pages mapped, each vCPU's NVT pushed on its thread for
    // good (the platform runs every vCPU on its own thread and cedes by stopping it)
    this.xiveReady = tree.root.children.some((c) =>
      c.getProp("compatible")?.asStringList().includes("ibm,power-ivpe"),
    );
    if (this.xiveReady) {
      this.ram.mapMmio(SPAPR_XIVE_VC_BASE, 0x2000 << 17, this.xive.esbRegion());
      this.ram.mapMmio(SPAPR_XIVE_TM_BASE, 4 << 16, this.xive.timaRegion());
      this.threads.forEach((t, v) => {
        this.xive.attachThread(t).pushOsContext(0x400 + v, 0n);
      });
    }
    // threads of the cores the guest does not use are stopped (idle host threads)
    for (const core of this.cores) {
      for (const t of core.threads) if (!this.threads.includes(t)) this.parkHostThread(t);
    }
  }

  /** A host thread with nothing to do sits in a deep stop (it does not share the core). */
  private parkHostThread(t: HwThread): void {
    t.setSoftware("hv", { interrupt: () => undefined, resume: () => undefined });
    t.setSpr(SPRN_PSSCR, PSSCR_ESL | PSSCR_EC | PSSCR_PSLL_MASK | 0xfn);
    t.setSpr(SPRN_LPCR, 0n);
    t.execute(0x4c0002e4);
  }

  /** Loads the kernel and the DTB, then starts vCPU 0 at the entry point with r3 = the DTB. */
  start(): void {
    this.opts.image.load(this.ram);
    this.ram.load(this.dtbAddr, this.opts.dtb);
    this.runState = "running";
    this.enterGuest(0, this.opts.image.entryPoint, [[3, BigInt(this.dtbAddr)]]);
  }

  get guestMsr(): bigint {
    return MSR_SF | MSR_ME | MSR_RI | MSR_LE;
  }

  /** Guest entry: LPCR, PSSCR and HFSCR per policy, then hrfid to `pc` with `msr` and dispatch. */
  enterGuest(vcpu: number, pc: bigint, gprs: Array<[number, bigint]>, msr: bigint = this.guestMsr): void {
    const t = this.threads[vcpu];
    t.setSoftware("hv", this.hv[vcpu]);
    t.setSoftware("os", this.opts.image.cpu(vcpu));
    t.setSpr(
      SPRN_LPCR,
      LPCR_LPES0 | LPCR_PECE0 | LPCR_PECE1 | LPCR_PECEDP | LPCR_PECEDH | LPCR_PECE_HVEE | LPCR_LD,
    );
    t.setSpr(SPRN_PSSCR, this.stopPolicy === "native" ? 0n : PSSCR_ESL | PSSCR_EC);
    // KVM on POWER9 clears HFSCR[MSGP] so that msgsndp traps and is emulated
    t.setSpr(SPRN_HFSCR, 0xffn & ~HFSCR_MSGP);
    for (const [r, v] of gprs) t.setGpr(r, v);
    t.setSpr(SPRN_HSRR0, pc);
    t.setSpr(SPRN_HSRR1, msr);
    // an interrupt taken at once by the return was delivered to its software: no dispatch then
    if (t.execute(HRFID) === EXEC_OK) t.dispatch();
  }

  /**
   * The hypervisor runs vCPU `vcpu` on `to` from now on, as a live migration's destination does:
   * the vCPU must be waiting in H_CEDE (out of the guest); its registers go to `to` (the GPRs and
   * SRR0/SRR1, what the migration stream carries of them here; not the DEC: the new thread's
   * decrementer is whatever it holds, and the kernel reprograms it), and the destination returns
   * from the cede at once (a migrated vCPU is no longer ceded, as KVM's vCPU after KVM_RUN returned).
   * The old thread stays in its host idle stop with nothing of the vCPU left on it.
   */
  moveVcpu(vcpu: number, to: HwThread): void {
    const old = this.hv[vcpu];
    if (!old.ceded) throw new Error(`vCPU ${vcpu} is not ceded: move it while it waits in H_CEDE`);
    const from = this.threads[vcpu];
    old.ceded = false;
    from.setSoftware("hv", { interrupt: () => undefined, resume: () => undefined });
    this.threads[vcpu] = to;
    const hv = new HvCpu(this, vcpu, to);
    hv.started = true;
    this.hv[vcpu] = hv;
    const gprs: Array<[number, bigint]> = [];
    for (let r = 0; r < 32; r++) gprs.push([r, from.gpr(r)]);
    gprs[3] = [3, BigInt(H_SUCCESS)];
    to.setSpr(SPRN_SRR0, from.getSpr(SPRN_SRR0));
    to.setSpr(SPRN_SRR1, from.getSpr(SPRN_SRR1));
    this.enterGuest(vcpu, from.getSpr(SPRN_SRR0), gprs, from.getSpr(SPRN_SRR1) | MSR_EE);
  }

  hvCpu(vcpu: number): HvCpu {
    return this.hv[vcpu];
  }

  tokenName(token: number): string {
    return this.tokens.get(token) ?? `token 0x${token.toString(16)}`;
  }

  /** XICS: present the IPI when MFRR is more favoured than CPPR (raise the external line). */
  updateIcp(vcpu: number): void {
    const icp = this.icps[vcpu];
    const pending = icp.mfrr < icp.cppr;
    this.threads[vcpu].setExternalInterrupt(pending);
    if (pending) this.hv[vcpu].wakeFromCede();
  }
}

/** The test hypervisor's continuations: closures run by the runtime after a placeholder cost. */
type HvOp = () => void;

export class HvCpu implements ThreadSoftware {
  ceded = false;
  private prodPending = false;
  started = false;
  /**
   * The runtime of this hypervisor software on its thread (@stopsim/isa KThread, level "hv"). Its
   * costs are placeholders taken as they are: no SMT scaling (`later`), no jitter.
   */
  readonly rt: KThread<HvOp>;

  constructor(
    readonly platform: TestPlatform,
    readonly vcpu: number,
    readonly thread: HwThread,
  ) {
    this.started = vcpu === 0;
    const later =
      (ns: number, next: HvOp | null): HvOp =>
      () =>
        this.rt.later(ns, next ?? (() => {}));
    this.rt = new KThread<HvOp>({
      thread,
      level: "hv",
      label: `hv cpu${vcpu}`,
      rng: null,
      jitterSigma: 0,
      pollPeriodNs: 1,
      // this software never polls, parks nor is interrupted: only delay and work could be rebuilt
      ops: { delay: later, work: (ns) => later(ns, null), poll: () => () => {}, park: () => () => {} },
      run: (op) => op?.(),
      pollDone: () => true,
    });
  }

  interrupt(thread: HwThread, vector: number): void {
    const p = this.platform;
    if (vector === BOOK3S_INTERRUPT_SYSCALL) {
      this.rt.later(p.costs.hcallNs / 2, () => this.hcall());
      return;
    }
    if (vector === BOOK3S_INTERRUPT_H_FAC_UNAVAIL) {
      const cause = Number(thread.getSpr(SPRN_HFSCR) >> 56n);
      if (cause === FSCR_STOP_LG) {
        p.stopTraps++;
        if (p.stopPolicy === "program") {
          this.rt.later(p.costs.stopEmulateNs, () => this.injectProgram());
        } else {
          this.rt.later(p.costs.stopEmulateNs, () => this.hrfidTo(thread.getSpr(SPRN_HSRR0) + 4n));
        }
        return;
      }
      if (cause === FSCR_MSGP_LG) {
        this.rt.later(p.costs.doorbellEmulateNs, () => this.emulateMsgsndp());
        return;
      }
    }
    // anything else: return to the guest where it was
    this.rt.later(p.costs.hcallNs / 2, () => this.hrfidTo(thread.getSpr(SPRN_HSRR0)));
  }

  /** The thread woke from the host idle stop it entered for H_CEDE. */
  resume(_thread: HwThread): void {
    if (this.ceded) this.wakeFromCede();
  }

  private hrfidTo(pc: bigint): void {
    const t = this.thread;
    t.setSpr(SPRN_HSRR0, pc);
    // an interrupt taken at once by the return was delivered to its software: no dispatch then
    if (t.execute(HRFID) === EXEC_OK) t.dispatch();
  }

  /** Return from `sc 1`: SRR0/SRR1 hold the return address and the guest MSR. */
  private returnFromHcall(rc: number, r4?: bigint, setEe = false, more: readonly bigint[] = []): void {
    const t = this.thread;
    t.setGpr(3, BigInt.asUintN(64, BigInt(rc)));
    if (r4 !== undefined) t.setGpr(4, r4);
    more.forEach((v, i) => {
      t.setGpr(5 + i, v);
    });
    if (setEe) t.setSpr(SPRN_SRR1, t.getSpr(SPRN_SRR1) | MSR_EE);
    if (t.execute(RFID) === EXEC_OK) t.dispatch();
  }

  // linux: arch/powerpc/kvm/book3s_hv_builtin.c kvmppc_inject_interrupt_hv: SRR0/SRR1 say where
  // the guest was, then the guest is entered at the vector with the interrupt MSR
  private injectProgram(): void {
    const t = this.thread;
    t.setSpr(SPRN_SRR0, t.getSpr(SPRN_HSRR0));
    t.setSpr(SPRN_SRR1, (t.getSpr(SPRN_HSRR1) & ~0x783f0000n) | SRR1_PROGILL);
    t.setSpr(SPRN_HSRR1, MSR_SF | MSR_ME | MSR_LE);
    this.hrfidTo(0x700n);
  }

  private emulateMsgsndp(): void {
    const p = this.platform;
    const t = this.thread;
    const pc = t.getSpr(SPRN_HSRR0);
    const word = p.ram.read32(Number(pc), true);
    const rb = (word >>> 11) & 31;
    const msg = t.gpr(rb);
    if (((msg >> 27n) & 31n) === 5n) {
      const tir = Number(msg & 0x7fn);
      const base = this.vcpu - (this.vcpu % (p.opts.threadsPerCore ?? 4));
      const target = base + tir;
      if (target < p.threads.length) {
        p.threads[target].receivePrivilegedDoorbell();
        p.hvCpu(target).wakeFromCede();
      }
    }
    this.hrfidTo(pc + 4n);
  }

  /** H_CEDE: block until an interrupt is pending for the vCPU. */
  private cede(): void {
    const t = this.thread;
    if (this.prodPending || this.interruptPending()) {
      this.prodPending = false;
      this.returnFromHcall(H_SUCCESS, undefined, true);
      return;
    }
    this.ceded = true;
    // the host thread idles in a lite stop (ESL=EC=0) until an event for the vCPU arrives: its
    // decrementer (PECE1), an IPI on its external line (PECE0), a doorbell (PECEDP) or a prod
    // (hypervisor doorbell, PECEDH); meanwhile it gives its cycles to the core's other threads
    t.setSpr(SPRN_PSSCR, 0n);
    const r = t.execute(STOP);
    if (r !== EXEC_STOPPED) this.wakeFromCede();
  }

  private interruptPending(): boolean {
    const t = this.thread;
    const icp = this.platform.icps[this.vcpu];
    const dec = BigInt.asIntN(56, t.getSpr(SPRN_DEC) & ((1n << 56n) - 1n));
    return icp.mfrr < icp.cppr || t.pDoorbell || dec < 0n || t.externalInterrupt;
  }

  wakeFromCede(): void {
    if (!this.ceded) return;
    if (this.thread.stopped) {
      // a prod: the hypervisor doorbell ends the host stop; resume() comes back here
      this.thread.receiveHypervisorDoorbell();
      return;
    }
    this.ceded = false;
    this.thread.hDoorbell = false;
    this.thread.setSpr(SPRN_PSSCR, this.platform.stopPolicy === "native" ? 0n : PSSCR_ESL | PSSCR_EC);
    this.rt.later(this.platform.costs.cedeWakeNs, () => this.returnFromHcall(H_SUCCESS, undefined, true));
  }

  private hcall(): void {
    const p = this.platform;
    const t = this.thread;
    const nr = Number(t.gpr(3));
    const a = (i: number) => t.gpr(4 + i);
    p.hcallCounts.set(nr, (p.hcallCounts.get(nr) ?? 0) + 1);
    const done = (rc: number, r4?: bigint, more: readonly bigint[] = []): void => {
      this.rt.later(p.costs.hcallNs / 2, () => this.returnFromHcall(rc, r4, false, more));
    };
    const failure = p.hcallFailures.get(nr);
    if (failure !== undefined) {
      done(failure);
      return;
    }
    switch (nr) {
      // sPAPR XIVE (qemu: hw/intc/spapr_xive.c, emulated): NVT 0x400 + vCPU, queues and sources
      case H_INT_GET_QUEUE_INFO:
        done(p.xiveReady ? H_SUCCESS : H_FUNCTION, 0n, [0n]);
        return;
      case H_INT_SET_QUEUE_CONFIG: {
        const target = Number(a(1));
        if (!p.xiveReady || target >= p.threads.length) {
          done(p.xiveReady ? H_P2 : H_FUNCTION);
          return;
        }
        p.xive.setEnd({ kind: "nvt", nvt: 0x400 + target }, Number(a(2)), {
          queue: new XiveEventQueue(p.ram, Number(a(3)), Number(a(4))),
        });
        done(H_SUCCESS);
        return;
      }
      case H_INT_GET_SOURCE_INFO: {
        const lisn = Number(a(1));
        if (!p.xiveReady) {
          done(H_FUNCTION);
          return;
        }
        const page = BigInt(SPAPR_XIVE_VC_BASE) + (BigInt(lisn) << 17n);
        done(H_SUCCESS, 1n << 1n, [page + (1n << 16n), page, 16n]);
        return;
      }
      case H_INT_SET_SOURCE_CONFIG: {
        const target = Number(a(2));
        if (!p.xiveReady || target >= p.threads.length) {
          done(p.xiveReady ? H_P3 : H_FUNCTION);
          return;
        }
        p.xive.setEas(Number(a(1)), {
          target: { kind: "nvt", nvt: 0x400 + target },
          priority: Number(a(3)),
          eisn: Number(a(4)),
          masked: false,
        });
        done(H_SUCCESS);
        return;
      }
      case H_CEDE:
        this.cede();
        return;
      case H_PROD: {
        const target = p.threads.findIndex((_, i) => i === Number(a(0)));
        if (target < 0) {
          done(H_PARAMETER);
          return;
        }
        const h = p.hvCpu(target);
        if (h.ceded) h.wakeFromCede();
        else h.prodPending = true;
        done(H_SUCCESS);
        return;
      }
      case H_IPI: {
        const server = Number(a(0));
        if (server >= p.icps.length) {
          done(H_PARAMETER);
          return;
        }
        p.icps[server].mfrr = Number(a(1)) & 0xff;
        p.updateIcp(server);
        done(H_SUCCESS);
        return;
      }
      case H_XIRR: {
        const icp = p.icps[this.vcpu];
        let xirr = BigInt(icp.cppr) << 24n;
        if (icp.mfrr < icp.cppr) {
          xirr |= BigInt(XICS_IPI);
          icp.cppr = icp.mfrr;
        }
        p.updateIcp(this.vcpu);
        done(H_SUCCESS, xirr);
        return;
      }
      case H_EOI: {
        p.icps[this.vcpu].cppr = Number(a(0) >> 24n) & 0xff;
        p.updateIcp(this.vcpu);
        done(H_SUCCESS);
        return;
      }
      case H_CPPR: {
        p.icps[this.vcpu].cppr = Number(a(0)) & 0xff;
        p.updateIcp(this.vcpu);
        done(H_SUCCESS);
        return;
      }
      case H_REGISTER_VPA: {
        const func = Number((a(0) >> 45n) & 7n);
        const addr = Number(a(2));
        if (func !== 1 || addr % 128 !== 0 || !p.ram.contains(addr, 640)) {
          done(H_PARAMETER);
          return;
        }
        const size = (p.ram.read8(addr + 4) << 8) | p.ram.read8(addr + 5);
        if (size < 640) {
          done(H_PARAMETER);
          return;
        }
        if (p.markVpaShared) {
          const a9 = addr + LPPACA_OLD_STATUS_OFFSET;
          p.ram.write8(a9, p.ram.read8(a9) | LPPACA_OLD_SHARED_PROC);
        }
        done(H_SUCCESS);
        return;
      }
      case H_RTAS:
        this.rt.later(p.costs.rtasNs, () => this.rtas(Number(a(0))));
        return;
      case H_SET_MODE: {
        // qemu: hw/ppc/spapr_hcall.c h_set_mode_resource_le: LPCR[ILE] on every vCPU
        if (a(1) !== H_SET_MODE_RESOURCE_LE || a(0) > 1n) {
          done(H_PARAMETER);
          return;
        }
        for (const th of p.threads) {
          const lpcr = th.getSpr(SPRN_LPCR);
          th.setSpr(SPRN_LPCR, a(0) === 1n ? lpcr | LPCR_ILE : lpcr & ~LPCR_ILE);
        }
        done(H_SUCCESS);
        return;
      }
      default: {
        done(H_FUNCTION);
        return;
      }
    }
  }

  // qemu: hw/ppc/spapr_rtas.c
  private rtas(addr: number): void {
    const p = this.platform;
    const ram = p.ram;
    const token = ram.read32(addr, false);
    const nargs = ram.read32(addr + 4, false);
    const nret = ram.read32(addr + 8, false);
    const args: number[] = [];
    for (let i = 0; i < nargs; i++) args.push(ram.read32(addr + 12 + 4 * i, false));
    const rets = (vals: number[]) => {
      vals.slice(0, nret).forEach((v, i) => {
        ram.write32(addr + 12 + 4 * (nargs + i), v >>> 0, false);
      });
    };
    const service = p.tokenName(token);
    p.rtasLog.push({ time: p.sim.now, service, args });
    const forced = p.rtasReplies.get(service)?.shift() ?? p.rtasFailures.get(service);
    if (forced !== undefined) {
      rets(forced);
      this.returnFromHcall(H_SUCCESS);
      return;
    }
    switch (service) {
      case "query-cpu-stopped-state": {
        const v = args[0];
        if (v >= p.threads.length) rets([-3]);
        else rets([0, p.hvCpu(v).started ? 2 : 0]);
        break;
      }
      case "start-cpu": {
        const [v, start, r3] = args;
        if (v >= p.threads.length || p.hvCpu(v).started) {
          rets([-3]);
          break;
        }
        p.hvCpu(v).started = true;
        rets([0]);
        this.rt.later(p.costs.rtasNs, () => p.enterGuest(v, BigInt(start), [[3, BigInt(r3)]]));
        break;
      }
      case "ibm,os-term": {
        let s = "";
        for (let i = args[0]; i < args[0] + 2048; i++) {
          const b = ram.read8(i);
          if (b === 0) break;
          s += String.fromCharCode(b);
        }
        p.osTerm = s;
        p.runState = "guest-panicked";
        rets([0]);
        // QEMU stops the VM on GUEST_PANICKED: the vCPU is not re-entered
        return;
      }
      default:
        rets([-3]);
    }
    this.returnFromHcall(H_SUCCESS);
  }
}
