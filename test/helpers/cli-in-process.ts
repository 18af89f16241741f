import { afterEach, vi } from "vitest";
import { main } from "../../src/cli/main.ts";

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = 0;
});

/** main() in this process with stdout / stderr captured; returns the exit code and both streams. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  const before = new Set([...process.stdout.listeners("error"), ...process.stderr.listeners("error")]);
  try {
    await main(["node", "specformer", ...args]);
  } finally {
    for (const s of [process.stdout, process.stderr]) for (const l of s.listeners("error")) if (!before.has(l)) s.off("error", l as (e: Error) => void);
    vi.restoreAllMocks();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout: out.join(""), stderr: err.join("") };
}
