// Licensed under the MIT license.
// The parts of the ONNX protobuf schema (onnx/onnx.proto) that ModelGen reads, as plain classes.
// Field numbers follow onnx.proto; tensor payloads stay in the model buffer as (offset, length) slices.

using System.Collections.Generic;

namespace ModelGen.Generator.Onnx;

/// <summary>ONNX TensorProto.DataType values.</summary>
internal enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
    Float8E4M3FN = 17,
    Float8E4M3FNUZ = 18,
    Float8E5M2 = 19,
    Float8E5M2FNUZ = 20,
    UInt4 = 21,
    Int4 = 22,
    Float4E2M1 = 23,
}

internal sealed class OnnxModelProto
{
    public long IrVersion;
    public List<(string Domain, long Version)> OpsetImports = new();
    public string ProducerName = "";
    public string ProducerVersion = "";
    public OnnxGraphProto? Graph;
    public int FunctionCount;
}

internal sealed class OnnxGraphProto
{
    public string Name = "";
    public List<OnnxNodeProto> Nodes = new();
    public List<OnnxTensorProto> Initializers = new();
    public List<OnnxValueInfoProto> Inputs = new();
    public List<OnnxValueInfoProto> Outputs = new();
    public List<OnnxValueInfoProto> ValueInfos = new();
    public int SparseInitializerCount;
}

internal sealed class OnnxNodeProto
{
    public List<string> Inputs = new();
    public List<string> Outputs = new();
    public string Name = "";
    public string OpType = "";
    public string Domain = "";
    public List<OnnxAttributeProto> Attributes = new();
}

/// <summary>AttributeProto.AttributeType values.</summary>
internal enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensor = 11,
    SparseTensors = 12,
    TypeProto = 13,
    TypeProtos = 14,
}

internal sealed class OnnxAttributeProto
{
    public string Name = "";
    public string RefAttrName = "";
    public OnnxAttributeType Type;
    public float F;
    public long I;
    public byte[] S = System.Array.Empty<byte>();
    public OnnxTensorProto? T;
    public OnnxGraphProto? G;
    public List<float> Floats = new();
    public List<long> Ints = new();
    public List<byte[]> Strings = new();
    public List<OnnxTensorProto> Tensors = new();
    public List<OnnxGraphProto> Graphs = new();
    public bool HasSparse;
    public bool HasTypeProto;

    /// <summary>Older exporters leave <c>type</c> unset; infer it from which field was written.</summary>
    public OnnxAttributeType EffectiveType
    {
        get
        {
            if (Type != OnnxAttributeType.Undefined) return Type;
            if (T is not null) return OnnxAttributeType.Tensor;
            if (G is not null) return OnnxAttributeType.Graph;
            if (Floats.Count > 0) return OnnxAttributeType.Floats;
            if (Ints.Count > 0) return OnnxAttributeType.Ints;
            if (Strings.Count > 0) return OnnxAttributeType.Strings;
            if (Tensors.Count > 0) return OnnxAttributeType.Tensors;
            if (Graphs.Count > 0) return OnnxAttributeType.Graphs;
            if (S.Length > 0) return OnnxAttributeType.String;
            if (_hasF) return OnnxAttributeType.Float;
            if (_hasI) return OnnxAttributeType.Int;
            return OnnxAttributeType.Undefined;
        }
    }

    internal bool _hasF;
    internal bool _hasI;
}

/// <summary>A tensor's payload: where its bytes are (raw little-endian slice of the model file) or decoded values.</summary>
internal sealed class OnnxTensorProto
{
    public string Name = "";
    public List<long> Dims = new();
    public OnnxDataType DataType;
    public bool HasSegment;

    /// <summary>raw_data, or a packed float_data/double_data run, as a slice of the model buffer (-1 when absent).</summary>
    public int RawOffset = -1;
    public int RawLength;
    /// <summary>True when the slice came from packed float_data/double_data (same little-endian layout as raw_data).</summary>
    public bool RawFromTypedField;

    public List<float>? FloatData;
    public List<double>? DoubleData;
    public List<long>? Int32Data;   // int32_data: int32, int16, int8, uint16, uint8, bool, float16 bits
    public List<long>? Int64Data;
    public List<ulong>? UInt64Data; // uint64_data: uint32, uint64
    public List<byte[]>? StringData;

    public bool ExternalData;
    public string ExternalLocation = "";
}

internal sealed class OnnxValueInfoProto
{
    public string Name = "";
    public OnnxTypeProto? Type;
}

internal enum OnnxTypeKind
{
    Unknown,
    Tensor,
    Sequence,
    Map,
    Optional,
    SparseTensor,
}

internal sealed class OnnxTypeProto
{
    public OnnxTypeKind Kind;
    public OnnxDataType ElemType;
    /// <summary>Null when the shape (even the rank) is unknown.</summary>
    public List<OnnxDim>? Shape;
}

/// <summary>A dimension: a value, a symbolic name, or neither (unknown).</summary>
internal readonly struct OnnxDim
{
    public OnnxDim(long? value, string? param)
    {
        Value = value;
        Param = param;
    }

    public long? Value { get; }
    public string? Param { get; }
}
