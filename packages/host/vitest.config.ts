import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // `pnpm mutate host-*` names the suites each file group is measured with
    // (STOPSIM_MUTATE_TESTS, a comma list): each group's own tests, not the whole host suite
    include: process.env.STOPSIM_MUTATE_TESTS?.split(",") ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
