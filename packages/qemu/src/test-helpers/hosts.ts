// Real hosts for this package's tests: skiboot's device tree for a POWER9 of a given DD level and
// firmware, booted by the host kernel model with a given KVM build.

import type { Simulation } from "@stopsim/engine";
import { bootHost, type Host, type KvmBuildName } from "@stopsim/host";
import { chipById, PnvMachine } from "@stopsim/isa";
import { bootOpal, parseFirmwareVersion } from "@stopsim/opal";
import type { QemuHost } from "../spapr.js";

export interface TestHostSpec {
  readonly chip: "dd2.2" | "dd2.3";
  readonly firmware: "2020" | "new";
  readonly kernel: KvmBuildName;
}

export interface TestHost {
  readonly spec: TestHostSpec;
  readonly host: Host;
  /** What QEMU sees of the host: /dev/kvm and /proc/device-tree. */
  readonly qemuHost: QemuHost;
}

export function bootTestHost(sim: Simulation, spec: TestHostSpec, name: string): TestHost {
  const hw = new PnvMachine(sim, { chip: chipById(spec.chip) });
  const fw = bootOpal({ machine: hw, firmware: parseFirmwareVersion(spec.firmware) });
  const host = bootHost({ machine: hw, dtb: fw.dtb, opal: fw.opal, kernel: spec.kernel, name });
  return { spec, host, qemuHost: { kvm: host.kvm, procDeviceTree: host.tree } };
}
