/** Whether bytes start with GGUF's magic ("GGUF"): a dependency-free check the safetensors reader shares. */
export const isGguf = (bytes: Uint8Array): boolean => bytes.length >= 4 && bytes[0] === 0x47 && bytes[1] === 0x47 && bytes[2] === 0x55 && bytes[3] === 0x46;
