// Assemble a few POWER9 words, disassemble them as objdump -d -Mpower9 prints them, load them
// into memory and run them on hardware thread 0 of an SMT4 core in hypervisor state, ending on
// `stop` with PSSCR[ESL]=PSSCR[EC]=0 (the thread stops and would resume at the next instruction).
import assert from "node:assert/strict";
import { Simulation } from "@stopsim/engine";
import {
  add,
  decode,
  disassemble,
  ld,
  li,
  Memory,
  MSR_HV,
  MSR_LE,
  MSR_ME,
  MSR_SF,
  makePsscr,
  mtspr,
  POWER9_DD22,
  SmtCore,
  SPRN_PSSCR,
  STOP,
  std,
} from "@stopsim/isa";

const BASE = 0x1000;
const program = [
  li(3, 40), // r3 = 40
  li(4, 2), // r4 = 2
  add(5, 3, 4), // r5 = 42
  std(5, 0x100, 0), // *(0x100) = r5
  ld(6, 0x100, 0), // r6 = *(0x100)
  mtspr(SPRN_PSSCR, 7), // PSSCR = r7 (set below: stop0, no state loss)
  STOP,
];
const listing = program.map((w, i) => `${(BASE + 4 * i).toString(16)}: ${disassemble(w, BASE + 4 * i)}`);
console.log(listing.join("\n"));
assert.equal(disassemble(program[2]), "add     r5,r3,r4");
assert.equal(decode(STOP).op, "stop");

const sim = new Simulation({ seed: 1 });
const core = new SmtCore(sim, { chip: POWER9_DD22, coreId: 0 });
const t = core.threads[0];
const memory = new Memory(1 << 16);
memory.loadWords(BASE, program);
t.msr = MSR_SF | MSR_HV | MSR_ME | MSR_LE;
t.pc = BigInt(BASE);
t.setGpr(7, makePsscr({ rl: 0, mtl: 0, psll: 15, esl: false, ec: false }));

const r = t.run(memory, 100);
assert.equal(r.status, "stopped");
assert.equal(r.steps, program.length);
assert.equal(t.gpr(5), 42n);
assert.equal(t.gpr(6), 42n);
assert.equal(t.stopped, true);
console.log(
  `ran ${r.steps} instructions on PIR ${t.pir}: r6 = ${t.gpr(6)}, thread stopped at level ${t.stopState?.level}`,
);
