// Licensed under the MIT license.
// Build-time tensors: initializers and Constant nodes (kept as slices of the model file, never copied), values folded
// at build time (small, decoded arrays), and construction-time recipes (e.g. BatchNorm folded into Conv weights).

using System;
using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Onnx;

namespace ModelGen.Generator.Ir;

/// <summary>A weight computed from other constants when the model is constructed (too large to embed in source).</summary>
internal sealed class ConstantRecipe
{
    public ConstantRecipe(string kind, Constant[] operands, double[] parameters)
    {
        Kind = kind;
        Operands = operands;
        Parameters = parameters;
    }

    /// <summary>Names a function in the runtime's <c>WeightTransforms</c> class.</summary>
    public string Kind { get; }
    public Constant[] Operands { get; }
    public double[] Parameters { get; }
}

internal sealed class Constant
{
    private Constant(OnnxDataType type, int[] shape) { Type = type; StorageType = type; Shape = shape; }

    /// <summary>The logical element type (what the graph sees).</summary>
    public OnnxDataType Type { get; private set; }
    /// <summary>The element type of the bytes at <see cref="FileOffset"/> (differs from <see cref="Type"/> after a Cast view).</summary>
    public OnnxDataType StorageType { get; private set; }
    public int[] Shape { get; }
    public long ElementCount => Shapes.Product(Shape);

    /// <summary>Byte offset of little-endian data inside the model file, or -1.</summary>
    public int FileOffset { get; private set; } = -1;
    public float[]? Floats { get; private set; }
    public double[]? Doubles { get; private set; }
    public long[]? Longs { get; private set; }
    public ConstantRecipe? Recipe { get; private set; }

    public bool IsFloatType => Type is OnnxDataType.Float or OnnxDataType.Float16 or OnnxDataType.Double or OnnxDataType.BFloat16;
    public bool IsIntegerType => Type is OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Int16 or OnnxDataType.UInt16
        or OnnxDataType.Int32 or OnnxDataType.UInt32 or OnnxDataType.Int64 or OnnxDataType.UInt64 or OnnxDataType.Bool;
    /// <summary>True when the data can be read at build time (not a construction-time recipe).</summary>
    public bool IsMaterializable => Recipe is null;

    public static Constant FromFloats(int[] shape, float[] data) => new(OnnxDataType.Float, shape) { Floats = data };

    public static Constant FromDoubles(int[] shape, double[] data) => new(OnnxDataType.Double, shape) { Doubles = data };

    public static Constant FromLongs(OnnxDataType type, int[] shape, long[] data) => new(type, shape) { Longs = data };

    public static Constant FromRecipe(OnnxDataType type, int[] shape, ConstantRecipe recipe) => new(type, shape) { Recipe = recipe };

    /// <summary>The same data with another shape (Reshape/Flatten/Squeeze of a constant costs nothing).</summary>
    public Constant WithShape(int[] shape) => new(Type, shape)
    {
        StorageType = StorageType, FileOffset = FileOffset, Floats = Floats, Doubles = Doubles, Longs = Longs, Recipe = Recipe,
    };

    /// <summary>The same data read as another numeric type (a Cast of a large constant; converted when used).</summary>
    public Constant WithType(OnnxDataType type) => new(type, Shape)
    {
        StorageType = StorageType, FileOffset = FileOffset, Floats = Floats, Doubles = Doubles, Longs = Longs, Recipe = Recipe,
    };

    public static int ElementSize(OnnxDataType t) => t switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
        OnnxDataType.Double or OnnxDataType.Int64 or OnnxDataType.UInt64 => 8,
        OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Int16 or OnnxDataType.UInt16 => 2,
        OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Bool => 1,
        _ => 0,
    };

    /// <summary>Builds a constant from a TensorProto. Throws <see cref="InvalidNodeException"/> when the data does not match the dims.</summary>
    public static Constant FromTensorProto(OnnxTensorProto t, byte[] model, string what)
    {
        var shape = new int[t.Dims.Count];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            long d = t.Dims[i];
            if (d < 0 || d > int.MaxValue) throw new InvalidNodeException($"{what} has an invalid dimension {d}");
            shape[i] = (int)d;
            count *= d;
            if (count > int.MaxValue) throw new InvalidNodeException($"{what} has more than 2^31 elements");
        }
        int size = ElementSize(t.DataType);
        if (size == 0) throw new UnsupportedNodeException($"{what} has element type {t.DataType}");
        var c = new Constant(t.DataType, shape);
        if (t.RawOffset >= 0)
        {
            if (t.RawLength != count * size)
                throw new InvalidNodeException($"{what} has {t.RawLength} data bytes for {count} elements of {t.DataType} ({count * size} expected)");
            // Kept as a slice of the file: float32 weights are used in place; other types are decoded on demand.
            c.FileOffset = t.RawOffset;
            return c;
        }
        switch (t.DataType)
        {
            case OnnxDataType.Float:
                c.Floats = Take(t.FloatData, count, what, "float_data").ToArray();
                break;
            case OnnxDataType.Double:
                c.Doubles = Take(t.DoubleData, count, what, "double_data").ToArray();
                break;
            case OnnxDataType.Int64:
                c.Longs = Take(t.Int64Data, count, what, "int64_data").ToArray();
                break;
            case OnnxDataType.UInt32 or OnnxDataType.UInt64:
                c.Longs = Take(t.UInt64Data, count, what, "uint64_data").ConvertAll(x => (long)x).ToArray();
                break;
            case OnnxDataType.Float16:
            {
                List<long> bits = Take(t.Int32Data, count, what, "int32_data");
                c.Floats = bits.ConvertAll(b => HalfToFloat((ushort)b)).ToArray();
                break;
            }
            case OnnxDataType.BFloat16:
            {
                List<long> bits = Take(t.Int32Data, count, what, "int32_data");
                c.Floats = bits.ConvertAll(b => BitConverter.ToSingle(BitConverter.GetBytes((uint)(ushort)b << 16), 0)).ToArray();
                break;
            }
            default:
            {
                List<long> values = Take(t.Int32Data, count, what, "int32_data");
                c.Longs = values.ConvertAll(v => Normalize(t.DataType, v)).ToArray();
                break;
            }
        }
        return c;
    }

    private static List<T> Take<T>(List<T>? data, long count, string what, string field)
    {
        data ??= new List<T>();
        if (data.Count != count)
            throw new InvalidNodeException($"{what} has {data.Count} values in {field} for {count} elements");
        return data;
    }

    private static long Normalize(OnnxDataType t, long v) => t switch
    {
        OnnxDataType.Int8 => (sbyte)v,
        OnnxDataType.UInt8 => (byte)v,
        OnnxDataType.Int16 => (short)v,
        OnnxDataType.UInt16 => (ushort)v,
        OnnxDataType.Int32 => (int)v,
        OnnxDataType.Bool => v != 0 ? 1 : 0,
        _ => v,
    };

    private static Constant DecodeRaw(Constant c, byte[] b, int offset, int count)
    {
        switch (c.Type)
        {
            case OnnxDataType.Double:
                c.Doubles = new double[count];
                for (int i = 0; i < count; i++) c.Doubles[i] = BitConverter.ToDouble(b, offset + 8 * i);
                break;
            case OnnxDataType.Float16:
                c.Floats = new float[count];
                for (int i = 0; i < count; i++) c.Floats[i] = HalfToFloat(BitConverter.ToUInt16(b, offset + 2 * i));
                break;
            case OnnxDataType.BFloat16:
                c.Floats = new float[count];
                for (int i = 0; i < count; i++) c.Floats[i] = BitConverter.ToSingle(BitConverter.GetBytes((uint)BitConverter.ToUInt16(b, offset + 2 * i) << 16), 0);
                break;
            default:
                c.Longs = new long[count];
                int size = ElementSize(c.Type);
                for (int i = 0; i < count; i++)
                {
                    int at = offset + size * i;
                    long v = c.Type switch
                    {
                        OnnxDataType.Int8 => (sbyte)b[at],
                        OnnxDataType.UInt8 => b[at],
                        OnnxDataType.Bool => b[at] != 0 ? 1 : 0,
                        OnnxDataType.Int16 => BitConverter.ToInt16(b, at),
                        OnnxDataType.UInt16 => BitConverter.ToUInt16(b, at),
                        OnnxDataType.Int32 => BitConverter.ToInt32(b, at),
                        OnnxDataType.UInt32 => BitConverter.ToUInt32(b, at),
                        _ => BitConverter.ToInt64(b, at),
                    };
                    c.Longs[i] = v;
                }
                break;
        }
        return c;
    }

    /// <summary>Decodes a non-float32 file slice into arrays (a fresh constant; this one is unchanged).</summary>
    private Constant Decoded(byte[] model)
    {
        var c = new Constant(StorageType, Shape);
        return DecodeRaw(c, model, FileOffset, (int)ElementCount);
    }

    public static float HalfToFloat(ushort h)
    {
        int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
        float v;
        if (exp == 0) v = (float)(mant * Math.Pow(2, -24));
        else if (exp == 31) v = mant == 0 ? float.PositiveInfinity : float.NaN;
        else v = (float)((1 + mant / 1024.0) * Math.Pow(2, exp - 15));
        return sign == 1 ? -v : v;
    }

    /// <summary>The values as float32 (float types only). Reads the model bytes for file slices.</summary>
    public float[] ToFloats(byte[] model)
    {
        if (Floats is not null) return Floats;
        if (Doubles is not null) return Array.ConvertAll(Doubles, d => (float)d);
        if (Longs is not null) return Array.ConvertAll(Longs, l => (float)l);
        if (FileOffset >= 0)
        {
            if (StorageType != OnnxDataType.Float) return Decoded(model).ToFloats(model);
            var f = new float[ElementCount];
            Buffer.BlockCopy(model, FileOffset, f, 0, f.Length * 4);
            return f;
        }
        throw new InvalidOperationException("constant recipe cannot be read at build time");
    }

    public double[] ToDoubles(byte[] model)
    {
        if (Doubles is not null) return Doubles;
        if (Longs is not null) return Array.ConvertAll(Longs, l => (double)l);
        if (FileOffset >= 0 && StorageType != OnnxDataType.Float) return Decoded(model).ToDoubles(model);
        return Array.ConvertAll(ToFloats(model), f => (double)f);
    }

    /// <summary>The values as int64 (integer and bool types; floats are truncated toward zero as Cast does).</summary>
    public long[] ToLongs(byte[] model)
    {
        if (Longs is not null) return Longs;
        if (FileOffset >= 0 && StorageType != OnnxDataType.Float) return Decoded(model).ToLongs(model);
        return Array.ConvertAll(ToDoubles(model), d => (long)d);
    }

    /// <summary>A content hash (weights appear in specs only as hashes).</summary>
    public ulong ContentHash(byte[] model)
    {
        ulong h = Hashing.Combine(Hashing.Start, (ulong)Type);
        foreach (int d in Shape) h = Hashing.Combine(h, (ulong)d);
        if (Recipe is not null)
        {
            h = Hashing.Combine(h, Recipe.Kind);
            foreach (Constant o in Recipe.Operands) h = Hashing.Combine(h, o.ContentHash(model));
            foreach (double p in Recipe.Parameters) h = Hashing.Combine(h, (ulong)BitConverter.DoubleToInt64Bits(p));
            return h;
        }
        if (FileOffset >= 0) return Hashing.Combine(Hashing.Combine(h, (ulong)StorageType), Hashing.Fnv1a64(model, FileOffset, (int)ElementCount * ElementSize(StorageType)));
        if (Floats is not null) foreach (float f in Floats) h = Hashing.Combine(h, (ulong)BitConverter.DoubleToInt64Bits(f));
        if (Doubles is not null) foreach (double d in Doubles) h = Hashing.Combine(h, (ulong)BitConverter.DoubleToInt64Bits(d));
        if (Longs is not null) foreach (long l in Longs) h = Hashing.Combine(h, (ulong)l);
        return h;
    }
}
