// The one line a refusal prints (tests only). vitest's `toThrow("message")` also passes when the
// code throws `undefined`, so refusals are checked through this: a UsageError, its whole message.
import { expect } from "vitest";
import { UsageError } from "../errors.js";

/** The message of the UsageError `f` throws; fails the test when it throws anything else or nothing. */
export function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("accepted: no UsageError thrown");
}
