/**
 * gguf.js of a generated module: a GGUF file (llama.cpp's format) as the package's weights, and
 * the tokenizer its metadata carries. Bundled apart from runtime.js (it brings @huggingface/gguf
 * and the tokenizers) and imported only when load() is given a GGUF file. The tensors are read
 * as the CLI reads them (src/runtime/gguf/llama-gguf.ts): llama.cpp's names mapped to the model's,
 * Q4_0 / Q8_0 / F16 blocks kept, other types decoded and stored as the package's build plans.
 */
import type { Graph } from "../../ir/ir.ts";
import type { ModelInfo } from "../../model/model.ts";
import { WeightsError } from "../../runtime/dtype.ts";
import { ggufTokenizer } from "../../runtime/gguf/gguf-tokenizer.ts";
import { ggufNatives } from "../../runtime/gguf/llama-gguf.ts";
import { ggufNativeFile } from "../../runtime/gguf/native-file.ts";
import { readGguf, type GgufFile } from "../../runtime/gguf/read-gguf.ts";
import type { SafetensorsFile } from "../../runtime/safetensors.ts";
import { HfTokenizer } from "../../runtime/tokenizers/hf.ts";
import { bindTokenizer, vocabProblem } from "../../runtime/tokenizers/model-tokenizer.ts";
import type { StorageDType } from "../../runtime/weights/format.ts";
import { textTokenizer, type Tokenizer } from "./tokenizer-api.ts";

export interface GgufWeights {
  /** The file's tensors in the model's native names, as a low-bit safetensors file reads. */
  file: SafetensorsFile;
  /** The tokenizer of its metadata, bound to the model; undefined when the file carries none. */
  tokenizer: Tokenizer | undefined;
}

/** `bytes` (a whole GGUF file) for model `model` running `graph`, K-quants stored as `dtype` (the package's build) or q8. */
export async function openGgufWeights(bytes: Uint8Array, model: ModelInfo, graph: Graph, dtype: StorageDType | undefined, where: string): Promise<GgufWeights> {
  const f = await readGguf(bytes, where);
  return { file: ggufNativeFile(ggufNatives(f, model, graph, dtype ? { dtype } : {}), "gguf"), tokenizer: fileTokenizer(f, model, where) };
}

function fileTokenizer(f: GgufFile, model: ModelInfo, where: string): Tokenizer | undefined {
  if (f.metadata["tokenizer.ggml.model"] === undefined) return undefined;
  const tok = ggufTokenizer(f.metadata, where);
  const bound = { name: model.name, vocab: model.head.vocab };
  if (tok instanceof HfTokenizer) return textTokenizer(bindTokenizer(tok, bound, where));
  const problem = vocabProblem(tok.vocab, bound);
  if (problem !== undefined) throw new WeightsError(`${where}: ${problem}`);
  // SentencePiece: control pieces are never text, so decoding drops them either way.
  return textTokenizer({ kind: tok.kind, vocab: tok.vocab, stop: tok.stop, encode: (t) => tok.encode(t), encodePrompt: (t) => tok.encodePrompt(t), decode: (ids) => tok.decode(ids), decoder: () => tok.decoder() });
}
