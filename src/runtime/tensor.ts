// The run-time value every layer above the kernels passes around: validated inputs, the
// reference backend's intermediate values. Row-major; run-time dims already resolved.

export type TensorData = Float32Array | Int32Array | Uint8Array;

export interface Tensor {
  data: TensorData;
  shape: number[];
}
