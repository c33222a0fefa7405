// Streamed trace files: the Chrome Trace Event JSON (the format Perfetto and chrome://tracing open:
// "Trace Event Format", displayTimeUnit, traceEvents, ph M/X/i ...) written through a temporary
// file, published only when the run completes, and the line-by-line check that reads one back.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TraceEvent, TraceTrack } from "@stopsim/engine";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkTraceFile, TraceFile, withTraceFile } from "./trace-file.js";

const tmp = () => mkdtempSync(join(tmpdir(), "stopsim-tracefile-"));

const TRACK: TraceTrack = { id: 0, process: "host dd2.3", thread: "cpu 0", pid: 1, tid: 2 };
const event = (i: number): TraceEvent => ({
  track: 0,
  name: "stop0lite",
  cat: "idle",
  ph: "X",
  time: 1000 * i,
  dur: 500,
  args: { psscr: "0x0", n: i },
});

/** stderr lines written during `body`. */
async function stderrOf(body: () => unknown): Promise<string> {
  let err = "";
  const spy = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => {
    err += `${a.join(" ")}\n`;
  });
  try {
    await body();
  } finally {
    spy.mockRestore();
  }
  return err;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("TraceFile", () => {
  it("streams a Chrome trace through a temporary file and publishes it complete, with the run's metadata", async () => {
    const dir = tmp();
    const path = join(dir, "run.json");
    const t = new TraceFile(path, { seed: "7", command: "idle dd2.3 spapr-cap" });
    expect(t.path).toBe(path);
    // created at once: an unwritable path fails before the run
    expect(readdirSync(dir)).toHaveLength(1);
    expect(existsSync(path)).toBe(false);
    t.consumer.track(TRACK);
    // 20000 events: past the writer's 1 MiB chunk, so the file grows during the run
    for (let i = 0; i < 20_000; i++) t.consumer.event(event(i), TRACK);
    expect(t.events).toBe(20_000);
    expect(t.bytes).toBeGreaterThan(1 << 20);
    expect(existsSync(path)).toBe(false);
    const err = await stderrOf(() => t.finish());
    expect(readdirSync(dir)).toEqual(["run.json"]);
    const size = statSync(path).size;
    expect(t.bytes).toBe(size);
    expect(err).toBe(
      `trace written to ${path} (20,000 events, ${(size / 1048576).toFixed(1)} MiB; open it in https://ui.perfetto.dev or chrome://tracing)\n`,
    );
    const json = JSON.parse(readFileSync(path, "utf8"));
    expect(json.displayTimeUnit).toBe("ns");
    expect(json.otherData).toEqual({ generator: "stopsim", seed: "7", command: "idle dd2.3 spapr-cap" });
    expect(json.traceEvents[0]).toEqual({
      name: "process_name",
      ph: "M",
      pid: 1,
      args: { name: "host dd2.3" },
    });
    expect(json.traceEvents[2]).toEqual({
      name: "stop0lite",
      cat: "idle",
      ph: "X",
      ts: 0,
      dur: 0.5,
      pid: 1,
      tid: 2,
      args: { psscr: "0x0", n: 0 },
    });
    const check = await checkTraceFile(path);
    expect(check).toEqual({
      events: 20_000,
      metadata: 2,
      bytes: size,
      otherData: { generator: "stopsim", seed: "7", command: "idle dd2.3 spapr-cap" },
    });
  });

  it("abort drops the partial trace and keeps an earlier file at the path as it was", () => {
    const dir = tmp();
    const path = join(dir, "run.json");
    writeFileSync(path, "earlier");
    const t = new TraceFile(path, {});
    t.consumer.track(TRACK);
    for (let i = 0; i < 20_000; i++) t.consumer.event(event(i), TRACK);
    t.abort();
    expect(readdirSync(dir)).toEqual(["run.json"]);
    expect(readFileSync(path, "utf8")).toBe("earlier");
  });

  it("an unwritable path fails when the file is created, naming it", () => {
    expect(() => new TraceFile("/proc/stopsim-x/t.json", {})).toThrow(/\/proc\/stopsim-x\/t\.json/);
  });
});

describe("withTraceFile", () => {
  it("without a path: runs the body without a trace and returns its value", async () => {
    let given: unknown = "unset";
    const err = await stderrOf(async () => {
      expect(
        await withTraceFile(undefined, { seed: "1" }, (t) => {
          given = t;
          return 42;
        }),
      ).toBe(42);
    });
    expect(given).toBeUndefined();
    expect(err).toBe("");
  });

  it("with a path: the body writes to the trace, which is finished and published after it", async () => {
    const dir = tmp();
    const path = join(dir, "t.json");
    let seen = -1;
    const err = await stderrOf(async () => {
      const r = await withTraceFile(path, { seed: "3", command: "boot" }, async (t) => {
        t?.consumer.track(TRACK);
        t?.consumer.event(event(1), TRACK);
        seen = readdirSync(dir).length;
        return "done";
      });
      expect(r).toBe("done");
    });
    expect(seen).toBe(1); // the temporary file while the body ran
    expect(existsSync(path)).toBe(true);
    expect(err).toMatch(/^trace written to .*t\.json \(1 events, 0\.0 MiB;/);
    expect((await checkTraceFile(path)).otherData).toEqual({
      generator: "stopsim",
      seed: "3",
      command: "boot",
    });
  });

  it("a body that throws leaves no file (nor a temporary one), says nothing and rethrows", async () => {
    const dir = tmp();
    const path = join(dir, "t.json");
    const boom = new Error("the run failed");
    const err = await stderrOf(async () => {
      await expect(
        withTraceFile(path, {}, (t) => {
          t?.consumer.track(TRACK);
          throw boom;
        }),
      ).rejects.toBe(boom);
    });
    expect(readdirSync(dir)).toEqual([]);
    expect(err).toBe("");
  });
});

describe("checkTraceFile", () => {
  const HEADER = '{"displayTimeUnit":"ns","otherData":{"generator":"stopsim","seed":"1"},"traceEvents":[';
  const PROC = '{"name":"process_name","ph":"M","pid":1,"args":{"name":"host"}}';
  const THREAD = '{"name":"thread_name","ph":"M","pid":1,"tid":2,"args":{"name":"cpu 0"}}';
  const EV = '{"name":"stop","cat":"idle","ph":"X","ts":1,"dur":2,"pid":1,"tid":2}';
  const INSTANT = '{"name":"wake","cat":"idle","ph":"i","ts":3,"s":"t","pid":1,"tid":2}';
  const write = (lines: string[]) => {
    const path = join(tmp(), "t.json");
    writeFileSync(path, lines.join("\n"));
    return path;
  };

  it("counts events and metadata of a well-formed trace", async () => {
    const path = write([HEADER, `${PROC},`, `${THREAD},`, `${EV},`, INSTANT, "]}", ""]);
    expect(await checkTraceFile(path)).toEqual({
      events: 2,
      metadata: 2,
      bytes: statSync(path).size,
      otherData: { generator: "stopsim", seed: "1" },
    });
    // an empty trace is a trace
    const empty = write([HEADER, "]}", ""]);
    expect((await checkTraceFile(empty)).events).toBe(0);
  });

  it("names the first bad line and what is wrong with it", async () => {
    const cases: [string[], string][] = [
      [['{"traceEvents":[]}'], "1: not a streamed Chrome trace header"],
      [['{"displayTimeUnit":"ms","traceEvents":[', "]}"], "1: displayTimeUnit is not ns"],
      [[HEADER, `${PROC},`, `${THREAD},`, EV, "]}", "more"], "6: text after the end of the trace"],
      [[HEADER, `${PROC},`, "]}"], "3: a comma before the end of the event array"],
      [[HEADER, PROC, THREAD, "]}"], "3: events not separated by a comma"],
      [[HEADER, `${PROC},`, EV, "]}"], "3: event on thread 1/2 before its thread_name"],
      [[HEADER, `${PROC},`, `${THREAD},`, EV], "4: the trace ends before its closing ]}"],
      [
        [HEADER, `${THREAD},`, '{"name":"","cat":"idle","ph":"X","ts":1,"dur":2,"pid":1,"tid":2}', "]}"],
        "3: {",
      ],
    ];
    for (const [lines, why] of cases) {
      const path = write(lines);
      await expect(checkTraceFile(path), why).rejects.toThrow(`${path}:${why}`);
    }
    // the thread named is the one of the event: another tid of the same process is not named
    const other = write([HEADER, `${THREAD},`, EV.replace('"tid":2', '"tid":3'), "]}"]);
    await expect(checkTraceFile(other)).rejects.toThrow(
      `${other}:3: event on thread 1/3 before its thread_name`,
    );
    // a process_name does not name a thread
    const proc = write([HEADER, `${PROC},`, INSTANT, "]}"]);
    await expect(checkTraceFile(proc)).rejects.toThrow("before its thread_name");
    // an empty line after the end is allowed (the writer ends with a newline)
    expect((await checkTraceFile(write([HEADER, THREAD, "]}", "", ""]))).metadata).toBe(1);
  });
});
