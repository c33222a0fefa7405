import { Simulation } from "@stopsim/engine";
import { chipById, MSR_EE, MSR_LE, MSR_ME, MSR_SF, PnvMachine, type ThreadSoftware } from "@stopsim/isa";
import { buildHostDtb, parseFirmwareVersion } from "@stopsim/opal";
import type { KvmBuild, KvmBuildName } from "../build.js";
import type { HostCostTable } from "../costs.js";
import { bootHost, type Host } from "../host.js";
import type { KvmRun } from "../kvm/kvm.js";
import type { KvmVcpu } from "../kvm/vcpu.js";
import type { KvmVm } from "../kvm/vm.js";
import { GUEST_BASE } from "./guest.js";

export interface TestMachine {
  sim: Simulation;
  host: Host;
  vm: KvmVm;
  exits: KvmRun[];
}

export function machine(
  dd: string,
  firmware: "2020" | "new",
  kernel: KvmBuild | KvmBuildName,
  seed = 1,
  trace = false,
): TestMachine {
  const sim = new Simulation({ seed, trace });
  const hw = new PnvMachine(sim, { chip: chipById(dd) });
  const dtb = buildHostDtb({ machine: hw, firmware: parseFirmwareVersion(firmware) });
  const host = bootHost({ machine: hw, dtb, kernel });
  const vm = host.kvm.createVm();
  if (typeof vm === "number") throw new Error(`createVm failed: ${vm}`);
  return { sim, host, vm, exits: [] };
}

export function vcpu(m: TestMachine, id: number, sw: ThreadSoftware, ee = false): KvmVcpu {
  const v = m.vm.createVcpu(id);
  if (typeof v === "number") throw new Error(`createVcpu failed: ${v}`);
  expect0(v.setGuestSoftware(sw));
  expect0(v.setRegs({ ...v.getRegs(), pc: GUEST_BASE, msr: MSR_SF | MSR_ME | MSR_LE | (ee ? MSR_EE : 0n) }));
  return v;
}

export function start(m: TestMachine, v: KvmVcpu, onHcall?: (run: KvmRun) => void): void {
  const handler = (run: KvmRun, vc: KvmVcpu): void => {
    m.exits.push({ ...run, papr_hcall: { ...run.papr_hcall, args: [...run.papr_hcall.args] } });
    if (onHcall) onHcall(run);
    vc.run(handler);
  };
  expect0(v.run(handler));
}

function expect0(r: number): void {
  if (r !== 0) throw new Error(`ioctl failed: ${r}`);
}

/**
 * A DD2.3 host (or `dd`) with exact costs (jitter 0) whose CPUs all sleep in a stop state by the
 * time the VM is created (menu's first snoozes over): a vCPU's host thread then has its SMT
 * siblings stopped and every step costs the cost table's figure.
 */
export function exactMachine(
  kernel: KvmBuild | KvmBuildName = "fallback",
  dd = "dd2.3",
  seed = 8,
  costs: Partial<HostCostTable> = {},
): TestMachine {
  const sim = new Simulation({ seed });
  const hw = new PnvMachine(sim, { chip: chipById(dd) });
  const dtb = buildHostDtb({ machine: hw, firmware: parseFirmwareVersion("new") });
  const host = bootHost({ machine: hw, dtb, kernel, costs: { ...costs, jitterSigma: 0 } });
  sim.runFor(2_000_000);
  const vm = host.kvm.createVm();
  if (typeof vm === "number") throw new Error(`createVm failed: ${vm}`);
  return { sim, host, vm, exits: [] };
}

/**
 * KVM_RUN with a VMM that records each exit in m.exits and calls KVM_RUN again after `vmmNs`
 * (0: at once, inside the exit). Returns the times of the exits, filled as they come.
 */
export function runVmm(m: TestMachine, v: KvmVcpu, vmmNs = 0, onExit?: (run: KvmRun) => void): number[] {
  const times: number[] = [];
  const handler = (run: KvmRun, vc: KvmVcpu): void => {
    times.push(m.sim.now);
    m.exits.push({ ...run, papr_hcall: { ...run.papr_hcall, args: [...run.papr_hcall.args] } });
    onExit?.(run);
    if (vmmNs === 0) expect0(vc.run(handler));
    else m.sim.schedule(vmmNs, () => expect0(vc.run(handler)), "vmm");
  };
  expect0(v.run(handler));
  return times;
}
