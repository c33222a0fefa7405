// The --json schemas themselves, against one recorded output of each command
// (fixtures/json/*.json, made by fixtures/make-json.sh with the real CLI): every recorded output
// parses; an undocumented field, a value of the wrong type, a negative count or a value outside a
// documented set is refused anywhere; every documented value of a set is accepted. schemas.test.ts
// checks that the commands' live outputs still parse.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HAZARD_KINDS } from "./hazards.js";
import { ChromeTraceEventSchema, JSON_SCHEMAS, type JsonCommand } from "./schemas.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const FIXTURES: Record<JsonCommand, string> = {
  hosts: "hosts",
  designs: "designs",
  boot: "boot",
  idle: "idle",
  migrate: "migrate",
  matrix: "matrix",
  "bench wakeup": "bench-wakeup",
  "bench ebizzy": "bench-ebizzy",
  "bench ctxsw": "bench-ctxsw",
  fleet: "fleet",
  "fleet --seeds": "fleet-seeds",
  qemu: "qemu",
};

function fixture(command: JsonCommand): Json {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/json/${FIXTURES[command]}.json`, import.meta.url), "utf8"),
  );
}

const ok = (command: JsonCommand, doc: Json) => {
  const r = JSON_SCHEMAS[command].safeParse(doc);
  return r.success ? "ok" : JSON.stringify(r.error.issues[0]);
};

/** `doc` with the value at `path` replaced (or removed, for `undefined`). */
function edit(doc: Json, path: (string | number)[], value: Json | undefined): Json {
  const copy = structuredClone(doc);
  let node = copy as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** Every path of the document with its value. */
function* walk(v: Json, path: (string | number)[] = []): Generator<[(string | number)[], Json]> {
  yield [path, v];
  // the first two elements of an array stand for the rest (same schema)
  if (Array.isArray(v)) for (const [i, x] of v.slice(0, 2).entries()) yield* walk(x, [...path, i]);
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) yield* walk(x, [...path, k]);
}

/** Field names that hold counts or times (never negative, counts whole). */
const SIGNED = new Set(["median", "lo", "hi", "kvmCapStop", "kvmCapGuestStop", "code", "domain", "level"]);

const COMMANDS = Object.keys(FIXTURES) as JsonCommand[];

describe("--json schemas against recorded outputs", () => {
  for (const command of COMMANDS) {
    it(`${command}: the recorded output parses; no undocumented field, wrong type or negative count anywhere`, () => {
      const doc = fixture(command);
      expect(ok(command, doc)).toBe("ok");
      for (const [path, v] of walk(doc)) {
        const where = `${command} ${path.join(".")}`;
        if (v !== null && typeof v === "object" && !Array.isArray(v)) {
          // an object value, so that records of counts or strings refuse it too
          expect(ok(command, edit(doc, [...path, "zzUndocumented"], { zz: true })), where).not.toBe("ok");
        }
        if (path.length === 0) continue;
        if (typeof v === "number") {
          // a seed may also be given as its decimal text (above 2^53-1)
          const isSeed = path.includes("seeds") || path.includes("probeSeeds") || path.at(-1) === "seed";
          if (!isSeed) expect(ok(command, edit(doc, path, String(v))), where).not.toBe("ok");
          const key = String(path[path.length - 1]);
          if (!SIGNED.has(key) && v >= 0) expect(ok(command, edit(doc, path, -1)), where).not.toBe("ok");
        } else if (typeof v === "string") {
          expect(ok(command, edit(doc, path, 7)), where).not.toBe("ok");
        } else if (typeof v === "boolean") {
          expect(ok(command, edit(doc, path, "true")), where).not.toBe("ok");
        } else if (Array.isArray(v)) {
          expect(ok(command, edit(doc, path, {})), where).not.toBe("ok");
        }
      }
    });
  }
});

describe("documented value sets", () => {
  /** Every value of `values` at `path` is accepted, and a value outside them refused. */
  function set(command: JsonCommand, path: (string | number)[], values: Json[], outside: Json = "other") {
    const doc = fixture(command);
    for (const v of values) expect(ok(command, edit(doc, path, v)), `${path.join(".")}=${v}`).toBe("ok");
    expect(ok(command, edit(doc, path, outside)), `${path.join(".")}=${outside}`).not.toBe("ok");
  }

  it("guest states, interrupt controllers and cpuidle tables of a boot", () => {
    set("boot", ["guest", "state"], ["running", "panicked", "hung", "not-started"]);
    set("boot", ["qemu", "interruptController", "mode"], ["xics", "xive", "dual"]);
    set("boot", ["qemu", "interruptController", "active"], ["xics", "xive"], "dual");
    set("boot", ["qemu", "interruptController", "cas"], [null, "no CAS"], 1);
    set("boot", ["guest", "cpuidleTable", "table"], ["shared_states", "dedicated_states", "none"]);
    set("boot", ["guest", "cpuidleTable", "lppacaOldStatus"], [0, 1, 255], 256);
    set("boot", ["guest", "cpuidleTable", "lppacaOldStatus"], [0], 0.5);
    set(
      "boot",
      ["outcome"],
      ["native", "emulated", "not-used", "crashed", "refused", "failed-start", "hung"],
    );
    set("boot", ["emulatedStops"], [0, 3], 1.5);
    // optional fields may be left out; required ones not
    const boot = fixture("boot");
    expect(ok("boot", edit(boot, ["qemu", "interruptController"], undefined))).toBe("ok");
    expect(ok("boot", edit(boot, ["qemu", "error"], "qemu-system-ppc64: refused"))).toBe("ok");
    expect(ok("boot", edit(boot, ["qemu", "caps"], undefined))).not.toBe("ok");
    expect(ok("boot", edit(boot, ["hazards", "maxWakeupLatenessNs"], 12.5))).toBe("ok");
    for (const k of HAZARD_KINDS) {
      expect(ok("boot", edit(boot, ["hazards", k], 2)), k).toBe("ok");
      expect(ok("boot", edit(boot, ["hazards", k], 0.5)), k).not.toBe("ok");
      expect(ok("boot", edit(boot, ["hazards", k], undefined)), k).not.toBe("ok");
    }
  });

  it("a migration's management layer, phases and controllers, each optional", () => {
    set("migrate", ["migration", "managementLayer"], ["libvirt", "none"]);
    set("migrate", ["migration", "interruptController"], [{ source: "xics", destination: "xive" }], {
      source: "xive",
      destination: "dual",
    });
    set("migrate", ["source", "phase", "guestState"], ["running", "panicked", "hung"], "not-started");
    set("migrate", ["migration", "sourceAfter", "guestState"], ["running", "panicked", "hung"]);
    const m = fixture("migrate");
    for (const k of ["managementLayer", "phases", "failedPhase", "virError", "sourceAfter"])
      expect(ok("migrate", edit(m, ["migration", k], undefined)), k).toBe("ok");
    expect(ok("migrate", edit(m, ["migration", "sourceAfter", "wasPaused"], undefined))).toBe("ok");
    expect(ok("migrate", edit(m, ["migration", "log"], ["a", "b"]))).toBe("ok");
    expect(ok("migrate", edit(m, ["migration", "totalTimeNs"], 5))).toBe("ok");
    expect(ok("migrate", edit(m, ["migration", "downtimeNs"], -5))).not.toBe("ok");
    expect(ok("migrate", edit(m, ["migration", "virError", "code"], 1.5))).not.toBe("ok");
    expect(ok("migrate", edit(m, ["migration", "virError", "domain"], 1.5))).not.toBe("ok");
    expect(ok("migrate", edit(m, ["migration", "virError", "level"], 1.5))).not.toBe("ok");
    expect(ok("migrate", edit(m, ["source", "error"], "refused"))).toBe("ok");
    expect(ok("migrate", edit(m, ["source", "phase"], undefined))).toBe("ok");
  });

  it("seeds are whole numbers or their decimal text, up to 2^64-1", () => {
    set("matrix", ["seeds", 0], [0, 7, "18446744073709551615"], "12a");
    set("matrix", ["seeds", 0], [1], "a12");
    set("matrix", ["seeds", 0], [1], -1);
    set("matrix", ["seeds", 0], [1], 1.5);
    set("matrix", ["seeds", 0], [1], "");
    set(
      "matrix",
      ["rows", 0, "hazards"],
      [[{ kind: "stalls", seeds: [1] }]],
      [{ kind: "storms", seeds: [1] }],
    );
    set("matrix", ["rows", 0, "outcomes"], [{ native: 1, "not-used": 1 }, {}], { nope: 1 });
    set(
      "matrix",
      ["rows", 0, "minority"],
      [[{ outcome: "hung", seeds: ["18446744073709551615"] }]],
      [{ outcome: "lost", seeds: [1] }],
    );
  });

  it("a median interval's coverage is a probability; the thread's figure may be absent", () => {
    set("bench wakeup", ["states", 0, "timer", "coverage"], [0, 0.5, 1], 1.01);
    set("bench wakeup", ["states", 0, "timer", "coverage"], [0], -0.01);
    set("bench wakeup", ["states", 0, "thread"], [null, { timer: 1, ipi: 2 }], { timer: 1 });
    set("bench wakeup", ["states", 0, "timer", "median"], [-3, 2.5], "3");
    set("bench ebizzy", ["states", 0, "thread"], [null, 1_379_032], -1);
    set("bench ebizzy", ["states", 0, "seeds", 0, "rate"], [0, 12.5], -1);
  });

  it("a fleet's plan, policy, probe cases and spreads", () => {
    set("fleet", ["plan"], ["rolling-upgrade", "evacuation"]);
    set("fleet", ["policy"], ["pin-old", "capable", "naive"]);
    set(
      "fleet",
      ["probes", 0, "case"],
      [
        { kind: "boot", design: "d", hostKind: "dd2.3" },
        { kind: "migrate", design: "d", bootKind: "dd2.3", toKind: "dd2.2", machine: "pseries-5.1" },
      ],
      { kind: "reboot", design: "d", hostKind: "dd2.3" },
    );
    set("fleet", ["stoppedAtNs"], [0, 5e9], -1);
    set("fleet", ["upgrade", "finishedNs"], [1], -1);
    set("fleet", ["wallSeconds"], [0, 0.25], -0.25);
    const spread = { median: 1.5, min: 0, max: 3 };
    set("fleet --seeds", ["spread", "restarts"], [spread], { ...spread, min: -1 });
    set("fleet --seeds", ["spread", "restarts"], [spread], { ...spread, median: -1 });
    set("fleet --seeds", ["spread", "restarts"], [spread], { ...spread, max: -1 });
    set("fleet --seeds", ["spread", "refusals"], [{ "perform3: x": spread }, {}], { a: 1 });
  });

  it("qemu's guest states", () => {
    set("qemu", ["guest", "state"], ["running", "panicked", "hung"], "not-started");
  });
});

describe("streamed Chrome trace events", () => {
  const valid = [
    { name: "process_name", ph: "M", pid: 1, args: { name: "host dd2.3" } },
    { name: "thread_name", ph: "M", pid: 1, tid: 2, args: { name: "cpu2" } },
    { name: "stop", cat: "isa", ph: "X", ts: 1.5, dur: 0, pid: 1, tid: 2 },
    {
      name: "wake",
      cat: "kvm",
      ph: "i",
      ts: 0,
      s: "t",
      pid: 1,
      tid: 2,
      args: { reason: "dec", n: 3, ok: true },
    },
    { name: "run", cat: "kvm", ph: "B", ts: 3, pid: 1, tid: 2 },
    { name: "run", cat: "kvm", ph: "E", ts: 4, pid: 1, tid: 2 },
    { name: "vms", cat: "fleet", ph: "C", ts: 5, pid: 0, tid: 0, args: { running: 8 } },
  ];
  const parses = (e: unknown) => ChromeTraceEventSchema.safeParse(e).success;

  it("accepts metadata, complete, instant, begin, end and counter events", () => {
    for (const e of valid) expect(parses(e), JSON.stringify(e)).toBe(true);
  });

  it("refuses each event bent out of its form", () => {
    const [proc, , span, instant, begin] = valid;
    expect(parses({ ...proc, name: "frame_name" })).toBe(false);
    expect(parses({ ...proc, ph: "m" })).toBe(false);
    expect(parses({ ...proc, args: {} })).toBe(false);
    expect(parses({ ...span, dur: undefined })).toBe(false);
    expect(parses({ ...span, dur: -1 })).toBe(false);
    expect(parses({ ...span, s: "t" })).toBe(false);
    expect(parses({ ...instant, s: "g" })).toBe(false);
    expect(parses({ ...instant, s: undefined })).toBe(false);
    expect(parses({ ...instant, dur: 1 })).toBe(false);
    expect(parses({ ...begin, ph: "Z" })).toBe(false);
    expect(parses({ ...begin, name: "" })).toBe(false);
    expect(parses({ ...begin, ts: -1 })).toBe(false);
    expect(parses({ ...begin, pid: 1.5 })).toBe(false);
    expect(parses({ ...begin, args: { deep: { no: 1 } } })).toBe(false);
    expect(parses({ ...begin, extra: 1 })).toBe(false);
  });
});
