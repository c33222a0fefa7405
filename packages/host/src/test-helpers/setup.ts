import { Simulation } from "@stopsim/engine";
import { chipById, MSR_EE, MSR_LE, MSR_ME, MSR_SF, PnvMachine, type ThreadSoftware } from "@stopsim/isa";
import { buildHostDtb, parseFirmwareVersion } from "@stopsim/opal";
import type { KvmBuild, KvmBuildName } from "../build.js";
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
