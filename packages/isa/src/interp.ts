// The interpreter of the fixed-point, branch, condition-register, storage, cache-management and
// storage-control instructions (Power ISA v3.0B Book I chapters 2-3, Book II chapter 4, Book III
// chapter 5 instructions), split by instruction class as qemu's target/ppc/translate/*.c.inc:
// src/interp/fixedpoint.ts, branch.ts, storage.ts and system.ts (which also decodes the system
// instructions first and calls execInterp() for every other word of the table).
// Register values live in 32-bit halves (HwThread.gprHi/gprLo); multiply, divide and the other
// 128-bit operations go through BigInt (they are not on the idle path).

import { heai } from "./excp.js";
import { execBranch } from "./interp/branch.js";
import { C_LAST_BRANCH, C_LAST_FIXED_POINT, C_LAST_STORAGE, CLASS } from "./interp/decode.js";
import { execFixedPoint } from "./interp/fixedpoint.js";
import { execStorage } from "./interp/storage.js";
import { execSystemClass } from "./interp/system.js";
import type { ExecResult, HwThread } from "./thread.js";

export { cmpNum, cmpS64 } from "./interp/helpers.js";

/** Executes an instruction of the interpreter's classes (thread.ts has checked re-entry). */
export function execInterp(t: HwThread, id: number, w: number): ExecResult {
  const cls = CLASS[id];
  // class 0: nap/sleep/rvwinkle/doze (removed from ISA v3.0), mftb XO 371 and anything else
  if (cls === 0) return heai(t, w);
  if (cls <= C_LAST_FIXED_POINT) return execFixedPoint(t, id, w);
  if (cls <= C_LAST_STORAGE) return execStorage(t, id, w);
  if (cls <= C_LAST_BRANCH) return execBranch(t, id, w);
  return execSystemClass(t, id, w);
}
