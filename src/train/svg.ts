// The loss curve as a small self-contained SVG: training loss per step (faint), its running
// mean (solid) and the validation losses (dots joined by a dashed line). Deterministic text.

export interface CurvePoint {
  step: number;
  loss: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (x: number) => Number(x.toFixed(1)).toString();

/** "Nice" tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

export function lossCurveSvg(title: string, train: CurvePoint[], val: CurvePoint[], totalSteps: number): string {
  const W = 640;
  const H = 360;
  const L = 56;
  const R = 16;
  const T = 32;
  const B = 40;
  const all = [...train, ...val].map((p) => p.loss).filter(Number.isFinite);
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const maxStep = Math.max(1, totalSteps, ...train.map((p) => p.step), ...val.map((p) => p.step));
  const x = (s: number) => L + ((W - L - R) * s) / maxStep;
  const y = (v: number) => T + ((H - T - B) * (hi - v)) / (hi - lo);
  const line = (ps: CurvePoint[]) => ps.filter((p) => Number.isFinite(p.loss)).map((p) => `${num(x(p.step))},${num(y(p.loss))}`).join(" ");
  const smooth: CurvePoint[] = [];
  let ema: number | undefined;
  for (const p of train) {
    ema = ema === undefined ? p.loss : 0.9 * ema + 0.1 * p.loss;
    smooth.push({ step: p.step, loss: ema });
  }
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${L}" y="18" font-size="13">${esc(title)}</text>`);
  for (const t of ticks(lo, hi, 8)) {
    if (t < lo || t > hi) continue;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${L - 6}" y="${num(y(t) + 4)}" text-anchor="end">${t}</text>`);
  }
  for (const s of ticks(0, maxStep, 6)) {
    if (s > maxStep) continue;
    parts.push(`<text x="${num(x(s))}" y="${H - B + 16}" text-anchor="middle">${s}</text>`);
  }
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#444"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#444"/>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">step</text>`);
  parts.push(`<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">loss (nats/token)</text>`);
  if (train.length) {
    parts.push(`<polyline fill="none" stroke="#9ecae1" stroke-width="1" points="${line(train)}"/>`);
    parts.push(`<polyline fill="none" stroke="#08519c" stroke-width="2" points="${line(smooth)}"/>`);
  }
  if (val.length) {
    parts.push(`<polyline fill="none" stroke="#d94801" stroke-width="1.5" stroke-dasharray="4 3" points="${line(val)}"/>`);
    for (const p of val) if (Number.isFinite(p.loss)) parts.push(`<circle cx="${num(x(p.step))}" cy="${num(y(p.loss))}" r="3" fill="#d94801"/>`);
  }
  const ly = T + 8;
  parts.push(`<line x1="${W - R - 150}" x2="${W - R - 130}" y1="${ly}" y2="${ly}" stroke="#08519c" stroke-width="2"/><text x="${W - R - 126}" y="${ly + 4}">train (running mean)</text>`);
  parts.push(`<line x1="${W - R - 150}" x2="${W - R - 130}" y1="${ly + 16}" y2="${ly + 16}" stroke="#d94801" stroke-dasharray="4 3"/><text x="${W - R - 126}" y="${ly + 20}">validation</text>`);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
