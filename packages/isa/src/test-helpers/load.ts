// Loads the modules a suite checks inside its tests rather than when the test file loads.
//
// A module that throws while it loads (a table that fails to build) makes a statically imported
// test file fail to import: vitest then runs none of its tests, and a mutation-testing run counts
// that as no test failing. Loaded in beforeAll, the error is kept and thrown again by every test
// that asks for the modules, so each of them fails with it.

import { beforeAll } from "vitest";

/** Registers a beforeAll that runs `load`; the returned function gives its value or throws its error. */
export function loadInTests<T>(load: () => Promise<T>): () => T {
  let state: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  beforeAll(async () => {
    try {
      state = { ok: true, value: await load() };
    } catch (error) {
      state = { ok: false, error };
    }
  });
  return () => {
    if (state === undefined) throw new Error("loadInTests: the modules are read before beforeAll ran");
    if (!state.ok) throw state.error;
    return state.value;
  };
}
