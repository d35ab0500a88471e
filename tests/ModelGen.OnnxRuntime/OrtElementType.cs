// Tensor element types, numbered like ONNX TensorProto.DataType (and ORT's ONNXTensorElementDataType).

namespace ModelGen.OnnxRuntime;

/// <summary>
/// The element type of a tensor; the values are those of ONNX <c>TensorProto.DataType</c>.
/// <see cref="OrtTensor"/> supports Float, Double, Float16 (<see cref="Half"/>), Int8, UInt8, Int16,
/// UInt16, Int32, UInt32, Int64, UInt64 and Bool; the others can only appear in <see cref="OrtTensorInfo"/>.
/// </summary>
public enum OrtElementType
{
    /// <summary>Unknown or not a tensor.</summary>
    Undefined = 0,
    /// <summary><see cref="float"/>.</summary>
    Float = 1,
    /// <summary><see cref="byte"/>.</summary>
    UInt8 = 2,
    /// <summary><see cref="sbyte"/>.</summary>
    Int8 = 3,
    /// <summary><see cref="ushort"/>.</summary>
    UInt16 = 4,
    /// <summary><see cref="short"/>.</summary>
    Int16 = 5,
    /// <summary><see cref="int"/>.</summary>
    Int32 = 6,
    /// <summary><see cref="long"/>.</summary>
    Int64 = 7,
    /// <summary>String tensors (not supported by <see cref="OrtTensor"/>).</summary>
    String = 8,
    /// <summary><see cref="bool"/> (one byte per element).</summary>
    Bool = 9,
    /// <summary>IEEE half precision, <see cref="Half"/>.</summary>
    Float16 = 10,
    /// <summary><see cref="double"/>.</summary>
    Double = 11,
    /// <summary><see cref="uint"/>.</summary>
    UInt32 = 12,
    /// <summary><see cref="ulong"/>.</summary>
    UInt64 = 13,
    /// <summary>Complex with float components (not supported).</summary>
    Complex64 = 14,
    /// <summary>Complex with double components (not supported).</summary>
    Complex128 = 15,
    /// <summary>bfloat16 (not supported).</summary>
    BFloat16 = 16,
    /// <summary>float8 e4m3fn (not supported).</summary>
    Float8E4M3FN = 17,
    /// <summary>float8 e4m3fnuz (not supported).</summary>
    Float8E4M3FNUZ = 18,
    /// <summary>float8 e5m2 (not supported).</summary>
    Float8E5M2 = 19,
    /// <summary>float8 e5m2fnuz (not supported).</summary>
    Float8E5M2FNUZ = 20,
    /// <summary>4-bit unsigned integer (not supported).</summary>
    UInt4 = 21,
    /// <summary>4-bit signed integer (not supported).</summary>
    Int4 = 22,
    /// <summary>float4 e2m1 (not supported).</summary>
    Float4E2M1 = 23,
}
