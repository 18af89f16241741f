// Issue 14: grammar/diagrams.html loaded chevrotain from a CDN and rendered blank offline; it
// must carry its scripts and stylesheet (test/diagrams.test.ts keeps it equal to diagramsHtml()).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("grammar/diagrams.html", () => {
  const html = readFileSync("grammar/diagrams.html", "utf8");

  it("loads nothing from the network (it rendered blank offline)", () => {
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link[^>]*\shref=/i);
  });

  it("carries the diagram scripts it calls", () => {
    expect(html).toContain("drawDiagramsFromSerializedGrammar: function");
    expect(html).toMatch(/root\.main = factory/);
    expect(html).toContain("railroad");
  });
});
