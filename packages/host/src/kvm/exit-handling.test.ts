// KVM's exit handling decision by decision, called on a vCPU outside the guest:
// linux: arch/powerpc/kvm/book3s_hv.c kvmppc_handle_exit_hv and kvmppc_emulate_doorbell_instr,
// book3s_hv_builtin.c kvmppc_inject_interrupt_hv, the entry PSSCR of kvmhv_load_hv_regs_and_go
// and book3s_hv_rmhandlers.S's hcall_real_table (the 2020 P9 path).
import {
  BOOK3S_INTERRUPT_EXTERNAL,
  BOOK3S_INTERRUPT_H_DATA_STORAGE,
  BOOK3S_INTERRUPT_H_DOORBELL,
  BOOK3S_INTERRUPT_H_EMUL_ASSIST,
  BOOK3S_INTERRUPT_H_FAC_UNAVAIL,
  BOOK3S_INTERRUPT_H_INST_STORAGE,
  BOOK3S_INTERRUPT_H_VIRT,
  BOOK3S_INTERRUPT_HV_DECREMENTER,
  BOOK3S_INTERRUPT_PROGRAM,
  BOOK3S_INTERRUPT_SYSCALL,
  dbellServerMessage,
  FSCR_MSGP_LG,
  FSCR_STOP_LG,
  LPCR_ILE,
  Memory,
  MSR_EE,
  MSR_LE,
  MSR_ME,
  MSR_PR,
  MSR_SF,
  msgclrp,
  msgsndp,
  NOP,
  PSSCR_EC,
  PSSCR_ESL,
  PSSCR_GUEST_VIS,
  SPRN_SRR0,
  SPRN_SRR1,
  SRR1_PROGILL,
} from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import type { KvmBuildName } from "../build.js";
import { machine } from "../test-helpers/setup.js";
import * as U from "./abi.js";
import {
  emulateDoorbellInstr,
  entryPsscr,
  HOST,
  handleExitHv,
  injectInterrupt,
  RESUME,
  realModeHcall,
} from "./entry-exit.js";
import type { KvmVcpu } from "./vcpu.js";

const PC = 0x1000n;

function setup(kernel: KvmBuildName = "fallback", dd = "dd2.3", fw: "2020" | "new" = "new") {
  const m = machine(dd, fw, kernel);
  const ram = new Memory(1 << 20);
  expect(
    m.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 1 << 20, memory: ram }),
  ).toBe(0);
  const mk = (id: number): KvmVcpu => {
    const v = m.vm.createVcpu(id);
    if (typeof v === "number") throw new Error(`createVcpu ${id}`);
    v.pc = PC;
    v.msr = MSR_SF | MSR_ME;
    return v;
  };
  return { m, ram, mk };
}

describe("kvmppc_handle_exit_hv", () => {
  it("a hypervisor decrementer, external, virtualization or doorbell interrupt is the host's: back to the guest", () => {
    const { mk } = setup();
    const v = mk(0);
    for (const vec of [
      BOOK3S_INTERRUPT_HV_DECREMENTER,
      BOOK3S_INTERRUPT_EXTERNAL,
      BOOK3S_INTERRUPT_H_VIRT,
      BOOK3S_INTERRUPT_H_DOORBELL,
    ]) {
      v.run_.exit_reason = U.KVM_EXIT_MMIO;
      expect([vec, handleExitHv(v, vec, 0n, 0n)]).toEqual([vec, RESUME]);
      expect(v.run_.exit_reason).toBe(U.KVM_EXIT_UNKNOWN);
    }
  });

  it("a hypervisor decrementer exit runs the host timers that are due", () => {
    const { mk } = setup();
    const v = mk(0);
    let fired = 0;
    v.cpu.createTimer(() => fired++, "due").start(v.cpu.sim.now);
    expect(handleExitHv(v, BOOK3S_INTERRUPT_HV_DECREMENTER, 0n, 0n)).toBe(RESUME);
    expect(fired).toBe(1);
  });

  it("sc 1: the hcall and its nine arguments go to userspace as KVM_EXIT_PAPR_HCALL", () => {
    const { mk } = setup();
    const v = mk(0);
    v.gpr.set(3, BigInt(U.H_RTAS));
    for (let i = 0; i < 10; i++) v.gpr.set(4 + i, BigInt(100 + i));
    v.run_.papr_hcall.ret = 7n;
    expect(handleExitHv(v, BOOK3S_INTERRUPT_SYSCALL, 0n, 0n)).toBe(HOST);
    expect(v.run_.exit_reason).toBe(U.KVM_EXIT_PAPR_HCALL);
    expect(v.run_.papr_hcall.nr).toBe(BigInt(U.H_RTAS));
    expect(v.run_.papr_hcall.args.slice(0, 9)).toEqual([
      100n,
      101n,
      102n,
      103n,
      104n,
      105n,
      106n,
      107n,
      108n,
    ]);
    expect(v.run_.papr_hcall.ret).toBe(0n);
    expect(v.hcallNeeded).toBe(true);
  });

  it("a facility-unavailable stop: emulated (PC + 4) by a build that emulates the trap, else a program interrupt", () => {
    const emu = setup("patch1").mk(0);
    emu.hfscr = BigInt(FSCR_STOP_LG) << 56n;
    expect(handleExitHv(emu, BOOK3S_INTERRUPT_H_FAC_UNAVAIL, 0n, 0n)).toBe(RESUME);
    expect(emu.pc).toBe(PC + 4n);
    expect(emu.emulatedStops).toBe(1);
    expect(emu.pendingProgram).toBeNull();
    const plain = setup("upstream-2020").mk(0);
    plain.hfscr = BigInt(FSCR_STOP_LG) << 56n;
    expect(handleExitHv(plain, BOOK3S_INTERRUPT_H_FAC_UNAVAIL, 0n, 0n)).toBe(RESUME);
    expect(plain.pc).toBe(PC);
    expect(plain.pendingProgram).toBe(SRR1_PROGILL);
    expect(plain.programInterrupts).toBe(1);
    // any other facility: a program interrupt even in a build that emulates stop, and even with a
    // msgsndp at the PC (only a MSGP facility trap is emulated as a doorbell)
    const o = setup("patch1");
    const other = o.mk(0);
    o.ram.write32(Number(PC), msgsndp(5), false);
    other.gpr.set(5, dbellServerMessage(1));
    other.hfscr = 3n << 56n;
    handleExitHv(other, BOOK3S_INTERRUPT_H_FAC_UNAVAIL, 0n, 0n);
    expect(other.pendingProgram).toBe(SRR1_PROGILL);
    expect(other.emulatedStops).toBe(0);
  });

  it("emulation assist: a program interrupt (illegal instruction); instruction storage: an ISI is queued", () => {
    const { mk } = setup();
    const v = mk(0);
    expect(handleExitHv(v, BOOK3S_INTERRUPT_H_EMUL_ASSIST, 0n, 0n)).toBe(RESUME);
    expect(v.pendingProgram).toBe(SRR1_PROGILL);
    const w = mk(1);
    expect(handleExitHv(w, BOOK3S_INTERRUPT_H_INST_STORAGE, 0n, 0n)).toBe(RESUME);
    expect(w.pendingIsi).toBe(true);
    expect(w.pendingProgram).toBeNull();
  });

  it("a data storage fault outside the memory slots is MMIO for userspace, a store when HDSISR says so", () => {
    const { mk } = setup();
    const v = mk(0);
    expect(handleExitHv(v, BOOK3S_INTERRUPT_H_DATA_STORAGE, 0xf000_0000n, 0n)).toBe(HOST);
    expect(v.run_.exit_reason).toBe(U.KVM_EXIT_MMIO);
    expect(v.run_.mmio).toEqual({ phys_addr: 0xf000_0000n, len: 0, is_write: false });
    handleExitHv(v, BOOK3S_INTERRUPT_H_DATA_STORAGE, 0x10n, 0x02000000n);
    expect(v.run_.mmio.is_write).toBe(true);
    expect(v.run_.mmio.phys_addr).toBe(0x10n);
  });

  it("an unexpected trap goes to userspace as KVM_EXIT_UNKNOWN with its vector, and is logged", () => {
    const { m, mk } = setup();
    const v = mk(3);
    expect(handleExitHv(v, 0x1500, 0n, 0n)).toBe(HOST);
    expect(v.run_.exit_reason).toBe(U.KVM_EXIT_UNKNOWN);
    expect(v.run_.hw.hardware_exit_reason).toBe(0x1500);
    expect(m.host.log.at("err")).toContain(
      `kvm: vcpu 3: unexpected trap=0x1500 | pc=0x${PC.toString(16)} | msr=0x${(MSR_SF | MSR_ME).toString(16)}`,
    );
  });
});

describe("kvmppc_inject_interrupt_hv", () => {
  it("saves PC and MSR (less the interrupt-cleared bits, plus the flags) to SRR0/1 and enters at the vector", () => {
    const { mk } = setup();
    const v = mk(0);
    v.msr = MSR_SF | MSR_ME | MSR_EE | MSR_PR | MSR_LE | 0x783f0000n;
    injectInterrupt(v, BOOK3S_INTERRUPT_PROGRAM, SRR1_PROGILL);
    expect(v.spr.get(SPRN_SRR0)).toBe(PC);
    expect(v.spr.get(SPRN_SRR1)).toBe(MSR_SF | MSR_ME | MSR_EE | MSR_PR | MSR_LE | SRR1_PROGILL);
    expect(v.pc).toBe(BigInt(BOOK3S_INTERRUPT_PROGRAM));
    // intr_msr: 64-bit, machine checks on, big-endian while LPCR[ILE] is clear
    expect(v.msr).toBe(MSR_SF | MSR_ME);
  });

  it("with LPCR[ILE] the interrupt runs little-endian", () => {
    const { mk } = setup();
    const v = mk(0);
    expect(v.setOneReg(U.KVM_REG_PPC_LPCR_64, v.vcore.lpcr | LPCR_ILE)).toBe(0);
    injectInterrupt(v, 0x900, 0n);
    expect(v.msr).toBe(MSR_SF | MSR_ME | MSR_LE);
  });
});

describe("the PSSCR a guest is entered with", () => {
  const withPsscr = (kernel: KvmBuildName, dd: string, fw: "2020" | "new", psscr: bigint) => {
    const v = setup(kernel, dd, fw).mk(0);
    v.psscr = psscr;
    return entryPsscr(v);
  };
  const guest = 0x00000000_000f_0033n & PSSCR_GUEST_VIS;

  it("the 2020 upstream build ORs in EC only: stop traps to the hypervisor", () => {
    expect(withPsscr("upstream-2020", "dd2.3", "new", guest)).toBe(guest | PSSCR_EC);
    expect(withPsscr("upstream-2020", "dd2.3", "new", guest | PSSCR_ESL) & PSSCR_ESL).toBe(
      PSSCR_ESL & PSSCR_GUEST_VIS,
    );
  });

  it("a build that clears the trap bits enters with neither ESL nor EC, hypervisor-only bits dropped", () => {
    const all = (1n << 64n) - 1n;
    expect(withPsscr("patch2-as-posted", "dd2.2", "2020", all)).toBe(
      PSSCR_GUEST_VIS & ~(PSSCR_EC | PSSCR_ESL),
    );
    // fallback on DD2.3 with the new firmware: idle-stop-guest found, cleared too
    expect(withPsscr("fallback", "dd2.3", "new", guest | PSSCR_EC)).toBe(guest & ~(PSSCR_EC | PSSCR_ESL));
    // fallback without the feature: EC set
    expect(withPsscr("fallback", "dd2.2", "2020", guest)).toBe(guest | PSSCR_EC);
  });
});

describe("hcalls handled in real mode (hcall_real_table)", () => {
  it("the enabled XICS hcalls of a supervisor guest with the in-kernel XICS, and nothing else", () => {
    const { m, mk } = setup();
    const v = mk(0);
    for (const h of [U.H_EOI, U.H_CPPR, U.H_IPI, U.H_IPOLL, U.H_XIRR, U.H_XIRR_X]) {
      v.gpr.set(3, BigInt(h));
      expect([h, realModeHcall(v, BOOK3S_INTERRUPT_SYSCALL)]).toEqual([h, true]);
    }
    v.gpr.set(3, BigInt(U.H_CEDE));
    expect(realModeHcall(v, BOOK3S_INTERRUPT_SYSCALL)).toBe(false);
    v.gpr.set(3, BigInt(U.H_IPI));
    expect(realModeHcall(v, BOOK3S_INTERRUPT_H_DOORBELL)).toBe(false);
    v.msr |= MSR_PR;
    expect(realModeHcall(v, BOOK3S_INTERRUPT_SYSCALL)).toBe(false);
    v.msr &= ~MSR_PR;
    expect(m.vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_IPI, 0])).toBe(0);
    expect(realModeHcall(v, BOOK3S_INTERRUPT_SYSCALL)).toBe(false);
    const vm = m.host.kvm.createVm(0, { inKernelXics: false });
    if (typeof vm === "number") throw new Error("createVm");
    const w = vm.createVcpu(4);
    if (typeof w === "number") throw new Error("createVcpu");
    w.gpr.set(3, BigInt(U.H_EOI));
    expect(realModeHcall(w, BOOK3S_INTERRUPT_SYSCALL)).toBe(false);
  });
});

describe("kvmppc_emulate_doorbell_instr", () => {
  function at(word: number) {
    const s = setup();
    const vs = [0, 1, 2, 3, 4].map((id) => s.mk(id));
    s.ram.write32(Number(PC), word, false);
    return { ...s, vs };
  }

  it("msgsndp to a thread of the vCore: requests its doorbell and kicks it once; PC + 4", () => {
    const { vs } = at(msgsndp(5));
    const [v0, , v2] = vs;
    v0.gpr.set(5, dbellServerMessage(2));
    expect(emulateDoorbellInstr(v0)).toBe(true);
    expect(v0.pc).toBe(PC + 4n);
    expect(v2.doorbellRequest).toBe(true);
    expect(v2.kicks).toBe(1);
    // already requested: no second kick
    v0.pc = PC;
    expect(emulateDoorbellInstr(v0)).toBe(true);
    expect(v2.kicks).toBe(1);
  });

  it("the target thread is relative to the sender's vCore; threads past the vCore or bad types do nothing", () => {
    const { vs } = at(msgsndp(5));
    const v4 = vs[4];
    v4.pc = PC;
    // vCPU 4 is thread 0 of the second vCore (4 threads per core): thread 0 is itself
    v4.gpr.set(5, dbellServerMessage(0));
    expect(emulateDoorbellInstr(v4)).toBe(true);
    expect(v4.doorbellRequest).toBe(true);
    expect(vs[0].doorbellRequest).toBe(false);
    v4.doorbellRequest = false;
    // thread 4 of a 4-thread vCore, and 0x41 (bit 6 set, "arg &= 0x7f" keeps it): no target
    for (const thr of [4, 0x41]) {
      vs[0].pc = PC;
      vs[0].gpr.set(5, dbellServerMessage(thr));
      expect(emulateDoorbellInstr(vs[0])).toBe(true);
    }
    // thread 4 would be vCPU 4, the next vCore's first thread: not reached
    expect(vs.map((v) => v.doorbellRequest)).toEqual([false, false, false, false, false]);
    // a message that is not a server doorbell (type 4) is ignored
    vs[0].pc = PC;
    vs[0].gpr.set(5, (4n << 27n) | 1n);
    expect(emulateDoorbellInstr(vs[0])).toBe(true);
    expect(vs[1].doorbellRequest).toBe(false);
  });

  it("msgclrp clears the sender's own doorbell request, for a server doorbell only", () => {
    const { vs } = at(msgclrp(6));
    const v = vs[1];
    v.pc = PC;
    v.doorbellRequest = true;
    v.gpr.set(6, 4n << 27n);
    expect(emulateDoorbellInstr(v)).toBe(true);
    expect(v.doorbellRequest).toBe(true);
    v.pc = PC;
    v.gpr.set(6, dbellServerMessage(0));
    expect(emulateDoorbellInstr(v)).toBe(true);
    expect(v.doorbellRequest).toBe(false);
    expect(v.pc).toBe(PC + 4n);
  });

  it("other instructions, or no instruction to read, are not emulated (a program interrupt follows)", () => {
    const { vs } = at(NOP);
    expect(emulateDoorbellInstr(vs[0])).toBe(false);
    expect(vs[0].pc).toBe(PC);
    const s2 = at(0x7c0002a6 | (1 << 11)); // mfspr, primary 31 xo 339: not modelled
    expect(emulateDoorbellInstr(s2.vs[0])).toBe(false);
    // msgsndp's extended opcode under another primary opcode is not msgsndp
    const s3 = at((24 << 26) | (5 << 11) | (142 << 1));
    s3.vs[0].gpr.set(5, dbellServerMessage(1));
    expect(emulateDoorbellInstr(s3.vs[0])).toBe(false);
    expect(s3.vs[1].doorbellRequest).toBe(false);
    const far = at(msgsndp(5));
    far.vs[0].pc = 0x200000n; // outside the slot
    expect(emulateDoorbellInstr(far.vs[0])).toBe(false);
  });

  it("a little-endian guest's instruction is read little-endian", () => {
    const { vs, ram } = at(0);
    ram.write32(Number(PC), msgsndp(5), true);
    vs[0].msr |= MSR_LE;
    vs[0].gpr.set(5, dbellServerMessage(1));
    expect(emulateDoorbellInstr(vs[0])).toBe(true);
    expect(vs[1].doorbellRequest).toBe(true);
  });

  it("through kvmppc_handle_exit_hv: a msgsndp facility trap on ISA 3.00 is emulated, not a program interrupt", () => {
    const { vs } = at(msgsndp(5));
    vs[0].hfscr = BigInt(FSCR_MSGP_LG) << 56n;
    vs[0].gpr.set(5, dbellServerMessage(3));
    expect(handleExitHv(vs[0], BOOK3S_INTERRUPT_H_FAC_UNAVAIL, 0n, 0n)).toBe(RESUME);
    expect(vs[3].doorbellRequest).toBe(true);
    expect(vs[0].pendingProgram).toBeNull();
    const bad = at(NOP);
    bad.vs[0].hfscr = BigInt(FSCR_MSGP_LG) << 56n;
    handleExitHv(bad.vs[0], BOOK3S_INTERRUPT_H_FAC_UNAVAIL, 0n, 0n);
    expect(bad.vs[0].pendingProgram).toBe(SRR1_PROGILL);
  });
});
