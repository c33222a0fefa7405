import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    globalSetup: ["src/setup.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
