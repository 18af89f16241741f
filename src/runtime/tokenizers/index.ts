/** Hugging Face tokenizers, browser-safe part (load.ts reads from disk in Node). */
export { HfTokenizer, TokenizerFileError, SUPPORTED_MODELS, type HfTokenizerFiles } from "./hf.ts";
export { tokenizerJsonFromVocabMerges, parseMerges } from "./vocab-merges.ts";
export { fetchTokenizer, readTokenizer, type TokenizerDir } from "./fetch.ts";
export { WindowDecoder } from "./stream.ts";
export type { StreamDecoder, TextTokenizer } from "./types.ts";
export { ChatTemplate, type ChatMessage } from "./chat.ts";
