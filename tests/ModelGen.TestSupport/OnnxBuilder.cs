// Licensed under the MIT license.
// A tiny ONNX protobuf *writer*, so tests can build arbitrary small models in memory (including invalid ones) without
// Python or committed binaries. Field numbers are those of onnx/onnx.proto:
//   ModelProto:      ir_version=1 producer_name=2 producer_version=3 graph=7 opset_import=8
//   OperatorSetId:   domain=1 version=2
//   GraphProto:      node=1 name=2 initializer=5 input=11 output=12 value_info=13
//   NodeProto:       input=1 output=2 name=3 op_type=4 attribute=5 domain=7
//   AttributeProto:  name=1 f=2 i=3 s=4 t=5 floats=7 ints=8 strings=9 type=20
//   TensorProto:     dims=1 data_type=2 float_data=4 int32_data=5 int64_data=7 name=8 raw_data=9 external_data=13
//                    data_location=14
//   ValueInfoProto:  name=1 type=2;  TypeProto: tensor_type=1;  TypeProto.Tensor: elem_type=1 shape=2
//   TensorShapeProto: dim=1;  Dimension: dim_value=1 dim_param=2
// Only what the tests need; everything is written in field order, as the reference serializer does.

using System.Text;

using ModelGen.OnnxRuntime;

namespace ModelGen.TestSupport;

/// <summary>Protobuf wire-format writer (varints, length-delimited fields, fixed32).</summary>
public sealed class ProtoWriter
{
    private readonly MemoryStream _stream = new();

    public byte[] ToArray() => _stream.ToArray();

    public ProtoWriter Varint(int field, long value)
    {
        Key(field, 0);
        WriteRawVarint((ulong)value);
        return this;
    }

    public ProtoWriter Fixed32(int field, float value)
    {
        Key(field, 5);
        _stream.Write(BitConverter.GetBytes(value));
        return this;
    }

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Key(field, 2);
        WriteRawVarint((ulong)value.Length);
        _stream.Write(value);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>A nested message, written by <paramref name="body"/>.</summary>
    public ProtoWriter Message(int field, Action<ProtoWriter> body)
    {
        var inner = new ProtoWriter();
        body(inner);
        return Bytes(field, inner.ToArray());
    }

    /// <summary>A packed repeated varint field.</summary>
    public ProtoWriter PackedVarints(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (long v in values) inner.WriteRawVarint((ulong)v);
        return Bytes(field, inner.ToArray());
    }

    /// <summary>A packed repeated float field.</summary>
    public ProtoWriter PackedFloats(int field, IEnumerable<float> values)
    {
        var bytes = new List<byte>();
        foreach (float f in values) bytes.AddRange(BitConverter.GetBytes(f));
        return Bytes(field, bytes.ToArray());
    }

    private void Key(int field, int wireType) => WriteRawVarint(((ulong)field << 3) | (uint)wireType);

    private void WriteRawVarint(ulong v)
    {
        while (v >= 0x80)
        {
            _stream.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        _stream.WriteByte((byte)v);
    }
}

/// <summary>A node attribute (AttributeProto).</summary>
public sealed class OnnxAttribute
{
    private readonly Action<ProtoWriter> _write;

    private OnnxAttribute(string name, Action<ProtoWriter> write)
    {
        Name = name;
        _write = write;
    }

    public string Name { get; }

    public static OnnxAttribute Int(string name, long value) => new(name, w => w.String(1, name).Varint(3, value).Varint(20, 2));

    public static OnnxAttribute Float(string name, float value) => new(name, w => w.String(1, name).Fixed32(2, value).Varint(20, 1));

    public static OnnxAttribute String(string name, string value) => new(name, w => w.String(1, name).String(4, value).Varint(20, 3));

    public static OnnxAttribute Ints(string name, params long[] values) => new(name, w =>
    {
        w.String(1, name);
        foreach (long v in values) w.Varint(8, v); // unpacked, like onnx.helper
        w.Varint(20, 7);
    });

    public static OnnxAttribute Floats(string name, params float[] values) => new(name, w =>
    {
        w.String(1, name);
        foreach (float v in values) w.Fixed32(7, v);
        w.Varint(20, 6);
    });

    public static OnnxAttribute Tensor(string name, OnnxTensor value) => new(name, w => w.String(1, name).Message(5, value.Write).Varint(20, 4));

    internal void Write(ProtoWriter w) => _write(w);
}

/// <summary>A TensorProto: dims, element type and data (raw_data, typed fields or an external-data reference).</summary>
public sealed class OnnxTensor
{
    public required string Name { get; init; }
    public required OrtElementType Type { get; init; }
    public required long[] Dims { get; init; }
    /// <summary>Little-endian raw_data (field 9); null to omit.</summary>
    public byte[]? Raw { get; init; }
    /// <summary>float_data (field 4, packed).</summary>
    public float[]? FloatData { get; init; }
    /// <summary>int64_data (field 7, packed).</summary>
    public long[]? Int64Data { get; init; }
    /// <summary>External-data location (data_location = EXTERNAL with a "location" entry) instead of inline data.</summary>
    public string? ExternalLocation { get; init; }

    public static OnnxTensor Floats(string name, long[] dims, float[] data) =>
        new() { Name = name, Type = OrtElementType.Float, Dims = dims, Raw = ToBytes(data) };

    public static OnnxTensor Int64s(string name, long[] dims, long[] data) =>
        new() { Name = name, Type = OrtElementType.Int64, Dims = dims, Raw = ToBytes(data) };

    /// <summary>A float tensor with <paramref name="count"/> seeded values in [-0.5, 0.5).</summary>
    public static OnnxTensor RandomFloats(string name, long[] dims, int seed)
    {
        long count = 1;
        foreach (long d in dims) count *= d;
        var rng = new Random(seed);
        var data = new float[count];
        for (int i = 0; i < data.Length; i++) data[i] = (float)rng.NextDouble() - 0.5f;
        return Floats(name, dims, data);
    }

    internal void Write(ProtoWriter w)
    {
        w.PackedVarints(1, Dims);
        w.Varint(2, (long)Type);
        if (FloatData is not null) w.PackedFloats(4, FloatData);
        if (Int64Data is not null) w.PackedVarints(7, Int64Data);
        w.String(8, Name);
        if (Raw is not null) w.Bytes(9, Raw);
        if (ExternalLocation is not null)
        {
            w.Message(13, kv => kv.String(1, "location").String(2, ExternalLocation));
            w.Message(13, kv => kv.String(1, "offset").String(2, "0"));
            w.Varint(14, 1); // DataLocation.EXTERNAL
        }
    }

    private static byte[] ToBytes<T>(T[] data) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
}

/// <summary>
/// Builds a ModelProto. Dimensions are given as <c>int</c>/<c>long</c> (dim_value) or <c>string</c> (dim_param);
/// a null dims array writes a tensor type without a shape (unknown rank), a null entry a dimension with neither.
/// </summary>
public sealed class OnnxBuilder
{
    private readonly List<Action<ProtoWriter>> _nodes = new();
    private readonly List<OnnxTensor> _initializers = new();
    private readonly List<Action<ProtoWriter>> _inputs = new();
    private readonly List<Action<ProtoWriter>> _outputs = new();
    private int _autoName;

    public long IrVersion { get; set; } = 8;
    public string ProducerName { get; set; } = "ModelGen.Tests";
    public string GraphName { get; set; } = "test";
    /// <summary>opset_import entries; "" is ai.onnx.</summary>
    public List<(string Domain, long Version)> Opsets { get; } = new() { ("", 13) };

    public OnnxBuilder Opset(string domain, long version)
    {
        Opsets.RemoveAll(o => o.Domain == domain);
        Opsets.Add((domain, version));
        return this;
    }

    /// <summary>A float32 graph input.</summary>
    public OnnxBuilder Input(string name, params object[]? dims) => TypedInput(name, OrtElementType.Float, dims);

    /// <summary>A graph input of any element type. (Not an Input overload: a literal 0 dimension would bind to the enum.)</summary>
    public OnnxBuilder TypedInput(string name, OrtElementType type, params object[]? dims)
    {
        _inputs.Add(ValueInfo(name, type, dims));
        return this;
    }

    /// <summary>A float32 graph output; without dims no shape is written (shape inference fills it in).</summary>
    public OnnxBuilder Output(string name, params object[]? dims) => TypedOutput(name, OrtElementType.Float, dims);

    public OnnxBuilder TypedOutput(string name, OrtElementType type, params object[]? dims)
    {
        _outputs.Add(ValueInfo(name, type, dims is { Length: 0 } ? null : dims));
        return this;
    }

    public OnnxBuilder Initializer(OnnxTensor tensor)
    {
        _initializers.Add(tensor);
        return this;
    }

    public OnnxBuilder Node(string opType, string[] inputs, string[] outputs, string? name = null, string domain = "",
        params OnnxAttribute[] attributes)
    {
        string nodeName = name ?? $"{opType.ToLowerInvariant()}_{_autoName++}";
        _nodes.Add(w =>
        {
            foreach (string i in inputs) w.String(1, i);
            foreach (string o in outputs) w.String(2, o);
            w.String(3, nodeName);
            w.String(4, opType);
            foreach (OnnxAttribute a in attributes) w.Message(5, a.Write);
            if (domain.Length > 0) w.String(7, domain);
        });
        return this;
    }

    public byte[] ToBytes()
    {
        var w = new ProtoWriter();
        w.Varint(1, IrVersion);
        w.String(2, ProducerName);
        w.String(3, "1.0");
        w.Message(7, g =>
        {
            foreach (Action<ProtoWriter> n in _nodes) g.Message(1, n);
            g.String(2, GraphName);
            foreach (OnnxTensor t in _initializers) g.Message(5, t.Write);
            foreach (Action<ProtoWriter> i in _inputs) g.Message(11, i);
            foreach (Action<ProtoWriter> o in _outputs) g.Message(12, o);
        });
        foreach ((string domain, long version) in Opsets)
        {
            w.Message(8, o =>
            {
                if (domain.Length > 0) o.String(1, domain);
                o.Varint(2, version);
            });
        }
        return w.ToArray();
    }

    /// <summary>Writes the model to <paramref name="path"/> and returns the path.</summary>
    public string Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, ToBytes());
        return path;
    }

    private static Action<ProtoWriter> ValueInfo(string name, OrtElementType type, object[]? dims) => w =>
    {
        w.String(1, name);
        w.Message(2, t => t.Message(1, tt =>
        {
            tt.Varint(1, (long)type);
            if (dims is null) return;
            tt.Message(2, s =>
            {
                foreach (object d in dims)
                {
                    s.Message(1, dim =>
                    {
                        switch (d)
                        {
                            case string p: dim.String(2, p); break;
                            case int i: dim.Varint(1, i); break;
                            case long l: dim.Varint(1, l); break;
                            case null: break; // a dimension with neither value nor param
                            default: throw new ArgumentException($"dimension {d} must be int, long or string");
                        }
                    });
                }
            });
        }));
    };
}
