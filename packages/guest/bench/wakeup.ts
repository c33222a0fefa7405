// Wakeup latency per idle state, shaped like the RFC cover letter's tables: 60 samples per state,
// by timer and by IPI, on the guest's test platform (placeholder host costs). Run with
// `npx tsx bench/wakeup.ts` in packages/guest; writes bench-results/guest-wakeup.json.
// The same measureWakeupLatency() runs on the real host/QEMU stack from the app.

import { Simulation, writeBenchResult } from "@stopsim/engine";
import { createGuestKernel, type GuestKernel } from "../src/kernel/kernel.js";
import { guestDtb } from "../src/test-helpers/fixtures.js";
import { type StopPolicy, TestPlatform } from "../src/test-helpers/platform.js";
import { measureWakeupLatency, type WakeupLatencyResult } from "../src/workloads/wakeup.js";
import { ContextSwitch2, Ebizzy } from "../src/workloads/workloads.js";

const SEED = 1;

interface Row {
  label: string;
  state: string;
  policy: StopPolicy;
}

const ROWS: Row[] = [
  { label: "snooze", state: "snooze", policy: "native" },
  { label: "stop0lite native", state: "stop0lite", policy: "native" },
  { label: "stop0lite emulated", state: "stop0lite", policy: "emulate" },
  { label: "Shared CEDE", state: "Shared Cede", policy: "native" },
];

function boot(policy: StopPolicy): { sim: Simulation; kernel: GuestKernel } {
  const sim = new Simulation({ seed: SEED });
  const kernel = createGuestKernel({ sim, config: { stop0lite: "always", watchdogThreshS: 0 } });
  // smp 8: 1 socket, 2 cores, 4 threads (the thread's guest)
  const dtb = guestDtb({ cores: 2, threads: 4 });
  const platform = new TestPlatform({ sim, image: kernel, dtb, threadsPerCore: 4, stopPolicy: policy });
  platform.start();
  while (kernel.state !== "running" && sim.step()) {}
  sim.runFor(5_000_000);
  return { sim, kernel };
}

function fmt(r: WakeupLatencyResult): string {
  return [r.count, r.min, r.max, r.median, r.mean.toFixed(1), r.stddev.toFixed(2)]
    .map((v) => String(Math.round(Number(v) * 100) / 100).padStart(9))
    .join(" |");
}

const out: Record<string, unknown> = {};
for (const method of ["timer", "ipi"] as const) {
  console.log(`\nWakeup latency measured using ${method === "timer" ? "a timer" : "an IPI"} (ns)`);
  console.log(`${"Idle state".padEnd(20)}|  samples |      min |      max |   median |      avg |   stddev`);
  for (const row of ROWS) {
    const { kernel } = boot(row.policy);
    const r = measureWakeupLatency(kernel, {
      method,
      target: 1,
      source: 0,
      samples: 60,
      onlyState: row.state,
    });
    console.log(`${row.label.padEnd(20)}|${fmt(r)}`);
    out[`${method}/${row.label}`] = { ...r, samplesNs: undefined };
  }
}

console.log("\nebizzy records/s (one thread on cpu 0, siblings idle in one state)");
for (const row of ROWS) {
  const { sim, kernel } = boot(row.policy);
  for (const c of kernel.cpus)
    for (const s of c.cpuidle?.drv.states ?? []) c.cpuidle?.setDisabled(s.name, s.name !== row.state);
  const e = new Ebizzy(kernel, { cpu: 0 });
  sim.runFor(2_000_000);
  e.start();
  sim.runFor(100_000_000);
  const r = e.result();
  console.log(`${row.label.padEnd(20)}| ${Math.round(r.perSecond)}`);
  out[`ebizzy/${row.label}`] = r;
}

console.log("\ncontext_switch2 context switches/s (tasks on cpu 0 and cpu 1)");
for (const row of ROWS) {
  const { sim, kernel } = boot(row.policy);
  for (const c of kernel.cpus)
    for (const s of c.cpuidle?.drv.states ?? []) c.cpuidle?.setDisabled(s.name, s.name !== row.state);
  const cs = new ContextSwitch2(kernel, 0, 1);
  sim.runFor(2_000_000);
  cs.start();
  sim.runFor(50_000_000);
  const r = cs.result();
  console.log(`${row.label.padEnd(20)}| ${Math.round(r.perSecond)}`);
  out[`context_switch2/${row.label}`] = r;
}

const path = writeBenchResult("guest-wakeup", SEED, {
  platform: "guest test platform (placeholder host costs)",
  results: out,
});
console.log(`\nwrote ${path}`);
