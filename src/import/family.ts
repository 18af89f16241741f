/** What a family importer returns, and the pieces every family shares. */
import type { MapName } from "../runtime/name-maps.ts";
import type { Config } from "./config.ts";
import type { RopeText } from "./rope.ts";
import type { SpecWriter } from "./spec-text.ts";
import { num } from "./spec-text.ts";

export interface FamilyImport {
  /** The transformers class whose weights the spec describes, e.g. LlamaForCausalLM. */
  architecture: string;
  /** The name map that reads the checkpoint's tensor names (src/runtime/name-maps.ts). */
  map: MapName;
  /** Writes the model's body (everything between `model NAME {` and `}`). */
  body: (w: SpecWriter) => void;
  /** Lines for the header comment: what the family is, what was read from where. */
  about: string[];
}

export type FamilyImporter = (c: Config) => FamilyImport;

/** The text of `dims { … }` entries: name = value, commented with the config key. */
export function dims(w: SpecWriter, entries: [name: string, value: number, comment: string][]): void {
  w.open("dims");
  entries.forEach(([name, value, comment]) => w.line(`${name} = ${num(value)},`, comment));
  w.close();
}

/**
 * An activation name of transformers' ACT2FN, as the language spells it, or undefined where the
 * language has no exact counterpart.
 */
export function activation(name: string): "relu" | "gelu" | "gelu_tanh" | "silu" | undefined {
  switch (name) {
    case "relu":
      return "relu";
    case "gelu":
      return "gelu"; // exact, erf-based (transformers' GELUActivation)
    case "gelu_new":
    case "gelu_pytorch_tanh":
      return "gelu_tanh"; // the tanh approximation (NewGELUActivation, PytorchGELUTanh)
    case "silu":
    case "swish":
      return "silu";
    default:
      return undefined;
  }
}

/**
 * The gated MLP of an ACT2FN name, act(gate(x)) · up(x), as the language spells it, or undefined
 * where the language has no such gate.
 */
export function gatedActivation(name: string): "swiglu" | "geglu" | "geglu_tanh" | undefined {
  switch (activation(name)) {
    case "silu":
      return "swiglu";
    case "gelu":
      return "geglu";
    case "gelu_tanh":
      return "geglu_tanh";
    default:
      return undefined;
  }
}

export interface DecoderPreamble {
  /** The dims before window and context, each with its config key. */
  dims: [name: string, value: number, comment: string][];
  /** The sliding window dim, where some layer has one. */
  window?: [value: number, comment: string];
  context: number;
  /** The embed statement and the tensor it reads. */
  embed: [code: string, comment: string];
  rope: RopeText;
}

/** A decoder spec up to its stack: dims (window and context last), input_ids, the embedding, RoPE. */
export function decoderPreamble(w: SpecWriter, p: DecoderPreamble): void {
  dims(w, [...p.dims, ...(p.window ? [["window", ...p.window] as [string, number, string]] : []), ["context", p.context, "max_position_embeddings"]]);
  w.line("input tokens: int[batch, seq] where seq <= context", "input_ids");
  w.blank();
  w.line(...p.embed);
  w.line(p.rope.code, p.rope.comment);
  w.blank();
}
