// The statements of the language, and the one message for a statement where it cannot stand.

import type { Statement } from "../syntax/ast.ts";
import type { Sink } from "./sink.ts";
import { didYouMean, quoteList } from "./suggest.ts";

const KNOWN_STATEMENTS = ["embed", "position", "norm", "dropout", "attention", "mlp", "ssm", "stack", "layer", "encoder", "decoder", "head", "tokenizer", "train", "lint"];
export const isKnownStatement = (kw: string): boolean => KNOWN_STATEMENTS.includes(kw);

export function misplaced(st: Statement, sink: Sink, where: string, allowed: readonly string[], hint?: string): void {
  const kw = st.keyword.name;
  const known = KNOWN_STATEMENTS;
  if (known.includes(kw)) {
    sink.report("SF0116", st.keyword.span, `\`${kw}\` cannot appear in ${where}`, {
      label: "not allowed here",
      ...(hint ? { hint } : {}),
      notes: [`${where} may contain: ${quoteList(allowed)}`],
    });
  } else {
    const hint = didYouMean(kw, known);
    sink.report("SF0108", st.keyword.span, `unknown statement \`${kw}\``, {
      label: "not a statement of the language",
      ...(hint ? { hint } : {}),
      notes: [`${where} may contain: ${quoteList(allowed)}`],
    });
  }
}
