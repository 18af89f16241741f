// Line plots for the copying experiment (scripts/copy-experiment.ts): one series per model,
// accuracy in [0, 1] on the y axis. Deterministic, self-contained SVG text.

export interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const r1 = (x: number) => Number(x.toFixed(1)).toString();

export function accuracyPlot(title: string, xLabel: string, series: Series[], opts: { logX?: boolean; marks?: Array<{ x: number; label: string }> } = {}): string {
  const W = 640;
  const H = 380;
  const L = 56;
  const R = 130;
  const T = 32;
  const B = 44;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const tx = (x: number) => (opts.logX ? Math.log(x) : x);
  const sx = (x: number) => L + ((tx(x) - tx(lo)) / (tx(hi) - tx(lo) || 1)) * (W - L - R);
  const sy = (y: number) => T + (1 - y) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (const y of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${r1(sy(y))}" y2="${r1(sy(y))}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${r1(sy(y) + 4)}" text-anchor="end">${y}</text>`);
  }
  const ticks = [...new Set(xs)].sort((a, b) => a - b);
  const shown = ticks.length > 12 ? ticks.filter((_, i) => i % Math.ceil(ticks.length / 12) === 0) : ticks;
  for (const x of shown) out.push(`<text x="${r1(sx(x))}" y="${H - B + 16}" text-anchor="middle">${x}</text>`);
  for (const m of opts.marks ?? []) {
    out.push(`<line x1="${r1(sx(m.x))}" x2="${r1(sx(m.x))}" y1="${T}" y2="${H - B}" stroke="#888" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${r1(sx(m.x) + 4)}" y="${T + 12}" fill="#555">${esc(m.label)}</text>`);
  }
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="black"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="black"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">exact-match accuracy</text>`);
  series.forEach((s, k) => {
    const c = COLORS[k % COLORS.length];
    const pts = s.points.map((p) => `${r1(sx(p.x))},${r1(sy(p.y))}`).join(" ");
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts}"/>`);
    for (const p of s.points) out.push(`<circle cx="${r1(sx(p.x))}" cy="${r1(sy(p.y))}" r="3" fill="${c}"/>`);
    out.push(`<line x1="${W - R + 10}" x2="${W - R + 28}" y1="${T + 10 + 18 * k}" y2="${T + 10 + 18 * k}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${W - R + 32}" y="${T + 14 + 18 * k}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
