// A third party's use of the package on real code (the README's example): disassemble a real
// kernel function's bytes and run one up to its hypercall, reading the registers it leaves.

import { readFileSync } from "node:fs";
import { Simulation } from "@stopsim/engine";
import { describe, expect, it } from "vitest";
import {
  disassemble,
  Memory,
  MSR_LE,
  MSR_ME,
  MSR_SF,
  SmtCore,
  SPRN_PPR,
  SPRN_SRR0,
  SPRN_SRR1,
} from "./index.js";

const KERNEL = new URL("../fixtures/kernel/", import.meta.url);

interface Routine {
  symbol: string;
  address: string;
  size: number;
  offset: number;
}

/** The bytes of one routine of fixtures/kernel/ and its link address. */
function routine(symbol: string): { address: bigint; bytes: Buffer } {
  const all = JSON.parse(readFileSync(new URL("routines.json", KERNEL), "utf8")) as Routine[];
  const r = all.find((x) => x.symbol === symbol);
  if (r === undefined) throw new Error(`no routine ${symbol} in fixtures/kernel/routines.json`);
  const bin = readFileSync(new URL("routines.bin", KERNEL));
  return { address: BigInt(`0x${r.address}`), bytes: bin.subarray(r.offset, r.offset + r.size) };
}

describe("the README's third-party example on Debian's ppc64el kernel", () => {
  it("disassembles plpar_hcall_norets as objdump -d does", () => {
    const { address, bytes } = routine("plpar_hcall_norets");
    const text: string[] = [];
    for (let i = 0; i < bytes.length; i += 4) {
      text.push(disassemble(bytes.readUInt32LE(i), address + BigInt(i), { dialect: "default" }));
    }
    expect(text).toEqual([
      "addis   r2,r12,263",
      "addi    r2,r2,28348",
      "mr      r2,r2",
      "mfcr    r0",
      "stw     r0,8(r1)",
      "nop",
      "sc      1",
      "li      r4,0",
      "stb     r4,2353(r13)",
      "lwz     r0,8(r1)",
      "mtcr    r0",
      "blr",
    ]);
  });

  it("runs plpar_hcall_norets in guest-kernel state up to `sc 1` and leaves the architected registers", () => {
    const { address, bytes } = routine("plpar_hcall_norets");
    const sim = new Simulation({ seed: 1 });
    const t = new SmtCore(sim).threads[0];
    const hcalls: bigint[] = [];
    t.setSoftware("hv", { interrupt: (th) => hcalls.push(th.gpr(3)), resume: () => {} });
    // real addressing: EA bits 0:3 are ignored, so 0xc000... kernel addresses land in the low 16 MiB
    const memory = new Memory(16 << 20);
    memory.load(Number(address & 0xffffffffn), bytes);
    t.msr = MSR_SF | MSR_ME | MSR_LE; // guest kernel: HV=0, PR=0
    t.pc = address;
    t.setGpr(12, address); // ELFv2 global entry: r12 = the function's address
    t.setGpr(1, 0xc000000000f00000n); // stack pointer
    t.setGpr(3, 0xe0n); // H_CEDE
    t.cr = 0x24000042;
    const r = t.run(memory, 100);

    expect(r).toEqual({ status: "interrupt", steps: 7, vector: 0xc00 });
    expect(hcalls).toEqual([0xe0n]);
    // TOC = r12 + (263 << 16) + 28348
    expect(t.gpr(2)).toBe(address + (263n << 16n) + 28348n);
    expect(t.gpr(0)).toBe(0x24000042n); // mfcr
    expect(memory.read32(0xf00008)).toBe(0x24000042); // stw r0,8(r1)
    expect(t.getSpr(SPRN_PPR) >> 50n).toBe(4n); // `mr r2,r2` = HMT_MEDIUM
    expect(t.getSpr(SPRN_SRR0)).toBe(address + 0x1cn); // the li after `sc 1`
    expect(t.getSpr(SPRN_SRR1) & (1n << 60n)).toBe(0n); // came from guest state
    expect(t.hypervisorState).toBe(true);
    expect(t.pc).toBe(0xc00n);
  });
});
