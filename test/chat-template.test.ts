// Chat templates (src/runtime/tokenizers/chat.ts) and `run --chat`. The fixtures in
// test/fixtures/chat-templates/ are tokenizer_config.json files carrying the chat templates
// published with Llama-3-Instruct, Qwen2-Instruct, Qwen2.5-Instruct and Gemma-2-it; every expected
// prompt below is written by hand from what the template says (Jinja semantics: `|` binds before
// `+`, `{%-` strips the whitespace before it, trim_blocks / lstrip_blocks as transformers sets them).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ChatTemplate, type ChatMessage } from "../src/runtime/tokenizers/chat.ts";
import { TokenizerFileError } from "../src/runtime/tokenizers/hf.ts";
import { loadChatTemplate } from "../src/runtime/tokenizers/load.ts";
import { cli } from "./helpers/cli-in-process.ts";

const FIX = "test/fixtures/chat-templates";
const tmp = mkdtempSync(join(tmpdir(), "sf-chat-"));
const config = (name: string) => JSON.parse(readFileSync(join(FIX, `${name}.json`), "utf8"));
const template = (name: string) => ChatTemplate.fromConfig(config(name), { configFile: `${FIX}/${name}.json` });
const user = (content: string): ChatMessage => ({ role: "user", content });
const system = (content: string): ChatMessage => ({ role: "system", content });
const assistant = (content: string): ChatMessage => ({ role: "assistant", content });

/** The TokenizerFileError message a call throws. */
function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TokenizerFileError);
    return (e as Error).message;
  }
  throw new Error("expected a TokenizerFileError");
}

describe("Llama-3 template", () => {
  const t = template("llama3");
  it("bos_token once, each turn's content trimmed, the assistant header opened", () => {
    expect(t.render([system("You are terse."), user("  What is 2+2? \n")])).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });
  it("without the generation prompt, the conversation ends at the last turn", () => {
    expect(t.render([user("Hi"), assistant("Hello."), user("Bye")], { addGenerationPrompt: false })).toBe(
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>",
    );
  });
});

describe("ChatML templates (Qwen2, Qwen2.5)", () => {
  it("Qwen2: the default system turn when the conversation has none; content as written", () => {
    expect(template("qwen2").render([user(" Hi ")])).toBe("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n Hi <|im_end|>\n<|im_start|>assistant\n");
    expect(template("qwen2").render([system("Be brief."), user("Hi")])).toBe("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  });
  it("Qwen2.5 (whitespace control, no tools): its own default system turn; a given system turn printed once", () => {
    const t = template("qwen2.5");
    expect(t.render([user("Hi")])).toBe("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    expect(t.render([system("Be brief."), user("Hi"), assistant("Hello!"), user("Bye")])).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
    );
  });
});

describe("Gemma template", () => {
  const t = template("gemma");
  it("bos_token from an AddedToken object, `model` for the assistant, content trimmed", () => {
    expect(t.render([user(" Hi "), assistant("Hello"), user("Bye")])).toBe(
      "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n",
    );
  });
  it("raise_exception in the template is one line naming the file", () => {
    expect(failure(() => t.render([system("x"), user("Hi")]))).toBe(`${FIX}/gemma.json: chat template failed to render: System role not supported`);
    expect(failure(() => t.render([user("a"), user("b")]))).toMatch(/gemma\.json: chat template failed to render: Conversation roles must alternate/);
  });
});

describe("where the template comes from", () => {
  const named = (list: unknown) => ({ bos_token: "<s>", chat_template: list });
  it("a list of named templates: the default one", () => {
    const t = ChatTemplate.fromConfig(named([{ name: "tool_use", template: "TOOLS" }, { name: "default", template: "{{ bos_token }}{{ messages[0].content }}" }]), { configFile: "c.json" });
    expect(t.render([user("x")])).toBe("<s>x");
  });
  it("refusals name the file: no template, a list without default, a bad list, a template that does not parse", () => {
    expect(failure(() => ChatTemplate.fromConfig({ bos_token: "<s>" }, { configFile: "d/tokenizer_config.json" }))).toBe("d/tokenizer_config.json: has no chat_template, so the model has no chat format; use --prompt");
    expect(failure(() => ChatTemplate.fromConfig(named([{ name: "tool_use", template: "x" }]), { configFile: "c.json" }))).toBe('c.json: chat_template lists "tool_use" but no "default"');
    expect(failure(() => ChatTemplate.fromConfig(named([{ name: "default" }]), { configFile: "c.json" }))).toMatch(/^c\.json: chat_template is a list whose entries/);
    expect(failure(() => ChatTemplate.fromConfig(named(7), { configFile: "c.json" }))).toMatch(/^c\.json: chat_template is neither a string nor a list/);
    expect(failure(() => ChatTemplate.fromConfig(named("{% for m in messages %}{{ m.content }}"), { configFile: "c.json" }))).toMatch(/^c\.json: chat template does not parse: /);
  });
  it("chat_template.jinja beside tokenizer_config.json wins, as in transformers", async () => {
    const d = join(tmp, "jinja");
    mkdirSync(d);
    writeFileSync(join(d, "tokenizer_config.json"), JSON.stringify({ bos_token: "<s>", chat_template: "from the config" }));
    writeFileSync(join(d, "chat_template.jinja"), "{{ bos_token }}[{{ messages[0].role }}] {{ messages[0].content }}{% if add_generation_prompt %} →{% endif %}");
    expect((await loadChatTemplate(d)).render([user("hi")])).toBe("<s>[user] hi →");
  });
});

describe("run --chat", () => {
  // The gpt2 fixture (byte-level tokenizer.json, random weights, a 64-token context) with a short
  // template of its own added.
  const dir = join(tmp, "gpt2-chat");
  mkdirSync(dir);
  for (const f of readdirSync("test/fixtures/hf/gpt2")) copyFileSync(join("test/fixtures/hf/gpt2", f), join(dir, f));
  const tc = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ ...tc, chat_template: "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}\n{% endfor %}{% if add_generation_prompt %}<a>{% endif %}" }));

  it("generates from the rendered prompt and prints the reply alone", async () => {
    const rendered = "<system>Be brief.\n<user>the cat\n<a>";
    const chat = await cli("run", dir, "--chat", " the cat ", "--system", "Be brief.", "--max-tokens", "6");
    expect(chat.stderr).toMatch(/^stopped: /);
    expect(chat.code).toBe(0);
    // The same ids as the rendered text given as a prompt (GPT-2's tokenizer adds no sequence tokens), which echoes it.
    const prompt = await cli("run", dir, "--prompt", rendered, "--max-tokens", "6");
    expect(prompt.code).toBe(0);
    expect(prompt.stdout.startsWith(rendered)).toBe(true);
    expect(chat.stdout).toBe(prompt.stdout.slice(rendered.length));
  });

  it("a spec with --weights DIR takes the directory's tokenizer and template too", async () => {
    const spec = join(tmp, "gpt2.sf");
    expect((await cli("import", dir, "--out", spec)).code).toBe(0);
    for (const args of [["--chat", "the cat"], ["--prompt", "the cat"]]) {
      const own = await cli("run", spec, "--weights", dir, ...args, "--max-tokens", "5");
      expect(own.code).toBe(0);
      expect(own.stdout).toBe((await cli("run", dir, ...args, "--max-tokens", "5")).stdout);
    }
  });

  it("a directory without a template, a template that fails: one line naming the file, exit 1", async () => {
    const none = await cli("run", "test/fixtures/hf/gpt2", "--chat", "hi");
    expect(none).toMatchObject({ code: 1, stdout: "" });
    expect(none.stderr).toBe("specformer: test/fixtures/hf/gpt2/tokenizer_config.json: has no chat_template, so the model has no chat format; use --prompt\n");
    const gemma = join(tmp, "gpt2-gemma");
    mkdirSync(gemma);
    for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(gemma, f));
    writeFileSync(join(gemma, "tokenizer_config.json"), JSON.stringify({ ...tc, chat_template: config("gemma").chat_template }));
    const bad = await cli("run", gemma, "--chat", "hi", "--system", "no");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`specformer: ${join(gemma, "tokenizer_config.json")}: chat template failed to render: System role not supported\n`);
  });

  it("usage: --system without --chat, --chat with --prompt, --chat on a spec without a directory (exit 2)", async () => {
    expect((await cli("run", dir, "--prompt", "x", "--system", "y")).stderr).toBe("specformer: --system goes with --chat (a system message before the user's)\n");
    expect((await cli("run", dir, "--prompt", "x", "--chat", "y")).code).toBe(2);
    const spec = await cli("run", "specs/demo-fortune.sf", "--weights", "models/demo-fortune.safetensors", "--chat", "hi");
    expect(spec.code).toBe(2);
    expect(spec.stderr).toMatch(/^specformer: --chat needs a Hugging Face checkpoint directory/);
  });
});
