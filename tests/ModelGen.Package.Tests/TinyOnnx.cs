// Licensed under the MIT license.
// Writes tiny ONNX models in the protobuf wire format, so the package tests need neither Python nor committed .onnx files.

using System.Text;

namespace ModelGen.Package.Tests;

public static class TinyOnnx
{
    private const int FloatElementType = 1; // TensorProto.DataType.FLOAT

    /// <summary>A model with one node: float input X [shape] -> <paramref name="opType"/> -> float output Y [shape],
    /// default (ai.onnx) domain at <paramref name="opset"/>, no attributes.</summary>
    /// <remarks>The layout was checked with ONNX 1.12 (<c>onnx.checker.check_model(m, full_check=True)</c>) for Hardmax, opset 13;
    /// the tests use Trilu (opset 14), an operator image models do not use, as the unsupported one.</remarks>
    public static byte[] SingleNode(string opType, int[] shape, long opset = 13)
    {
        var node = new Message()
            .String(1, "X")                  // NodeProto.input
            .String(2, "Y")                  // NodeProto.output
            .String(3, opType.ToLowerInvariant() + "_0") // NodeProto.name
            .String(4, opType);              // NodeProto.op_type
        var graph = new Message()
            .Embedded(1, node)               // GraphProto.node
            .String(2, "single_" + opType)   // GraphProto.name
            .Embedded(11, ValueInfo("X", shape)) // GraphProto.input
            .Embedded(12, ValueInfo("Y", shape)); // GraphProto.output
        var opsetImport = new Message()
            .String(1, "")                   // OperatorSetIdProto.domain
            .Varint(2, opset);               // OperatorSetIdProto.version
        return new Message()
            .Varint(1, 8)                    // ModelProto.ir_version (IR 8 goes with opset 13..18)
            .String(2, "ModelGen.Package.Tests") // ModelProto.producer_name
            .Embedded(7, graph)              // ModelProto.graph
            .Embedded(8, opsetImport)        // ModelProto.opset_import
            .ToArray();
    }

    private static Message ValueInfo(string name, int[] shape)
    {
        var dims = new Message();
        foreach (int d in shape) dims.Embedded(1, new Message().Varint(1, d)); // TensorShapeProto.dim { dim_value }
        var tensorType = new Message()
            .Varint(1, FloatElementType)     // TypeProto.Tensor.elem_type
            .Embedded(2, dims);              // TypeProto.Tensor.shape
        return new Message()
            .String(1, name)                 // ValueInfoProto.name
            .Embedded(2, new Message().Embedded(1, tensorType)); // ValueInfoProto.type { TypeProto.tensor_type }
    }

    /// <summary>A protobuf message being written: fields in call order.</summary>
    private sealed class Message
    {
        private readonly MemoryStream _bytes = new();

        public Message Varint(int field, long value)
        {
            WriteVarint((ulong)(field << 3));           // wire type 0
            WriteVarint((ulong)value);
            return this;
        }

        public Message String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Message Embedded(int field, Message message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => _bytes.ToArray();

        private Message Bytes(int field, byte[] value)
        {
            WriteVarint((ulong)((field << 3) | 2));     // wire type 2: length-delimited
            WriteVarint((ulong)value.Length);
            _bytes.Write(value);
            return this;
        }

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _bytes.WriteByte((byte)value);
        }
    }
}
