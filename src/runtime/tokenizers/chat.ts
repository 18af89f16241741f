/**
 * Chat templates: the Jinja template a checkpoint's tokenizer_config.json carries as
 * `chat_template` (a string, or a list of `{name, template}` whose "default" is used), or that a
 * `chat_template.jinja` beside it holds, rendered with `@huggingface/jinja` as transformers'
 * `apply_chat_template(messages, add_generation_prompt=True, tokenize=False)` does: the variables
 * are `messages`, `add_generation_prompt` and the special tokens by name (`bos_token`,
 * `eos_token`, …, as strings); `raise_exception` and `strftime_now` are the library's.
 * The rendered text already holds the template's special tokens, so it is tokenized without the
 * post-processor's (transformers passes add_special_tokens=False). Browser-safe.
 */
import { Template } from "@huggingface/jinja";
import { TokenizerFileError } from "./hf.ts";

export interface ChatMessage {
  role: string;
  content: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The special-token variables transformers passes to a template (special_tokens_map). */
const SPECIAL_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] as const;

function tokenText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.content === "string") return v.content;
  return undefined;
}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

export class ChatTemplate {
  private constructor(
    private readonly template: Template,
    private readonly variables: Json,
    /** Where the template came from, for messages. */
    readonly file: string,
  ) {}

  /**
   * The template of a tokenizer_config.json (parsed), or `jinja` (a chat_template.jinja's text,
   * which transformers prefers when both exist). Throws TokenizerFileError naming the file when
   * there is none, when a list has no "default", or when it does not parse.
   */
  static fromConfig(config: unknown, opts: { configFile: string; jinja?: { text: string; file: string } }): ChatTemplate {
    const cfg = isObject(config) ? config : {};
    let text: string;
    let file: string;
    if (opts.jinja !== undefined) {
      ({ text, file } = opts.jinja);
    } else {
      file = opts.configFile;
      const raw = cfg.chat_template;
      if (raw === undefined || raw === null) throw new TokenizerFileError(file, "has no chat_template, so the model has no chat format; use --prompt");
      text = pickTemplate(raw, file);
    }
    let template: Template;
    try {
      template = new Template(text);
    } catch (e) {
      throw new TokenizerFileError(file, `chat template does not parse: ${oneLine((e as Error).message)}`);
    }
    const variables: Json = {};
    for (const k of SPECIAL_KEYS) {
      const t = tokenText(cfg[k]);
      if (t !== undefined) variables[k] = t;
    }
    if (Array.isArray(cfg.additional_special_tokens)) variables.additional_special_tokens = cfg.additional_special_tokens.map(tokenText).filter((t) => t !== undefined);
    return new ChatTemplate(template, variables, file);
  }

  /** The prompt text for `messages`, ending in the assistant's turn when addGenerationPrompt (default true). */
  render(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    let out: unknown;
    try {
      out = this.template.render({ ...this.variables, messages: messages.map((m) => ({ ...m })), add_generation_prompt: opts.addGenerationPrompt !== false });
    } catch (e) {
      throw new TokenizerFileError(this.file, `chat template failed to render: ${oneLine((e as Error).message)}`);
    }
    if (typeof out !== "string") throw new TokenizerFileError(this.file, "chat template rendered no text");
    return out;
  }
}

/** chat_template as a string, or the "default" of a list of named templates. */
function pickTemplate(raw: unknown, file: string): string {
  if (typeof raw === "string") return raw;
  if (Array.isArray(raw)) {
    const named = raw.filter((t): t is { name: string; template: string } => isObject(t) && typeof t.name === "string" && typeof t.template === "string");
    if (named.length !== raw.length) throw new TokenizerFileError(file, 'chat_template is a list whose entries are not all {"name": …, "template": …}');
    const def = named.find((t) => t.name === "default");
    if (def === undefined) throw new TokenizerFileError(file, `chat_template lists ${named.map((t) => JSON.stringify(t.name)).join(", ")} but no "default"`);
    return def.template;
  }
  throw new TokenizerFileError(file, "chat_template is neither a string nor a list of named templates");
}
