/**
 * `specformer tokenize DIR|tokenizer.json TEXT`: the ids of TEXT under a Hugging Face tokenizer
 * (a checkpoint directory's tokenizer.json, or its vocab.json + merges.txt), comma-separated,
 * with the sequence tokens the tokenizer adds (BOS, `[CLS]` … `[SEP]`) unless --no-special.
 * `--decode` reads TEXT as comma-separated ids and prints their text instead.
 */
import { loadTokenizer } from "../runtime/tokenizers/load.ts";
import { TokenizerFileError } from "../runtime/tokenizers/hf.ts";
import { CliError, EXIT_ERRORS, EXIT_OK, EXIT_USAGE } from "./io.ts";
import { parseTokenIds } from "./load-model.ts";

export interface TokenizeOptions {
  /** false with --no-special: the text's ids alone. Default true. */
  special?: boolean;
  /** TEXT is ids; print their text. */
  decode?: boolean;
}

export async function runTokenize(path: string, text: string, opts: TokenizeOptions = {}): Promise<number> {
  let tok;
  try {
    tok = await loadTokenizer(path);
  } catch (e) {
    if (e instanceof TokenizerFileError) throw new CliError(e.message, e.io ? EXIT_USAGE : EXIT_ERRORS);
    throw e;
  }
  if (opts.decode) {
    const ids = parseTokenIds(text, "tokenize --decode", tok.vocab);
    let out: string;
    try {
      out = tok.decode(ids, { skipSpecial: opts.special === false });
    } catch (e) {
      if (e instanceof RangeError) throw new CliError(`tokenize --decode: ${e.message}`);
      throw e;
    }
    process.stdout.write(out.endsWith("\n") ? out : `${out}\n`);
    return EXIT_OK;
  }
  const ids = tok.encode(text, { special: opts.special !== false });
  process.stdout.write(`${Array.from(ids).join(",")}\n`);
  return EXIT_OK;
}
