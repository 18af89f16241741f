// Writes grammar/diagrams.html: chevrotain's railroad diagrams of the spec grammar.
// A test checks the committed page matches the grammar, so regenerate after grammar edits:
//   npm run diagrams
import { writeFileSync } from "node:fs";
import { diagramsHtml } from "../grammar/diagrams.ts";

writeFileSync(new URL("../grammar/diagrams.html", import.meta.url), diagramsHtml());
console.log("wrote grammar/diagrams.html");
