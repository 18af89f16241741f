// Vector–Jacobian kernels of the reference backend, with the float64 forward halves the
// training tape runs (src/train/engine.ts calls them; src/train/autodiff.ts decides the order).
// Compiled backends (wasm, webgpu) have no backward kernels yet.

export * from "./dense.ts";
export * from "./attention.ts";
export * from "./linear-attention.ts";
export * from "./ssm.ts";
