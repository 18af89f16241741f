// The run-time value every layer above the kernels passes around: validated inputs, the
// reference backend's intermediate values. Row-major; run-time dims already resolved.

export type TensorData = Float32Array | Int32Array | Uint8Array;

export interface Tensor {
  data: TensorData;
  shape: number[];
}

/** Columns [from, from + len) of a [batch, n, …] tensor: one chunk of a step's new positions. */
export function sliceSeq(t: Tensor, batch: number, n: number, from: number, len: number): Tensor {
  const per = t.data.length / (batch * n);
  const rows = (b: number) => t.data.subarray((b * n + from) * per, (b * n + from + len) * per);
  let data: TensorData = rows(0);
  if (batch > 1) {
    data = new (t.data.constructor as new (size: number) => TensorData)(batch * len * per);
    for (let b = 0; b < batch; b++) (data as Float32Array).set(rows(b), b * len * per);
  }
  return { data, shape: [batch, len, ...t.shape.slice(2)] };
}
