import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimError } from "./errors.js";
import { PartitionedSimulation } from "./partitions.js";
import { Simulation } from "./simulation.js";

/** What an entity does at each of its events, in order (then nothing). */
type Action = { kind: "local"; delay: number } | { kind: "send"; channel: number } | { kind: "none" };

interface Model {
  /** Entity -> partition index (entities in one partition share its heap). */
  placement: number[];
  /** Delays of each entity's first events. */
  starts: number[][];
  channels: { from: number; to: number; latency: number }[];
  /** Each entity's actions. */
  actions: Action[][];
}

/**
 * The model's semantics on one global queue: events ordered by time, then messages before local
 * events, messages by (channel, send), local events by arming order. Returns each entity's log.
 */
function reference(m: Model): string[][] {
  type Ev = { time: number; cls: number; k1: number; k2: number; entity: number; id: string };
  const queue: Ev[] = [];
  const logs = m.actions.map(() => [] as string[]);
  const used = m.actions.map(() => 0);
  const sent = m.channels.map(() => 0);
  const locals = m.actions.map(() => 0);
  let seq = 0;
  for (let e = 0; e < m.starts.length; e++) {
    for (const d of m.starts[e])
      queue.push({ time: d, cls: 1, k1: seq++, k2: 0, entity: e, id: `s${queue.length}` });
  }
  while (queue.length > 0) {
    let best = 0;
    for (let i = 1; i < queue.length; i++) {
      const a = queue[i];
      const b = queue[best];
      if ((a.time - b.time || a.cls - b.cls || a.k1 - b.k1 || a.k2 - b.k2) < 0) best = i;
    }
    const ev = queue.splice(best, 1)[0];
    logs[ev.entity].push(`${ev.time}:${ev.id}`);
    const act = m.actions[ev.entity][used[ev.entity]++] ?? { kind: "none" };
    if (act.kind === "local") {
      const id = `l${ev.entity}.${locals[ev.entity]++}`;
      queue.push({ time: ev.time + act.delay, cls: 1, k1: seq++, k2: 0, entity: ev.entity, id });
    } else if (act.kind === "send") {
      const c = m.channels[act.channel];
      if (c !== undefined && c.from === ev.entity) {
        const k2 = sent[act.channel]++;
        queue.push({
          time: ev.time + c.latency,
          cls: 0,
          k1: act.channel,
          k2,
          entity: c.to,
          id: `m${act.channel}.${k2}`,
        });
      }
    }
  }
  return logs;
}

/** The model on a PartitionedSimulation, run in the given slices, then to the end. */
function partitioned(m: Model, window: number, slices: number[]): string[][] {
  const group = new PartitionedSimulation({ window });
  const nParts = Math.max(...m.placement) + 1;
  const parts: Simulation[] = [];
  for (let p = 0; p < nParts; p++) parts.push(group.partition(`p${p}`));
  const sim = (e: number) => parts[m.placement[e]];
  const channels = m.channels.map((c, i) => group.channel(sim(c.from), sim(c.to), c.latency, `c${i}`));
  const logs = m.actions.map(() => [] as string[]);
  const used = m.actions.map(() => 0);
  const locals = m.actions.map(() => 0);
  let starts = 0;
  const fire = (e: number, id: string) => {
    const s = sim(e);
    logs[e].push(`${s.now}:${id}`);
    const act = m.actions[e][used[e]++] ?? { kind: "none" };
    if (act.kind === "local") {
      // named per entity: a counter shared by entities would depend on the partitions' turns
      const lid = `l${e}.${locals[e]++}`;
      s.schedule(act.delay, () => fire(e, lid));
    } else if (act.kind === "send") {
      const c = m.channels[act.channel];
      if (c !== undefined && c.from === e) {
        const ch = channels[act.channel];
        const mid = `m${act.channel}.${sentOn[act.channel]++}`;
        ch.send(() => fire(c.to, mid));
      }
    }
  };
  const sentOn = m.channels.map(() => 0);
  for (let e = 0; e < m.starts.length; e++) {
    for (const d of m.starts[e]) {
      const id = `s${starts++}`;
      sim(e).schedule(d, () => fire(e, id));
    }
  }
  for (const s of slices) group.runFor(s);
  group.runAll();
  expect(group.pending).toBe(0);
  return logs;
}

const entities = 4;
const model: fc.Arbitrary<Model> = fc.record({
  placement: fc.array(fc.nat(entities - 1), { minLength: entities, maxLength: entities }),
  // many events at time 0: a message sent at a window's very start is the tightest case
  starts: fc.array(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 })), { maxLength: 3 }), {
    minLength: entities,
    maxLength: entities,
  }),
  channels: fc.array(
    fc.record({
      from: fc.nat(entities - 1),
      to: fc.nat(entities - 1),
      latency: fc.integer({ min: 1, max: 12 }),
    }),
    { maxLength: 6 },
  ),
  actions: fc.array(
    fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant("local" as const), delay: fc.integer({ min: 0, max: 15 }) }),
        fc.record({ kind: fc.constant("send" as const), channel: fc.nat(5) }),
        fc.constant({ kind: "none" as const }),
      ),
      { maxLength: 25 },
    ),
    { minLength: entities, maxLength: entities },
  ),
});

describe("PartitionedSimulation", () => {
  it("matches a one-queue reference model whatever the placement, window and run slices", () => {
    fc.assert(
      fc.property(
        model,
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 5 }),
        (m, window, slices) => {
          const normalised = { ...m, placement: compact(m.placement) };
          expect(partitioned(normalised, window, slices)).toEqual(reference(normalised));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("runs each partition a window at a time and ends runs exactly where asked", () => {
    const group = new PartitionedSimulation({ window: 10 });
    const a = group.partition("a");
    const b = group.partition("b");
    const order: string[] = [];
    for (const t of [1, 5, 12, 25]) {
      a.scheduleAt(t, () => order.push(`a${t}`));
      b.scheduleAt(t, () => order.push(`b${t}`));
    }
    expect(group.pending).toBe(8);
    expect(group.nextTime).toBe(1);
    expect(group.runUntil(12)).toBe(6);
    // window (0, 10]: a then b; then (10, 12]
    expect(order).toEqual(["a1", "a5", "b1", "b5", "a12", "b12"]);
    expect(group.now).toBe(12);
    expect(a.now).toBe(12);
    expect(b.now).toBe(12);
    expect(group.dispatched).toBe(6);
    expect(group.runAll()).toBe(2);
    expect(group.pending).toBe(0);
    expect(group.nextTime).toBe(Number.POSITIVE_INFINITY);
  });

  it("shrinks the window to half the smallest open channel latency and grows it back when closed", () => {
    const group = new PartitionedSimulation({ window: 100 });
    const a = group.partition("a");
    const b = group.partition("b");
    expect(group.window).toBe(100);
    const ab = group.channel(a, b, 30, "ab");
    expect(group.window).toBe(15);
    const got: number[] = [];
    a.schedule(3, () => ab.send(() => got.push(b.now)));
    group.runUntil(40);
    expect(got).toEqual([33]);
    ab.close();
    expect(group.window).toBe(100);
    expect(() => ab.send(() => {})).toThrow(/after close/);
  });

  it("delivers a message before the destination's own events at the same time", () => {
    const group = new PartitionedSimulation({ window: 50 });
    const a = group.partition("a");
    const b = group.partition("b");
    const ab = group.channel(a, b, 10);
    const order: string[] = [];
    b.scheduleAt(12, () => order.push("b-local"));
    a.scheduleAt(2, () => ab.send(() => order.push("message")));
    group.runAll();
    expect(order).toEqual(["message", "b-local"]);
  });

  it("shares the model's random streams: same seed, same draws as one Simulation", () => {
    const group = new PartitionedSimulation({ seed: 7 });
    const p = group.partition("host0");
    const q = group.partition("host1");
    const one = new Simulation({ seed: 7 });
    expect(p.rng.stream("host0/x").next()).toBe(one.rng.stream("host0/x").next());
    expect(q.rng.stream("host1/x").next()).toBe(one.rng.stream("host1/x").next());
    // instance numbers count over the whole model
    expect([p.rng.instance("k"), q.rng.instance("k"), p.rng.instance("k")]).toEqual([0, 1, 2]);
    expect(group.rng.stream("host0/x")).toBe(p.rng.stream("host0/x"));
  });

  it("refuses what would make partitions depend on each other or on the run order", () => {
    const group = new PartitionedSimulation({ name: "m" });
    const a = group.partition("a");
    const b = group.partition("b");
    a.rng.stream("shared");
    expect(() => b.rng.stream("shared")).toThrow(/'shared' is used by partitions 'a' and 'b'/);
    expect(() => group.partition("a")).toThrow(/partition 'a' exists already/);
    expect(() => a.runUntil(5)).toThrow(/run the PartitionedSimulation instead/);
    expect(() => a.step()).toThrow(SimError);
    expect(() => group.channel(a, b, 0)).toThrow(/latency 0/);
    expect(() => group.channel(a, new Simulation(), 5)).toThrow(/both ends must be partitions of 'm'/);
    const ab = group.channel(a, b, 5, "ab");
    b.schedule(1, () => ab.send(() => {}));
    expect(() => group.runUntil(2)).toThrow(/from another partition than its source/);
    const g2 = new PartitionedSimulation();
    const c = g2.partition("c");
    c.schedule(1, () => g2.channel(c, c, 3));
    expect(() => g2.runUntil(2)).toThrow(/opened during a run/);
    expect(() => new PartitionedSimulation({ window: 0 })).toThrow(/must be > 0/);
    expect(() => group.runUntil(-1)).toThrow(SimError);
  });

  it("a partition created later joins at the model's current time", () => {
    const group = new PartitionedSimulation();
    group.partition("a");
    group.runUntil(5_000_000);
    const late = group.partition("late");
    expect(late.now).toBe(5_000_000);
    const seen: number[] = [];
    late.schedule(10, () => seen.push(late.now));
    group.runFor(20);
    expect(seen).toEqual([5_000_010]);
  });
});

/** Renumbers partition indexes 0..k-1 in order of first use (no empty partition). */
function compact(placement: number[]): number[] {
  const map = new Map<number, number>();
  return placement.map((p) => {
    if (!map.has(p)) map.set(p, map.size);
    return map.get(p) as number;
  });
}
