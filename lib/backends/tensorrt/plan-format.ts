/**
 * Recognising a serialized TensorRT engine (plan) for loadEngine's backend 'auto'. Conservative: a plan is claimed
 * only when its first four bytes are TensorRT's serialization tag ('ftrt' or 'ptrt' as ASCII) and the bytes cannot
 * be an ONNX ModelProto. Anything else is left to other backends; `backend: 'tensorrt'` still loads it and
 * TensorRT's own message explains a rejection.
 */
const PLAN_TAGS = ['ftrt', 'ptrt'];

export function looksLikeOnnx(bytes: Uint8Array): boolean {
  // A ModelProto starts with field 1 (ir_version, varint: 0x08) in every exporter we know of.
  return bytes.byteLength > 2 && bytes[0] === 0x08 && bytes[1]! > 0 && bytes[1]! < 0x20;
}

export function recognisesPlan(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 32 || looksLikeOnnx(bytes)) return false;
  const tag = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  return PLAN_TAGS.includes(tag);
}
