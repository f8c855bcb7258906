// Nodes per op type in a serialized ONNX model, read straight from the protobuf (ModelProto.graph = field 7,
// GraphProto.node = field 1, NodeProto.op_type = field 4): the graph's size without onnxruntime or an onnx package.
import { readFileSync } from 'node:fs';

/** Op type → number of nodes in the model's main graph (subgraphs are not descended into). */
export function onnxOpCounts(onnxPath: string): Map<string, number> {
  const model = readFileSync(onnxPath);
  const counts = new Map<string, number>();
  for (const graph of fields(model, 7)) {
    for (const node of fields(graph, 1)) {
      const opType = new TextDecoder().decode(fields(node, 4)[0] ?? new Uint8Array());
      counts.set(opType, (counts.get(opType) ?? 0) + 1);
    }
  }
  return counts;
}

/** The length-delimited values of field `wanted` in one message (other fields are skipped by wire type). */
function fields(msg: Uint8Array, wanted: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = msg[pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  while (pos < msg.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        varint();
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const len = varint();
        if (field === wanted) out.push(msg.subarray(pos, pos + len));
        pos += len;
        break;
      }
      default:
        throw new Error(`unsupported protobuf wire type ${key & 7}`);
    }
  }
  return out;
}
