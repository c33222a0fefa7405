import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // `pnpm mutate` (STOPSIM_MUTATE=1) leaves out the browser suite: it tests the page script
    // (client.ts), which that target does not mutate, and takes seconds per mutant in Chromium
    exclude: [
      ...configDefaults.exclude,
      ...(process.env.STOPSIM_MUTATE === "1" ? ["src/report.browser.test.ts"] : []),
    ],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
