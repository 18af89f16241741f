/**
 * `run --chat TEXT [--system TEXT]`: the prompt a chat model expects, from its checkpoint
 * directory's chat template (src/runtime/tokenizers/chat.ts), with the assistant's turn opened.
 */
import type { ChatMessage } from "../runtime/tokenizers/chat.ts";
import { CliError, EXIT_ERRORS, EXIT_USAGE } from "./io.ts";

/** The rendered prompt text; a missing, unparsable or failing template is one line naming the file, exit 1. */
export async function chatPromptText(dir: string, chat: string, system: string | undefined): Promise<string> {
  const [{ loadChatTemplate }, { TokenizerFileError }] = await Promise.all([import("../runtime/tokenizers/load.ts"), import("../runtime/tokenizers/hf.ts")]);
  const messages: ChatMessage[] = [...(system !== undefined ? [{ role: "system", content: system }] : []), { role: "user", content: chat }];
  try {
    return (await loadChatTemplate(dir)).render(messages);
  } catch (e) {
    if (e instanceof TokenizerFileError) throw new CliError(e.message, e.io ? EXIT_USAGE : EXIT_ERRORS);
    throw e;
  }
}
