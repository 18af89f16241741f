/**
 * Where a checkpoint directory's files are read from: a folder (Node; `node:` modules imported
 * only then) or a base URL (fetch). Browser-safe. `checkpointFiles` tells whether a weights
 * source names a directory at all: a path or file: URL of a folder, or an http(s) URL ending in `/`.
 */
import { CheckpointError, type CheckpointFiles } from "./checkpoint-shards.ts";
import { concat, readWeights, type WeightsSource } from "./weights-source.ts";

const errno = (e: unknown) => (e as { code?: string }).code;
const ioWhy = (e: unknown) => (errno(e) === "ENOENT" ? "no such file or directory" : errno(e) === "EACCES" ? "permission denied" : (e as Error).message);
const inNode = () => typeof process !== "undefined" && process.versions?.node !== undefined;

/** A folder on disk. */
export async function folderFiles(dir: string): Promise<CheckpointFiles> {
  const [fs, path, { pathToFileURL }] = await Promise.all([import("node:fs/promises"), import("node:path"), import("node:url")]);
  const locate = (name: string) => path.join(dir, name);
  return {
    where: dir,
    url: pathToFileURL(path.resolve(dir) + path.sep).href,
    locate,
    async open(name) {
      const f = locate(name);
      let st;
      try {
        st = await fs.stat(f);
      } catch (e) {
        if (errno(e) === "ENOENT") return "missing";
        throw new CheckpointError(f, ioWhy(e), true);
      }
      if (st.isDirectory()) return "directory";
      return {
        size: st.size,
        read: async (onBytes) => {
          try {
            return await readWeights(f, onBytes ? (p) => onBytes(p.loaded) : undefined);
          } catch (e) {
            throw new CheckpointError(f, (e as Error).message.replace(/^cannot read weights [^:]*: /, ""), true);
          }
        },
      };
    },
    async text(name) {
      const f = locate(name);
      try {
        return await fs.readFile(f, "utf8");
      } catch (e) {
        if (errno(e) === "ENOENT") return undefined;
        throw new CheckpointError(f, ioWhy(e), true);
      }
    },
  };
}

/** A directory served over HTTP(S): `base` is its URL, ending in `/`. */
export function urlFiles(base: string, get: typeof fetch = (u) => fetch(u)): CheckpointFiles {
  const locate = (name: string) => new URL(name, base).href;
  const request = async (name: string) => {
    const url = locate(name);
    let r: Response;
    try {
      r = await get(url);
    } catch (e) {
      throw new CheckpointError(url, `cannot be fetched (${(e as Error).message})`, true);
    }
    if (r.status === 404) return undefined;
    if (!r.ok) throw new CheckpointError(url, `answered HTTP ${r.status}`, true);
    return r;
  };
  return {
    where: base,
    url: base,
    locate,
    async open(name) {
      const r = await request(name);
      if (r === undefined) return "missing";
      const length = Number(r.headers.get("content-length") ?? NaN);
      return { size: Number.isSafeInteger(length) ? length : undefined, read: (onBytes) => readBody(r, locate(name), onBytes) };
    },
    async text(name) {
      return (await request(name))?.text();
    },
  };
}

async function readBody(r: Response, url: string, onBytes?: (loaded: number) => void): Promise<Uint8Array> {
  if (!r.body) return new Uint8Array(await r.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = r.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onBytes?.(loaded);
    }
  } catch (e) {
    throw new CheckpointError(url, `download failed (${(e as Error).message})`, true);
  }
  return concat(chunks, loaded);
}

/**
 * The checkpoint directory a weights source names, or undefined where it names a file (or is
 * bytes): a path or file: URL of a folder (Node), or an http(s) / other URL ending in `/`.
 */
export async function checkpointFiles(src: WeightsSource): Promise<CheckpointFiles | undefined> {
  if (src instanceof Uint8Array || src instanceof ArrayBuffer) return undefined;
  const isUrl = src instanceof URL || /^(https?|file|blob|data):/.test(src);
  let path: string;
  if (isUrl) {
    const url = src instanceof URL ? src : new URL(src);
    if (url.protocol !== "file:" || !inNode()) return url.pathname.endsWith("/") ? urlFiles(url.href) : undefined;
    path = (await import("node:url")).fileURLToPath(url);
  } else {
    // In a page, a relative URL of a directory ("models/gpt2/") is one too.
    if (!inNode()) return src.endsWith("/") && typeof location !== "undefined" ? urlFiles(new URL(src, location.href).href) : undefined;
    path = src;
  }
  const { stat } = await import("node:fs/promises");
  const isDir = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return isDir ? folderFiles(path) : undefined;
}
