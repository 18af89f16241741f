/**
 * A llama GGUF file seen as a specformer low-bit safetensors file in a model's native names
 * (weights/file.ts's layout: W, W.scales, `specformer.dtype.W`), so the ordinary binding reads
 * and checks it. Each tensor is converted only when the binding reads it, and only the tensor
 * being read is held converted: a model is never in memory twice besides the file's bytes.
 */
import { WeightsError } from "../dtype.ts";
import type { SafetensorsFile, TensorInfo } from "../safetensors.ts";
import { META_BLOCK, META_DTYPE, META_VERSION, QUANT_VERSION, SCALES, storedTensors } from "../weights/file.ts";
import { BLOCK, blocksOf, type StoredWeight } from "../weights/format.ts";
import type { GgufNative } from "./llama-gguf.ts";

const bytesOfView = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function ggufNativeFile(natives: readonly GgufNative[], source: string): SafetensorsFile {
  const tensors = new Map<string, TensorInfo>();
  const owner = new Map<string, GgufNative>();
  const metadata: Record<string, string> = { [META_VERSION]: QUANT_VERSION, [META_BLOCK]: String(BLOCK), "specformer.source": source };
  const info = (name: string, dtype: TensorInfo["dtype"], shape: number[], n: GgufNative) => {
    tensors.set(name, { name, dtype, shape, begin: 0, end: 0 });
    owner.set(name, n);
  };
  for (const n of natives) {
    if (n.storage === "f32") info(n.name, "F32", n.shape, n);
    else if (n.storage === "f16") info(n.name, "F16", n.shape, n);
    else {
      const [N, K] = n.shape;
      const nb = blocksOf(K);
      info(n.name, n.storage === "q8" ? "I8" : "U8", [N, n.storage === "q8" ? nb * BLOCK : (nb * BLOCK) / 2], n);
      info(`${n.name}${SCALES}`, "F16", [N, nb], n);
    }
    if (n.storage !== "f32") metadata[`${META_DTYPE}${n.name}`] = n.storage;
  }
  // The one native tensor made last, shared by its parts (codes, then scales, or the other way).
  let made: { name: string; w: StoredWeight } | undefined;
  const weight = (part: string): StoredWeight => {
    const n = owner.get(part);
    if (!n) throw new WeightsError("missing", part, `missing tensor ${JSON.stringify(part)} in the GGUF file's native view`);
    if (made?.name !== n.name) made = { name: n.name, w: n.make() };
    return made.w;
  };
  const raw = (name: string): Uint8Array => {
    const w = weight(name);
    if (w instanceof Float32Array) return bytesOfView(w);
    const part = storedTensors(owner.get(name)!.name, w).find((t) => t.name === name)!;
    return bytesOfView(part.data);
  };
  const unsupported = (what: string) => () => {
    throw new Error(`the GGUF native view has no ${what} tensors`);
  };
  return {
    tensors,
    metadata,
    dataOffset: 0,
    get: (name) => {
      const t = tensors.get(name);
      if (!t) throw new WeightsError("missing", name, `missing tensor ${JSON.stringify(name)}`);
      return t;
    },
    raw,
    f32: (name) => {
      const w = weight(name);
      if (!(w instanceof Float32Array)) throw new WeightsError(`is stored as ${w.dtype}, not F32`, name);
      return w;
    },
    i32: unsupported("integer"),
    i64: unsupported("integer"),
    u8: unsupported("byte"),
    bool: unsupported("bool"),
  };
}
