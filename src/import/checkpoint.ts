/**
 * (Node) Importing a checkpoint on disk: `DIR` or `DIR/config.json` → the spec text, with the
 * directory and the name map its weights need. The model is named after the directory
 * (`SmolLM-135M/` → `smollm_135m`).
 */
import { basename, resolve } from "node:path";
import { readCheckpointConfig } from "../runtime/checkpoint-dir.ts";
import { importConfig, parseConfig, type ImportResult } from "./index.ts";

export interface CheckpointImport extends ImportResult {
  /** The checkpoint directory. */
  dir: string;
  /** Its config.json. */
  config: string;
}

export async function importCheckpoint(path: string): Promise<CheckpointImport> {
  const { dir, config, text } = await readCheckpointConfig(path);
  const c = parseConfig(text, config);
  return { ...importConfig(c, { source: config, name: basename(resolve(dir)) }), dir, config };
}
