// qemu: hw/ppc/spapr_rtas.c spapr_rtas_call and its calls (rtas_start_cpu, rtas_stop_self,
// rtas_query_cpu_stopped_state, rtas_ibm_os_term, rtas_power_off ...), reached through h_rtas.

import { H_PARAMETER, H_SUCCESS } from "@stopsim/linux";
import {
  RTAS_CALL_NAMES,
  RTAS_OUT_HW_ERROR,
  RTAS_OUT_NO_ERRORS_FOUND,
  RTAS_OUT_NOT_SUPPORTED,
  RTAS_OUT_PARAM_ERROR,
  RTAS_OUT_SUCCESS,
  RTAS_TOKEN_BASE,
} from "./rtas-tokens.js";
import { MSR_ME, MSR_SF, QEMU_USERSPACE_EXIT_NS, type Qemu, type Vcpu } from "./spapr.js";

// hw/ppc/spapr_hcall.c h_rtas + hw/ppc/spapr_rtas.c spapr_rtas_call (big-endian rtas_args)
export function hRtas(q: Qemu, v: Vcpu, rtasR3: number): number {
  if (!q.ram.contains(rtasR3, 12)) return H_PARAMETER;
  const token = q.ram.read32(rtasR3, false);
  const nargs = q.ram.read32(rtasR3 + 4, false);
  const nret = q.ram.read32(rtasR3 + 8, false);
  const argsAddr = rtasR3 + 12;
  const retsAddr = argsAddr + 4 * nargs;
  if (nargs > 16 || nret > 16 || !q.ram.contains(argsAddr, 4 * (nargs + nret))) return H_PARAMETER;
  const args: number[] = [];
  for (let i = 0; i < nargs; i++) args.push(q.ram.read32(argsAddr + 4 * i, false));
  // spapr_rtas_call's HACK: Linux's early debug code calls display-character as token 0xa
  // without looking it up in the tree
  const handler = q.rtasHandlers.get(token === 0xa ? DISPLAY_CHARACTER_TOKEN : token);
  if (!handler) {
    // "Unknown RTAS token": rtas_st(rets, 0, RTAS_OUT_PARAM_ERROR), whatever nret says
    if (q.ram.contains(retsAddr, 4)) q.ram.write32(retsAddr, RTAS_OUT_PARAM_ERROR >>> 0, false);
    return H_PARAMETER;
  }
  const rets = handler(v, args, nret);
  for (let i = 0; i < Math.min(nret, rets.length); i++) q.ram.write32(retsAddr + 4 * i, rets[i] >>> 0, false);
  return H_SUCCESS;
}

const DISPLAY_CHARACTER_TOKEN = RTAS_TOKEN_BASE + RTAS_CALL_NAMES.indexOf("display-character");

export function rtasTable(q: Qemu): Map<number, (v: Vcpu, args: number[], nret: number) => number[]> {
  const t = new Map<number, (v: Vcpu, args: number[], nret: number) => number[]>();
  const reg = (name: string, fn: (v: Vcpu, args: number[], nret: number) => number[]) =>
    t.set(RTAS_TOKEN_BASE + RTAS_CALL_NAMES.indexOf(name), fn);
  const byId = (id: number) => q.vcpus.find((c) => c.id === id);
  // hw/ppc/spapr_rtas.c rtas_query_cpu_stopped_state: 0 stopped, 2 running
  reg("query-cpu-stopped-state", (_v, args) => {
    const c = byId(args[0]);
    if (args.length !== 1 || !c) return [RTAS_OUT_PARAM_ERROR];
    return [RTAS_OUT_SUCCESS, c.halted ? 0 : 2];
  });
  // hw/ppc/spapr_rtas.c rtas_start_cpu
  reg("start-cpu", (_v, args) => {
    if (args.length !== 3) return [RTAS_OUT_PARAM_ERROR];
    const c = byId(args[0]);
    if (!c) return [RTAS_OUT_PARAM_ERROR];
    if (!c.halted) return [RTAS_OUT_HW_ERROR];
    const regs = c.fd.getRegs();
    regs.pc = BigInt(args[1]);
    regs.gpr[3] = BigInt(args[2]);
    regs.msr = MSR_SF | MSR_ME;
    if (c.fd.setRegs(regs) < 0) return [RTAS_OUT_HW_ERROR];
    c.halted = false;
    q.sim.schedule(QEMU_USERSPACE_EXIT_NS, () => q.runVcpu(c), `${q.name}.start-cpu.${c.id}`);
    return [RTAS_OUT_SUCCESS];
  });
  // hw/ppc/spapr_rtas.c rtas_stop_self: the caller stops and stays halted
  reg("stop-self", (v) => {
    v.halted = true;
    return [RTAS_OUT_SUCCESS];
  });
  // hw/ppc/spapr_rtas.c rtas_ibm_os_term: the guest panicked
  reg("ibm,os-term", () => {
    q._status = "guest-panicked";
    q.emit("GUEST_PANICKED", { action: "pause" });
    q.stop("guest-panicked");
    return [RTAS_OUT_SUCCESS];
  });
  reg("power-off", (_v, args) => {
    if (args.length !== 2) return [RTAS_OUT_PARAM_ERROR];
    q.shutdown("guest-shutdown");
    return [RTAS_OUT_SUCCESS];
  });
  reg("system-reboot", () => {
    q.shutdown("guest-reset");
    return [RTAS_OUT_SUCCESS];
  });
  reg("display-character", (_v, args) => {
    q.console += String.fromCharCode(args[0] & 0xff);
    return [RTAS_OUT_SUCCESS];
  });
  // hw/ppc/spapr_rtc.c rtas_get_time_of_day: year .. ns from the virtual clock (epoch 2020-04-07)
  reg("get-time-of-day", () => {
    const d = new Date(Date.UTC(2020, 3, 7) + Math.floor(q.sim.now / 1e6));
    return [
      RTAS_OUT_SUCCESS,
      d.getUTCFullYear(),
      d.getUTCMonth() + 1,
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      q.sim.now % 1e9,
    ];
  });
  reg("event-scan", () => [RTAS_OUT_NO_ERRORS_FOUND]);
  reg("check-exception", () => [RTAS_OUT_NO_ERRORS_FOUND]);
  // the rest are published but concern devices q model does not have
  for (const name of RTAS_CALL_NAMES) {
    const token = RTAS_TOKEN_BASE + RTAS_CALL_NAMES.indexOf(name);
    if (!t.has(token)) t.set(token, () => [RTAS_OUT_NOT_SUPPORTED]);
  }
  return t;
}
