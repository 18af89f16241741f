import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createSyntaxDiagramsCode } from "chevrotain";
import { specParser } from "./parser.ts";

// A placeholder base that the inlining below replaces: the page must work offline, so
// chevrotain's diagram scripts and stylesheet are copied into it instead of loaded from a CDN.
const BASE = "chevrotain-diagrams:/";

/** The railroad-diagram page for the grammar, self-contained (opens in any browser, offline). */
export function diagramsHtml(): string {
  const html = createSyntaxDiagramsCode(specParser.getSerializedGastProductions(), { resourceBase: BASE, css: `${BASE}diagrams.css` });
  const root = join(dirname(createRequire(import.meta.url).resolve("chevrotain")), "..", "..", "diagrams");
  const read = (rel: string) => readFileSync(join(root, rel), "utf8").replace(/<\/(script|style)/gi, "<\\/$1");
  return html
    .replace(/<link rel='stylesheet' href='chevrotain-diagrams:\/([^']+)'>/g, (_, rel: string) => `<style>\n${read(rel)}</style>`)
    .replace(/<script src='chevrotain-diagrams:\/([^']+)'><\/script>/g, (_, rel: string) => `<script>\n${read(rel)}</script>`);
}
