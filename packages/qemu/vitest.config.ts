import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // `pnpm mutate` names the suites it measures with (STOPSIM_MUTATE_TESTS, a comma
    // list): the whole qemu suite once per static mutant would take hours
    include: process.env.STOPSIM_MUTATE_TESTS?.split(",") ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
