// The poll window's rules, from book3s_hv.c kvmppc_vcore_blocked's "Adjust poll time" (v5.8).
import { describe, expect, it } from "vitest";
import { adjustHaltPoll, DEFAULT_HALT_POLL } from "./halt-poll.js";

describe("halt_poll_ns adjustment", () => {
  const p = DEFAULT_HALT_POLL;
  it("starts polling (grow_start, 10 us) after a block shorter than halt_poll_ns", () => {
    expect(adjustHaltPoll(0, 6_000, p)).toBe(10_000);
  });
  it("does not start polling after a long block", () => {
    expect(adjustHaltPoll(0, 1_000_000, p)).toBe(0);
  });
  it("keeps the window when the poll caught the wake-up", () => {
    expect(adjustHaltPoll(10_000, 4_000, p)).toBe(10_000);
  });
  it("resets the window (halt_poll_ns_shrink 0) after a block longer than halt_poll_ns", () => {
    expect(adjustHaltPoll(10_000, 50_000, p)).toBe(0);
    expect(adjustHaltPoll(40_000, 250_000, { ...p, haltPollNs: 200_000, shrink: 2 })).toBe(20_000);
  });
  it("doubles up to halt_poll_ns, and nothing polls when halt_poll_ns is 0", () => {
    const big = { ...p, haltPollNs: 200_000 };
    expect(adjustHaltPoll(20_000, 30_000, big)).toBe(40_000);
    expect(adjustHaltPoll(160_000, 190_000, big)).toBe(200_000);
    expect(adjustHaltPoll(10_000, 5_000, { ...p, haltPollNs: 0 })).toBe(0);
  });
  it("the boundaries: a block exactly as long as the window was caught; exactly halt_poll_ns neither grows nor shrinks", () => {
    const big = { ...p, haltPollNs: 200_000 };
    expect(adjustHaltPoll(20_000, 20_000, big)).toBe(20_000);
    expect(adjustHaltPoll(20_000, 200_000, big)).toBe(20_000);
    expect(adjustHaltPoll(20_000, 200_001, big)).toBe(0);
    // not polling and a block of exactly halt_poll_ns: no reason to start
    expect(adjustHaltPoll(0, 200_000, big)).toBe(0);
    // a window already at halt_poll_ns does not grow past it
    expect(adjustHaltPoll(200_000, 199_999, big)).toBe(200_000);
  });
  it("grow_halt_poll_ns: multiplies by halt_poll_ns_grow, at least grow_start; grow 0 keeps the window", () => {
    const big = { ...p, haltPollNs: 200_000 };
    expect(adjustHaltPoll(3_000, 5_000, { ...big, grow: 2 })).toBe(10_000);
    expect(adjustHaltPoll(20_000, 30_000, { ...big, grow: 3 })).toBe(60_000);
    expect(adjustHaltPoll(20_000, 30_000, { ...big, grow: 0 })).toBe(20_000);
    expect(adjustHaltPoll(0, 30_000, { ...big, grow: 2, growStart: 50_000 })).toBe(50_000);
  });
  it("shrink_halt_poll_ns: divides by halt_poll_ns_shrink (integer division)", () => {
    expect(adjustHaltPoll(50_001, 300_000, { ...p, haltPollNs: 200_000, shrink: 2 })).toBe(25_000);
  });
  it("a window above a lowered halt_poll_ns is cut to it", () => {
    expect(adjustHaltPoll(100_000, 1_000, { ...p, haltPollNs: 50_000 })).toBe(50_000);
  });
});
