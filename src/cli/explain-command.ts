import { CODES, explain } from "../diagnostics/codes.ts";
import { CliError, EXIT_OK, write } from "./io.ts";

export function runExplain(code: string | undefined): number {
  if (code === undefined) {
    for (const [c, info] of Object.entries(CODES)) write(`${c}  ${info.title}`);
    return EXIT_OK;
  }
  const info = explain(code);
  if (!info) throw new CliError(`unknown code ${code}; run \`specformer explain\` to list them`);
  write(`${code.toUpperCase()}: ${info.title}\n\n${wrap(info.explanation, 80)}`);
  return EXIT_OK;
}

function wrap(text: string, width: number): string {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join("\n");
}
