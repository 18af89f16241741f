import { it } from "vitest";
import { readFileSync } from "node:fs";
import { checkSource } from "../src/check/check.ts";
import { renderText } from "../src/diagnostics/render-text.ts";
it("t", () => {
  Error.stackTraceLimit = 100000;
  const text = readFileSync("/tmp/sf/seed14.sf", "utf8");
  try { const r = checkSource(text, "test/golden/in/nesting-too-deep.sf", { read: () => undefined }); console.log("ok", r.diagnostics.map(d => d.code).join(",")); renderText(r.diagnostics, r.sources, {color: false}); console.log("rendered"); }
  catch (e) { const st = (e as Error).stack!.split("\n"); const counts = new Map<string, number>(); for (const l of st) { const k = l.replace(/:\d+:\d+\)?$/, "").trim(); counts.set(k, (counts.get(k) ?? 0) + 1); } console.log("THROW", st.length, [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8)); }
});
