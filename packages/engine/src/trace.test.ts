import { describe, expect, it } from "vitest";
import { ChromeTraceWriter, type Rng, Simulation } from "./index.js";

/** A randomized workload: vCPUs that idle and wake at random, traced. */
function randomWorkload(seed: number): string {
  const sim = new Simulation({ seed, trace: true });
  for (let cpu = 0; cpu < 4; cpu++) {
    const rng: Rng = sim.rng.stream(`vcpu${cpu}`);
    const track = sim.trace.track("guest", `vCPU ${cpu}`);
    const timer = sim.createTimer(() => {}, `vcpu${cpu}`);
    const cycle = () => {
      const idle = Math.round(rng.exponential(20_000));
      const start = sim.now;
      sim.trace.instant(track, "cpu_idle", "power", { state: rng.int(0, 2), cpu_id: cpu });
      timer.callback = () => {
        sim.trace.complete(track, "idle", "power", start, sim.now - start);
        cycle();
      };
      timer.armIn(idle);
    };
    cycle();
  }
  sim.runFor(5_000_000);
  return sim.trace.hash();
}

describe("trace recorder", () => {
  it("same seed gives the same trace hash, another seed a different one", () => {
    const a = randomWorkload(1234);
    expect(randomWorkload(1234)).toBe(a);
    expect(randomWorkload(4321)).not.toBe(a);
  });

  it("records nothing while disabled", () => {
    const sim = new Simulation();
    const t = sim.trace.track("host", "cpu0");
    sim.trace.instant(t, "kvm_exit", "kvm", { exit_nr: 0xf80 });
    expect(sim.trace.size).toBe(0);
    sim.trace.enable();
    sim.trace.instant(t, "kvm_exit", "kvm", { exit_nr: 0xf80 });
    expect(sim.trace.size).toBe(1);
  });

  it("exports Chrome Trace Event JSON with process and thread names in microseconds", () => {
    const sim = new Simulation({ trace: true });
    const h = sim.trace.track("host dd2.3", "cpu 0");
    const v = sim.trace.track("guest", "vCPU 0");
    sim.schedule(1500, () => sim.trace.instant(h, "kvm_exit", "kvm", { exit_nr: "H_FAC_UNAVAIL" }));
    sim.schedule(2000, () => sim.trace.complete(v, "stop0lite", "cpu_idle", 1000, 1000));
    sim.runAll();
    const doc = JSON.parse(sim.trace.toJSON({ seed: "1" }));
    expect(doc.displayTimeUnit).toBe("ns");
    const names = doc.traceEvents
      .filter((e: { ph: string }) => e.ph === "M")
      .map((e: { args: { name: string } }) => e.args.name);
    expect(names).toEqual(expect.arrayContaining(["host dd2.3", "guest", "cpu 0", "vCPU 0"]));
    const exit = doc.traceEvents.find((e: { name: string }) => e.name === "kvm_exit");
    expect(exit).toMatchObject({ ph: "i", ts: 1.5, cat: "kvm" });
    const idle = doc.traceEvents.find((e: { name: string }) => e.name === "stop0lite");
    expect(idle).toMatchObject({ ph: "X", ts: 1, dur: 1 });
    expect(idle.pid).not.toBe(exit.pid);
  });
});

describe("streamed traces", () => {
  it("stream the same Chrome trace the in-memory export gives, keeping no events", () => {
    const build = (sim: Simulation) => {
      const h = sim.trace.track("host dd2.3", "cpu 0");
      sim.schedule(1500, () => sim.trace.instant(h, "kvm_exit", "kvm", { exit_nr: "H_FAC_UNAVAIL" }));
      sim.schedule(2000, () => {
        const v = sim.trace.track("guest", 'vCPU "0"');
        sim.trace.complete(v, "stop0lite", "cpu_idle", 1000, 1000);
        sim.trace.counter(v, "runnable", { n: 3 });
      });
      sim.runAll();
    };
    const mem = new Simulation({ trace: true });
    build(mem);
    const expected = mem.trace.toChromeTrace({ seed: "1" });

    const chunks: string[] = [];
    const sim = new Simulation();
    const early = sim.trace.track("host dd2.3", "cpu 0");
    sim.trace.enable();
    sim.trace.instant(early, "boot", "fw"); // recorded before streaming starts: handed over
    const writer = new ChromeTraceWriter((c) => chunks.push(c), { seed: "1" }, 64);
    sim.trace.streamTo(writer);
    build(sim);
    expect(sim.trace.events()).toHaveLength(0);
    expect(sim.trace.size).toBe(4);
    sim.trace.endStream();
    expect(chunks.length).toBeGreaterThan(3); // written as it went, in small chunks
    const doc = JSON.parse(chunks.join(""));
    expect(doc.displayTimeUnit).toBe("ns");
    expect(doc.otherData).toEqual(expected.otherData);
    const sortKey = (e: { ph: string; name: string; tid?: number }) => `${e.ph}|${e.name}|${e.tid ?? ""}`;
    const events = doc.traceEvents.filter((e: { name: string }) => e.name !== "boot");
    expect([...events].sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
      [...expected.traceEvents].sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    );
    expect(sim.trace.enabled).toBe(false);
  });
});
