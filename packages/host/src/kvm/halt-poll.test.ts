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
});
