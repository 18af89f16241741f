/**
 * Reading a tokenizer over HTTP (browsers, or Node's fetch): a base URL of a checkpoint
 * directory holding tokenizer.json, or else vocab.json + merges.txt; tokenizer_config.json,
 * special_tokens_map.json and generation_config.json are read where the server has them.
 * Browser-safe. Failures are TokenizerFileError naming the URL.
 */
import { HfTokenizer, TokenizerFileError } from "./hf.ts";
import { tokenizerJsonFromVocabMerges } from "./vocab-merges.ts";

export type Fetch = (url: string) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/**
 * The tokenizer at `baseUrl`; with `optional`, undefined where the server has neither
 * tokenizer.json nor vocab.json (a directory without a tokenizer).
 */
export async function fetchTokenizer(baseUrl: string, opts?: { fetch?: Fetch; optional?: false }): Promise<HfTokenizer>;
export async function fetchTokenizer(baseUrl: string, opts: { fetch?: Fetch; optional: true }): Promise<HfTokenizer | undefined>;
export async function fetchTokenizer(baseUrl: string, opts: { fetch?: Fetch; optional?: boolean } = {}): Promise<HfTokenizer | undefined> {
  const get: Fetch = opts.fetch ?? ((u) => fetch(u));
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  const url = (name: string) => new URL(name, base).href;
  const text = async (name: string, optional: boolean): Promise<string | undefined> => {
    let r;
    try {
      r = await get(url(name));
    } catch (e) {
      throw new TokenizerFileError(url(name), `cannot be fetched (${(e as Error).message})`);
    }
    if (r.ok) return r.text();
    if (optional && r.status === 404) return undefined;
    throw new TokenizerFileError(url(name), `answered HTTP ${r.status}`);
  };
  const json = async (name: string, optional: boolean): Promise<unknown | undefined> => {
    const t = await text(name, optional);
    if (t === undefined) return undefined;
    try {
      return JSON.parse(t);
    } catch (e) {
      throw new TokenizerFileError(url(name), `does not parse as JSON (${(e as Error).message})`);
    }
  };
  const [config, specialTokensMap, generationConfig, tokenizer] = await Promise.all([
    json("tokenizer_config.json", true),
    json("special_tokens_map.json", true),
    json("generation_config.json", true),
    json("tokenizer.json", true),
  ]);
  let t = tokenizer;
  if (t === undefined) {
    const vocab = await json("vocab.json", opts.optional === true);
    if (vocab === undefined) return undefined;
    const merges = await text("merges.txt", false);
    t = tokenizerJsonFromVocabMerges(vocab, merges!, { config, specialTokensMap, source: { vocab: url("vocab.json"), merges: url("merges.txt") } });
  }
  return HfTokenizer.fromFiles({
    tokenizer: t,
    config,
    specialTokensMap,
    generationConfig,
    source: { tokenizer: url(tokenizer === undefined ? "vocab.json" : "tokenizer.json"), config: url("tokenizer_config.json"), generationConfig: url("generation_config.json") },
  });
}
