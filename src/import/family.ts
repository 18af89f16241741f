/** What a family importer returns, and the pieces every family shares. */
import type { MapName } from "../runtime/name-maps.ts";
import { isObject, type Config } from "./config.ts";
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

/**
 * The RoPE base of a config: `rope_theta`, or `rope_parameters.rope_theta` (newer transformers).
 * Scaled RoPE (`rope_scaling` / `rope_parameters` with a rope_type other than "default") and
 * partial rotary are refused: the language rotates every channel of a head at one base.
 */
export function ropeBase(c: Config): number {
  const scaling = c.value("rope_scaling");
  if (scaling !== undefined && scaling !== null) {
    const kind = isObject(scaling) ? (scaling.rope_type ?? scaling.type) : undefined;
    if (kind !== "default") {
      c.refuse(
        "rope_scaling",
        `RoPE scaling${typeof kind === "string" ? ` of type ${kind}` : ""} changes the rotary frequencies, and the language has no RoPE scaling yet (only rope(base, fraction)); importing it unscaled would be a different model`,
      );
    }
  }
  let fromParams: number | undefined;
  const params = c.value("rope_parameters");
  if (params !== undefined && params !== null) {
    if (!isObject(params)) c.refuse("rope_parameters", "must be an object");
    const kind = params.rope_type ?? params.type ?? "default";
    if (kind !== "default") c.refuse("rope_parameters", `rope_type ${String(kind)} changes the rotary frequencies, and the language has no RoPE scaling yet`);
    for (const k of Object.keys(params)) {
      if (k === "rope_type" || k === "type") continue;
      if (k === "rope_theta") {
        if (typeof params.rope_theta !== "number" || !(params.rope_theta > 1)) c.refuse("rope_parameters", "rope_theta must be a number above 1");
        fromParams = params.rope_theta;
        continue;
      }
      if (k === "partial_rotary_factor" && params[k] === 1) continue;
      c.refuse("rope_parameters", `its key "${k}" is not one specformer imports`);
    }
  }
  c.only("partial_rotary_factor", (v) => v === 1 || v === 1.0, "partial rotary embeddings are not imported for this family");
  const theta = c.num("rope_theta", fromParams ?? 10000);
  if (fromParams !== undefined && c.has("rope_theta") && theta !== fromParams) c.refuse("rope_theta", `disagrees with rope_parameters.rope_theta = ${fromParams}`);
  if (!(theta > 1)) c.refuse("rope_theta", "must be above 1");
  return theta;
}

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
