/**
 * tokenizer.js of a generated module: Hugging Face tokenizers (@huggingface/tokenizers behind
 * src/runtime/tokenizers/), bundled apart from runtime.js and imported only when a model has such
 * a tokenizer, so that a module that never tokenizes text does not download the library. The
 * runtime reads the files (from a folder, or over HTTP) and hands them over by name.
 */
import { readTokenizer, type TokenizerDir } from "../../runtime/tokenizers/fetch.ts";
import { bindTokenizer } from "../../runtime/tokenizers/model-tokenizer.ts";
import { textTokenizer, type Tokenizer } from "./tokenizer-api.ts";

export { TokenizerFileError } from "../../runtime/tokenizers/hf.ts";

/** The tokenizer in `dir` (named `where` in messages) for model `model`. */
export async function openTextTokenizer(dir: TokenizerDir, where: string, model: { name: string; vocab: number }): Promise<Tokenizer> {
  return textTokenizer(bindTokenizer(await readTokenizer(dir), model, where));
}
