// linux: virt/kvm/kvm_main.c kvm_vcpu_ioctl and arch/powerpc/kvm/book3s_hv.c (kvmhv_run_single_vcpu,
// kvmppc_vcore_blocked, kvmppc_fast_vcpu_kick_hv, kvmppc_set_msr_hv): a vCPU, its register state
// and its thread on a host CPU; entry/exit, ONE_REG, hcalls and XICS-on-XIVE live beside it.

import { type Counter, nsToTb, type StatsRegistry, tbToNs } from "@stopsim/engine";
import {
  HFSCR_BHRB,
  HFSCR_DSCR,
  HFSCR_EBB,
  HFSCR_FP,
  HFSCR_PM,
  HFSCR_TAR,
  HFSCR_VECVSX,
  type Memory,
  MSR_LE,
  MSR_ME,
  MSR_SF,
  SPRN_AMR,
  SPRN_BESCR,
  SPRN_CIABR,
  SPRN_CTR,
  SPRN_DAR,
  SPRN_DAWR0,
  SPRN_DAWRX0,
  SPRN_DSCR,
  SPRN_DSISR,
  SPRN_EBBHR,
  SPRN_EBBRR,
  SPRN_FSCR,
  SPRN_IAMR,
  SPRN_LR,
  SPRN_MMCR0,
  SPRN_MMCR1,
  SPRN_MMCR2,
  SPRN_MMCRA,
  SPRN_PIDR,
  SPRN_PMC1,
  SPRN_PMC2,
  SPRN_PMC3,
  SPRN_PMC4,
  SPRN_PMC5,
  SPRN_PMC6,
  SPRN_PPR,
  SPRN_PSPB,
  SPRN_SDAR,
  SPRN_SIAR,
  SPRN_SIER,
  SPRN_SPRG0,
  SPRN_SPRG1,
  SPRN_SPRG2,
  SPRN_SPRG3,
  SPRN_SRR0,
  SPRN_SRR1,
  SPRN_TAR,
  SPRN_TIDR,
  SPRN_UAMOR,
  SPRN_VRSAVE,
  SPRN_WORT,
  SPRN_XER,
  type ThreadSoftware,
} from "@stopsim/isa";
import type { HostCpu, HostTask, HostTaskStep, HostTimer } from "../cpu.js";
import * as U from "./abi.js";
import {
  type Action,
  ENTER,
  entryPsscr,
  guestInterrupt,
  handleExitHv,
  KICK_IPI,
  type KvmStep,
  runKvmStep,
} from "./entry-exit.js";
import { adjustHaltPoll, DEFAULT_HALT_POLL, type HaltPollStats, newHaltPollStats } from "./halt-poll.js";
import {
  type ExitHandler,
  type KvmHostInfo,
  type KvmRegs,
  type KvmRun,
  type OneRegResult,
  u64,
} from "./kvm.js";
import { readOneReg, writeOneReg } from "./one-reg.js";
import { GuestGprs, GuestSprs } from "./regfile.js";
import type { KvmVm, Vcore } from "./vm.js";
import { type Icp, icpPending, interruptStateChanged } from "./xics-on-xive.js";
import type { KvmXiveNativeDevice } from "./xive-native.js";

export type VcpuState = "created" | "runnable" | "guest" | "kernel" | "blocked" | "userspace";

export class KvmVcpu implements HostTask {
  readonly name: string;
  readonly exitCounts = new Map<string, number>();
  /** The kvm_run record of the last exit (mmap'ed kvm_run). */
  readonly run_: KvmRun;
  state: VcpuState = "created";
  /** Emulated guest stop wake-ups (RFC patch 1 path) on this vCPU. */
  emulatedStops = 0;
  /** Program interrupts KVM queued to the guest. */
  programInterrupts = 0;
  /** `sc 1` from guest userspace reflected to the guest as a system call (sc_1_fast_return). */
  reflectedSyscalls = 0;
  /** Hypervisor doorbell exits re-entered from real mode (maybe_reenter_guest). */
  reenteredDoorbells = 0;
  /** kvmppc_fast_vcpu_kick_hv calls on this vCPU. */
  kicks = 0;
  /** The vcore's halt polling (one vCPU per vcore on the P9 radix path): window and counters. */
  readonly haltPoll: HaltPollStats = newHaltPollStats();
  /** Polling in kvmppc_vcore_blocked: the host thread spins (not idle) waiting for a wake-up. */
  private haltPolling = false;
  /** When kvmppc_vcore_blocked started (start_poll), -1 when not blocked. */
  private blockStartNs = -1;
  /**
   * The areas registered with H_REGISTER_VPA (guest real addresses): the VPA in use and the one
   * requested (applied at the next entry), the dispatch trace log and the SLB shadow (recorded;
   * KVM writes no dispatch trace entries in the model).
   */
  readonly vpaAreas: {
    vpa: number | null;
    vpaNext: number | null;
    dtl: number | null;
    slbShadow: number | null;
    updatePending: boolean;
  } = { vpa: null, vpaNext: null, dtl: null, slbShadow: null, updatePending: false };

  // guest register state (vcpu->arch)
  /** @internal */
  readonly gpr = new GuestGprs();
  /** @internal */
  cr = 0;
  /** @internal */
  pc = 0n;
  /** @internal */
  msr = MSR_SF | MSR_ME | MSR_LE;
  /** @internal */
  readonly spr = new GuestSprs(GUEST_SPRS);
  /** @internal */
  psscr = 0n;
  /** Guest decrementer expiry, timebase ticks. */
  /** @internal */
  decExpires: bigint;
  /** @internal */
  hfscr: bigint;
  /** @internal */
  online = 0;

  /** @internal */
  guestSw: ThreadSoftware | null = null;
  /** @internal */
  onExit: ExitHandler | null = null;
  /** @internal */
  hcallNeeded = false;
  /** @internal */
  ceded = false;
  /** @internal */
  prodded = false;
  /** @internal */
  pendingProgram: bigint | null = null;
  /** @internal */
  pendingIsi = false;
  /** @internal */
  doorbellRequest = false;
  /** @internal */
  exitRequested = false;
  /** The XIVE native device this vCPU is connected to (KVM_CAP_PPC_IRQ_XIVE), or null (XICS). */
  xive: KvmXiveNativeDevice | null = null;
  /** @internal */
  readonly icp: Icp = {
    cppr: 0,
    mfrr: U.LOWEST_PRIORITY,
    xisr: 0,
    extSource: 0,
    extPriority: 0xff,
  };
  /** @internal */
  readonly decTimer: HostTimer;
  /** @internal */
  readonly tickTimer: HostTimer;
  /** @internal */
  resumeCost = 0;
  /**
   * @internal Work the exit handler did beyond its own handling (an in-kernel hcall, the
   * scheduler tick), ns of this thread's time, spent before the run loop goes on.
   */
  exitWorkNs = 0;
  /** The current exit is an hcall handled in real mode: the return to the guest is the short one. */
  /** @internal */
  realModeReturn = false;
  /** Counts KVM_RUN returns and re-entries: a pending "thread sleeps in userspace" check of an older exit is void. */
  /** @internal */
  userspaceGen = 0;
  /** @internal */
  enterTimerArmed = false;
  /** The thread's memory while the host ran on it, put back on guest exit. */
  /** @internal */
  hostMemory: Memory | null = null;

  constructor(
    readonly vm: KvmVm,
    readonly id: number,
    readonly cpu: HostCpu,
    readonly vcore: Vcore,
  ) {
    this.name = `CPU ${id}/KVM`;
    this.run_ = {
      exit_reason: U.KVM_EXIT_UNKNOWN,
      papr_hcall: { nr: 0n, ret: 0n, args: new Array<bigint>(9).fill(0n) },
      hw: { hardware_exit_reason: 0 },
      mmio: { phys_addr: 0n, len: 0, is_write: false },
      internal: { suberror: 0, data: [] },
      vcpu_id: id,
    };
    // linux: arch/powerpc/kvm/powerpc.c kvm_arch_vcpu_create: dec_expires = get_tb(), so a vCPU
    // (a migrated one too, until userspace sets KVM_REG_PPC_DEC_EXPIRY) starts with an expired
    // decrementer rather than a large one that could hang it
    this.decExpires = BigInt(nsToTb(cpu.sim.now));
    // linux: kvmppc_core_vcpu_create_hv (POWER9): the guest gets these facilities; msgsndp
    // (HFSCR[MSGP]) stays off so KVM can emulate guest doorbells
    // ("vcpu->arch.hfscr &= mfspr(SPRN_HFSCR)": only facilities the host enabled)
    this.hfscr =
      (HFSCR_TAR | HFSCR_EBB | HFSCR_PM | HFSCR_BHRB | HFSCR_DSCR | HFSCR_VECVSX | HFSCR_FP) &
      vm.kvm.host.hostHfscr;
    this.decTimer = cpu.createTimer(() => this.decrementerWakeup(), `kvm vcpu${id} dec`);
    this.tickTimer = cpu.createTimer(() => this.tick(), `cpu${cpu.cpuId} tick`);
  }

  /** @internal */
  get h(): KvmHostInfo {
    return this.vm.kvm.host;
  }

  // -------------------------------------------------------------------------------------------
  // VMM API
  // -------------------------------------------------------------------------------------------

  /** The guest kernel's code for this vCPU: OS-level software KVM puts on the thread at entry. */
  setGuestSoftware(sw: ThreadSoftware): number {
    if (this.state === "guest" || this.state === "kernel") return -U.EBUSY;
    this.guestSw = sw;
    return 0;
  }

  /** KVM_GET_REGS */
  getRegs(): KvmRegs {
    return {
      pc: this.pc,
      cr: this.cr,
      ctr: this.sprv(SPRN_CTR),
      lr: this.sprv(SPRN_LR),
      xer: this.sprv(SPRN_XER),
      msr: this.msr,
      srr0: this.sprv(SPRN_SRR0),
      srr1: this.sprv(SPRN_SRR1),
      pid: this.sprv(SPRN_PIDR),
      sprg0: this.sprv(SPRN_SPRG0),
      sprg1: this.sprv(SPRN_SPRG1),
      sprg2: this.sprv(SPRN_SPRG2),
      sprg3: this.sprv(SPRN_SPRG3),
      gpr: this.gpr.toArray(),
    };
  }

  /** KVM_SET_REGS: 0, -EBUSY while the vCPU runs, -EINVAL for malformed values. */
  setRegs(regs: KvmRegs): number {
    if (this.state === "guest" || this.state === "kernel") return -U.EBUSY;
    if (!Array.isArray(regs.gpr) || regs.gpr.length !== 32) return -U.EINVAL;
    const all = [regs.pc, regs.ctr, regs.lr, regs.xer, regs.msr, regs.srr0, regs.srr1, regs.pid];
    if (
      ![...all, regs.sprg0, regs.sprg1, regs.sprg2, regs.sprg3, ...regs.gpr].every(
        (v) => typeof v === "bigint",
      )
    ) {
      return -U.EINVAL;
    }
    if ((u64(regs.pc) & 3n) !== 0n) return -U.EINVAL;
    this.pc = u64(regs.pc);
    this.cr = regs.cr >>> 0;
    this.spr.set(SPRN_CTR, u64(regs.ctr));
    this.spr.set(SPRN_LR, u64(regs.lr));
    this.spr.set(SPRN_XER, u64(regs.xer));
    this.setMsr(u64(regs.msr));
    this.spr.set(SPRN_SRR0, u64(regs.srr0));
    this.spr.set(SPRN_SRR1, u64(regs.srr1));
    this.spr.set(SPRN_PIDR, u64(regs.pid) & 0xffffffffn);
    this.spr.set(SPRN_SPRG0, u64(regs.sprg0));
    this.spr.set(SPRN_SPRG1, u64(regs.sprg1));
    this.spr.set(SPRN_SPRG2, u64(regs.sprg2));
    this.spr.set(SPRN_SPRG3, u64(regs.sprg3));
    for (let i = 0; i < 32; i++) this.gpr.set(i, u64(regs.gpr[i]));
    return 0;
  }

  // linux: book3s_hv.c kvmppc_set_msr_hv
  /** @internal */
  setMsr(msr: bigint): void {
    const TS = 3n << 33n;
    if ((msr & TS) === TS) msr &= ~TS;
    this.msr = msr;
    this.ceded = false; // kvmppc_end_cede
  }

  /** @internal */
  sprv(n: number): bigint {
    return this.spr.get(n) ?? 0n;
  }

  /** KVM_GET_ONE_REG (linux: kvmppc_get_one_reg_hv and book3s.c kvmppc_get_one_reg). */
  getOneReg(id: bigint): OneRegResult {
    if (typeof id !== "bigint") return { ret: -U.EINVAL, value: 0n };
    if (id === U.KVM_REG_PPC_VP_STATE) {
      // kvmppc_xive_native_get_vp
      const v = this.xive?.getVpState(this.id) ?? -U.ENXIO;
      return typeof v === "bigint" ? { ret: 0, value: v } : { ret: v, value: 0n };
    }
    const v = readOneReg(this, u64(id));
    return v === undefined ? { ret: -U.EINVAL, value: 0n } : { ret: 0, value: v };
  }

  /** KVM_SET_ONE_REG: 0, -EINVAL for unknown ids or invalid values, -EBUSY while running. */
  setOneReg(id: bigint, value: bigint): number {
    if (typeof id !== "bigint" || typeof value !== "bigint") return -U.EINVAL;
    if (this.state === "guest" || this.state === "kernel") return -U.EBUSY;
    if (id === U.KVM_REG_PPC_VP_STATE) return this.xive?.setVpState(this.id, value) ?? -U.ENXIO;
    const rid = u64(id);
    const size = U.oneRegSize(rid);
    if (size > 16) return -U.EINVAL;
    const val = size === 4 ? BigInt.asUintN(32, value) : u64(value);
    return writeOneReg(this, rid, val);
  }

  /** KVM_ENABLE_CAP on the vCPU fd (linux: powerpc.c kvm_vcpu_ioctl_enable_cap). */
  enableCap(cap: number, args: readonly (number | bigint)[] = [], flags = 0): number {
    if (flags !== 0) return -U.EINVAL;
    switch (cap) {
      case U.KVM_CAP_PPC_PAPR:
        return 0;
      case U.KVM_CAP_IRQ_XICS:
        return this.vm.inKernelXics ? 0 : -U.EINVAL;
      case U.KVM_CAP_PPC_IRQ_XIVE: {
        // kvmppc_xive_native_connect_vcpu: args [device fd, server]
        const dev = this.vm.xiveDevice;
        if (dev === null || Number(args[0] ?? -1) !== dev.fd) return -U.EPERM;
        const r = dev.connectVcpu(this.xiveVcpu(), Number(args[1] ?? 0));
        if (r === 0) this.xive = dev;
        return r;
      }
      default:
        void args;
        return -U.EINVAL;
    }
  }

  /**
   * KVM_INTERRUPT: raise (KVM_INTERRUPT_SET / _SET_LEVEL) or lower (KVM_INTERRUPT_UNSET) the
   * vCPU's external interrupt, as a device source of priority 5 presented through the ICP.
   */
  interrupt(irq: number, source = 0x1000): number {
    if (irq === U.KVM_INTERRUPT_SET || irq === U.KVM_INTERRUPT_SET_LEVEL) {
      this.icp.extSource = source;
      this.icp.extPriority = 5;
      interruptStateChanged(this);
      return 0;
    }
    if (irq === U.KVM_INTERRUPT_UNSET) {
      this.icp.extSource = 0;
      this.icp.extPriority = 0xff;
      interruptStateChanged(this);
      return 0;
    }
    return -U.EINVAL;
  }

  /** Asks a running vCPU to come back to userspace (signal + immediate_exit): KVM_EXIT_INTR. */
  requestExit(): void {
    this.exitRequested = true;
    this.kickVcpu();
  }

  /**
   * KVM_RUN (asynchronous): the vCPU runs in simulated time until it must exit to userspace,
   * then `onExit(run, vcpu)` is called with the kvm_run record. Returns 0, or -EBUSY (already
   * running), -ENOEXEC (no guest software set).
   */
  run(onExit: ExitHandler): number {
    if (this.state !== "created" && this.state !== "userspace") return -U.EBUSY;
    if (this.guestSw === null) return -8; // -ENOEXEC
    this.onExit = onExit;
    // kvm_arch_vcpu_ioctl_run: complete a userspace hcall
    if (this.hcallNeeded) {
      this.gpr.set(3, u64(this.run_.papr_hcall.ret));
      for (let i = 0; i < 9; i++) this.gpr.set(4 + i, u64(this.run_.papr_hcall.args[i] ?? 0n));
      this.hcallNeeded = false;
    }
    this.resumeCost = this.state === "userspace" ? this.h.costs.userspaceRoundTripNs : 0;
    this.userspaceGen++;
    this.state = "runnable";
    if (this.cpu.current === this) {
      // the thread never left its CPU: straight back into the kernel
      this.schedIn(this.cpu, false);
      return 0;
    }
    this.cpu.wakeTask(this);
    return 0;
  }

  // -------------------------------------------------------------------------------------------
  // HostTask: the vCPU thread on its host CPU (kvmhv_run_single_vcpu)
  // -------------------------------------------------------------------------------------------

  /** HostTask: the vCPU thread got its host CPU. */
  schedIn(_cpu: HostCpu, fromIdle: boolean): void {
    const costs = this.h.costs;
    let delay = this.resumeCost;
    this.resumeCost = 0;
    if (this.state === "blocked" || this.ceded) {
      // woken from kvmppc_vcore_blocked's schedule(): end the cede, back into the run loop
      this.endBlock(true);
      delay += this.cpu.cost(costs.wakeTaskNs) + this.cpu.cost(costs.runLoopNs);
      this.decTimer.cancel();
      this.ceded = false;
    } else if (fromIdle) {
      delay += this.cpu.cost(costs.wakeTaskNs);
    }
    this.state = "kernel";
    if (!this.tickTimer.armed) this.tickTimer.start(this.cpu.sim.now + this.h.tickNs);
    this.scheduleEnter(delay);
  }

  /** @internal */
  scheduleEnter(delay: number): void {
    if (this.enterTimerArmed) return;
    this.enterTimerArmed = true;
    this.cpu.continueTaskLater(this, delay, ENTER);
  }

  /** HostTask: this vCPU's kernel code continues at `step` (entry-exit.ts KvmStep). */
  runStep(_cpu: HostCpu, step: HostTaskStep): void {
    runKvmStep(this, step as KvmStep);
  }

  /** Host scheduler tick while the vCPU thread runs (HZ). */
  /** @internal */
  tick(): void {
    if (this.cpu.current === this) this.tickTimer.start(this.cpu.sim.now + this.h.tickNs);
  }

  // linux: book3s_hv.c kvmppc_vcpu_woken
  /** @internal */
  woken(): boolean {
    return (
      this.pendingProgram !== null ||
      this.pendingIsi ||
      this.doorbellRequest ||
      icpPending(this) ||
      (this.xive?.interruptPending(this.id) ?? false) ||
      this.decPending() ||
      this.exitRequested
    );
  }

  /** @internal */
  decPending(): boolean {
    return nsToTb(this.cpu.sim.now) >= this.decExpires;
  }

  /**
   * The PSSCR KVM loads on guest entry (src/kvm/entry-exit.ts entryPsscr: the 2020 P9 path forces
   * PSSCR_EC only; a build whose policy clears the trap bits loads `psscr & ~(PSSCR_EC | PSSCR_ESL)`).
   */
  entryPsscr(): bigint {
    return entryPsscr(this);
  }

  /** HostTask: an interrupt routed to the hypervisor while this vCPU's guest ran: a guest exit. */
  guestInterrupt(cpu: HostCpu, vector: number): void {
    guestInterrupt(this, cpu, vector);
  }

  /** @internal */
  countExit(name: string): void {
    this.exitCounts.set(name, (this.exitCounts.get(name) ?? 0) + 1);
    this.vm.countExit(name);
    // the registry's counter for this exit, looked up once per name (an exit is a hot path)
    const stats = this.cpu.sim.stats;
    if (stats !== this.exitCountersOf) {
      this.exitCounters.clear();
      this.exitCountersOf = stats;
    }
    let c = this.exitCounters.get(name);
    if (c === undefined) {
      c = stats.counter(`kvm.exit.${name}`);
      this.exitCounters.set(name, c);
    }
    c.inc();
  }

  /** The `kvm.exit.<name>` counters of registry `exitCountersOf`, by exit name. */
  private readonly exitCounters = new Map<string, Counter>();
  private exitCountersOf: StatsRegistry | null = null;

  /** Exit counts per kvm_exit name. */
  exitCountsRecord(): Record<string, number> {
    return Object.fromEntries([...this.exitCounts.entries()].sort(([x], [y]) => x.localeCompare(y)));
  }

  /** linux: book3s_hv.c kvmppc_handle_exit_hv (src/kvm/entry-exit.ts). */
  handleExitHv(vector: number, hdar: bigint, hdsisr: bigint): Action {
    return handleExitHv(this, vector, hdar, hdsisr);
  }

  // ---------------------------------------------------------------------------------------------
  // XICS presentation on XIVE (linux: arch/powerpc/kvm/book3s_xive_template.c GLUE(X_PFX,h_*))
  // ---------------------------------------------------------------------------------------------

  // ---------------------------------------------------------------------------------------------
  // Blocking (H_CEDE) and wake-ups
  // ---------------------------------------------------------------------------------------------

  /** kvmppc_set_timer + kvmppc_vcore_blocked: the ceded vCPU sleeps, its host CPU is free. */
  /** @internal */
  block(workNs = 0): void {
    const now = this.cpu.sim.now;
    if (nsToTb(now) >= this.decExpires) {
      // the decrementer already expired: no sleep
      this.ceded = false;
      this.scheduleEnter(workNs);
      return;
    }
    this.decTimer.start(tbToNs(Number(this.decExpires)));
    this.state = "blocked";
    this.blockStartNs = now;
    if (this.cpu.sim.trace.enabled) {
      this.cpu.sim.trace.instant(this.cpu.track, "kvm_vcpu_block", "kvm", { vcpu: this.id });
    }
    const step: KvmStep = { kind: "blocked", pollNs: this.haltPoll.pollNs };
    this.cpu.continueTaskLater(this, workNs + this.cpu.cost(this.h.costs.blockNs), step);
  }

  /** @internal kvmppc_vcore_blocked once its entry has run: poll, or sleep. */
  blockedStep(pollNs: number): void {
    if (this.state !== "blocked") {
      // woken while blocking: keep the CPU and go back in
      return;
    }
    if (pollNs > 0) {
      // linux: book3s_hv.c kvmppc_vcore_blocked: poll kvmppc_vcore_check_block until
      // start_poll + vc->halt_poll_ns with interrupts on; the thread keeps running
      this.haltPoll.attemptedPolls++;
      this.haltPolling = true;
      this.pollUntil(this.cpu.sim.now + pollNs);
      return;
    }
    this.sleep();
  }

  /** The poll loop: a wake-up ends it through kickVcpu; the vCPU's decrementer timer fires in it. */
  private pollUntil(endNs: number): void {
    const decAt = this.decTimer.armed ? this.decTimer.at : Number.POSITIVE_INFINITY;
    const now = this.cpu.sim.now;
    this.cpu.continueTaskLater(this, Math.min(endNs, Math.max(decAt, now)) - now, { kind: "poll", endNs });
  }

  /** @internal One check of the halt-poll loop. */
  pollStep(endNs: number): void {
    if (!this.haltPolling) return;
    // the host timer interrupt taken while polling (kvmppc_decrementer_func kicks the vCPU)
    this.cpu.runExpiredTimers();
    if (!this.haltPolling) return;
    if (this.cpu.sim.now >= endNs) {
      this.haltPolling = false;
      this.haltPoll.pollFailNs += this.cpu.sim.now - this.blockStartNs;
      this.sleep();
    } else this.pollUntil(endNs);
  }

  /** schedule() in kvmppc_vcore_blocked: the vCPU task sleeps, its host CPU is free. */
  private sleep(): void {
    this.tickTimer.cancel();
    this.cpu.taskBlocked(this);
  }

  /** The end of kvmppc_vcore_blocked: counters and the poll window's adjustment. */
  private endBlock(slept: boolean): void {
    if (this.blockStartNs < 0) return;
    const blockNs = this.cpu.sim.now - this.blockStartNs;
    this.blockStartNs = -1;
    const hp = this.haltPoll;
    if (slept) {
      hp.successfulWaits++;
      hp.waitNs += blockNs;
    } else if (hp.pollNs > 0) {
      hp.successfulPolls++;
      hp.pollSuccessNs += blockNs;
    }
    hp.pollNs = adjustHaltPoll(hp.pollNs, blockNs, this.h.haltPoll ?? DEFAULT_HALT_POLL);
  }

  /** Whether the vCPU's host thread is polling for its wake-up (kvmppc_vcore_blocked). */
  get isHaltPolling(): boolean {
    return this.haltPolling;
  }

  /** kvmppc_decrementer_func: the ceded vCPU's decrementer expired. */
  /** @internal */
  decrementerWakeup(): void {
    this.kickVcpu();
  }

  /** kvmppc_fast_vcpu_kick_hv: wake a blocked vCPU or make a running one exit. */
  kickVcpu(): void {
    this.kicks++;
    if (this.state === "blocked") {
      if (this.cpu.current === this) {
        // still blocking on its CPU (before schedule(), or polling): resume directly
        this.haltPolling = false;
        this.endBlock(false);
        this.state = "kernel";
        this.ceded = false;
        this.decTimer.cancel();
        this.scheduleEnter(this.cpu.cost(this.h.costs.runLoopNs));
        return;
      }
      this.state = "runnable";
      this.cpu.wakeTask(this);
    } else if (this.state === "guest") {
      // IPI the thread running the vCPU: it exits (H_DOORBELL) and re-enters with the new state
      this.cpu.continueTaskLater(this, this.cpu.latency(this.h.costs.ipiDeliveryNs), KICK_IPI);
    }
  }

  /** @internal */
  exitToUserspace(reason: number): void {
    this.run_.exit_reason = reason;
    this.state = "userspace";
    this.tickTimer.cancel();
    // KVM_RUN returns: the vCPU thread goes on running the VMM's exit handling on its CPU, which
    // does not idle meanwhile. A thread that has not called KVM_RUN again within
    // userspaceRoundTripNs sleeps in the VMM (a halted vCPU waiting for work): the CPU is free.
    const gen = ++this.userspaceGen;
    const sleep: KvmStep = { kind: "userspace-sleep", gen };
    this.cpu.continueTaskLater(this, this.cpu.cost(this.h.costs.userspaceRoundTripNs), sleep);
    const cb = this.onExit;
    if (cb !== null) cb(this.run_, this);
  }

  /** What the XIVE native device sees of this vCPU. */
  /** @internal */
  xiveVcpu(): import("./xive-native.js").XiveNativeVcpu {
    return {
      id: this.id,
      hostCpuId: this.cpu.cpuId,
      // xive_esc_irq: "if (vcpu->arch.ceded) kvmppc_fast_vcpu_kick(vcpu)"
      escalationWake: () => {
        if (this.ceded) this.kickVcpu();
      },
    };
  }

  /** The guest PC (for tests and diagnostics; the VMM uses getRegs). */
  get guestPc(): bigint {
    return this.pc;
  }

  /** Whether the vCPU is ceded (blocked in H_CEDE). */
  get isCeded(): boolean {
    return this.ceded;
  }

  /** Current state of the vCPU thread. */
  get runState(): VcpuState {
    return this.state;
  }
}

/** SPRs KVM saves on exit and loads on entry (besides PC/MSR/GPRs/CR/DEC/PSSCR/HFSCR). */
export const GUEST_SPRS: readonly number[] = [
  SPRN_LR,
  SPRN_CTR,
  SPRN_XER,
  SPRN_SRR0,
  SPRN_SRR1,
  SPRN_SPRG0,
  SPRN_SPRG1,
  SPRN_SPRG2,
  SPRN_SPRG3,
  SPRN_DAR,
  SPRN_DSISR,
  SPRN_DSCR,
  SPRN_TAR,
  SPRN_PIDR,
  SPRN_CIABR,
  SPRN_DAWR0,
  SPRN_DAWRX0,
  SPRN_PPR,
  SPRN_FSCR,
  SPRN_IAMR,
  SPRN_AMR,
  SPRN_UAMOR,
  SPRN_PSPB,
  SPRN_TIDR,
  SPRN_WORT,
  SPRN_EBBHR,
  SPRN_EBBRR,
  SPRN_BESCR,
  SPRN_VRSAVE,
  // PMU (linux: book3s_hv.c kvmhv_load_guest_pmu / kvmhv_save_guest_pmu of the P9 path)
  SPRN_MMCR0,
  SPRN_MMCR1,
  SPRN_MMCR2,
  SPRN_MMCRA,
  SPRN_PMC1,
  SPRN_PMC2,
  SPRN_PMC3,
  SPRN_PMC4,
  SPRN_PMC5,
  SPRN_PMC6,
  SPRN_SIAR,
  SPRN_SDAR,
  SPRN_SIER,
];
