// Register representation benchmark: the guest idle entry/exit sequence (what cpuidle-pseries'
// stop0lite does around `stop`, run millions of times in a simulation) on HwThread, whose
// registers are two 32-bit halves, against a plain-BigInt-register thread written here with the
// same architectural checks. Writes bench-results/isa-registers.json at the repository root.
//   pnpm --filter @stopsim/isa bench
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { nsToTb, Simulation } from "@stopsim/engine";
import {
  EXEC_STOPPED,
  LPCR_LPES0,
  LPCR_PECE0,
  LPCR_PECE1,
  MSR_EE,
  MSR_LE,
  MSR_ME,
  MSR_SF,
  makePsscr,
  mfspr,
  mtmsrd,
  mtspr,
  SmtCore,
  SPRN_LPCR,
  SPRN_PSSCR,
  SPRN_PSSCR_PR,
  SPRN_SRR0,
  SPRN_TBRL,
  STOP,
} from "../src/index.js";

const SEED = 20200331;
const MSR_GUEST = MSR_SF | MSR_ME | MSR_LE;
const LITE = makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false });

/** The instruction words of one idle entry/exit, executed in guest-kernel state. */
const SEQUENCE = {
  setPsscr: mtspr(SPRN_PSSCR_PR, 3), // mtspr 823,r3 (stop0lite's PSSCR)
  readPsscr: mfspr(4, SPRN_PSSCR_PR), // mfspr r4,823
  eeOff: mtmsrd(5, 1), // hard-disable interrupts (r5 = 0)
  stop: STOP,
  eeOn: mtmsrd(6, 1), // re-enable (r6 = MSR_EE)
  readTb: mfspr(7, SPRN_TBRL), // mftb r7
  readSrr0: mfspr(8, SPRN_SRR0),
};

// ---------------------------------------------------------------------------------------------
// Plain BigInt register variant (baseline)
// ---------------------------------------------------------------------------------------------
const B_HV = 1n << 60n;
const B_PR = 1n << 14n;
const B_EE = 1n << 15n;
const B_RI = 1n << 1n;
const B_GUEST_VIS = 0xf0000000000003ffn;
const B_ESL_EC = 0x300000n;

/** A thread whose registers are bigint, implementing the same checks for these instructions. */
class BigIntThread {
  gpr: bigint[] = new Array<bigint>(32).fill(0n);
  spr: bigint[] = new Array<bigint>(1024).fill(0n);
  msr = 0n;
  pc = 0n;
  stopped = false;
  external = false;
  decZeroTb = 0n;
  interrupts = 0;
  constructor(private readonly sim: Simulation) {}

  private tb(): bigint {
    return BigInt(nsToTb(this.sim.now));
  }

  execute(w: number): number {
    const op = w >>> 26;
    const xo = (w >>> 1) & 0x3ff;
    const pr = (this.msr & B_PR) !== 0n;
    const hv = (this.msr & B_HV) !== 0n;
    if (op === 19 && xo === 370) {
      if (pr) return this.program();
      const psscr = this.spr[855];
      if (!hv && (psscr & B_ESL_EC) !== 0n) return this.program();
      this.pc += 4n;
      if (this.wakePending()) return 0;
      this.stopped = true;
      return 1;
    }
    if (op !== 31) return this.program();
    const rt = (w >>> 21) & 31;
    const n = ((w >>> 16) & 31) | (((w >>> 11) & 31) << 5);
    if (xo === 467) {
      if (pr && n & 0x10) return this.program();
      if (n === 823) this.spr[855] = (this.spr[855] & ~0x3ffn) | (this.gpr[rt] & 0x3ffn);
      else this.spr[n] = this.gpr[rt];
    } else if (xo === 339) {
      if (pr && n & 0x10) return this.program();
      let v: bigint;
      if (n === 823) v = this.spr[855] & B_GUEST_VIS;
      else if (n === 268) v = this.tb();
      else v = this.spr[n];
      this.gpr[rt] = v;
    } else if (xo === 178) {
      if (pr) return this.program();
      const v = this.gpr[rt];
      this.msr = (this.msr & ~(B_EE | B_RI)) | (v & (B_EE | B_RI));
      this.pc += 4n;
      return this.checkPending() ? 2 : 0;
    } else return this.program();
    this.pc += 4n;
    return 0;
  }

  private wakePending(): boolean {
    const lpcr = this.spr[318];
    if (this.external && (lpcr & 0x4000n) !== 0n) return true;
    return (lpcr & 0x2000n) !== 0n && BigInt.asIntN(32, this.decZeroTb - this.tb()) < 0n;
  }

  private checkPending(): boolean {
    if ((this.msr & B_EE) === 0n) return false;
    if (this.external || BigInt.asIntN(32, this.decZeroTb - this.tb()) < 0n) {
      this.spr[26] = this.pc;
      this.spr[27] = this.msr;
      this.msr &= ~B_EE;
      this.interrupts++;
      return true;
    }
    return false;
  }

  private program(): number {
    this.spr[26] = this.pc;
    this.spr[27] = this.msr | 0x40000n;
    this.interrupts++;
    return 2;
  }

  wake(): void {
    if (!this.stopped) throw new Error("not stopped");
    if (this.wakePending()) this.stopped = false;
  }
}

// ---------------------------------------------------------------------------------------------

function timeIt(label: string, body: (n: number) => void, n: number): number {
  body(Math.min(n, 20_000)); // warm-up
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    body(n);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, n / s);
  }
  console.log(`${label.padEnd(28)} ${Math.round(best).toLocaleString("en")} idle entry/exit per second`);
  return best;
}

function halvesBody(): (n: number) => void {
  const sim = new Simulation({ seed: SEED });
  const core = new SmtCore(sim);
  const t = core.threads[0];
  t.setSoftware("os", { interrupt: () => {}, resume: () => {} });
  t.setSoftware("hv", { interrupt: () => {}, resume: () => {} });
  t.setSpr(SPRN_LPCR, LPCR_PECE0 | LPCR_PECE1 | LPCR_LPES0);
  t.setSpr(SPRN_PSSCR, LITE);
  t.setGpr(3, LITE);
  t.setGpr(5, 0n);
  t.setGpr(6, MSR_EE);
  t.msr = MSR_GUEST | MSR_EE;
  t.pc = 0x10000n;
  const s = SEQUENCE;
  return (n) => {
    for (let i = 0; i < n; i++) {
      t.execute(s.setPsscr);
      t.execute(s.readPsscr);
      t.execute(s.eeOff);
      if (t.execute(s.stop) !== EXEC_STOPPED) throw new Error("stop did not stop");
      t.setExternalInterrupt(true); // wake (PECE0), resume at the next instruction
      t.setExternalInterrupt(false);
      t.execute(s.eeOn);
      t.execute(s.readTb);
      t.execute(s.readSrr0);
    }
  };
}

function bigintBody(): (n: number) => void {
  const sim = new Simulation({ seed: SEED });
  const t = new BigIntThread(sim);
  t.spr[318] = LPCR_PECE0 | LPCR_PECE1 | LPCR_LPES0;
  t.spr[855] = LITE;
  t.gpr[3] = LITE;
  t.gpr[5] = 0n;
  t.gpr[6] = MSR_EE;
  t.msr = MSR_GUEST | MSR_EE;
  t.decZeroTb = 0x7fffffffn;
  t.pc = 0x10000n;
  const s = SEQUENCE;
  return (n) => {
    for (let i = 0; i < n; i++) {
      t.execute(s.setPsscr);
      t.execute(s.readPsscr);
      t.execute(s.eeOff);
      if (t.execute(s.stop) !== 1) throw new Error("stop did not stop");
      t.external = true;
      t.wake();
      t.external = false;
      t.execute(s.eeOn);
      t.execute(s.readTb);
      t.execute(s.readSrr0);
    }
  };
}

const N = Number(process.env.ISA_BENCH_OPS ?? 1_000_000);
const opsPerSecond = timeIt("HwThread (32-bit halves)", halvesBody(), N);
const baselineOpsPerSecond = timeIt("plain BigInt registers", bigintBody(), N);
const ratio = opsPerSecond / baselineOpsPerSecond;
console.log(`ratio ${ratio.toFixed(2)}`);

const cpu = cpus()[0];
const result = {
  machine: `${cpu?.model ?? "unknown"} (${cpus().length} cpus)`,
  node: process.version,
  seed: SEED,
  opsPerSecond: Math.round(opsPerSecond),
  baselineOpsPerSecond: Math.round(baselineOpsPerSecond),
  ratio: Number(ratio.toFixed(3)),
};
const dir = new URL("../../../bench-results/", import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL("isa-registers.json", dir), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
