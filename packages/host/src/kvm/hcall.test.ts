// KVM's in-kernel hcall dispatch decision by decision, called directly on a vCPU outside the
// guest: linux: arch/powerpc/kvm/book3s_hv.c kvmppc_pseries_do_hcall (enabled_hcalls, H_CEDE,
// H_PROD, H_CONFER, H_SET_DABR, H_REGISTER_VPA / do_h_register_vpa / kvmppc_update_vpas), the
// XICS-on-XIVE presentation hcalls (book3s_xive_template.c h_ipi, h_xirr, h_ipoll, h_cppr, h_eoi).
import { Memory, MSR_EE } from "@stopsim/isa";
import { describe, expect, it } from "vitest";
import { machine } from "../test-helpers/setup.js";
import * as U from "./abi.js";
import { BLOCK, HOST, RESUME } from "./entry-exit.js";
import { DEFAULT_HCALLS, doHcall, doHRegisterVpa, IMPLEMENTED_HCALLS, updateVpas } from "./hcall.js";
import type { KvmVcpu } from "./vcpu.js";
import { icpBest, icpPending, xicsHcall } from "./xics-on-xive.js";

function setup(opts: { inKernelXics?: boolean } = {}) {
  const m = machine("dd2.3", "new", "fallback");
  const vm = opts.inKernelXics === false ? m.host.kvm.createVm(0, { inKernelXics: false }) : m.vm;
  if (typeof vm === "number") throw new Error("createVm");
  const mk = (id: number): KvmVcpu => {
    const v = vm.createVcpu(id);
    if (typeof v === "number") throw new Error(`createVcpu ${id}`);
    // a decrementer far in the future: nothing wakes a ceded vCPU by itself
    expect(v.setOneReg(U.KVM_REG_PPC_DEC_EXPIRY, 1n << 60n)).toBe(0);
    return v;
  };
  return { m, vm, v0: mk(0), v1: mk(1) };
}

/** Puts the hcall number and arguments in r3.. and runs the in-kernel dispatch. */
function call(v: KvmVcpu, nr: number, ...args: (number | bigint)[]) {
  v.gpr.set(3, BigInt(nr));
  for (const [i, a] of args.entries()) v.gpr.set(4 + i, BigInt(a));
  v.hcallNeeded = true;
  v.run_.exit_reason = U.KVM_EXIT_PAPR_HCALL;
  const action = doHcall(v);
  return { action, r3: BigInt.asIntN(64, v.gpr.get(3)), r4: v.gpr.get(4), r5: v.gpr.get(5) };
}

describe("the hcall lists", () => {
  it("the hcalls KVM implements but leaves off by default reach the kernel only once enabled", () => {
    // linux: book3s_hv.c kvmppc_hcall_impl_hv lists them, default_hcall_list does not (by number)
    for (const h of [
      U.H_CLEAR_MOD,
      U.H_CLEAR_REF,
      U.H_LOGICAL_CI_LOAD,
      U.H_LOGICAL_CI_STORE,
      U.H_RANDOM,
      U.H_SET_MODE,
    ]) {
      const { vm } = setup();
      expect([h, IMPLEMENTED_HCALLS.has(h), DEFAULT_HCALLS.includes(h), vm.enabledHcalls.has(h)]).toEqual([
        h,
        true,
        false,
        false,
      ]);
      expect([h, vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [h, 1]), vm.enabledHcalls.has(h)]).toEqual([
        h,
        0,
        true,
      ]);
    }
    expect(IMPLEMENTED_HCALLS.has(U.H_RTAS)).toBe(false);
  });
});

describe("kvmppc_pseries_do_hcall dispatch", () => {
  it("a disabled hcall goes to userspace untouched; one above MAX_HCALL_OPCODE is not looked up", () => {
    const { vm, v0 } = setup();
    expect(vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_CONFER, 0])).toBe(0);
    const r = call(v0, U.H_CONFER);
    expect(r.action).toBe(HOST);
    expect(r.r3).toBe(BigInt(U.H_CONFER));
    expect(v0.hcallNeeded).toBe(true);
    // KVM's own H_RTAS (0xf000) is above MAX_HCALL_OPCODE: not in the table, handled by the switch
    expect(U.H_RTAS).toBeGreaterThan(U.MAX_HCALL_OPCODE);
    expect(call(v0, U.H_RTAS).action).toBe(HOST);
  });

  it("H_CONFER and H_SET_DABR succeed in the kernel; the exit is consumed", () => {
    const { v0 } = setup();
    for (const h of [U.H_CONFER, U.H_SET_DABR]) {
      const r = call(v0, h);
      expect([h, r.action, r.r3]).toEqual([h, RESUME, BigInt(U.H_SUCCESS)]);
      expect(v0.hcallNeeded).toBe(false);
      expect(v0.run_.exit_reason).toBe(U.KVM_EXIT_UNKNOWN);
    }
  });

  it("an implemented hcall KVM leaves to userspace (H_SET_MODE) exits even when enabled", () => {
    const { vm, v0 } = setup();
    expect(vm.enableCap(U.KVM_CAP_PPC_ENABLE_HCALL, [U.H_SET_MODE, 1])).toBe(0);
    expect(call(v0, U.H_SET_MODE).action).toBe(HOST);
  });

  it("only the low 32 bits of r3 name the hcall", () => {
    const { v0 } = setup();
    v0.gpr.set(3, (1n << 40n) | BigInt(U.H_CONFER));
    expect(doHcall(v0)).toBe(RESUME);
  });

  it("H_PROD: an unknown target is H_PARAMETER; a running one is marked prodded; a ceded one is kicked", () => {
    const { v0, v1 } = setup();
    expect(call(v0, U.H_PROD, 7).r3).toBe(BigInt(U.H_PARAMETER));
    const r = call(v0, U.H_PROD, 1);
    expect([r.action, r.r3]).toEqual([RESUME, BigInt(U.H_SUCCESS)]);
    expect(v1.prodded).toBe(true);
    expect(v1.kicks).toBe(0);
    v1.ceded = true;
    call(v0, U.H_PROD, 1);
    expect(v1.kicks).toBe(1);
  });

  it("H_CEDE sets MSR[EE] and blocks the vCPU until something wakes it", () => {
    const { v0 } = setup();
    v0.msr &= ~MSR_EE;
    const r = call(v0, U.H_CEDE);
    expect(r.action).toBe(BLOCK);
    expect(r.r3).toBe(BigInt(U.H_SUCCESS));
    expect(v0.msr & MSR_EE).toBe(MSR_EE);
    expect(v0.ceded).toBe(true);
  });

  it("H_CEDE after an H_PROD returns at once and consumes the prod", () => {
    const { v0, v1 } = setup();
    call(v1, U.H_PROD, 0);
    const r = call(v0, U.H_CEDE);
    expect(r.action).toBe(RESUME);
    expect([v0.ceded, v0.prodded]).toEqual([false, false]);
  });

  it("H_CEDE with an interrupt already pending (kvmppc_vcpu_woken) returns at once", () => {
    const { v0 } = setup();
    v0.icp.cppr = 0xff;
    v0.icp.mfrr = 0; // an IPI more favoured than the CPPR
    expect(icpPending(v0)).toBe(true);
    expect(call(v0, U.H_CEDE).action).toBe(RESUME);
    expect(v0.ceded).toBe(false);
    // an expired decrementer too
    const { v0: w } = setup();
    expect(w.setOneReg(U.KVM_REG_PPC_DEC_EXPIRY, 0n)).toBe(0);
    expect(call(w, U.H_CEDE).action).toBe(RESUME);
  });

  it("the XICS hcalls go to userspace when the VM has no in-kernel XICS", () => {
    const { v0 } = setup({ inKernelXics: false });
    for (const h of [U.H_IPI, U.H_XIRR, U.H_XIRR_X, U.H_EOI, U.H_CPPR, U.H_IPOLL])
      expect([h, call(v0, h).action]).toEqual([h, HOST]);
    const { v0: k } = setup();
    for (const h of [U.H_IPI, U.H_XIRR, U.H_XIRR_X, U.H_EOI, U.H_CPPR, U.H_IPOLL])
      expect([h, call(k, h, 0, 0xff).action]).toEqual([h, RESUME]);
  });
});

describe("XICS on XIVE: the presentation hcalls", () => {
  it("icpBest: the IPI when MFRR is more favoured than CPPR, a device source when more favoured still", () => {
    const { v0 } = setup();
    const c = v0.icp;
    Object.assign(c, { cppr: 0xff, mfrr: 0xff, xisr: 0, extSource: 0, extPriority: 0xff });
    expect(icpBest(v0)).toBeNull();
    c.mfrr = 5;
    expect(icpBest(v0)).toEqual({ source: U.XICS_IPI, priority: 5 });
    c.cppr = 5; // not more favoured than the CPPR: masked
    expect(icpBest(v0)).toBeNull();
    c.cppr = 0xff;
    c.extSource = 0x1000;
    c.extPriority = 4;
    expect(icpBest(v0)).toEqual({ source: 0x1000, priority: 4 });
    c.extPriority = 5; // a tie keeps the IPI
    expect(icpBest(v0)).toEqual({ source: U.XICS_IPI, priority: 5 });
    c.extPriority = 6;
    expect(icpBest(v0)).toEqual({ source: U.XICS_IPI, priority: 5 });
    c.mfrr = 0xff;
    expect(icpBest(v0)).toEqual({ source: 0x1000, priority: 6 });
    c.cppr = 6;
    expect(icpBest(v0)).toBeNull();
  });

  it("H_IPI sets the target's MFRR (low byte); an unknown server is H_PARAMETER", () => {
    const { v0, v1 } = setup();
    expect(call(v0, U.H_IPI, 9, 0x105).r3).toBe(BigInt(U.H_PARAMETER));
    expect(call(v0, U.H_IPI, 1, 0x105).r3).toBe(BigInt(U.H_SUCCESS));
    expect(v1.icp.mfrr).toBe(0x05);
  });

  it("H_XIRR accepts the most favoured interrupt: returns old CPPR << 24 | XISR and raises CPPR to it", () => {
    const { v0 } = setup();
    Object.assign(v0.icp, { cppr: 0xff, mfrr: 3, xisr: 0, extSource: 0x1234, extPriority: 4 });
    const r = call(v0, U.H_XIRR);
    expect(r.r3).toBe(BigInt(U.H_SUCCESS));
    expect(r.r4).toBe(BigInt((0xff << 24) | U.XICS_IPI) & 0xffffffffn);
    expect(v0.icp.cppr).toBe(3);
    expect(v0.icp.xisr).toBe(U.XICS_IPI);
    // the device source is still there, now masked by CPPR 3
    expect(v0.icp.extSource).toBe(0x1234);
    // after an EOI to CPPR 0xff, XIRR_X presents the device source, which is consumed (edge)
    call(v0, U.H_IPI, 0, 0xff);
    call(v0, U.H_EOI, 0xff000000 | U.XICS_IPI);
    expect([v0.icp.cppr, v0.icp.xisr]).toEqual([0xff, 0]);
    const x = call(v0, U.H_XIRR_X);
    expect(x.r4).toBe(BigInt(((0xff << 24) | 0x1234) >>> 0));
    expect(v0.icp.extSource).toBe(0);
    expect(v0.icp.cppr).toBe(4);
  });

  it("H_XIRR with nothing pending returns XISR 0 and leaves CPPR", () => {
    const { v0 } = setup();
    Object.assign(v0.icp, { cppr: 0xff, mfrr: 0xff, xisr: 0, extSource: 0, extPriority: 0xff });
    const r = call(v0, U.H_XIRR);
    expect(r.r4).toBe(0xff000000n);
    expect(v0.icp.cppr).toBe(0xff);
  });

  it("H_IPOLL reports without accepting: CPPR << 24 | pending source, and MFRR in r5", () => {
    const { v0 } = setup();
    Object.assign(v0.icp, { cppr: 0xff, mfrr: 2, xisr: 0, extSource: 0, extPriority: 0xff });
    const r = call(v0, U.H_IPOLL);
    expect(r.r4).toBe(BigInt(((0xff << 24) | U.XICS_IPI) >>> 0));
    expect(r.r5).toBe(2n);
    expect(v0.icp.cppr).toBe(0xff);
    v0.icp.mfrr = 0xff;
    expect(call(v0, U.H_IPOLL).r4).toBe(0xff000000n);
  });

  it("H_CPPR sets the CPPR from the low byte", () => {
    const { v0 } = setup();
    expect(call(v0, U.H_CPPR, 0x1207).r3).toBe(BigInt(U.H_SUCCESS));
    expect(v0.icp.cppr).toBe(7);
  });

  it("an interrupt made pending for a ceded vCPU kicks it; a masked one does not", () => {
    const { v0, v1 } = setup();
    Object.assign(v1.icp, { cppr: 0xff, mfrr: 0xff });
    v1.ceded = true;
    call(v0, U.H_IPI, 1, 0xff);
    expect(v1.kicks).toBe(0);
    call(v0, U.H_IPI, 1, 4);
    expect(v1.kicks).toBe(1);
    // not ceded and not blocked: no kick
    v1.ceded = false;
    call(v0, U.H_IPI, 1, 3);
    expect(v1.kicks).toBe(1);
    // xicsHcall's default branch is H_EOI
    expect(xicsHcall(v0, U.H_EOI)).toBe(RESUME);
  });
});

describe("H_REGISTER_VPA (do_h_register_vpa)", () => {
  const VPA = 0x2000;
  const DTL = 0x3000;
  const SLB = 0x4000;
  const flags = (sub: number) => BigInt(sub) << U.H_VPA_FUNC_SHIFT;

  function withMemory() {
    const s = setup();
    const ram = new Memory(1 << 20);
    expect(
      s.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 0x10000, memory: ram }),
    ).toBe(0);
    const be16 = (a: number, v: number) => {
      ram.write8(a, v >> 8);
      ram.write8(a + 1, v & 0xff);
    };
    const be32 = (a: number, v: number) => ram.write32(a, v, false);
    be16(VPA + 4, 640);
    be32(DTL + 4, 48 * 4);
    be32(SLB + 4, 0x100);
    return { ...s, ram, be16, be32 };
  }

  it("registers a VPA of at least 640 bytes, applied on the next entry with the shared-processor bit", () => {
    const { v0, ram } = withMemory();
    expect(doHRegisterVpa(v0, flags(U.H_VPA_REG_VPA), 0n, BigInt(VPA))).toBe(U.H_SUCCESS);
    expect(v0.vpaAreas).toMatchObject({ vpa: null, vpaNext: VPA, updatePending: true });
    expect(ram.read8(VPA + U.LPPACA_OLD_STATUS_OFFSET)).toBe(0);
    updateVpas(v0);
    expect(v0.vpaAreas).toMatchObject({ vpa: VPA, updatePending: false });
    expect(ram.read8(VPA + U.LPPACA_OLD_STATUS_OFFSET)).toBe(U.LPPACA_OLD_SHARED_PROC);
    // nothing pending: the next entry changes nothing
    ram.write8(VPA + U.LPPACA_OLD_STATUS_OFFSET, 0);
    updateVpas(v0);
    expect(ram.read8(VPA + U.LPPACA_OLD_STATUS_OFFSET)).toBe(0);
  });

  it("the address bits above 60 (the flags nibble of a logical address) are ignored", () => {
    const { v0 } = withMemory();
    expect(doHRegisterVpa(v0, flags(U.H_VPA_REG_VPA), 0n, (0xcn << 60n) | BigInt(VPA))).toBe(U.H_SUCCESS);
    expect(v0.vpaAreas.vpaNext).toBe(VPA);
  });

  it("refuses a misaligned, null, unmapped or too-short area, and an unknown vCPU", () => {
    const { v0, be16 } = withMemory();
    const reg = (addr: number, sub = U.H_VPA_REG_VPA, id = 0n) =>
      doHRegisterVpa(v0, flags(sub), id, BigInt(addr));
    // not on a 128-byte line, or null, though each holds a valid lppaca length
    be16(VPA + 64 + 4, 640);
    be16(4, 640);
    expect(reg(VPA + 64)).toBe(U.H_PARAMETER);
    expect(reg(0)).toBe(U.H_PARAMETER);
    expect(reg(0x20000)).toBe(U.H_PARAMETER); // outside the slot
    expect(reg(VPA, U.H_VPA_REG_VPA, 5n)).toBe(U.H_PARAMETER);
    be16(VPA + 4, 639);
    expect(reg(VPA)).toBe(U.H_PARAMETER);
    be16(VPA + 4, 7); // shorter than struct reg_vpa
    expect(reg(VPA)).toBe(U.H_PARAMETER);
    // an area running past the end of the slot
    be16(0xff80 + 4, 0x400);
    expect(reg(0xff80)).toBe(U.H_PARAMETER);
    be16(0xfc00 + 4, 0x400);
    expect(reg(0xfc00)).toBe(U.H_SUCCESS);
    expect(v0.vpaAreas.vpaNext).toBe(0xfc00);
  });

  it("a DTL or SLB shadow needs a VPA; a DTL needs room for one dtl_entry", () => {
    const { v0, be32 } = withMemory();
    const reg = (sub: number, addr: number) => doHRegisterVpa(v0, flags(sub), 0n, BigInt(addr));
    // an area shorter than struct reg_vpa (8 bytes) is refused before anything else
    be32(SLB + 4, 7);
    expect(reg(U.H_VPA_REG_SLB, SLB)).toBe(U.H_PARAMETER);
    be32(SLB + 4, 8);
    expect(reg(U.H_VPA_REG_SLB, SLB)).toBe(U.H_RESOURCE);
    be32(SLB + 4, 0x100);
    expect(reg(U.H_VPA_REG_DTL, DTL)).toBe(U.H_RESOURCE);
    expect(reg(U.H_VPA_REG_SLB, SLB)).toBe(U.H_RESOURCE);
    expect(reg(U.H_VPA_REG_VPA, VPA)).toBe(U.H_SUCCESS);
    // the VPA is registered even before the entry applies it
    expect(reg(U.H_VPA_REG_SLB, SLB)).toBe(U.H_SUCCESS);
    expect(v0.vpaAreas.slbShadow).toBe(SLB);
    be32(DTL + 4, 47);
    expect(reg(U.H_VPA_REG_DTL, DTL)).toBe(U.H_PARAMETER);
    be32(DTL + 4, 48);
    expect(reg(U.H_VPA_REG_DTL, DTL)).toBe(U.H_SUCCESS);
    expect(v0.vpaAreas.dtl).toBe(DTL);
  });

  it("the VPA cannot go while a DTL or SLB shadow is registered; deregistering them allows it", () => {
    const { v0 } = withMemory();
    const op = (sub: number, addr = 0) => doHRegisterVpa(v0, flags(sub), 0n, BigInt(addr));
    expect(op(U.H_VPA_REG_VPA, VPA)).toBe(U.H_SUCCESS);
    updateVpas(v0);
    expect(op(U.H_VPA_REG_DTL, DTL)).toBe(U.H_SUCCESS);
    expect(op(U.H_VPA_REG_SLB, SLB)).toBe(U.H_SUCCESS);
    expect(op(U.H_VPA_DEREG_VPA)).toBe(U.H_RESOURCE);
    expect(op(U.H_VPA_DEREG_DTL)).toBe(U.H_SUCCESS);
    expect(op(U.H_VPA_DEREG_VPA)).toBe(U.H_RESOURCE);
    expect(op(U.H_VPA_DEREG_SLB)).toBe(U.H_SUCCESS);
    expect(v0.vpaAreas).toMatchObject({ dtl: null, slbShadow: null });
    expect(op(U.H_VPA_DEREG_VPA)).toBe(U.H_SUCCESS);
    expect(v0.vpaAreas.vpaNext).toBeNull();
    // a deregistration still pending: the VPA no longer counts as registered (vpa_is_registered)
    expect(v0.vpaAreas.vpa).toBe(VPA);
    expect(op(U.H_VPA_REG_SLB, SLB)).toBe(U.H_RESOURCE);
    updateVpas(v0);
    expect(v0.vpaAreas.vpa).toBeNull();
  });

  it("unknown sub-functions are H_PARAMETER", () => {
    const { v0 } = withMemory();
    for (const sub of [0, 4]) expect(doHRegisterVpa(v0, flags(sub), 0n, BigInt(VPA))).toBe(U.H_PARAMETER);
    expect(v0.vpaAreas.updatePending).toBe(false);
  });

  it("through the dispatcher: r4 flags, r5 target vCPU, r6 address; another vCPU's area may be set", () => {
    const { v0, v1 } = withMemory();
    const r = call(v0, U.H_REGISTER_VPA, flags(U.H_VPA_REG_VPA), 1, VPA);
    expect([r.action, r.r3]).toEqual([RESUME, BigInt(U.H_SUCCESS)]);
    expect(v1.vpaAreas.vpaNext).toBe(VPA);
    expect(v0.vpaAreas.vpaNext).toBeNull();
  });
});
