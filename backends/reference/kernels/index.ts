// Reference kernel library: plain TypeScript over row-major Float32Array, the numerical oracle
// for the Wasm and WGSL backends.

export * from "./shape.ts";
export * from "./linear.ts";
export * from "./norm.ts";
export * from "./activation.ts";
export * from "./position.ts";
export * from "./attention.ts";
export * from "./linear-attention.ts";
