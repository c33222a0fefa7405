// Build a POWER9 machine, let OPAL describe it in the DTB bytes it hands over, boot the host kernel
// on that machine from those bytes (npm install @stopsim/host @stopsim/opal), and let its threads
// idle for 50 ms of virtual time.
import assert from "node:assert/strict";
import { NS_PER_MS, Simulation } from "@stopsim/engine";
import { bootHost } from "@stopsim/host";
import { chipById, PnvMachine } from "@stopsim/isa";
import { buildHostDtb, parseFirmwareVersion } from "@stopsim/opal";

const sim = new Simulation({ seed: 7 });
const machine = new PnvMachine(sim, { chip: chipById("dd2.3"), chips: 1, coresPerChip: 2 });
const dtb = buildHostDtb({ machine, firmware: parseFirmwareVersion("new") });
const host = bootHost({ machine, dtb, kernel: "fallback" });

console.log(host.dmesg().slice(0, 12).join("\n"));
assert.equal(host.cpus.length, 8); // 2 cores x SMT4, the threads of the machine
assert.equal(host.pvr, 0x004e1203); // read on the boot thread (mfspr PVR)
assert.equal(host.view.threadsPerCore, 4); // from the tree's ibm,ppc-interrupt-server#s
assert.equal(host.enableGuestStop, true); // DD2.3 + new firmware + a kernel build that knows it
assert.deepEqual(
  host.idleStates.map((s) => s.name),
  ["snooze", "stop0_lite", "stop0", "stop1", "stop2", "stop4", "stop5"],
);

sim.runFor(50 * NS_PER_MS);
// with nothing to run, every thread sits in a stop state, its PSSCR as the firmware described it
for (const cpu of host.cpus) {
  const state = cpu.currentIdleState;
  assert.ok(state && state.kind === "stop");
  assert.equal(cpu.thread.stopped, true);
  assert.equal((cpu.thread.stopState?.psscr ?? 0n) & state.psscrMask, state.psscrVal & state.psscrMask);
}
console.log(
  `after 50 ms: ${host.cpus.map((c) => `cpu${c.thread.pir}:${c.currentIdleState?.name}`).join(" ")}`,
);
