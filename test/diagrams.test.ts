import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { diagramsHtml } from "../grammar/diagrams.ts";

it("grammar/diagrams.html is up to date with the grammar (npm run diagrams)", () => {
  const html = diagramsHtml();
  expect(html).toContain("stackDecl");
  expect(readFileSync("grammar/diagrams.html", "utf8")).toBe(html);
});
