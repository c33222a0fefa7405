import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // `pnpm mutate libvirt-driver` and `libvirt-migration` name the suites they measure with
    // (STOPSIM_MUTATE_TESTS, a comma list): the stream-fault properties (seconds per run) once per
    // mutant would take about an hour
    include: process.env.STOPSIM_MUTATE_TESTS?.split(",") ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
