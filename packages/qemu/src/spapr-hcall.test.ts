// The hypercalls and RTAS calls QEMU handles in userspace, call by call, on a machine started
// paused (-S) on a real host: qemu: hw/ppc/spapr_hcall.c (spapr_hypercall, h_set_mode,
// h_set_mode_resource_le, h_rtas), hw/char/spapr_vty.c (h_put_term_char, h_get_term_char),
// hw/ppc/spapr_rtas.c (spapr_rtas_call and the calls), hw/ppc/spapr_rtc.c (get-time-of-day).
import { readFileSync } from "node:fs";
import type { Simulation } from "@stopsim/engine";
import { KVM_REG_PPC_LPCR_64 } from "@stopsim/host";
import { LPCR_ILE } from "@stopsim/isa";
import * as hv from "@stopsim/linux";
import { describe, expect, it } from "vitest";
import {
  RTAS_OUT_BUSY,
  RTAS_OUT_HW_ERROR,
  RTAS_OUT_NO_ERRORS_FOUND,
  RTAS_OUT_NOT_AUTHORIZED,
  RTAS_OUT_NOT_SUPPORTED,
  RTAS_OUT_PARAM_ERROR,
  RTAS_OUT_SUCCESS,
  rtasToken,
} from "./rtas-tokens.js";
import { MSR_ME, MSR_SF, type Qemu, type Vcpu } from "./spapr.js";
import { H_UNSUPPORTED_FLAG, spaprHypercall } from "./spapr-hcall.js";
import { startMachine } from "./test-helpers/machines.js";

const RAM = 256 << 20;

/** A 2-vCPU pseries machine, started paused: vCPU 0 at its entry point, vCPU 1 halted. */
function machine(): { sim: Simulation; q: Qemu } {
  return startMachine("-M pseries -smp 2 -m 256M -nographic -S");
}

const lpcr = (v: Vcpu) => v.fd.getOneReg(KVM_REG_PPC_LPCR_64).value;

describe("QEMU's own status numbers", () => {
  it("are QEMU's (qemu: include/hw/ppc/spapr.h H_UNSUPPORTED_FLAG and RTAS_OUT_*), the ones the guest compares with", () => {
    expect(H_UNSUPPORTED_FLAG).toBe(-256);
    expect([
      RTAS_OUT_SUCCESS,
      RTAS_OUT_NO_ERRORS_FOUND,
      RTAS_OUT_HW_ERROR,
      RTAS_OUT_BUSY,
      RTAS_OUT_PARAM_ERROR,
      RTAS_OUT_NOT_SUPPORTED,
      RTAS_OUT_NOT_AUTHORIZED,
    ]).toEqual([0, 1, -1, -2, -3, -3, -9002]);
  });
});

describe("the console hypercalls (spapr_vty)", () => {
  it("H_PUT_TERM_CHAR writes len bytes packed big-endian in two registers, at most 16", () => {
    const { q } = machine();
    const [v] = q.vcpus;
    const hello = 0x48656c6c6f2c2077n; // "Hello, w"
    const orld = 0x6f726c64210a0000n; // "orld!\n"
    expect(spaprHypercall(q, v, hv.H_PUT_TERM_CHAR, [0n, 14n, hello, orld])).toBe(hv.H_SUCCESS);
    expect(q.console).toBe("Hello, world!\n");
    expect(spaprHypercall(q, v, hv.H_PUT_TERM_CHAR, [0n, 3n, hello, orld])).toBe(hv.H_SUCCESS);
    expect(q.console).toBe("Hello, world!\nHel");
    expect(spaprHypercall(q, v, hv.H_PUT_TERM_CHAR, [0n, 16n, hello, orld])).toBe(hv.H_SUCCESS);
    expect(q.console.slice(-16)).toBe("Hello, world!\n\0\0");
    expect(spaprHypercall(q, v, hv.H_PUT_TERM_CHAR, [0n, 17n, hello, orld])).toBe(hv.H_PARAMETER);
    expect(q.console).toHaveLength(14 + 3 + 16);
  });

  it("H_GET_TERM_CHAR hands out up to 16 typed bytes big-endian in r5 and r6, their count in r4", () => {
    const { q } = machine();
    const [v] = q.vcpus;
    q.consoleInput("0123456789abcdefXYZ");
    const args = [0n, 0n, 0n, 0n];
    expect(spaprHypercall(q, v, hv.H_GET_TERM_CHAR, args)).toBe(hv.H_SUCCESS);
    expect(args.slice(0, 3)).toEqual([16n, 0x3031323334353637n, 0x3839616263646566n]);
    expect(spaprHypercall(q, v, hv.H_GET_TERM_CHAR, args)).toBe(hv.H_SUCCESS);
    expect(args.slice(0, 3)).toEqual([3n, 0x58595a0000000000n, 0n]);
    expect(spaprHypercall(q, v, hv.H_GET_TERM_CHAR, args)).toBe(hv.H_SUCCESS);
    expect(args.slice(0, 3)).toEqual([0n, 0n, 0n]);
    q.consoleInput("0123456789");
    spaprHypercall(q, v, hv.H_GET_TERM_CHAR, args);
    expect(args.slice(0, 3)).toEqual([10n, 0x3031323334353637n, 0x3839000000000000n]);
  });

  it("answers H_FUNCTION for a call no part of QEMU implements", () => {
    const { q } = machine();
    expect(spaprHypercall(q, q.vcpus[0], 0x1234, [])).toBe(hv.H_FUNCTION);
  });
});

describe("H_SET_MODE (h_set_mode, h_set_mode_resource_le)", () => {
  const LE = 4n;

  it("sets or clears LPCR[ILE] on every vCPU through ONE_REG", () => {
    const { q } = machine();
    const [v0, v1] = q.vcpus;
    expect(spaprHypercall(q, v1, hv.H_SET_MODE, [1n, LE, 0n, 0n])).toBe(hv.H_SUCCESS);
    expect(q.vcpus.map((v) => (lpcr(v) & LPCR_ILE) !== 0n)).toEqual([true, true]);
    const other = lpcr(v0) & ~LPCR_ILE;
    expect(spaprHypercall(q, v0, hv.H_SET_MODE, [0n, LE, 0n, 0n])).toBe(hv.H_SUCCESS);
    expect(q.vcpus.map((v) => lpcr(v))).toEqual([other, other]);
    // the other LPCR bits stay as they were
    expect(spaprHypercall(q, v0, hv.H_SET_MODE, [1n, LE])).toBe(hv.H_SUCCESS);
    expect(lpcr(v1)).toBe(other | LPCR_ILE);
  });

  it("refuses other resources, non-zero values and unknown endianness flags, changing nothing", () => {
    const { q } = machine();
    const [v] = q.vcpus;
    const before = q.vcpus.map(lpcr);
    expect(spaprHypercall(q, v, hv.H_SET_MODE, [1n, 3n, 0n, 0n])).toBe(hv.H_P2);
    expect(spaprHypercall(q, v, hv.H_SET_MODE, [1n, LE, 1n, 0n])).toBe(hv.H_P3);
    expect(spaprHypercall(q, v, hv.H_SET_MODE, [1n, LE, 0n, 1n])).toBe(hv.H_P4);
    expect(spaprHypercall(q, v, hv.H_SET_MODE, [2n, LE, 0n, 0n])).toBe(H_UNSUPPORTED_FLAG);
    expect(q.vcpus.map(lpcr)).toEqual(before);
  });

  it("answers H_HARDWARE when KVM refuses the LPCR read or write", () => {
    for (const fails of ["get", "set"] as const) {
      const { q } = machine();
      const real = q.vcpus[1];
      const fd = Object.create(real.fd) as Vcpu["fd"];
      if (fails === "get") fd.getOneReg = () => ({ ret: -22, value: 0n });
      else fd.setOneReg = () => -22;
      q.vcpus[1] = { ...real, fd };
      expect(spaprHypercall(q, q.vcpus[0], hv.H_SET_MODE, [1n, LE, 0n, 0n]), fails).toBe(hv.H_HARDWARE);
    }
  });
});

describe("RTAS through H_RTAS (h_rtas, spapr_rtas_call)", () => {
  const ARGS = 0x10000;

  /** Writes rtas_args (token, nargs, nret, args) big-endian at ARGS and makes the call. */
  function rtas(
    q: Qemu,
    v: Vcpu,
    name: string | number,
    args: number[],
    nret: number,
    rc: number = hv.H_SUCCESS,
  ): number[] {
    const token = typeof name === "number" ? name : rtasToken(name);
    q.ram.write32(ARGS, token, false);
    q.ram.write32(ARGS + 4, args.length, false);
    q.ram.write32(ARGS + 8, nret, false);
    for (const [i, a] of args.entries()) q.ram.write32(ARGS + 12 + 4 * i, a, false);
    const rets = ARGS + 12 + 4 * args.length;
    for (let i = 0; i < nret; i++) q.ram.write32(rets + 4 * i, 0xdeadbeef, false);
    expect(spaprHypercall(q, v, hv.H_RTAS, [BigInt(ARGS)])).toBe(rc);
    return Array.from({ length: nret }, (_, i) => q.ram.read32(rets + 4 * i, false) | 0);
  }

  it("numbers the calls as QEMU 7.2 publishes them in /rtas", () => {
    const dts = readFileSync(
      new URL("../fixtures/qemu-pseries-5.1-power9-smp2.dts", import.meta.url),
      "utf8",
    );
    const rtasNode = dts.slice(dts.indexOf("rtas {"), dts.indexOf("};", dts.indexOf("rtas {")));
    const tokens = [...rtasNode.matchAll(/^\s*([a-z0-9,-]+) = <(0x20[0-9a-f]{2})>;/gm)];
    expect(tokens.length).toBe(45);
    for (const [, name, token] of tokens) expect(rtasToken(name), name).toBe(Number(token));
    expect(() => rtasToken("ibm,no-such-call")).toThrow("unknown RTAS call 'ibm,no-such-call'");
  });

  it("refuses an rtas_args block outside RAM or with more than 16 args or rets", () => {
    const { q } = machine();
    const [v] = q.vcpus;
    expect(spaprHypercall(q, v, hv.H_RTAS, [BigInt(RAM)])).toBe(hv.H_PARAMETER);
    expect(spaprHypercall(q, v, hv.H_RTAS, [BigInt(RAM - 8)])).toBe(hv.H_PARAMETER);
    const at = (nargs: number, nret: number, base = ARGS) => {
      q.ram.write32(base, rtasToken("display-character"), false);
      q.ram.write32(base + 4, nargs, false);
      q.ram.write32(base + 8, nret, false);
      return spaprHypercall(q, v, hv.H_RTAS, [BigInt(base)]);
    };
    expect(at(17, 1)).toBe(hv.H_PARAMETER);
    expect(at(1, 17)).toBe(hv.H_PARAMETER);
    expect(at(16, 16)).toBe(hv.H_SUCCESS);
    // 12 header bytes fit at the end of RAM, the 8 bytes of one arg and one ret do not
    expect(at(1, 1, RAM - 12)).toBe(hv.H_PARAMETER);
    expect(at(0, 0, RAM - 12)).toBe(hv.H_SUCCESS);
    expect(at(1, 1, RAM - 20)).toBe(hv.H_SUCCESS);
  });

  it("answers an unknown token with a parameter error in rets[0] and H_PARAMETER; writes no more rets than asked", () => {
    const { q } = machine();
    const [v] = q.vcpus;
    // spapr_rtas_call: rtas_st(rets, 0, RTAS_OUT_PARAM_ERROR), return H_PARAMETER
    expect(rtas(q, v, 0x1fff, [], 2, hv.H_PARAMETER)).toEqual([-3, 0xdeadbeef | 0]);
    expect(rtas(q, v, 0x202d, [], 1, hv.H_PARAMETER)).toEqual([-3]);
    // even with no ret asked for, as QEMU's rtas_st does
    rtas(q, v, 0x1fff, [], 0, hv.H_PARAMETER);
    expect(q.ram.read32(ARGS + 12, false) | 0).toBe(-3);
    // token 0xa is display-character (spapr_rtas_call's early-debug HACK)
    const before = q.console;
    expect(rtas(q, v, 0xa, [0x41], 1)).toEqual([0]);
    expect(q.console).toBe(`${before}A`);
    // get-time-of-day has eight rets: with nret 2 only the status and the year are written
    q.ram.write32(ARGS + 12 + 8, 0x5a5a5a5a, false);
    expect(rtas(q, v, "get-time-of-day", [], 2)).toEqual([0, 2020]);
    expect(q.ram.read32(ARGS + 12 + 8, false)).toBe(0x5a5a5a5a);
  });

  it("query-cpu-stopped-state: 0 for a stopped vCPU, 2 for a running one, a parameter error otherwise", () => {
    const { q } = machine();
    const [v0, v1] = q.vcpus;
    expect(rtas(q, v0, "query-cpu-stopped-state", [v1.id], 2)).toEqual([0, 0]);
    expect(rtas(q, v0, "query-cpu-stopped-state", [v0.id], 2)).toEqual([0, 2]);
    expect(rtas(q, v0, "query-cpu-stopped-state", [99], 2)).toEqual([-3, 0xdeadbeef | 0]);
    expect(rtas(q, v0, "query-cpu-stopped-state", [v1.id, 0], 2)).toEqual([-3, 0xdeadbeef | 0]);
  });

  it("start-cpu starts a stopped vCPU at the given address with r3, 64-bit and machine checks on", () => {
    const { q } = machine();
    const [v0, v1] = q.vcpus;
    expect(rtas(q, v0, "start-cpu", [v1.id, 0x4000], 1)).toEqual([-3]);
    expect(rtas(q, v0, "start-cpu", [77, 0x4000, 5], 1)).toEqual([-3]);
    expect(v1.halted).toBe(true);
    expect(rtas(q, v0, "start-cpu", [v1.id, 0x4000, 0x1234], 1)).toEqual([0]);
    expect(v1.halted).toBe(false);
    const regs = v1.fd.getRegs();
    expect([regs.pc, regs.gpr[3], regs.msr]).toEqual([0x4000n, 0x1234n, MSR_SF | MSR_ME]);
    // a running vCPU cannot be started again
    expect(rtas(q, v0, "start-cpu", [v1.id, 0x8000, 0], 1)).toEqual([-1]);
    expect(v1.fd.getRegs().pc).toBe(0x4000n);
  });

  it("start-cpu fails with a hardware error when KVM refuses the registers", () => {
    const { q } = machine();
    const real = q.vcpus[1];
    const fd = Object.create(real.fd) as Vcpu["fd"];
    fd.setRegs = () => -22;
    q.vcpus[1] = { ...real, fd };
    expect(rtas(q, q.vcpus[0], "start-cpu", [real.id, 0x4000, 0], 1)).toEqual([-1]);
    expect(q.vcpus[1].halted).toBe(true);
  });

  it("stop-self halts the caller only", () => {
    const { q } = machine();
    const [v0, v1] = q.vcpus;
    rtas(q, v0, "start-cpu", [v1.id, 0x4000, 0], 1);
    expect(rtas(q, v1, "stop-self", [], 1)).toEqual([0]);
    expect([v0.halted, v1.halted]).toEqual([false, true]);
  });

  it("ibm,os-term panics the guest, power-off and system-reboot shut it down with their reasons", () => {
    const panicked = machine().q;
    expect(rtas(panicked, panicked.vcpus[0], "ibm,os-term", [0x100], 1)).toEqual([0]);
    expect(panicked.status).toBe("guest-panicked");
    expect(panicked.events.map((e) => [e.event, e.data])).toContainEqual([
      "GUEST_PANICKED",
      { action: "pause" },
    ]);

    const off = machine().q;
    expect(rtas(off, off.vcpus[0], "power-off", [0], 1)).toEqual([-3]);
    expect(off.status).not.toBe("shutdown");
    expect(rtas(off, off.vcpus[0], "power-off", [0, 0], 1)).toEqual([0]);
    expect(off.status).toBe("shutdown");
    expect(off.events.at(-1)).toMatchObject({
      event: "SHUTDOWN",
      data: { guest: true, reason: "guest-shutdown" },
    });
    expect(off.vcpus.every((v) => v.halted)).toBe(true);

    const reboot = machine().q;
    expect(rtas(reboot, reboot.vcpus[0], "system-reboot", [], 1)).toEqual([0]);
    expect(reboot.events.at(-1)).toMatchObject({
      event: "SHUTDOWN",
      data: { guest: true, reason: "guest-reset" },
    });
  });

  it("display-character prints the low byte; event-scan and check-exception find no errors", () => {
    const { q } = machine();
    const [v] = q.vcpus;
    expect(rtas(q, v, "display-character", [0x141], 1)).toEqual([0]);
    expect(q.console).toBe("A");
    expect(rtas(q, v, "event-scan", [0, 0, 0, 0], 1)).toEqual([1]);
    expect(rtas(q, v, "check-exception", [0, 0, 0, 0, 0, 0, 0], 1)).toEqual([1]);
    // published calls for devices the machine does not model
    expect(rtas(q, v, "nvram-fetch", [0, 0, 0], 2)).toEqual([-3, 0xdeadbeef | 0]);
    expect(rtas(q, v, "ibm,set-system-parameter", [0, 0], 1)).toEqual([-3]);
  });

  it("get-time-of-day counts the virtual clock from the machine's epoch, 2020-04-07 00:00:00 UTC", () => {
    const { sim, q } = machine();
    const [v] = q.vcpus;
    // a paused machine: only the host runs, for 1.5 ms of virtual time
    sim.runFor(1_500_000);
    const ns = sim.now;
    expect(ns).toBeGreaterThan(1_000_000);
    expect(rtas(q, v, "get-time-of-day", [], 8)).toEqual([0, 2020, 4, 7, 0, 0, 0, ns]);
  });
});
