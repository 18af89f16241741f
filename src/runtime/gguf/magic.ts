// Dependency-free GGUF tests, shared by the safetensors reader (which generated modules bundle),
// the GGUF reader and the CLI.

/** Whether bytes start with GGUF's magic ("GGUF"). */
export const isGguf = (bytes: Uint8Array): boolean => bytes.length >= 4 && bytes[0] === 0x47 && bytes[1] === 0x47 && bytes[2] === 0x55 && bytes[3] === 0x46;

/** A GGUF file named where a checkpoint may stand (`import`, `run`, `forward`, `build`): by its extension. */
export const isGgufPath = (path: string): boolean => /\.gguf$/i.test(path);

/** A metadata number (the parser gives u64 / i64 values as bigint), or undefined. */
export function metaNumber(meta: Record<string, unknown>, key: string): number | undefined {
  const v = meta[key];
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
}
