// The one list of targets: read by the CLI's choices, the manifest type, the runtime bundler
// and the generated declarations. Each has a backend in the registry beside the backends.

export const TARGETS = ["reference", "wasm", "webgpu"] as const;
export type Target = (typeof TARGETS)[number];

export function isTarget(s: string): s is Target {
  return (TARGETS as readonly string[]).includes(s);
}
