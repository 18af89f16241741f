// A generated package as a user installs it: a WebGPU package declares Dawn's `webgpu` as an
// optional peer, which the user installs next to it; here the project's copy is linked in.
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";

export function installPeers(dir: string): void {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { peerDependencies?: Record<string, string> };
  for (const name of Object.keys(pkg.peerDependencies ?? {})) {
    mkdirSync(join(dir, "node_modules"), { recursive: true });
    symlinkSync(resolve("node_modules", name), join(dir, "node_modules", name), "dir");
  }
}
