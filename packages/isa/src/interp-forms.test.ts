// Every instruction form of the table (src/opcodes.ts) reaches the interpreter's code for it: the
// words GNU objdump 2.40 takes for one of the table's instructions (fixtures/neighbours.default.txt,
// written by fixtures/make-binutils.sh from fixtures/make-neighbours.mjs) are executed on a thread
// in hypervisor state, and none but the instructions Power ISA v3.0B removed or leaves disabled
// takes the Hypervisor Emulation Assistance interrupt (0xe40) that an unimplemented word takes
// (QEMU target/ppc/translate.c: gen_inval_exception raises POWERPC_EXCP_HV_EMU for them).
//
// The modules are loaded inside the tests (test-helpers/load.ts): the interpreter's decode table is
// built when it loads, and a table that fails to build fails every test here.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BOOK3S_INTERRUPT_H_EMUL_ASSIST } from "./registers.js";
import { loadInTests } from "./test-helpers/load.js";

const isa = loadInTests(async () => ({
  ...(await import("./opcodes.js")),
  ...(await import("./memory.js")),
  ...(await import("./test-helpers/setup.js")),
  ...(await import("./test-helpers/objdump.js")),
}));

/**
 * The forms a POWER9 thread refuses with the HEAI although the table names them:
 *  - nap, sleep, rvwinkle, doze: the ISA 2.07 power-saving instructions, removed in v3.0B
 *    (Book III 4.3: `stop` replaces them; objdump knows them in its default dialect only);
 *  - attn: enabled by HID0[ENABLE_ATTN] only, which firmware leaves off (skiboot: core/init.c);
 *  - mftb (XO 371): POWER8's form, which objdump prints in its default dialect only (GNU as
 *    -mpower9 emits mfspr RT,268 for `mftb`); the model refuses it as packages/isa/README.md
 *    says ("not POWER9 instructions: HEAI").
 */
const REFUSED = ["nap", "sleep", "rvwinkle", "doze", "attn", "mftb"];

describe("the interpreter against the instruction table", () => {
  it("every word objdump takes for one of the table's instructions is executed, not refused as illegal", () => {
    const { FORMS, Memory, MSR_HOST, identify, parseObjdump, setup } = isa();
    const lines = parseObjdump(
      readFileSync(new URL("../fixtures/neighbours.default.txt", import.meta.url), "utf8"),
    ).filter((l) => !l.text.startsWith(".long") && identify(l.word) !== 0);
    expect(lines.length).toBeGreaterThan(1000);
    const refused = new Set<string>();
    const executed = new Set<string>();
    for (const l of lines) {
      const { t, hv } = setup();
      t.msr = MSR_HOST;
      t.memory = new Memory(1 << 20);
      // every base and index register points into memory, 16-byte aligned
      for (let r = 1; r < 32; r++) t.setGpr(r, 0x8000n);
      t.pc = 0x1000n;
      t.execute(l.word);
      const name = FORMS[identify(l.word)].name;
      if (hv.vectors().includes(BOOK3S_INTERRUPT_H_EMUL_ASSIST)) refused.add(name);
      else executed.add(name);
    }
    // each other form executes for some of its words (some operand values are refused by the
    // instruction itself: addex CY != 0, an atomic function code v3.0B does not define, sc LEV > 1,
    // mfspr/mtspr of the undefined SPRs 0, 4, 5 and 6)
    const expected = FORMS.slice(1)
      .map((f) => f.name)
      .filter((n) => !REFUSED.includes(n));
    expect([...executed].sort()).toEqual(expected.sort());
    for (const name of REFUSED) expect(refused.has(name), name).toBe(true);
  });
});
