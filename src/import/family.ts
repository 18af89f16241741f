/** What a family importer returns, and the pieces every family shares. */
import type { MapName } from "../runtime/name-maps.ts";
import type { Config } from "./config.ts";
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
