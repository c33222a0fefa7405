// Start a pseries machine the way `qemu-system-ppc64 -M pseries -accel kvm` does on a POWER9
// host: skiboot's tree (@stopsim/opal) -> the host kernel with KVM (@stopsim/host) -> QEMU, which
// builds the guest's device tree, loads the guest kernel (@stopsim/guest) and runs its vCPUs.
// npm install @stopsim/qemu @stopsim/host @stopsim/opal @stopsim/guest @stopsim/isa @stopsim/engine
import assert from "node:assert/strict";
import { decodeDtb } from "@stopsim/devicetree";
import { NS_PER_MS, Simulation } from "@stopsim/engine";
import { createGuestKernel } from "@stopsim/guest";
import { bootHost } from "@stopsim/host";
import { chipById, PnvMachine } from "@stopsim/isa";
import { bootOpal, parseFirmwareVersion } from "@stopsim/opal";
import { Qemu } from "@stopsim/qemu";

const sim = new Simulation({ seed: 3 });
const hw = new PnvMachine(sim, { chip: chipById("dd2.3") });
const fw = bootOpal({ machine: hw, firmware: parseFirmwareVersion("new") });
const host = bootHost({ machine: hw, dtb: fw.dtb, opal: fw.opal, kernel: "fallback" });
const kernel = createGuestKernel({ sim, config: { stop0lite: "platform", governor: "menu" } });

const r = Qemu.create({
  sim,
  host: { kvm: host.kvm, procDeviceTree: host.tree },
  build: { stopLiteCap: true, probeKvmCapStop: false }, // this QEMU offers the spapr stop0lite cap
  image: kernel,
  commandLine: "-M pseries -cpu POWER9 -smp 2 -m 1G -nographic",
});
assert.equal(r.kind, "running");
if (r.kind !== "running") process.exit(1);
const qemu = r.qemu;

let ready = false;
kernel.whenReady(() => {
  ready = true;
});
sim.runFor(200 * NS_PER_MS);
assert.ok(ready, "the guest brought both CPUs online and registered cpuidle");
assert.equal(kernel.state, "running");
assert.deepEqual(qemu.qmp("query-status"), { status: "running", singlestep: false, running: true });

// the tree QEMU built for the guest: two vCPUs, the host's PVR
const cpu0 = decodeDtb(qemu.dtb).requireNode("/cpus/PowerPC,POWER9@0");
assert.equal(cpu0.requireProp("cpu-version").asU32(), 0x004e1203);
console.log(kernel.console.dmesg().slice(-8).join("\n"));
console.log(
  `KVM VMs on the host: ${host.kvm.vmList.length}; guest cpuidle states: ${kernel
    .cpuidleSysfs()[0]
    .states.map((s) => s.name)
    .join(", ")}`,
);
