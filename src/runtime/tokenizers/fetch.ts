/**
 * Reading a tokenizer from a directory by file name — over HTTP (browsers, or Node's fetch: a
 * base URL of a checkpoint directory), or through any reader of a directory's files (generated
 * modules): tokenizer.json, or else vocab.json + merges.txt; tokenizer_config.json,
 * special_tokens_map.json and generation_config.json where the directory has them.
 * Browser-safe. Failures are TokenizerFileError naming the file.
 */
import { HfTokenizer, TokenizerFileError } from "./hf.ts";
import { tokenizerJsonFromVocabMerges } from "./vocab-merges.ts";

type Fetch = (url: string) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/** A directory's files by name: a file's text, or undefined where the directory has no such file. */
export interface TokenizerDir {
  text(name: string): Promise<string | undefined>;
  /** The file's full name (path or URL), for messages. */
  locate(name: string): string;
  /** What a required file that is absent is called (default "no such file"). */
  missing?: string;
}

export async function fetchTokenizer(baseUrl: string, opts: { fetch?: Fetch } = {}): Promise<HfTokenizer> {
  const get: Fetch = opts.fetch ?? ((u) => fetch(u));
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  const locate = (name: string) => new URL(name, base).href;
  return readTokenizer({
    locate,
    missing: "answered HTTP 404",
    async text(name) {
      let r;
      try {
        r = await get(locate(name));
      } catch (e) {
        throw new TokenizerFileError(locate(name), `cannot be fetched (${(e as Error).message})`);
      }
      if (r.ok) return r.text();
      if (r.status === 404) return undefined;
      throw new TokenizerFileError(locate(name), `answered HTTP ${r.status}`);
    },
  });
}

/** The tokenizer of a directory read through `dir`. */
export async function readTokenizer(dir: TokenizerDir): Promise<HfTokenizer> {
  const { locate } = dir;
  const text = async (name: string, optional: boolean): Promise<string | undefined> => {
    const t = await dir.text(name);
    if (t === undefined && !optional) throw new TokenizerFileError(locate(name), dir.missing ?? "no such file");
    return t;
  };
  const json = async (name: string, optional: boolean): Promise<unknown | undefined> => {
    const t = await text(name, optional);
    if (t === undefined) return undefined;
    try {
      return JSON.parse(t);
    } catch (e) {
      throw new TokenizerFileError(locate(name), `does not parse as JSON (${(e as Error).message})`);
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
    const vocab = await json("vocab.json", false);
    const merges = await text("merges.txt", false);
    t = tokenizerJsonFromVocabMerges(vocab, merges!, { config, specialTokensMap, source: { vocab: locate("vocab.json"), merges: locate("merges.txt") } });
  }
  return HfTokenizer.fromFiles({
    tokenizer: t,
    config,
    specialTokensMap,
    generationConfig,
    source: { tokenizer: locate(tokenizer === undefined ? "vocab.json" : "tokenizer.json"), config: locate("tokenizer_config.json"), generationConfig: locate("generation_config.json") },
  });
}
