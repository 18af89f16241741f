/**
 * `specformer tokenize DIR|tokenizer.json|M.gguf TEXT`: the ids of TEXT under a Hugging Face
 * tokenizer (a checkpoint directory's tokenizer.json, or its vocab.json + merges.txt) or a GGUF
 * file's (its tokenizer.ggml.* metadata), comma-separated,
 * with the sequence tokens the tokenizer adds (BOS, `[CLS]` … `[SEP]`) unless --no-special.
 * `--decode` reads TEXT as comma-separated ids and prints their text instead.
 */
import { isGgufPath } from "../runtime/gguf/magic.ts";
import { loadTokenizer } from "../runtime/tokenizers/load.ts";
import type { TextTokenizer } from "../runtime/tokenizers/types.ts";
import { HfTokenizer, TokenizerFileError } from "../runtime/tokenizers/hf.ts";
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
    tok = isGgufPath(path) ? await ggufFileTokenizer(path) : await loadTokenizer(path);
  } catch (e) {
    if (e instanceof TokenizerFileError) throw new CliError(e.message, e.io ? EXIT_USAGE : EXIT_ERRORS);
    throw e;
  }
  // A GGUF SentencePiece vocabulary (the byte-level ones are Hugging Face tokenizers).
  if (!(tok instanceof HfTokenizer)) return tokenizeWith(tok, text, opts);
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

/** The tokenizer in a GGUF file's metadata; a file without one is exit 1, an unreadable one exit 2. */
async function ggufFileTokenizer(path: string): Promise<TextTokenizer> {
  const [{ ggufFileTokenizer: read }, { WeightsError }] = await Promise.all([import("./load-model.ts"), import("../runtime/dtype.ts")]);
  try {
    return await read(path);
  } catch (e) {
    if (e instanceof WeightsError) throw new CliError(e.message, /^cannot read/.test(e.message) ? EXIT_USAGE : EXIT_ERRORS);
    throw e;
  }
}

/** A GGUF SentencePiece tokenizer: special = the prompt's sequence tokens (BOS) on encode; control pieces are dropped on decode either way. */
function tokenizeWith(tok: TextTokenizer, text: string, opts: TokenizeOptions): number {
  if (opts.decode) {
    const out = tok.decode(parseTokenIds(text, "tokenize --decode", tok.vocab));
    process.stdout.write(out.endsWith("\n") ? out : `${out}\n`);
    return EXIT_OK;
  }
  const ids = opts.special === false ? tok.encode(text) : tok.encodePrompt(text);
  process.stdout.write(`${Array.from(ids).join(",")}\n`);
  return EXIT_OK;
}
