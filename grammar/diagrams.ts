import { createSyntaxDiagramsCode } from "chevrotain";
import { specParser } from "./parser.ts";

/** The railroad-diagram page for the grammar (opens in any browser; scripts load from a CDN). */
export function diagramsHtml(): string {
  return createSyntaxDiagramsCode(specParser.getSerializedGastProductions(), {
    resourceBase: "https://unpkg.com/chevrotain@11.0.3/diagrams/",
    css: "https://unpkg.com/chevrotain@11.0.3/diagrams/diagrams.css",
  });
}
