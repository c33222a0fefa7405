// Runs fixtures/sprs.s (a kvm-unit-tests powerpc/sprs.c-style program assembled by GNU as) on the
// ISA core in guest-kernel state and checks which bits of each SPR a guest retains.
import { readFileSync } from "node:fs";
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import { SmtCore } from "./core.js";
import { Memory } from "./memory.js";
import {
  BOOK3S_INTERRUPT_SYSCALL,
  HFSCR_BHRB,
  HFSCR_DSCR,
  HFSCR_EBB,
  HFSCR_FP,
  HFSCR_PM,
  HFSCR_TAR,
  HFSCR_VECVSX,
  MSR_HV,
  makePsscr,
  PSSCR_EC,
  PSSCR_ESL,
  SPRN_AMOR,
  SPRN_HFSCR,
  SPRN_PSSCR,
} from "./registers.js";
import { sprInfo } from "./sprs.js";
import { MSR_GUEST } from "./test-helpers/setup.js";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const PATTERN = 0xcafefacec0debaben;
const LOAD = 0x1000;
const RESULTS = 0x2000;

/** The SPR list of the program, read from its `.irp spr, ...` line (single source of truth). */
function programSprs(): number[] {
  const src = readFileSync(new URL("sprs.s", FIXTURES), "utf8");
  const m = /\.irp spr, ([0-9,]+)/.exec(src);
  if (m === null) throw new Error("sprs.s has no .irp spr line");
  return m[1].split(",").map(Number);
}

/** What a guest reads back after writing PATTERN, per the model's documented rules. */
function expected(spr: number, hvPsscr: bigint): bigint {
  const info = sprInfo(spr);
  if (info === undefined) throw new Error(`SPR ${spr} is not implemented`);
  const low32 = PATTERN & 0xffffffffn;
  switch (spr) {
    case 1: // XER: SO OV CA OV32 CA32 and the byte count
      return PATTERN & 0xe00c007fn;
    case 8: // LR, CTR: as written
    case 9:
      return PATTERN;
    case 22: // DEC (LPCR[LD]=0): 32 bits, read sign-extended; time does not advance in run()
      return BigInt.asUintN(64, BigInt.asIntN(32, low32));
    case 823: // PSSCR_PR: RL, MTL, TR written; PLS is status (0: no stop yet)
      return (PATTERN & 0x3ffn) | (hvPsscr & 0xf000000000000000n);
    case 896: // PPR: the pattern asks for priority 7 (hypervisor only): unchanged (medium)
      return 4n << 50n;
    default:
      return info.width === 32 ? low32 : PATTERN;
  }
}

describe("kvm-unit-tests style SPR program (fixtures/sprs.s) in guest-kernel state", () => {
  it("writes the pattern to every guest-writable SPR and reads back the architected bits", () => {
    const sim = new Simulation({ seed: 1 });
    const core = new SmtCore(sim);
    const t = core.threads[0];
    const exits: number[] = [];
    t.setSoftware("hv", { interrupt: (_t, v) => exits.push(v), resume: () => {} });
    t.setSoftware("os", { interrupt: (_t, v) => exits.push(v), resume: () => {} });
    // guest entry state as KVM sets it: facilities of kvmppc_core_vcpu_create_hv (no MSGP),
    // AMOR all ones, PSSCR with ESL|EC and PSLL = 0xf (the guest cannot see or change them)
    t.setSpr(
      SPRN_HFSCR,
      HFSCR_TAR | HFSCR_EBB | HFSCR_PM | HFSCR_BHRB | HFSCR_DSCR | HFSCR_VECVSX | HFSCR_FP,
    );
    t.setSpr(SPRN_AMOR, 0xffffffffffffffffn);
    const hvPsscr = makePsscr({ rl: 0, mtl: 0, psll: 15, esl: true, ec: true });
    t.setSpr(SPRN_PSSCR, hvPsscr);
    const mem = new Memory(0x10000);
    mem.load(LOAD, new Uint8Array(readFileSync(new URL("sprs.bin", FIXTURES))));
    t.msr = MSR_GUEST;
    t.pc = BigInt(LOAD);

    const result = t.run(mem, 10_000);

    expect(result.status).toBe("interrupt");
    expect(result.vector).toBe(BOOK3S_INTERRUPT_SYSCALL);
    expect(t.msr & MSR_HV).toBe(MSR_HV); // `sc 1` entered the hypervisor
    expect(exits).toEqual([BOOK3S_INTERRUPT_SYSCALL]); // nothing else trapped
    const sprs = programSprs();
    expect(sprs).toContain(823);
    const table: string[] = [];
    sprs.forEach((spr, i) => {
      const got = mem.read64(RESULTS + 8 * i);
      const name = sprInfo(spr)?.name ?? "?";
      table.push(`${name.padEnd(7)} (${String(spr).padStart(4)}): 0x${got.toString(16).padStart(16, "0")}`);
      expect(got, `${name} (${spr})`).toBe(expected(spr, hvPsscr));
    });
    // the hypervisor's PSSCR fields survived the guest's write of SPR 823
    const full = t.getSpr(SPRN_PSSCR);
    expect(full & (PSSCR_ESL | PSSCR_EC | 0xf0000n)).toBe(PSSCR_ESL | PSSCR_EC | 0xf0000n);
    expect(full & 0x3ffn).toBe(PATTERN & 0x3ffn);
    expect(table).toHaveLength(sprs.length);
    if (process.env.ISA_PRINT_SPRS) console.log(table.join("\n"));
  });
});
