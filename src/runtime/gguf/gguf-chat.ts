/**
 * The chat template a GGUF file carries as `tokenizer.chat_template` (the Jinja text llama.cpp's
 * converter copies from tokenizer_config.json), rendered by the same engine as a checkpoint
 * directory's (../tokenizers/chat.ts) with `bos_token` / `eos_token` / `unk_token` / `pad_token`
 * the texts of the file's tokenizer.ggml.*_token_id pieces.
 *
 * The prompt's ids follow llama.cpp (common_chat_templates_apply, then tokenize with specials):
 * a BOS text the template itself printed at the start is dropped and the tokenizer's own BOS is
 * added instead (when tokenizer.ggml.add_bos_token), so a template that prints `{{ bos_token }}`
 * and one that does not both give exactly one BOS. Browser-safe.
 */
import { WeightsError } from "../dtype.ts";
import { ChatTemplate, type ChatMessage } from "../tokenizers/chat.ts";
import { TokenizerFileError } from "../tokenizers/hf.ts";
import type { TextTokenizer } from "../tokenizers/types.ts";
import { metaNumber } from "./magic.ts";

const TOKEN_KEYS = [
  ["bos_token", "tokenizer.ggml.bos_token_id"],
  ["eos_token", "tokenizer.ggml.eos_token_id"],
  ["unk_token", "tokenizer.ggml.unknown_token_id"],
  ["pad_token", "tokenizer.ggml.padding_token_id"],
] as const;

export interface GgufChat {
  template: ChatTemplate;
  /** The BOS piece's text, when the file names one. */
  bos?: string;
}

/** The file's chat template; a file without one, or one that does not parse, is a WeightsError naming the key. */
export function ggufChatTemplate(metadata: Record<string, unknown>, where: string): GgufChat {
  const text = metadata["tokenizer.chat_template"];
  if (text === undefined) throw new WeightsError(`${where} has no tokenizer.chat_template, so the model has no chat format; use --prompt`);
  if (typeof text !== "string") throw new WeightsError(`${where}: tokenizer.chat_template is not a string`);
  const pieces = metadata["tokenizer.ggml.tokens"];
  const config: Record<string, unknown> = { chat_template: text };
  for (const [name, key] of TOKEN_KEYS) {
    const id = metaNumber(metadata, key);
    if (id !== undefined && Array.isArray(pieces) && typeof pieces[id] === "string") config[name] = pieces[id];
  }
  try {
    const template = ChatTemplate.fromConfig(config, { configFile: `${where} (tokenizer.chat_template)` });
    return { template, ...(typeof config.bos_token === "string" ? { bos: config.bos_token } : {}) };
  } catch (e) {
    if (e instanceof TokenizerFileError) throw new WeightsError(e.message);
    throw e;
  }
}

/** The ids of the rendered conversation, the assistant's turn opened, with one BOS as llama.cpp gives it. */
export function ggufChatIds(chat: GgufChat, tok: TextTokenizer, messages: readonly ChatMessage[]): Int32Array {
  let text: string;
  try {
    text = chat.template.render(messages);
  } catch (e) {
    if (e instanceof TokenizerFileError) throw new WeightsError(e.message);
    throw e;
  }
  if (chat.bos !== undefined && text.startsWith(chat.bos)) text = text.slice(chat.bos.length);
  return tok.encodePrompt(text);
}
