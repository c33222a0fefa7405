// The kernel pieces both POWER9 kernels share, on their own (npm install @stopsim/linux): the cpu
// table entry a PVR selects, the hcall numbers, and the menu and teo governors run on a trace of
// idle periods with the host's powernv states (snooze, stop0_lite 1/10 us, stop1 5/50 us, stop2
// 10/100 us, stop4 100/10000 us, as cpuidle-powernv registers skiboot's table).
import assert from "node:assert/strict";
import {
  CPU_FTR_ARCH_300,
  CpuidleDevice,
  type CpuidleGovernor,
  cpuFeatureNames,
  cpuidleState,
  H_CEDE,
  identifyCpu,
  MenuGovernor,
  TeoGovernor,
} from "@stopsim/linux";

// identify_cpu: a POWER9 DD2.2 PVR and the architected PVR a POWER9-compat guest sees
const raw = identifyCpu(0x004e1202);
assert.equal(raw.cpuName, "POWER9 (raw)");
assert.ok((raw.cpuFeatures & CPU_FTR_ARCH_300) !== 0n);
console.log(`${raw.cpuName}: ${cpuFeatureNames(raw.cpuFeatures).slice(0, 6).join(" ")} ...`);
assert.equal(identifyCpu(0x0f000005).cpuName, "POWER9 (architected)");
assert.equal(H_CEDE, 0xe0);

const driver = {
  name: "powernv_idle",
  states: [
    cpuidleState("snooze", "snooze", 0, 0),
    cpuidleState("stop0_lite", "stop0_lite", 1, 10),
    cpuidleState("stop1", "stop1", 5, 50),
    cpuidleState("stop2", "stop2", 10, 100),
    cpuidleState("stop4", "stop4", 100, 10_000),
  ],
};
const TICK_NS = 10_000_000; // HZ=100

/** Idle periods of `idleUs` each with the next timer `nextTimerUs` away; the states chosen. */
function run(gov: CpuidleGovernor, nextTimerUs: number, idleUs: number, periods: number): string[] {
  const dev = new CpuidleDevice(0, driver);
  const picks: string[] = [];
  let now = 0;
  for (let i = 0; i < periods; i++) {
    const { index } = gov.select(dev, {
      sleepLengthNs: nextTimerUs * 1000,
      deltaNextNs: Math.min(nextTimerUs * 1000, TICK_NS),
      latencyReqNs: Number.POSITIVE_INFINITY,
      tickStopped: false,
      nrIowaiters: 0,
      now,
      tickNs: TICK_NS,
    });
    dev.account(index, now, now + idleUs * 1000);
    now += idleUs * 1000;
    gov.reflect(dev, index, { gotTick: false, now, tickNs: TICK_NS });
    now += 5_000;
    picks.push(driver.states[index].name);
  }
  return picks;
}

// a vCPU thread's host CPU while its guest cedes with a 1 ms timer: the timer wakes it each time
const menu = run(new MenuGovernor(), 1000, 1000, 16);
console.log("menu, 1 ms timer:", menu.join(" "));
assert.equal(menu[0], "snooze", "an empty history reads as 8 zero-length intervals");
assert.equal(menu.at(-1), "stop2", "the deepest state whose residency fits 1 ms");
// an interrupt that comes ~40 us after each idle entry, the timer 5 ms away: teo learns the misses
const teo = run(new TeoGovernor(), 5000, 40, 16);
console.log("teo, 40 us wakeups:", teo.join(" "));
assert.equal(teo[0], "stop2", "the deepest state that fits the 5 ms timer");
assert.equal(teo.at(-1), "stop0_lite", "the early wakeups it learnt: 40 us fits stop0_lite, not stop1");
