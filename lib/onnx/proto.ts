/**
 * The ONNX protobuf schema (onnx/onnx.proto, IR version 10) as a protobufjs JSON descriptor.
 * Field numbers follow onnx.proto exactly; the file is proto2, so repeated scalars are unpacked
 * unless onnx.proto marks them `[packed = true]` (only TensorProto's numeric data fields).
 * Field names are the camelCase forms protobufjs uses; the wire format only sees the numbers.
 */
import protobuf from 'protobufjs';

type FieldJson = { type: string; id: number; rule?: 'repeated'; options?: { packed: boolean } };

const f = (type: string, id: number): FieldJson => ({ type, id });
const rep = (type: string, id: number): FieldJson => ({ type, id, rule: 'repeated' });
/** Repeated scalar, unpacked (proto2 default). */
const repU = (type: string, id: number): FieldJson => ({ type, id, rule: 'repeated', options: { packed: false } });
/** Repeated scalar marked `[packed = true]` in onnx.proto. */
const repP = (type: string, id: number): FieldJson => ({ type, id, rule: 'repeated', options: { packed: true } });

export const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: f('string', 1), value: f('string', 2) } },
        OperatorSetIdProto: { fields: { domain: f('string', 1), version: f('int64', 2) } },
        TensorShapeProto: {
          fields: { dim: rep('Dimension', 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: f('int64', 1), dimParam: f('string', 2), denotation: f('string', 3) },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType', 'sequenceType', 'mapType', 'optionalType', 'sparseTensorType'] } },
          fields: {
            tensorType: f('Tensor', 1),
            sequenceType: f('Sequence', 4),
            mapType: f('Map', 5),
            optionalType: f('Optional', 9),
            sparseTensorType: f('SparseTensor', 8),
            denotation: f('string', 6),
          },
          nested: {
            Tensor: { fields: { elemType: f('int32', 1), shape: f('TensorShapeProto', 2) } },
            Sequence: { fields: { elemType: f('TypeProto', 1) } },
            Map: { fields: { keyType: f('int32', 1), valueType: f('TypeProto', 2) } },
            Optional: { fields: { elemType: f('TypeProto', 1) } },
            SparseTensor: { fields: { elemType: f('int32', 1), shape: f('TensorShapeProto', 2) } },
          },
        },
        ValueInfoProto: {
          fields: {
            name: f('string', 1),
            type: f('TypeProto', 2),
            docString: f('string', 3),
            metadataProps: rep('StringStringEntryProto', 4),
          },
        },
        TensorProto: {
          fields: {
            dims: repU('int64', 1),
            dataType: f('int32', 2),
            segment: f('Segment', 3),
            floatData: repP('float', 4),
            int32Data: repP('int32', 5),
            stringData: rep('bytes', 6),
            int64Data: repP('int64', 7),
            name: f('string', 8),
            docString: f('string', 12),
            rawData: f('bytes', 9),
            externalData: rep('StringStringEntryProto', 13),
            dataLocation: f('int32', 14),
            doubleData: repP('double', 10),
            uint64Data: repP('uint64', 11),
            metadataProps: rep('StringStringEntryProto', 16),
          },
          nested: { Segment: { fields: { begin: f('int64', 1), end: f('int64', 2) } } },
        },
        SparseTensorProto: {
          fields: { values: f('TensorProto', 1), indices: f('TensorProto', 2), dims: repU('int64', 3) },
        },
        AttributeProto: {
          fields: {
            name: f('string', 1),
            refAttrName: f('string', 21),
            docString: f('string', 13),
            type: f('int32', 20),
            f: f('float', 2),
            i: f('int64', 3),
            s: f('bytes', 4),
            t: f('TensorProto', 5),
            g: f('GraphProto', 6),
            sparseTensor: f('SparseTensorProto', 22),
            tp: f('TypeProto', 14),
            floats: repU('float', 7),
            ints: repU('int64', 8),
            strings: rep('bytes', 9),
            tensors: rep('TensorProto', 10),
            graphs: rep('GraphProto', 11),
            sparseTensors: rep('SparseTensorProto', 23),
            typeProtos: rep('TypeProto', 15),
          },
        },
        NodeProto: {
          fields: {
            input: rep('string', 1),
            output: rep('string', 2),
            name: f('string', 3),
            opType: f('string', 4),
            domain: f('string', 7),
            overload: f('string', 8),
            attribute: rep('AttributeProto', 5),
            docString: f('string', 6),
            metadataProps: rep('StringStringEntryProto', 9),
          },
        },
        TensorAnnotation: {
          fields: { tensorName: f('string', 1), quantParameterTensorNames: rep('StringStringEntryProto', 2) },
        },
        GraphProto: {
          fields: {
            node: rep('NodeProto', 1),
            name: f('string', 2),
            initializer: rep('TensorProto', 5),
            sparseInitializer: rep('SparseTensorProto', 15),
            docString: f('string', 10),
            input: rep('ValueInfoProto', 11),
            output: rep('ValueInfoProto', 12),
            valueInfo: rep('ValueInfoProto', 13),
            quantizationAnnotation: rep('TensorAnnotation', 14),
            metadataProps: rep('StringStringEntryProto', 16),
          },
        },
        FunctionProto: {
          fields: {
            name: f('string', 1),
            input: rep('string', 4),
            output: rep('string', 5),
            attribute: rep('string', 6),
            attributeProto: rep('AttributeProto', 11),
            node: rep('NodeProto', 7),
            docString: f('string', 8),
            opsetImport: rep('OperatorSetIdProto', 9),
            domain: f('string', 10),
            overload: f('string', 13),
            valueInfo: rep('ValueInfoProto', 12),
            metadataProps: rep('StringStringEntryProto', 14),
          },
        },
        TrainingInfoProto: {
          fields: {
            initialization: f('GraphProto', 1),
            algorithm: f('GraphProto', 2),
            initializationBinding: rep('StringStringEntryProto', 3),
            updateBinding: rep('StringStringEntryProto', 4),
          },
        },
        ModelProto: {
          fields: {
            irVersion: f('int64', 1),
            opsetImport: rep('OperatorSetIdProto', 8),
            producerName: f('string', 2),
            producerVersion: f('string', 3),
            domain: f('string', 4),
            modelVersion: f('int64', 5),
            docString: f('string', 6),
            graph: f('GraphProto', 7),
            metadataProps: rep('StringStringEntryProto', 14),
            trainingInfo: rep('TrainingInfoProto', 20),
            functions: rep('FunctionProto', 25),
          },
        },
      },
    },
  },
};

let root: protobuf.Root | undefined;

/** onnx.proto is proto2: every message needs explicit field presence (an explicit 0 or '' is kept). */
function markProto2(ns: Record<string, unknown>): void {
  const nested = ns.nested as Record<string, Record<string, unknown>> | undefined;
  for (const child of Object.values(nested ?? {})) {
    if (child.fields) child.edition = 'proto2';
    markProto2(child);
  }
}

export function onnxRoot(): protobuf.Root {
  if (!root) {
    const json = structuredClone(ONNX_SCHEMA) as Record<string, unknown>;
    markProto2(json);
    root = protobuf.Root.fromJSON(json as protobuf.INamespace);
  }
  return root;
}

export function onnxType(name: string): protobuf.Type {
  return onnxRoot().lookupType(`onnx.${name}`);
}
