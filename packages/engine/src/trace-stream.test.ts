// The trace recorder's bookkeeping and the streaming writer's chunking: what Perfetto reads must
// be the same whether a trace is kept in memory or streamed in chunks of any size.
import { describe, expect, it } from "vitest";
import { ChromeTraceWriter, SimError, TraceRecorder } from "./index.js";

function recorder(): { rec: TraceRecorder; at: (ns: number) => void } {
  let now = 0;
  const rec = new TraceRecorder(() => now);
  return {
    rec,
    at: (ns) => {
      now = ns;
    },
  };
}

/** Records one event of each phase on two tracks of one process and one track of another. */
function record(rec: TraceRecorder, at: (ns: number) => void): void {
  const a = rec.track("host0", "cpu0");
  const b = rec.track("host0", "cpu1");
  const c = rec.track("guest", "vcpu0");
  at(1500);
  rec.instant(a, "kvm_exit", "kvm", { reason: "H_FAC_UNAVAIL" });
  rec.complete(b, "stop0", "power", 1000, 2500, { esl: false });
  at(4000);
  rec.begin(c, "idle", "sched");
  at(5000);
  rec.end(c, "idle", "sched");
  rec.counter(a, "runnable", { vcpus: 3 });
}

describe("TraceRecorder", () => {
  it("records nothing while disabled and keeps events in order once enabled", () => {
    const { rec, at } = recorder();
    record(rec, at);
    expect(rec.size).toBe(0);
    rec.enable();
    record(rec, at);
    expect(rec.events().map((e) => e.ph)).toEqual(["i", "X", "B", "E", "C"]);
    expect(rec.events()[1]).toMatchObject({ time: 1000, dur: 2500 });
    expect(rec.events()[4]).toMatchObject({ cat: "counter", time: 5000, args: { vcpus: 3 } });
    rec.disable();
    rec.instant(0, "x", "y");
    expect(rec.size).toBe(5);
    rec.clear();
    expect(rec.size).toBe(0);
  });

  it("numbers processes from 1 and threads from 1 within each process; a track is registered once", () => {
    const { rec } = recorder();
    const a = rec.track("host0", "cpu0");
    expect(rec.track("host0", "cpu0")).toBe(a);
    rec.track("host0", "cpu1");
    rec.track("guest", "vcpu0");
    expect(rec.allTracks().map((t) => [t.id, t.pid, t.tid])).toEqual([
      [0, 1, 1],
      [1, 1, 2],
      [2, 2, 1],
    ]);
    expect(rec.getTrack(2)).toMatchObject({ process: "guest", thread: "vcpu0" });
    expect(() => rec.getTrack(3)).toThrow(SimError);
    expect(() => rec.getTrack(3)).toThrow("unknown trace track 3: register it with track()");
  });

  it("Chrome JSON: microseconds, names as metadata, dur only on X, scope only on instants", () => {
    const { rec, at } = recorder();
    rec.enable();
    record(rec, at);
    const t = rec.toChromeTrace({ seed: "7" });
    expect(t.displayTimeUnit).toBe("ns");
    expect(t.otherData).toEqual({ generator: "stopsim", seed: "7" });
    expect(t.traceEvents.slice(0, 5)).toEqual([
      { name: "process_name", ph: "M", pid: 1, args: { name: "host0" } },
      { name: "process_name", ph: "M", pid: 2, args: { name: "guest" } },
      { name: "thread_name", ph: "M", pid: 1, tid: 1, args: { name: "cpu0" } },
      { name: "thread_name", ph: "M", pid: 1, tid: 2, args: { name: "cpu1" } },
      { name: "thread_name", ph: "M", pid: 2, tid: 1, args: { name: "vcpu0" } },
    ]);
    expect(t.traceEvents.slice(5)).toEqual([
      {
        name: "kvm_exit",
        cat: "kvm",
        ph: "i",
        ts: 1.5,
        pid: 1,
        tid: 1,
        s: "t",
        args: { reason: "H_FAC_UNAVAIL" },
      },
      { name: "stop0", cat: "power", ph: "X", ts: 1, dur: 2.5, pid: 1, tid: 2, args: { esl: false } },
      { name: "idle", cat: "sched", ph: "B", ts: 4, pid: 2, tid: 1 },
      { name: "idle", cat: "sched", ph: "E", ts: 5, pid: 2, tid: 1 },
      { name: "runnable", cat: "counter", ph: "C", ts: 5, pid: 1, tid: 1, args: { vcpus: 3 } },
    ]);
    expect(JSON.parse(rec.toJSON({ seed: "7" }))).toEqual(t);
  });

  it("the hash covers tracks, times, durations and arguments", () => {
    const hashOf = (change: (rec: TraceRecorder) => void) => {
      const { rec } = recorder();
      rec.enable();
      const a = rec.track("p", "t");
      rec.complete(a, "s", "c", 10, 20, { k: 1 });
      change(rec);
      return rec.hash();
    };
    const base = hashOf(() => {});
    expect(hashOf(() => {})).toBe(base);
    expect(hashOf((r) => r.track("p", "u"))).not.toBe(base);
    expect(hashOf((r) => r.complete(0, "s", "c", 10, 21, { k: 1 }))).not.toBe(
      hashOf((r) => r.complete(0, "s", "c", 10, 20, { k: 1 })),
    );
    expect(hashOf((r) => r.instant(0, "s", "c", { k: 2 }))).not.toBe(
      hashOf((r) => r.instant(0, "s", "c", { k: 1 })),
    );
    expect(hashOf((r) => r.instant(0, "s", "c"))).not.toBe(hashOf((r) => r.instant(0, "s", "c", {})));
  });
});

describe("ChromeTraceWriter", () => {
  for (const chunkBytes of [1, 64, 1 << 20]) {
    it(`chunks of ${chunkBytes} bytes: the streamed JSON equals the in-memory trace`, () => {
      const chunks: string[] = [];
      const { rec, at } = recorder();
      // two tracks and an event before streaming starts: handed over first
      rec.enable();
      const early = rec.track("host0", "cpu0");
      rec.instant(early, "boot", "kvm");
      const writer = new ChromeTraceWriter((c) => chunks.push(c), { seed: "7" }, chunkBytes);
      rec.streamTo(writer);
      expect(rec.events()).toEqual([]);
      record(rec, at);
      expect(rec.size).toBe(6);
      expect(writer.events).toBe(6);
      rec.endStream();
      rec.endStream(); // a second end writes nothing more
      expect(rec.enabled).toBe(false);
      // every chunk but the last holds at least chunkBytes; none is empty
      for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(chunkBytes);
      for (const c of chunks) expect(c.length).toBeGreaterThan(0);
      if (chunkBytes === 1 << 20) expect(chunks).toHaveLength(1);
      const streamed = JSON.parse(chunks.join(""));
      const mem = recorder();
      mem.rec.enable();
      mem.rec.track("host0", "cpu0");
      mem.rec.instant(0, "boot", "kvm");
      record(mem.rec, mem.at);
      const expected = mem.rec.toChromeTrace({ seed: "7" });
      expect(streamed.otherData).toEqual(expected.otherData);
      expect(streamed.displayTimeUnit).toBe("ns");
      // the writer names a process when its first track appears: same events, metadata interleaved
      const sortKey = (e: { ph: string; name: string; pid: number; tid?: number; ts?: number }) =>
        `${e.ph === "M" ? 0 : 1}|${e.pid}|${e.tid ?? 0}|${e.name}|${e.ts ?? ""}`;
      const sorted = (evs: typeof expected.traceEvents) =>
        [...evs].sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : 1));
      expect(sorted(streamed.traceEvents)).toEqual(sorted(expected.traceEvents));
      expect(streamed.traceEvents.filter((e: { name: string }) => e.name === "process_name")).toHaveLength(2);
    });
  }

  it("an empty stream is still a valid trace", () => {
    let out = "";
    const w = new ChromeTraceWriter((c) => {
      out += c;
    });
    w.end();
    expect(JSON.parse(out)).toEqual({
      displayTimeUnit: "ns",
      otherData: { generator: "stopsim" },
      traceEvents: [],
    });
  });
});
