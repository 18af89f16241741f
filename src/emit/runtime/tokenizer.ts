/**
 * tokenizer.js of a generated module: Hugging Face tokenizers (@huggingface/tokenizers behind
 * src/runtime/tokenizers/), bundled apart from runtime.js and imported only when a model has such
 * a tokenizer, so that a module that never tokenizes text does not download the library.
 * The files are fetched from a directory's URL; in Node, file: URLs are read from disk.
 */
import { fetchTokenizer, type Fetch } from "../../runtime/tokenizers/fetch.ts";
import { bindTokenizer } from "../../runtime/tokenizers/model-tokenizer.ts";
import { textTokenizer, type Tokenizer } from "./tokenizer-api.ts";

export { TokenizerFileError } from "../../runtime/tokenizers/hf.ts";

const inNode = () => typeof process !== "undefined" && process.versions?.node !== undefined;

/** fetch, reading file: URLs from disk in Node (a missing file answers 404). */
const get: Fetch = async (url) => {
  if (!url.startsWith("file:") || !inNode()) return fetch(url);
  const [{ readFile }, { fileURLToPath }] = await Promise.all([import("node:fs/promises"), import("node:url")]);
  try {
    const text = await readFile(fileURLToPath(url), "utf8");
    return { ok: true, status: 200, text: async () => text };
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return { ok: false, status: 404, text: async () => "" };
    throw e;
  }
};

/**
 * The tokenizer in the directory at `dir` (a URL ending in `/`) for model `model`; with
 * `optional`, undefined where the directory has no tokenizer files.
 */
export async function openTextTokenizer(dir: string, model: { name: string; vocab: number }, optional: boolean): Promise<Tokenizer | undefined> {
  const tok = optional ? await fetchTokenizer(dir, { fetch: get, optional: true }) : await fetchTokenizer(dir, { fetch: get });
  return tok === undefined ? undefined : textTokenizer(bindTokenizer(tok, model, dir));
}
