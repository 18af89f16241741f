/**
 * Where a generated module's weights come from: bytes already in memory, a file path
 * (Node), or a URL (fetch in browsers; file: URLs read from disk in Node). Browser-safe:
 * Node modules are imported only when a path or file: URL is given.
 */
export type WeightsSource = Uint8Array | ArrayBuffer | string | URL;

export interface Progress {
  phase: "download" | "bind";
  loaded: number;
  total: number;
}

export async function readWeights(src: WeightsSource, onProgress?: (p: Progress) => void): Promise<Uint8Array> {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  const isUrl = src instanceof URL || /^(https?|file|blob|data):/.test(src);
  if (isUrl) {
    const url = src instanceof URL ? src : new URL(src);
    if (url.protocol === "file:" && typeof process !== "undefined" && process.versions?.node) {
      const { fileURLToPath } = await import("node:url");
      return readFileWithProgress(fileURLToPath(url), onProgress);
    }
    const res = await fetch(url);
    if (!res.ok || !res.body) throw new Error(`cannot fetch weights ${url.href}: HTTP ${res.status}`);
    const total = Number(res.headers.get("content-length") ?? 0);
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onProgress?.({ phase: "download", loaded, total: total || loaded });
    }
    return concat(chunks, loaded);
  }
  return readFileWithProgress(src, onProgress);
}

async function readFileWithProgress(path: string, onProgress?: (p: Progress) => void): Promise<Uint8Array> {
  const fs = await import("node:fs/promises");
  let handle;
  try {
    handle = await fs.open(path, "r");
  } catch (e) {
    throw new Error(`cannot read weights ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new Error(`cannot read weights ${path}: is a directory`);
    if (!st.isFile()) throw new Error(`cannot read weights ${path}: not a regular file`);
    const size = st.size;
    let out: Uint8Array;
    try {
      out = new Uint8Array(size);
    } catch {
      throw new Error(`cannot read weights ${path}: ${(size / 2 ** 30).toFixed(1)} GiB is more than this runtime can hold in memory`);
    }
    const chunk = 8 << 20;
    let at = 0;
    while (at < size) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(out, at, Math.min(chunk, size - at), at));
      } catch (e) {
        throw new Error(`cannot read weights ${path}: ${(e as Error).message}`);
      }
      if (bytesRead === 0) break;
      at += bytesRead;
      onProgress?.({ phase: "download", loaded: at, total: size });
    }
    // A file that shrank while being read: what was read, not zeros standing in for the rest.
    return at < size ? out.subarray(0, at) : out;
  } finally {
    await handle.close();
  }
}

/** The chunks of a stream as one array of `length` bytes. */
export function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
