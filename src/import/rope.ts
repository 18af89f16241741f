/**
 * The RoPE keys of a config.json → `position rope(base = …, fraction = …, scaling = …)`.
 *
 *   rope_theta (or rope_parameters.rope_theta, newer transformers; a family may name its own key,
 *   GPT-NeoX's rotary_emb_base)                    → base
 *   rope_scaling / rope_parameters with rope_type  → scaling:
 *     default (or null)                               none
 *     linear {factor}                                 linear(factor = F): positions / factor
 *     llama3 {factor, low_freq_factor, high_freq_factor, original_max_position_embeddings}
 *                                                     llama3(...), Llama-3.1 / 3.2's rule
 *     anything else (dynamic, yarn, longrope, su, …)  refused by name: a different frequency rule
 *   a partial rotary fraction the family computes   → fraction (omitted at 1)
 */
import { isObject, type Config, type Json } from "./config.ts";
import { num } from "./spec-text.ts";

export interface RopeText {
  /** The statement, e.g. `position rope(base = 500000, scaling = llama3(…))`. */
  code: string;
  /** Where each argument came from. */
  comment: string;
}

/** Keys a scaling object may carry for each supported rope_type (besides rope_type / type). */
const SCALING_KEYS: Record<string, readonly string[]> = {
  linear: ["factor"],
  llama3: ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
};

const WHY_REFUSED: Record<string, string> = {
  dynamic: "dynamic NTK scaling changes the frequencies with the sequence length",
  yarn: "YaRN blends interpolated and extrapolated frequencies and scales the attention temperature",
  longrope: "longrope (Phi-3's su scaling) uses per-frequency short and long factors chosen by the sequence length",
  su: "su scaling (Phi-3's longrope) uses per-frequency short and long factors chosen by the sequence length",
  mrope: "multimodal RoPE splits each head into position sections",
};

/** The `scaling = …` text for a rope_scaling / rope_parameters object, or undefined for none. */
function scalingText(c: Config, key: string, o: Json): string | undefined {
  const kind = o.rope_type ?? o.type ?? "default";
  if (typeof kind !== "string") c.refuse(key, "rope_type must be a string");
  const allowed = kind === "default" ? [] : SCALING_KEYS[kind];
  if (!allowed) {
    const why = WHY_REFUSED[kind] ?? "a RoPE frequency rule the language does not have";
    c.refuse(key, `RoPE scaling of type ${kind}: ${why}; the language has linear and llama3 scaling only, and importing it unscaled would be a different model`);
  }
  const extra = key === "rope_parameters" ? ["rope_theta", "partial_rotary_factor"] : [];
  for (const k of Object.keys(o)) {
    if (k === "rope_type" || k === "type" || allowed.includes(k) || extra.includes(k)) continue;
    c.refuse(key, `its key "${k}" is not one specformer imports for rope_type ${kind}`);
  }
  if (kind === "default") return undefined;
  const positive = (k: string): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isFinite(v) || !(v > 0)) c.refuse(key, `${k} must be a number above 0 (rope_type ${kind})`);
    return v;
  };
  const factor = positive("factor");
  if (kind === "linear") return `linear(factor = ${num(factor)})`;
  const low = positive("low_freq_factor");
  const high = positive("high_freq_factor");
  if (!(high > low)) c.refuse(key, `high_freq_factor must exceed low_freq_factor (the llama3 rule blends between them)`);
  const original = o.original_max_position_embeddings;
  if (typeof original !== "number" || !Number.isSafeInteger(original) || original < 1) c.refuse(key, "original_max_position_embeddings must be a positive integer (rope_type llama3)");
  return `llama3(factor = ${num(factor)}, low_freq_factor = ${num(low)}, high_freq_factor = ${num(high)}, original_context = ${original})`;
}

export interface RopeOptions {
  /** The family's key for the base instead of rope_theta (GPT-NeoX: rotary_emb_base). */
  baseKey?: string;
  /** transformers' default base where no key sets it. */
  defaultBase?: number;
  /** The rotated fraction of each head and the keys it came from; absent: 1, and partial_rotary_factor must be 1. */
  fraction?: { value: number; comment: string };
}

/** The `position rope(...)` statement of a config. */
export function ropeText(c: Config, opts: RopeOptions = {}): RopeText {
  const notes: string[] = [];
  let scaling: string | undefined;
  const rs = c.value("rope_scaling");
  if (rs !== undefined && rs !== null) {
    if (!isObject(rs)) c.refuse("rope_scaling", "must be an object or null");
    scaling = scalingText(c, "rope_scaling", rs);
    if (scaling) notes.push(`rope_scaling ${String(rs.rope_type ?? rs.type)}`);
  }
  let fromParams: number | undefined;
  const params = c.value("rope_parameters");
  if (params !== undefined && params !== null) {
    if (!isObject(params)) c.refuse("rope_parameters", "must be an object");
    const s = scalingText(c, "rope_parameters", params);
    if (s && scaling && s !== scaling) c.refuse("rope_parameters", "disagrees with rope_scaling");
    if (s) notes.push(`rope_parameters ${String(params.rope_type ?? params.type)}`);
    scaling ??= s;
    if (params.rope_theta !== undefined) {
      if (typeof params.rope_theta !== "number" || !(params.rope_theta > 1)) c.refuse("rope_parameters", "rope_theta must be a number above 1");
      fromParams = params.rope_theta;
    }
    const prf = params.partial_rotary_factor;
    if (prf !== undefined && prf !== (opts.fraction?.value ?? 1)) c.refuse("rope_parameters", `partial_rotary_factor ${String(prf)} is not the ${opts.fraction ? "fraction the config's other keys give" : "1 this family rotates"}`);
  }
  if (!opts.fraction) c.only("partial_rotary_factor", (v) => v === 1, "partial rotary embeddings are not imported for this family (it rotates every channel of a head)");
  const baseKey = opts.baseKey ?? "rope_theta";
  const base = c.num(baseKey, fromParams ?? opts.defaultBase ?? 10000);
  if (fromParams !== undefined && c.has(baseKey) && base !== fromParams) c.refuse(baseKey, `disagrees with rope_parameters.rope_theta = ${fromParams}`);
  if (!(base > 1)) c.refuse(baseKey, "must be above 1");
  const args = [`base = ${num(base)}`];
  notes.unshift(c.has(baseKey) ? baseKey : fromParams !== undefined ? "rope_parameters.rope_theta" : `${baseKey} (absent: ${num(base)})`);
  if (opts.fraction && opts.fraction.value !== 1) {
    args.push(`fraction = ${num(opts.fraction.value)}`);
    notes.push(opts.fraction.comment);
  }
  if (scaling) args.push(`scaling = ${scaling}`);
  return { code: `position rope(${args.join(", ")})`, comment: `${notes.join("; ")}; rotate-half RoPE` };
}
