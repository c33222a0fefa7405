import { NS_PER_MS, type Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { bootGuests, buildIdleStack, type IdleStack, idleEntries } from "../bench/idle-stack.js";

/** Every recorded event of `sim`, with names instead of track ids. */
function events(sim: Simulation): string[] {
  return sim.trace.events().map((e) => {
    const t = sim.trace.getTrack(e.track);
    return `${e.time} ${e.dur} ${e.ph} ${t.process}/${t.thread} ${e.cat}:${e.name} ${JSON.stringify(e.args ?? {})}`;
  });
}

/**
 * Whether `merged` is an interleaving of `lists` that keeps each list's order (every event of one
 * heap belongs to exactly one host, in the host's own order). Trace events carry no host name, so
 * an event equal to the heads of several lists may come from either: a depth-first search over the
 * choices, each state (position in every list) visited once.
 */
function isInterleaving(merged: readonly string[], lists: readonly (readonly string[])[]): boolean {
  if (merged.length !== lists.reduce((n, l) => n + l.length, 0)) return false;
  const seen = new Set<string>();
  const stack: number[][] = [lists.map(() => 0)];
  while (stack.length > 0) {
    const at = stack.pop() as number[];
    const key = at.join(",");
    if (seen.has(key)) continue;
    seen.add(key);
    let pos = at.reduce((n, i) => n + i, 0);
    let next = at;
    // advance while exactly one list's head matches; branch where several do
    for (;;) {
      if (pos === merged.length) return true;
      const fits = lists.flatMap((l, h) => (l[next[h]] === merged[pos] ? [h] : []));
      if (fits.length === 0) break;
      if (fits.length > 1) {
        for (const h of fits) stack.push(next.map((i, k) => (k === h ? i + 1 : i)));
        break;
      }
      next = next.map((i, k) => (k === fits[0] ? i + 1 : i));
      pos++;
    }
  }
  return false;
}

function run(partitioned: boolean, window?: number): IdleStack {
  const stack = buildIdleStack({
    seed: 5,
    hosts: 3,
    guestsPerHost: 2,
    workload: "timers",
    trace: true,
    partitioned,
    window,
  });
  bootGuests(stack);
  stack.runner.runFor(20 * NS_PER_MS);
  return stack;
}

describe("hosts in partitions of their own", () => {
  it("give each host the same trace, event for event, as every host in one heap, whatever the window", () => {
    const oneHeap = run(false);
    const parts = run(true);
    const narrow = run(true, 137_000);
    expect(parts.hostSims.length).toBe(3);
    expect(new Set(parts.hostSims).size).toBe(3);
    expect(parts.runner.now).toBe(oneHeap.runner.now);
    const perHost = parts.hostSims.map(events);
    for (let h = 0; h < 3; h++) {
      expect(perHost[h].length).toBeGreaterThan(1000);
      expect(events(narrow.hostSims[h])).toEqual(perHost[h]);
    }
    expect(isInterleaving(events(oneHeap.sim), perHost)).toBe(true);
    // the check fails when one host's events differ or move
    const moved = perHost.map((l) => [...l]);
    [moved[1][10], moved[1][11]] = [moved[1][11], moved[1][10]];
    expect(moved[1]).not.toEqual(perHost[1]);
    expect(isInterleaving(events(oneHeap.sim), moved)).toBe(false);
    expect(idleEntries(parts)).toBe(idleEntries(oneHeap));
    expect(idleEntries(parts)).toBeGreaterThan(0);
  });
});
