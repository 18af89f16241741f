// Bundles each target's runtime into dist/runtime/<target>.js: the one file a generated
// module imports. Runs after tsc in `npm run build` (and so on `npm ci`). esbuild keeps it
// to one self-contained ES module with no dependency on the compiler or node_modules.
import { build } from "esbuild";
import { existsSync } from "node:fs";

// A generated module ships its compiled binaries, so the Wasm compiler (binaryen, 100 MB)
// must not be bundled: the loader's lazy `import("./compile.ts")` and the training kernels'
// compile-on-first-use (train/compile-kernels.ts, which train.js never calls: it loads the
// package's train.wasm) resolve to stubs.
const STUBS = {
  "compile.ts": {
    message: "this generated module has no build for that Wasm flavour; rebuild it with specformer",
    exports: ["assemble", "compileVariant", "compileWasm"],
  },
  "compile-kernels.ts": {
    message: "this generated module compiles no Wasm training kernels: it loads the package's train.wasm",
    exports: ["compileKernel", "compileTrainModules"],
  },
};
const noCompiler = {
  name: "no-compiler",
  setup(b) {
    b.onResolve({ filter: /\/compile(-kernels)?\.ts$/ }, (args) =>
      args.importer.includes("backends/wasm") ? { path: args.path.slice(args.path.lastIndexOf("/") + 1), namespace: "stub" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "stub" }, (args) => {
      const stub = STUBS[args.path];
      return {
        contents: `const fail = () => { throw new Error(${JSON.stringify(stub.message)}); }; ${stub.exports.map((e) => `export const ${e} = fail;`).join(" ")}`,
        loader: "js",
      };
    });
  },
};

// The one list of targets (src/runtime/targets.ts), as tsc just compiled it.
const { TARGETS } = await import("../dist/src/runtime/targets.js");
const missing = TARGETS.filter((t) => !existsSync(`src/emit/runtime/${t}.ts`));
if (missing.length) throw new Error(`no runtime entry src/emit/runtime/<target>.ts for: ${missing.join(", ")}`);
const targets = TARGETS;
// tokenizer.js: Hugging Face tokenizers, a bundle of its own that runtime.js imports only when a
// model has such a tokenizer (README "Generated modules" gives both sizes).
// train.js: fine-tuning (src/train), likewise a bundle of its own that index.js imports only
// when trainer() is called.
// gguf.js: GGUF files as weights (@huggingface/gguf and the tokenizers a GGUF file carries),
// imported only when load() is given one.
for (const t of [...targets, "tokenizer", "train", "gguf"]) {
  await build({
    entryPoints: [`src/emit/runtime/${t}.ts`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile: `dist/runtime/${t}.js`,
    // Node built-ins are imported lazily, only when a path or file: URL is given.
    external: ["node:*", "webgpu"],
    legalComments: "none",
    plugins: [noCompiler],
    // @huggingface/gguf's Node build imports fs for local paths, which gguf.js never opens (it
    // parses bytes it is handed): its browser build, the same parser, is bundled instead; and of
    // @huggingface/tasks (300 KB) it needs only the GGUF enums of the package's gguf module.
    ...(t === "gguf"
      ? { alias: { "@huggingface/gguf": "./node_modules/@huggingface/gguf/dist/browser/index.mjs", "@huggingface/tasks": "./node_modules/@huggingface/tasks/dist/esm/gguf.js" } }
      : {}),
    logLevel: "warning",
  });
}
console.log(`bundled runtimes: ${targets.join(", ")}; tokenizer; train`);
