// Boot the host kernel from the DTB bytes OPAL builds (npm install @stopsim/host @stopsim/opal),
// and let its threads idle for 50 ms of virtual time.
import assert from "node:assert/strict";
import { NS_PER_MS, Simulation } from "@stopsim/engine";
import { bootHost } from "@stopsim/host";
import { chipById } from "@stopsim/isa";
import { buildHostDtb, parseFirmwareVersion } from "@stopsim/opal";

const dtb = buildHostDtb({ chip: chipById("dd2.3"), firmware: parseFirmwareVersion("new") });
const sim = new Simulation({ seed: 7 });
const host = bootHost({ sim, dtb, kernel: "fallback" });

console.log(host.dmesg().slice(0, 12).join("\n"));
assert.equal(host.cpus.length, 8); // 2 cores x SMT4
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
