import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // `pnpm mutate` (STOPSIM_MUTATE=1) leaves out the fuzz suite: thousands of random trees per
    // mutant would take days; the unit, dtc and property suites are what it measures
    exclude: [...configDefaults.exclude, ...(process.env.STOPSIM_MUTATE === "1" ? ["src/fuzz.test.ts"] : [])],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
