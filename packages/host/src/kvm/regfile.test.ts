import { Simulation } from "@stopsim/engine";
import { HwThread, POWER9_DD23, SPRN_CTR, SPRN_LR, SPRN_PPR, SPRN_SPRG0 } from "@stopsim/isa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GuestGprs, GuestSprs } from "./regfile.js";

const thread = () => new HwThread(new Simulation(), { pir: 0, index: 0, chip: POWER9_DD23, hile: true });
const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });

describe("KVM guest register files", () => {
  it("GPRs round-trip through a thread without changing a bit", () => {
    fc.assert(
      fc.property(fc.array(u64, { minLength: 32, maxLength: 32 }), (vals) => {
        const g = new GuestGprs();
        vals.forEach((v, i) => {
          g.set(i, v);
        });
        const t = thread();
        g.loadInto(t);
        for (let i = 0; i < 32; i++) expect(t.gpr(i)).toBe(vals[i]);
        const back = new GuestGprs();
        back.saveFrom(t);
        expect(back.toArray()).toEqual(vals);
      }),
      { numRuns: 50 },
    );
  });

  it("an SPR is restored only once it has a value; other SPRs are kept aside", () => {
    const s = new GuestSprs([SPRN_LR, SPRN_CTR, SPRN_PPR]);
    expect(s.get(SPRN_PPR)).toBeUndefined();
    s.set(SPRN_LR, 0x1234n);
    s.set(SPRN_SPRG0, 7n); // not switched (outside the list): restored through setSpr
    const t = thread();
    const ppr = t.getSpr(SPRN_PPR);
    s.loadInto(t);
    expect(t.getSpr(SPRN_LR)).toBe(0x1234n);
    expect(t.getSpr(SPRN_PPR)).toBe(ppr); // never set: the thread's PPR stays
    t.setSpr(SPRN_CTR, 99n);
    s.saveFrom(t);
    expect(s.get(SPRN_CTR)).toBe(99n);
    expect(s.get(SPRN_PPR)).toBe(ppr);
    expect(s.get(SPRN_SPRG0)).toBe(7n);
  });

  it("files of one SPR list share its slot map but never their values", () => {
    const list = [SPRN_LR, SPRN_CTR, SPRN_PPR];
    const a = new GuestSprs(list);
    const b = new GuestSprs(list);
    a.set(SPRN_LR, 0xffffffff00000001n);
    b.set(SPRN_LR, 2n);
    a.set(SPRN_SPRG0, 5n);
    expect(a.get(SPRN_LR)).toBe(0xffffffff00000001n);
    expect(b.get(SPRN_LR)).toBe(2n);
    expect(b.get(SPRN_CTR)).toBeUndefined();
    expect(b.get(SPRN_SPRG0)).toBeUndefined();
    const t = thread();
    b.loadInto(t);
    a.saveFrom(t);
    expect(a.get(SPRN_LR)).toBe(2n);
    expect(b.get(SPRN_LR)).toBe(2n);
    // the GPR halves of two files are separate too
    const g = new GuestGprs();
    const h = new GuestGprs();
    g.set(31, 0x8000000000000000n);
    expect(h.get(31)).toBe(0n);
    expect(g.get(31)).toBe(0x8000000000000000n);
    expect(g.get(0)).toBe(0n);
  });
});
