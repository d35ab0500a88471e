// A named tensor held in a managed array: what OrtSession.Run takes and returns.

namespace ModelGen.OnnxRuntime;

/// <summary>
/// A named, dense tensor whose elements live in a one-dimensional managed array (row-major).
/// The array is used as is (not copied) when the tensor is passed to <see cref="OrtSession.Run"/>.
/// </summary>
public sealed class OrtTensor
{
    /// <summary>Creates a tensor; <paramref name="data"/> must be a <c>T[]</c> matching <paramref name="elementType"/>.</summary>
    /// <exception cref="ArgumentException">The array type or length does not match the element type or shape.</exception>
    public OrtTensor(string name, OrtElementType elementType, long[] shape, Array data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        Type expected = ClrType(elementType)
            ?? throw new ArgumentException($"Tensor '{name}': element type {elementType} is not supported.", nameof(elementType));
        if (data.GetType() != expected.MakeArrayType())
            throw new ArgumentException($"Tensor '{name}': {elementType} data must be a {expected.Name}[], not {data.GetType().Name}.", nameof(data));
        long count = ElementCount(shape);
        if (count != data.Length)
            throw new ArgumentException($"Tensor '{name}': shape [{string.Join(",", shape)}] needs {count} elements, the array has {data.Length}.", nameof(data));
        Name = name;
        ElementType = elementType;
        Shape = (long[])shape.Clone();
        Data = data;
    }

    /// <summary>The input or output name in the graph.</summary>
    public string Name { get; }

    /// <summary>The element type; matches the array type of <see cref="Data"/>.</summary>
    public OrtElementType ElementType { get; }

    /// <summary>The dimensions (all non-negative; empty for a scalar).</summary>
    public long[] Shape { get; }

    /// <summary>The elements in row-major order: a <c>float[]</c>, <c>long[]</c>, <c>bool[]</c>, ...</summary>
    public Array Data { get; }

    /// <summary>Returns <see cref="Data"/> as a <typeparamref name="T"/>[]; throws <see cref="InvalidCastException"/> on a type mismatch.</summary>
    public T[] GetData<T>() where T : unmanaged =>
        Data as T[] ?? throw new InvalidCastException($"Tensor '{Name}' holds {ElementType} ({Data.GetType().Name}), not {typeof(T).Name}[].");

    /// <summary>Creates a float tensor.</summary>
    public static OrtTensor Float(string name, float[] data, params long[] shape) => new(name, OrtElementType.Float, shape, data);
    /// <summary>Creates a double tensor.</summary>
    public static OrtTensor Double(string name, double[] data, params long[] shape) => new(name, OrtElementType.Double, shape, data);
    /// <summary>Creates a float16 tensor.</summary>
    public static OrtTensor Float16(string name, Half[] data, params long[] shape) => new(name, OrtElementType.Float16, shape, data);
    /// <summary>Creates an int8 tensor.</summary>
    public static OrtTensor Int8(string name, sbyte[] data, params long[] shape) => new(name, OrtElementType.Int8, shape, data);
    /// <summary>Creates a uint8 tensor.</summary>
    public static OrtTensor UInt8(string name, byte[] data, params long[] shape) => new(name, OrtElementType.UInt8, shape, data);
    /// <summary>Creates an int16 tensor.</summary>
    public static OrtTensor Int16(string name, short[] data, params long[] shape) => new(name, OrtElementType.Int16, shape, data);
    /// <summary>Creates a uint16 tensor.</summary>
    public static OrtTensor UInt16(string name, ushort[] data, params long[] shape) => new(name, OrtElementType.UInt16, shape, data);
    /// <summary>Creates an int32 tensor.</summary>
    public static OrtTensor Int32(string name, int[] data, params long[] shape) => new(name, OrtElementType.Int32, shape, data);
    /// <summary>Creates a uint32 tensor.</summary>
    public static OrtTensor UInt32(string name, uint[] data, params long[] shape) => new(name, OrtElementType.UInt32, shape, data);
    /// <summary>Creates an int64 tensor.</summary>
    public static OrtTensor Int64(string name, long[] data, params long[] shape) => new(name, OrtElementType.Int64, shape, data);
    /// <summary>Creates a uint64 tensor.</summary>
    public static OrtTensor UInt64(string name, ulong[] data, params long[] shape) => new(name, OrtElementType.UInt64, shape, data);
    /// <summary>Creates a bool tensor.</summary>
    public static OrtTensor Bool(string name, bool[] data, params long[] shape) => new(name, OrtElementType.Bool, shape, data);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {ElementType}[{string.Join("x", Shape)}]";

    /// <summary>The CLR element type of a supported element type, else null.</summary>
    internal static Type? ClrType(OrtElementType type) => type switch
    {
        OrtElementType.Float => typeof(float),
        OrtElementType.Double => typeof(double),
        OrtElementType.Float16 => typeof(Half),
        OrtElementType.Int8 => typeof(sbyte),
        OrtElementType.UInt8 => typeof(byte),
        OrtElementType.Int16 => typeof(short),
        OrtElementType.UInt16 => typeof(ushort),
        OrtElementType.Int32 => typeof(int),
        OrtElementType.UInt32 => typeof(uint),
        OrtElementType.Int64 => typeof(long),
        OrtElementType.UInt64 => typeof(ulong),
        OrtElementType.Bool => typeof(bool),
        _ => null,
    };

    /// <summary>Allocates a zeroed array of <paramref name="count"/> elements of a supported type.</summary>
    internal static Array NewArray(OrtElementType type, int count) => type switch
    {
        OrtElementType.Float => new float[count],
        OrtElementType.Double => new double[count],
        OrtElementType.Float16 => new Half[count],
        OrtElementType.Int8 => new sbyte[count],
        OrtElementType.UInt8 => new byte[count],
        OrtElementType.Int16 => new short[count],
        OrtElementType.UInt16 => new ushort[count],
        OrtElementType.Int32 => new int[count],
        OrtElementType.UInt32 => new uint[count],
        OrtElementType.Int64 => new long[count],
        OrtElementType.UInt64 => new ulong[count],
        OrtElementType.Bool => new bool[count],
        _ => throw new NotSupportedException($"Element type {type} is not supported."),
    };

    /// <summary>The product of the dimensions; throws for negative dimensions or more than int.MaxValue elements.</summary>
    internal static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Shape [{string.Join(",", shape.ToArray())}] has a negative dimension.");
            count = checked(count * d);
        }
        if (count > Array.MaxLength)
            throw new ArgumentException($"Shape [{string.Join(",", shape.ToArray())}] has too many elements for a managed array.");
        return count;
    }
}
