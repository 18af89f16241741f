/** A one-line progress bar on stderr, for TTYs only (callers check isTTY). */
export function progressBar(label: string): { update(done: number, total: number): void; done(): void } {
  let last = -1;
  const width = 30;
  return {
    update(done, total) {
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const pct = Math.floor(frac * 100);
      if (pct === last) return;
      last = pct;
      const filled = Math.round(frac * width);
      process.stderr.write(`\r${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(pct).padStart(3)}% ${(done / 2 ** 20).toFixed(1)} MiB`);
    },
    done() {
      process.stderr.write("\r\x1b[2K");
    },
  };
}
