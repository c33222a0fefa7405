// The QemuError a call throws, for the suites that check QEMU's messages.

import { QemuError } from "../errors.js";

/** The QemuError `fn` throws (anything else thrown, or nothing, fails the test). */
export function qemuErrorOf(fn: () => unknown): QemuError {
  try {
    fn();
  } catch (e) {
    if (e instanceof QemuError) return e;
    throw e;
  }
  throw new Error("expected a QemuError");
}
