import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // `pnpm mutate app-*` names the suites each file group is measured with (STOPSIM_MUTATE_TESTS,
    // a comma list): the whole app suite boots full stacks, runs the worker pool and Redis, far too
    // slow to run once per mutant
    include: process.env.STOPSIM_MUTATE_TESTS?.split(",") ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
