// linux: arch/powerpc/kvm/book3s_hv.c kvmhv_run_single_vcpu, kvmhv_p9_guest_entry,
// kvmhv_load_hv_regs_and_go and kvmppc_handle_exit_hv; book3s_hv_builtin.c
// kvmppc_inject_interrupt_hv; book3s_hv_rmhandlers.S (the real-mode return): guest entry and exit.
//
// Timed steps on the host CPU's runtime (cpu.ts HostCpu.rt, @stopsim/isa KThread):
// - the exit path up to kvmhv_run_single_vcpu's local_irq_enable() (save the guest state, switch
//   to the host, the exit's handling cost) is one step answering the ISA's interrupt, so it always
//   ends in an event: host interrupts that came meanwhile are taken there, as in the real kernel;
// - from there kvmppc_handle_exit_hv, the userspace-free hcalls (kvmppc_pseries_do_hcall), the
//   next iteration of the run loop (kvmppc_core_prepare_to_enter, local_irq_disable) and the entry
//   path up to the hrfid are one step with interrupts off: it issues its effects in order, charges
//   the entry's cost once and continues at the hrfid, inline when nothing else is due before then.

import { nsToTb } from "@stopsim/engine";
import {
  BOOK3S_INTERRUPT_EXTERNAL,
  BOOK3S_INTERRUPT_H_DATA_STORAGE,
  BOOK3S_INTERRUPT_H_DOORBELL,
  BOOK3S_INTERRUPT_H_EMUL_ASSIST,
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_H_INST_STORAGE,
  BOOK3S_INTERRUPT_H_VIRT,
  BOOK3S_INTERRUPT_HV_DECREMENTER,
  BOOK3S_INTERRUPT_INST_STORAGE,
  BOOK3S_INTERRUPT_PROGRAM,
  BOOK3S_INTERRUPT_SYSCALL,
  EXEC_OK,
  FSCR_MSGP_LG,
  FSCR_STOP_LG,
  HRFID,
  type HwThread,
  LPCR_ILE,
  LPCR_LD,
  MSR_LE,
  MSR_ME,
  MSR_PR,
  MSR_SF,
  PSSCR_EC,
  PSSCR_ESL,
  PSSCR_GUEST_VIS,
  SPRN_DEC,
  SPRN_HDAR,
  SPRN_HDEC,
  SPRN_HDSISR,
  SPRN_HFSCR,
  SPRN_HSRR0,
  SPRN_HSRR1,
  SPRN_LPCR,
  SPRN_PPR,
  SPRN_PSSCR,
  SPRN_SRR0,
  SPRN_SRR1,
  SRR1_PROGILL,
} from "@stopsim/isa";
import type { HostCpu } from "../cpu.js";
import * as U from "./abi.js";
import { doHcall, updateVpas } from "./hcall.js";
import { guestPsscrClearsTrapBits, u64 } from "./kvm.js";
import { exitName } from "./trace-names.js";
import type { KvmVcpu } from "./vcpu.js";
import { icpPending, REAL_MODE_XICS_HCALLS } from "./xics-on-xive.js";

/** kvmhv_run_single_vcpu up to the hrfid: prepare, then kvmhv_p9_guest_entry. */
export type Action = { kind: "resume" } | { kind: "host" } | { kind: "block" };
export const RESUME: Action = { kind: "resume" };
export const HOST: Action = { kind: "host" };
export const BLOCK: Action = { kind: "block" };

/** The points where a vCPU task's kernel code continues on its host CPU (HostOp "task"). */
export type KvmStep =
  /** kvmhv_run_single_vcpu from the top (scheduleEnter) */
  | { readonly kind: "enter" }
  /** the hrfid at the end of the entry path, with the interrupt injected on the way (or null) */
  | { readonly kind: "hrfid"; readonly inject: number | null }
  /** after the exit path: kvmppc_handle_exit_hv with interrupts on */
  | { readonly kind: "exit"; readonly vector: number; readonly hdar: bigint; readonly hdsisr: bigint }
  /** kvmppc_vcore_blocked after its entry cost: poll or sleep */
  | { readonly kind: "blocked"; readonly pollNs: number }
  /** a check of the halt-poll loop (a timer due, or the end of the poll window `endNs`) */
  | { readonly kind: "poll"; readonly endNs: number }
  /** the kick IPI reaching the thread that runs the guest */
  | { readonly kind: "kick-ipi" }
  /** the VMM did not call KVM_RUN again after exit `gen`: its thread sleeps */
  | { readonly kind: "userspace-sleep"; readonly gen: number };

export const ENTER: KvmStep = { kind: "enter" };
const HRFID_PLAIN: KvmStep = { kind: "hrfid", inject: null };
export const KICK_IPI: KvmStep = { kind: "kick-ipi" };

/** HostTask.runStep of a vCPU: its kernel code continues at `step`. */
export function runKvmStep(vcpu: KvmVcpu, step: KvmStep): void {
  switch (step.kind) {
    case "enter":
      vcpu.enterTimerArmed = false;
      enterGuest(vcpu);
      return;
    case "hrfid":
      hrfidToGuest(vcpu, step.inject);
      return;
    case "exit":
      afterExit(vcpu, step.vector, 0, step.hdar, step.hdsisr);
      return;
    case "blocked":
      vcpu.blockedStep(step.pollNs);
      return;
    case "poll":
      vcpu.pollStep(step.endNs);
      return;
    case "kick-ipi":
      if (vcpu.state === "guest") vcpu.cpu.thread.receiveHypervisorDoorbell();
      return;
    case "userspace-sleep":
      if (vcpu.userspaceGen === step.gen && vcpu.state === "userspace") vcpu.cpu.taskBlocked(vcpu);
      return;
  }
}

export function noTctx(pir: number): never {
  throw new RangeError(`host thread PIR ${pir} has no XIVE thread context (the host booted without XIVE)`);
}

export function enterGuest(vcpu: KvmVcpu): void {
  if (vcpu.state !== "kernel") return;
  const cpu = vcpu.cpu;
  cpu.runExpiredTimers();
  if (vcpu.exitRequested) {
    vcpu.exitRequested = false;
    vcpu.exitToUserspace(U.KVM_EXIT_INTR);
    return;
  }
  // kvmppc_core_prepare_to_enter: deliver a queued program / ISI interrupt
  let inject: number | null = null;
  if (vcpu.pendingProgram !== null) {
    injectInterrupt(vcpu, BOOK3S_INTERRUPT_PROGRAM, vcpu.pendingProgram);
    vcpu.pendingProgram = null;
    inject = BOOK3S_INTERRUPT_PROGRAM;
  } else if (vcpu.pendingIsi) {
    injectInterrupt(vcpu, BOOK3S_INTERRUPT_INST_STORAGE, 0x40000000n);
    vcpu.pendingIsi = false;
    inject = BOOK3S_INTERRUPT_INST_STORAGE;
  }
  updateVpas(vcpu);
  const costs = vcpu.h.costs;
  const entry = vcpu.realModeReturn && inject === null ? costs.realModeSwitchNs : costs.guestEntryNs;
  vcpu.realModeReturn = false;
  const delay = cpu.cost(entry) + (inject !== null ? cpu.cost(costs.injectInterruptNs) : 0);
  const hrfid = inject === null ? HRFID_PLAIN : { kind: "hrfid" as const, inject };
  if (cpu.continueTaskAfter(vcpu, delay, hrfid)) hrfidToGuest(vcpu, inject);
}

// linux: book3s_hv_builtin.c kvmppc_inject_interrupt_hv
export function injectInterrupt(vcpu: KvmVcpu, vector: number, srr1Flags: bigint): void {
  vcpu.spr.set(SPRN_SRR0, vcpu.pc);
  vcpu.spr.set(SPRN_SRR1, (vcpu.msr & ~0x783f0000n) | srr1Flags);
  vcpu.pc = BigInt(vector);
  // vcpu->arch.intr_msr: MSR_SF | MSR_ME, plus MSR_LE when LPCR[ILE]
  vcpu.msr = MSR_SF | MSR_ME | ((vcpu.vcore.lpcr & LPCR_ILE) !== 0n ? MSR_LE : 0n);
}

/**
 * The PSSCR KVM loads on guest entry. The 2020 P9 path forces PSSCR_EC only
 * (linux: book3s_hv.c kvmhv_load_hv_regs_and_go: `mtspr(SPRN_PSSCR, vcpu->arch.psscr | PSSCR_EC
 * | ...)`; book3s_hv_rmhandlers.S: `oris r6, r6, PSSCR_EC@h`, "This makes stop trap to HV");
 * ESL keeps the guest-visible value, which is 0 because vcpu->arch.psscr is always masked with
 * PSSCR_GUEST_VIS. A build whose policy clears the trap bits (RFC patch 2) loads
 * `psscr & ~(PSSCR_EC | PSSCR_ESL)`.
 */
export function entryPsscr(vcpu: KvmVcpu): bigint {
  const base = vcpu.psscr & PSSCR_GUEST_VIS;
  return guestPsscrClearsTrapBits(vcpu.h) ? base & ~(PSSCR_EC | PSSCR_ESL) : base | PSSCR_EC;
}

export function hrfidToGuest(vcpu: KvmVcpu, inject: number | null): void {
  if (vcpu.state !== "kernel") return;
  const cpu = vcpu.cpu;
  const t = cpu.thread;
  const sw = vcpu.guestSw;
  if (sw === null) return;
  cpu.runExpiredTimers();
  const now = cpu.sim.now;
  // timebase values are below 2^53: the decrementers are computed as numbers
  const tb = nsToTb(now);
  // time_limit: the host's next timer event (kvmhv_p9_guest_entry / load_hv_regs_and_go)
  const next = cpu.nextTimerAt;
  const hdec = Number.isFinite(next) ? nsToTb(next) - tb : 0x7fffffff;
  if (hdec <= 0) {
    // "if (hdec < 0) return BOOK3S_INTERRUPT_HV_DECREMENTER": handled without entering
    afterExit(vcpu, BOOK3S_INTERRUPT_HV_DECREMENTER, 0);
    return;
  }
  // load guest state
  vcpu.gpr.loadInto(t);
  t.cr = vcpu.cr;
  vcpu.spr.loadInto(t);
  setDecExpiry(t, vcpu.decExpires, tb);
  t.setSprHalves(SPRN_HDEC, 0, Math.min(hdec, 0x7fffffff));
  t.setSpr(SPRN_PSSCR, entryPsscr(vcpu));
  t.setSpr(SPRN_HFSCR, vcpu.hfscr);
  t.setSpr(SPRN_LPCR, vcpu.vcore.lpcr);
  t.setSpr(SPRN_HSRR0, vcpu.pc);
  t.setSpr(SPRN_HSRR1, vcpu.msr);
  t.setSoftware("os", sw);
  // the guest's real-mode loads and stores reach its memory slot (no partition-scoped
  // translation in the model: guest real address = offset in the slot at address 0)
  vcpu.hostMemory = t.memory;
  t.memory = vcpu.vm.guestRealMemory();
  // XIVE: push the vCPU's interrupt context: pending externals are presented to the thread
  if (vcpu.xive !== null) vcpu.xive.push(vcpu.id, vcpu.h.xive?.hw.tctx(t.pir) ?? noTctx(t.pir));
  else t.setExternalInterrupt(icpPending(vcpu));
  if (vcpu.doorbellRequest) {
    vcpu.doorbellRequest = false;
    t.receivePrivilegedDoorbell();
  }
  vcpu.state = "guest";
  cpu.state = "guest";
  if (cpu.sim.trace.enabled) {
    cpu.sim.trace.instant(cpu.track, "kvm_guest_enter", "kvm", {
      vcpu: vcpu.id,
      pc: `0x${vcpu.pc.toString(16)}`,
      psscr: `0x${entryPsscr(vcpu).toString(16)}`,
    });
  }
  const r = t.execute(HRFID);
  if (r !== EXEC_OK) return; // an interrupt was taken at once and its software notified
  if (inject !== null) sw.interrupt(t, inject);
  else t.dispatch();
}

/** The largest value a double holds exactly, as a bigint. */
const MAX_EXACT_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * mtspr DEC with `decExpires - tb`, the guest's decrementer expiry in timebase ticks as a 64-bit
 * value (linux: book3s_hv.c kvmhv_p9_guest_entry `mtspr(SPRN_DEC, vcpu->arch.dec_expires - mftb())`).
 */
function setDecExpiry(t: HwThread, decExpires: bigint, tb: number): void {
  if (decExpires > MAX_EXACT_BIG) {
    t.setSpr(SPRN_DEC, BigInt.asUintN(64, decExpires - BigInt(tb)));
    return;
  }
  const d = Number(decExpires) - tb;
  // two's complement halves of d (|d| < 2^53)
  t.setSprHalves(SPRN_DEC, Math.floor(d / 2 ** 32), d >>> 0);
}

/**
 * mfspr DEC as a signed number: 56 bits wide with LPCR[LD] (large decrementer), else 32 (the
 * ISA model keeps the large decrementer within what a double holds exactly).
 */
function signedDec(t: HwThread, large: boolean): number {
  const lo = t.getSprLo(SPRN_DEC);
  if (!large) return lo | 0;
  return ((t.getSprHi(SPRN_DEC) << 8) >> 8) * 2 ** 32 + lo;
}

/** HostTask: an interrupt routed to the hypervisor while vcpu vCPU's guest ran: a guest exit. */
export function guestInterrupt(vcpu: KvmVcpu, cpu: HostCpu, vector: number): void {
  if (vcpu.state !== "guest") return;
  const t = cpu.thread;
  // save guest state (the exit path of kvmhv_p9_guest_entry)
  const srrBased = vector === BOOK3S_INTERRUPT_SYSCALL || vector < 0x300;
  vcpu.pc = t.getSpr(srrBased ? SPRN_SRR0 : SPRN_HSRR0);
  vcpu.msr = t.getSpr(srrBased ? SPRN_SRR1 : SPRN_HSRR1);
  vcpu.gpr.saveFrom(t);
  vcpu.cr = t.cr;
  vcpu.spr.saveFrom(t);
  // the interrupt entry saved the guest's PPR before HMT_MEDIUM (rmhandlers.S: HSTATE_PPR ->
  // VCPU_PPR); the thread's PPR is the host's now
  vcpu.spr.set(SPRN_PPR, cpu.exceptionPpr);
  vcpu.psscr = t.getSpr(SPRN_PSSCR) & PSSCR_GUEST_VIS;
  vcpu.hfscr = t.getSpr(SPRN_HFSCR);
  vcpu.decExpires = BigInt(nsToTb(cpu.sim.now) + signedDec(t, (vcpu.vcore.lpcr & LPCR_LD) !== 0n));
  if (t.pDoorbell) {
    vcpu.doorbellRequest = true;
    t.pDoorbell = false;
  }
  const hdar = t.getSpr(SPRN_HDAR);
  const hdsisr = t.getSpr(SPRN_HDSISR);
  // XIVE: pull the vCPU context; back to the host's LPCR
  if (vcpu.xive !== null) vcpu.xive.pull(vcpu.id, vcpu.h.xive?.hw.tctx(t.pir) ?? noTctx(t.pir));
  else t.setExternalInterrupt(false);
  t.setSpr(SPRN_LPCR, vcpu.h.hostLpcr);
  t.setSpr(SPRN_HDEC, 0x7fffffffn);
  t.setSoftware("os", null);
  t.memory = vcpu.hostMemory;
  vcpu.hostMemory = null;
  vcpu.state = "kernel";
  cpu.state = "busy";
  const name = exitName(vector);
  vcpu.countExit(name);
  if (cpu.sim.trace.enabled) {
    cpu.sim.trace.instant(cpu.track, "kvm_exit", "kvm", {
      vcpu: vcpu.id,
      exit: name,
      pc: `0x${vcpu.pc.toString(16)}`,
      msr: `0x${vcpu.msr.toString(16)}`,
    });
  }
  const costs = vcpu.h.costs;
  let delay: number;
  if (realModeHcall(vcpu, vector)) {
    // hcall_try_real_mode: the handler runs in the real-mode exit path and returns straight to
    // the guest (fast_guest_return), without the switch to the host's virtual mode
    vcpu.realModeReturn = true;
    delay = cpu.cost(costs.realModeSwitchNs) + cpu.cost(costs.xicsHcallNs);
  } else if (vector === BOOK3S_INTERRUPT_SYSCALL && (vcpu.msr & MSR_PR) !== 0n) {
    // hcall_try_real_mode: "sc 1 from userspace - reflect to guest syscall" (sc_1_fast_return):
    // reflected to the guest's 0xc00 in the real-mode exit path, then fast_guest_return
    vcpu.realModeReturn = true;
    delay = cpu.cost(costs.realModeSwitchNs);
  } else if (vector === BOOK3S_INTERRUPT_H_DOORBELL && !vcpu.exitRequested) {
    // book3s_hv_rmhandlers.S: "Hypervisor doorbell - exit only if host IPI flag set": with
    // HSTATE_HOST_IPI clear (a KVM kick, not a host IPI: signals and host reschedules set it)
    // maybe_reenter_guest goes straight to deliver_guest_interrupt, which hands a requested
    // doorbell to the guest through DPDES (kvmppc_guest_entry_inject_int); no virtual-mode exit
    vcpu.realModeReturn = true;
    vcpu.reenteredDoorbells++;
    delay = cpu.cost(costs.realModeSwitchNs);
  } else {
    vcpu.realModeReturn = false;
    const handling = costs.exitHandlingNs[name] ?? costs.exitHandlingDefaultNs;
    delay = cpu.cost(costs.guestExitNs) + cpu.cost(handling);
  }
  cpu.continueTaskLater(vcpu, delay, { kind: "exit", vector, hdar, hdsisr });
}

/**
 * Whether vcpu exit is an hcall the 2020 P9 path handles in real mode (book3s_hv_rmhandlers.S
 * hcall_real_table: the XICS hcalls, on XIVE hosts the xive_rm_h_* handlers of
 * book3s_xive_template.c). The 2021 rework ("KVM: PPC: Book3S HV P9: Stop handling hcalls in
 * real-mode in the P9 path") removed vcpu; the model follows the 2020 kernel.
 */
export function realModeHcall(vcpu: KvmVcpu, vector: number): boolean {
  if (vector !== BOOK3S_INTERRUPT_SYSCALL || !vcpu.vm.inKernelXics) return false;
  if ((vcpu.msr & MSR_PR) !== 0n) return false;
  const req = Number(vcpu.gpr.get(3) & 0xffffffffn);
  if (!vcpu.vm.enabledHcalls.has(req)) return false;
  return REAL_MODE_XICS_HCALLS.has(req);
}

export function afterExit(vcpu: KvmVcpu, vector: number, _unused: number, hdar = 0n, hdsisr = 0n): void {
  if (vcpu.state !== "kernel") return;
  let action = handleExitHv(vcpu, vector, hdar, hdsisr);
  if (action.kind === "host" && vcpu.run_.exit_reason === U.KVM_EXIT_PAPR_HCALL) {
    action = doHcall(vcpu);
  }
  const work = vcpu.exitWorkNs;
  vcpu.exitWorkNs = 0;
  if (action.kind === "resume") {
    // the run loop goes round at once: inline when nothing else is due now (the same order as
    // an event at this time), the entry path then continuing the same step
    if (work === 0 && !vcpu.enterTimerArmed && vcpu.cpu.sim.tryAdvance(0)) enterGuest(vcpu);
    else vcpu.scheduleEnter(work);
  } else if (action.kind === "block") {
    vcpu.block(work);
  } else {
    vcpu.exitToUserspace(vcpu.run_.exit_reason);
  }
}

/** linux: book3s_hv.c kvmppc_handle_exit_hv */
export function handleExitHv(vcpu: KvmVcpu, vector: number, hdar: bigint, hdsisr: bigint): Action {
  const run = vcpu.run_;
  run.exit_reason = U.KVM_EXIT_UNKNOWN;
  switch (vector) {
    case BOOK3S_INTERRUPT_HV_DECREMENTER: {
      // host timer due: run the expired host timers; the scheduler tick's work
      // (update_process_times, scheduler_tick) when the tick was among them
      const tick = vcpu.tickTimer;
      const tickDue = tick.armed && tick.at <= vcpu.cpu.sim.now;
      vcpu.cpu.runExpiredTimers();
      if (tickDue) vcpu.exitWorkNs += vcpu.cpu.cost(vcpu.h.costs.hostTickNs);
      return RESUME;
    }
    case BOOK3S_INTERRUPT_EXTERNAL:
    case BOOK3S_INTERRUPT_H_VIRT:
    case BOOK3S_INTERRUPT_H_DOORBELL:
      // host interrupt / IPI (e.g. a kick): handled by the host, then back to the guest
      vcpu.cpu.handleHostIrqs();
      return RESUME;
    case BOOK3S_INTERRUPT_SYSCALL: {
      if ((vcpu.msr & MSR_PR) !== 0n) {
        // `sc 1` from guest userspace is no hcall: the guest's own system call interrupt
        // (book3s_hv_rmhandlers.S sc_1_fast_return; book3s_hv.c from 5.13:
        // kvmppc_core_queue_syscall), SRR0/1 as the sc left them
        injectInterrupt(vcpu, BOOK3S_INTERRUPT_SYSCALL, 0n);
        vcpu.reflectedSyscalls++;
        return RESUME;
      }
      run.papr_hcall.nr = vcpu.gpr.get(3);
      for (let i = 0; i < 9; i++) run.papr_hcall.args[i] = vcpu.gpr.get(4 + i);
      run.papr_hcall.ret = 0n;
      run.exit_reason = U.KVM_EXIT_PAPR_HCALL;
      vcpu.hcallNeeded = true;
      return HOST;
    }
    case BOOK3S_INTERRUPT_H_FAC_UNAVAIL: {
      const cause = Number(vcpu.hfscr >> 56n);
      if (cause === FSCR_STOP_LG && vcpu.h.build.emulateStopTrap) {
        // RFC patch 1: emulate a wake-up from an ESL=EC=0 stop: resume after the stop
        vcpu.pc = u64(vcpu.pc + 4n);
        vcpu.emulatedStops++;
        vcpu.cpu.sim.stats.counter("kvm.stop_emulated").inc();
        return RESUME;
      }
      if (cause === FSCR_MSGP_LG && vcpu.h.arch300 && emulateDoorbellInstr(vcpu)) return RESUME;
      queueProgram(vcpu, SRR1_PROGILL);
      return RESUME;
    }
    case BOOK3S_INTERRUPT_H_EMUL_ASSIST:
      queueProgram(vcpu, SRR1_PROGILL);
      return RESUME;
    case BOOK3S_INTERRUPT_H_DATA_STORAGE:
      // no memslot: MMIO emulation in userspace
      run.exit_reason = U.KVM_EXIT_MMIO;
      run.mmio.phys_addr = hdar;
      run.mmio.len = 0;
      run.mmio.is_write = (hdsisr & 0x02000000n) !== 0n;
      return HOST;
    case BOOK3S_INTERRUPT_H_INST_STORAGE:
      vcpu.pendingIsi = true;
      return RESUME;
    default:
      vcpu.h.log.err(
        `kvm: vcpu ${vcpu.id}: unexpected trap=0x${vector.toString(16)} | pc=0x${vcpu.pc.toString(16)} | msr=0x${vcpu.msr.toString(16)}`,
      );
      run.hw.hardware_exit_reason = vector;
      run.exit_reason = U.KVM_EXIT_UNKNOWN;
      return HOST;
  }
}

export function queueProgram(vcpu: KvmVcpu, flags: bigint): void {
  vcpu.pendingProgram = flags;
  vcpu.programInterrupts++;
  vcpu.cpu.sim.stats.counter("kvm.program_interrupt_queued").inc();
}

// linux: book3s_hv.c kvmppc_emulate_doorbell_instr (msgsndp / msgclrp / mfspr DPDES)
export function emulateDoorbellInstr(vcpu: KvmVcpu): boolean {
  const le = (vcpu.msr & MSR_LE) !== 0n;
  const w = vcpu.vm.readGuestWord(Number(vcpu.pc & 0x0fffffffffffffffn), le);
  if (w === undefined) return false;
  const primary = w >>> 26;
  const xo = (w >>> 1) & 0x3ff;
  if (primary !== 31) return false;
  const rb = (w >>> 11) & 31;
  const msg = vcpu.gpr.get(rb);
  // only server doorbells (PPC_DBELL_SERVER) are acted on, by msgsndp and msgclrp alike
  const serverDoorbell = ((msg >> 27n) & 31n) === 5n;
  if (xo === 142) {
    // msgsndp: doorbell to a thread of vcpu vCore
    if (serverDoorbell) {
      const tpc = vcpu.vm.smtMode > 0 ? vcpu.vm.smtMode : vcpu.h.threadsPerCore;
      // "arg &= 0x7f; if (arg >= kvm->arch.emul_smt_mode) break;"
      const thr = Number(msg & 0x7fn);
      if (thr < tpc) {
        const target = vcpu.vm.vcpus.get(Math.floor(vcpu.id / tpc) * tpc + thr);
        // "if (!tvcpu->arch.doorbell_request)": a target with a doorbell already requested is
        // not kicked again
        if (target !== undefined && !target.doorbellRequest) {
          target.doorbellRequest = true;
          target.kickVcpu();
        }
      }
    }
  } else if (xo === 174) {
    if (serverDoorbell) vcpu.doorbellRequest = false; // msgclrp
  } else {
    return false;
  }
  vcpu.pc = u64(vcpu.pc + 4n);
  return true;
}
