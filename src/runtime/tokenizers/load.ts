/**
 * Reading a tokenizer from disk (Node): a checkpoint directory, its tokenizer.json, or its
 * vocab.json (with merges.txt beside it). The files beside it that transformers reads too —
 * tokenizer_config.json, special_tokens_map.json, generation_config.json — are read when present.
 * Every failure is a TokenizerFileError naming the file and the problem.
 */
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ChatTemplate } from "./chat.ts";
import { HfTokenizer, TokenizerFileError } from "./hf.ts";
import { tokenizerJsonFromVocabMerges } from "./vocab-merges.ts";

/** A file's text; undefined where it does not exist and `optional`. */
async function readText(file: string, optional: boolean): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (optional && code === "ENOENT") return undefined;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, not a file" : code === "EACCES" ? "permission denied" : (e as Error).message;
    // The path given exists (tokenizerFiles checked it): a file missing beside it is a bad
    // directory (exit 1); one that cannot be read is I/O (exit 2).
    throw new TokenizerFileError(file, why, code !== "ENOENT");
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerFileError(file, `does not parse as JSON (${(e as Error).message.replace(/\s+/g, " ")})`);
  }
}

async function readJson(file: string, optional: true): Promise<unknown | undefined>;
async function readJson(file: string, optional: false): Promise<unknown>;
async function readJson(file: string, optional: boolean): Promise<unknown | undefined> {
  const text = await readText(file, optional);
  return text === undefined ? undefined : parseJson(text, file);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TokenizerFileError(path, code === "ENOENT" ? "no such file or directory" : (e as Error).message, true);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Which files a path means: the tokenizer.json, or the vocab.json + merges.txt pair. */
export async function tokenizerFiles(path: string): Promise<{ dir: string; tokenizer?: string; vocab?: string; merges?: string }> {
  if (await isDirectory(path)) {
    const tokenizer = join(path, "tokenizer.json");
    if (await exists(tokenizer)) return { dir: path, tokenizer };
    const vocab = join(path, "vocab.json");
    const merges = join(path, "merges.txt");
    if ((await exists(vocab)) && (await exists(merges))) return { dir: path, vocab, merges };
    throw new TokenizerFileError(path, "has no tokenizer.json (nor a vocab.json + merges.txt pair)");
  }
  const dir = dirname(path);
  if (basename(path) === "vocab.json" || basename(path) === "merges.txt") {
    return { dir, vocab: join(dir, "vocab.json"), merges: join(dir, "merges.txt") };
  }
  return { dir, tokenizer: path };
}

/** The tokenizer of a checkpoint directory, or of a tokenizer.json / vocab.json file. */
export async function loadTokenizer(path: string): Promise<HfTokenizer> {
  const f = await tokenizerFiles(path);
  const configFile = join(f.dir, "tokenizer_config.json");
  const mapFile = join(f.dir, "special_tokens_map.json");
  const genFile = join(f.dir, "generation_config.json");
  const [config, specialTokensMap, generationConfig] = await Promise.all([readJson(configFile, true), readJson(mapFile, true), readJson(genFile, true)]);
  let tokenizer: unknown;
  let source: string;
  if (f.tokenizer !== undefined) {
    source = f.tokenizer;
    tokenizer = await readJson(f.tokenizer, false);
  } else {
    source = f.vocab!;
    const [vocab, merges] = await Promise.all([readJson(f.vocab!, false), readText(f.merges!, false)]);
    tokenizer = tokenizerJsonFromVocabMerges(vocab, merges!, { config, specialTokensMap, source: { vocab: f.vocab!, merges: f.merges! } });
  }
  return HfTokenizer.fromFiles({
    tokenizer,
    config,
    specialTokensMap,
    generationConfig,
    source: { tokenizer: source, config: configFile, generationConfig: genFile },
  });
}

/**
 * A checkpoint directory's chat template: chat_template.jinja where present (transformers prefers
 * it), else tokenizer_config.json's chat_template. The special tokens come from
 * tokenizer_config.json (and special_tokens_map.json) either way.
 */
export async function loadChatTemplate(dir: string): Promise<ChatTemplate> {
  const configFile = join(dir, "tokenizer_config.json");
  const jinjaFile = join(dir, "chat_template.jinja");
  const [config, specialTokensMap, jinja] = await Promise.all([readJson(configFile, true), readJson(join(dir, "special_tokens_map.json"), true), readText(jinjaFile, true)]);
  if (config === undefined && jinja === undefined) throw new TokenizerFileError(configFile, "no such file, so the directory has no chat template; use --prompt");
  const merged = { ...(specialTokensMap !== null && typeof specialTokensMap === "object" ? specialTokensMap : {}), ...(config !== null && typeof config === "object" ? config : {}) };
  return ChatTemplate.fromConfig(merged, { configFile, ...(jinja !== undefined ? { jinja: { text: jinja, file: jinjaFile } } : {}) });
}
