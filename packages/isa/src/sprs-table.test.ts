// The SPR table (sprs.ts) and where each SPR's value is stored (spr-store.ts), against the SPR
// numbers and names of linux arch/powerpc/include/asm/reg.h (registers.ts's SPRN_*) and Power ISA
// v3.0B Book III 5.4.4 (privilege by SPR number, the problem-state views, 32-bit SPRs). Kept apart
// from spr.test.ts and free of simulated machines where it can: every mutant of the table reruns
// the whole suite list of `pnpm mutate isa-sprs`.
//
// The table and the store are loaded in beforeAll and handed to each test, not imported when this
// file loads: a table that fails to build (a row spr-store.ts needs at load removed, ROWS emptied)
// then fails every test with the load's error, where a failed import of the file would only
// leave its tests unrun.
import { beforeAll, describe, expect, it } from "vitest";
import * as R from "./registers.js";

type Table = typeof import("./sprs.js") & typeof import("./spr-store.js");
let loaded: Table | Error;
beforeAll(async () => {
  try {
    loaded = { ...(await import("./sprs.js")), ...(await import("./spr-store.js")) };
  } catch (e) {
    loaded = e instanceof Error ? e : new Error(String(e));
  }
});
function table(): Table {
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

describe("the SPR table against linux reg.h", () => {
  // SPRN_ names of reg.h that name a view of an SPR the table calls by its architected name
  const ALIAS: Record<string, string> = {
    DSCR_USER: "DSCR",
    AMR_USER: "AMR",
    CTRLF: "CTRL",
    CTRLT: "CTRL",
    USPRG3: "SPRG3",
    TBRL: "TB",
    TBRU: "TBU",
    TBWL: "TBL",
    TBWU: "TBU",
    PSSCR_PR: "PSSCR",
    PID: "PIDR",
    DAWR: "DAWR0",
    DAWRX: "DAWRX0",
    LPID: "LPIDR",
  };
  const sprn = Object.entries(R)
    .filter(([k, v]) => k.startsWith("SPRN_") && typeof v === "number")
    .map(([k, v]) => [k.slice(5), v as number] as const);

  it("every SPR register.ts names is implemented, under reg.h's name", () => {
    const { sprInfo } = table();
    expect(sprn.length).toBeGreaterThan(100);
    for (const [name, n] of sprn) {
      const info = sprInfo(n);
      expect(info, `SPRN_${name} (${n})`).toBeDefined();
      expect(info?.name, `SPRN_${name} (${n})`).toBe(ALIAS[name] ?? name);
      expect(info?.spr).toBe(n);
    }
  });

  it("and nothing else but the problem-state PMU views 768-782 (ISA v3.0B: 'SPRs 768-783 ... read-only copies')", () => {
    const { implementedSprs, sprInfo } = table();
    const named = new Set(sprn.map(([, n]) => n));
    const extra = implementedSprs()
      .map((i) => i.spr)
      .filter((n) => !named.has(n));
    expect(extra).toEqual([768, 769, 770, 771, 772, 773, 774, 775, 776, 779, 780, 781, 782]);
    for (const n of extra) expect(sprInfo(n)?.name).toBe(sprInfo(n + 16)?.name);
    expect(implementedSprs().map((i) => i.spr)).toEqual(
      [...implementedSprs().map((i) => i.spr)].sort((a, b) => a - b),
    );
  });

  it("problem-state access follows the number: spr0 (0x10) = 1 iff the access is privileged (v3.0B 5.4.4)", () => {
    const { implementedSprs, sprIsPrivilegedNumber } = table();
    for (const info of implementedSprs()) {
      for (const acc of [info.read, info.write]) {
        if (acc === 0) continue; // undefined in this direction
        expect(acc === 1, `${info.name} (${info.spr})`).toBe(!sprIsPrivilegedNumber(info.spr));
      }
    }
    expect([sprIsPrivilegedNumber(3), sprIsPrivilegedNumber(17), sprIsPrivilegedNumber(0x3ef)]).toEqual([
      false,
      true,
      false,
    ]);
  });

  it("32-bit SPRs per v3.0B (DSISR, PIDR, PSPB, VRSAVE, TBU, PVR, HDSISR, LPIDR, HEIR, PMCn, PIR ...) keep the low word", () => {
    const { implementedSprs } = table();
    const narrow = implementedSprs()
      .filter((i) => i.width === 32)
      .map((i) => i.name);
    for (const n of [
      "DSISR",
      "PIDR",
      "CTRL",
      "PSPB",
      "DAWRX0",
      "VRSAVE",
      "TBU",
      "TBL",
      "PVR",
      "HDSISR",
      "LPIDR",
    ])
      expect(narrow).toContain(n);
    for (const n of ["HEIR", "PMC1", "PMC6", "BESCRSU", "BESCRRU", "MMCRC", "PMSR", "PPR32", "TSCR", "PIR"])
      expect(narrow).toContain(n);
  });

  it("views share their register's storage: the problem-state copies, PPR32, PSSCR's OS view, BESCR's S/R forms", () => {
    const { implementedSprs, sprInfo, sprStoreIndex, storeOf } = table();
    const pairs: [view: number, canonical: number][] = [
      [3, 17], // DSCR
      [13, 29], // AMR
      [136, 152], // CTRL: read at 136, written at 152
      [259, 275], // SPRG3
      [823, 855], // PSSCR
      [898, 896], // PPR32
      [800, 806], // BESCRS, BESCRSU, BESCRR, BESCRRU: BESCR
      [801, 806],
      [802, 806],
      [803, 806],
    ];
    // v3.0B: SPRs 768-783 are the problem-state copies of the PMU's 784-799
    for (let n = 768; n <= 782; n++) if (n !== 777 && n !== 778) pairs.push([n, n + 16]);
    for (const [view, canonical] of pairs) {
      expect(sprInfo(view)?.canonical, String(view)).toBe(canonical);
      expect(sprStoreIndex(view), String(view)).toBe(sprStoreIndex(canonical));
    }
    const views = new Set(pairs.map(([v]) => v));
    for (const info of implementedSprs()) {
      if (views.has(info.spr)) continue;
      expect(info.canonical, info.name).toBe(info.spr);
      expect(sprStoreIndex(info.spr), info.name).toBe(storeOf(info.spr));
    }
    const slots = implementedSprs()
      .filter((i) => !views.has(i.spr))
      .map((i) => sprStoreIndex(i.spr));
    expect(new Set(slots).size).toBe(slots.length); // one slot per register
  });

  it("the facility that gates each SPR (v3.0B FSCR/HFSCR; linux reg.h FSCR_*_LG): DSCR, PM, EBB, TAR", () => {
    const { implementedSprs, sprInfo } = table();
    const gated = new Map<number, number>([
      [3, R.FSCR_DSCR_LG],
      [17, R.FSCR_DSCR_LG],
      [815, R.FSCR_TAR_LG],
    ]);
    for (let n = 768; n <= 798; n++) if (sprInfo(n) !== undefined) gated.set(n, R.FSCR_PM_LG);
    for (let n = 800; n <= 806; n++) gated.set(n, R.FSCR_EBB_LG);
    expect(gated.size).toBe(3 + 26 + 7);
    for (const info of implementedSprs()) expect(info.facility, info.name).toBe(gated.get(info.spr) ?? -1);
  });

  it("lookups outside the table: sprInfo and sprStoreIndex answer 'none' for any other number", () => {
    const { sprInfo, sprStoreIndex, storeOf } = table();
    for (const n of [-1, 1.5, 1024, 2, Number.NaN]) {
      expect(sprInfo(n), String(n)).toBeUndefined();
      expect(sprStoreIndex(n), String(n)).toBe(-1);
    }
    expect(sprInfo(1023)?.name).toBe("PIR");
    expect(sprInfo(0)).toBeUndefined();
    expect(sprStoreIndex(1)).toBe(storeOf(1));
    expect(sprStoreIndex(3)).toBe(sprStoreIndex(17)); // DSCR's problem-state view shares its storage
    expect(sprStoreIndex(17)).not.toBe(sprStoreIndex(18));
    let refusal: unknown;
    try {
      storeOf(2);
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(Error);
    expect((refusal as Error).message).toBe("internal: SPR 2 is used by the thread but not implemented");
  });
});
