/**
 * `run --chat TEXT [--system TEXT]`: the prompt ids a chat model expects, from the chat template
 * of its checkpoint directory (src/runtime/tokenizers/chat.ts) or GGUF file
 * (src/runtime/gguf/gguf-chat.ts), with the assistant's turn opened.
 */
import { isGgufPath } from "../runtime/gguf/magic.ts";
import type { ChatMessage } from "../runtime/tokenizers/chat.ts";
import type { TextTokenizer } from "../runtime/tokenizers/types.ts";
import { CliError, EXIT_ERRORS, EXIT_USAGE } from "./io.ts";

/**
 * The rendered prompt's ids; a missing, unparsable or failing template is one line naming the
 * file, exit 1. A directory's rendering already holds the template's special tokens, so it is
 * encoded without the tokenizer's (transformers passes add_special_tokens=False); a GGUF file's
 * follows llama.cpp (one BOS).
 */
export async function chatPromptIds(source: string, tok: TextTokenizer, chat: string, system: string | undefined): Promise<Int32Array> {
  const messages: ChatMessage[] = [...(system !== undefined ? [{ role: "system", content: system }] : []), { role: "user", content: chat }];
  if (isGgufPath(source)) {
    const [{ readGgufHeader }, { ggufChatTemplate, ggufChatIds }] = await Promise.all([import("../runtime/gguf/read-gguf.ts"), import("../runtime/gguf/gguf-chat.ts")]);
    return ggufChatIds(ggufChatTemplate((await readGgufHeader(source)).metadata, source), tok, messages);
  }
  const [{ loadChatTemplate }, { TokenizerFileError }] = await Promise.all([import("../runtime/tokenizers/load.ts"), import("../runtime/tokenizers/hf.ts")]);
  try {
    return tok.encode((await loadChatTemplate(source)).render(messages));
  } catch (e) {
    if (e instanceof TokenizerFileError) throw new CliError(e.message, e.io ? EXIT_USAGE : EXIT_ERRORS);
    throw e;
  }
}
