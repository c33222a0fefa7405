import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // `pnpm mutate isa-codec` and `isa-asm` name the suites they measure with (STOPSIM_MUTATE_TESTS, a comma
    // list): the whole isa suite once per static mutant of the codec's table would take hours
    include: process.env.STOPSIM_MUTATE_TESTS?.split(",") ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
