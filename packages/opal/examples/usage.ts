// Build a one-chip POWER9 DD2.3 machine, let skiboot with the newer firmware probe it and build the
// device tree it hands to the host kernel, read that back from the DTB bytes, and make an OPAL call.
import assert from "node:assert/strict";
import { decodeDtb } from "@stopsim/devicetree";
import { Simulation } from "@stopsim/engine";
import { chipById, PnvMachine } from "@stopsim/isa";
import { bootOpal, OPAL_SUCCESS, parseFirmwareVersion } from "@stopsim/opal";

// the hardware first: chips, SMT4 cores and threads, each thread reporting its PVR and PIR
const machine = new PnvMachine(new Simulation(), {
  chip: chipById("dd2.3"),
  chips: 1,
  coresPerChip: 2,
  threadsPerCore: 4,
  memoryBytes: 4n << 30n,
});
const host = bootOpal({ machine, firmware: parseFirmwareVersion("new") });

const tree = decodeDtb(host.dtb); // what the kernel receives: bytes
const cpus = tree.requireNode("/cpus").children.filter((n) => n.getProp("device_type")?.asString() === "cpu");
assert.equal(cpus.length, 2); // one node per core, its threads in ibm,ppc-interrupt-server#s
assert.equal(cpus[0].requireProp("cpu-version").asU32(), 0x004e1203);
assert.deepEqual(cpus[0].requireProp("ibm,ppc-interrupt-server#s").asU32Array().length, 4);

const features = tree.requireNode("/cpus/ibm,powerpc-cpu-features").children.map((n) => n.name);
assert.ok(features.includes("idle-stop"));
const pm = tree.requireNode("/ibm,opal/power-mgt");
const names = pm.requireProp("ibm,cpu-idle-state-names").asStringList();
assert.ok(names.includes("stop0_lite"));
// hostboot's speculation-mitigation settings for this DD level, copied by skiboot
const countCache = tree.requireNode("/ibm,opal/fw-features/fw-count-cache-flush-bcctr2,0,0");
assert.ok(countCache.hasProp("enabled"));

// ask the stop-api wakeup engine to restore PSSCR (SPR 855) on thread 0 after a deep stop
const pir = host.topology.threads[0].pir;
assert.equal(host.opal.opalSlwSetReg(pir, 855, 0x300375n), OPAL_SUCCESS);

console.log(`${host.dtb.length}-byte DTB: ${cpus.length} cores, ${features.length} dt-cpu-features`);
console.log(`idle states: ${names.join(", ")}`);
