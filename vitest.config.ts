import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Two cores on CI: forks keep heavy numeric tests from starving each other.
    pool: "forks",
    testTimeout: 60_000,
  },
});
