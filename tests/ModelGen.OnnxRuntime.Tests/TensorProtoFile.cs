// A minimal reader for the serialized ONNX TensorProto files (input_0.pb, output_0.pb) of the
// model zoo's test_data_set folders. Only float tensors; just enough protobuf to find the fields.

using System.Buffers.Binary;

namespace ModelGen.OnnxRuntime.Tests;

/// <summary>A float tensor read from a TensorProto .pb file.</summary>
internal sealed record TensorProtoFile(string Name, int DataType, long[] Dims, float[] Data)
{
    private const int FloatDataType = 1;

    public static TensorProtoFile Read(string path)
    {
        if (!File.Exists(path))
            Assert.Fail($"Reference tensor file is missing: {Path.GetFullPath(path)}");
        byte[] bytes = File.ReadAllBytes(path);
        var dims = new List<long>();
        var floats = new List<float>();
        int dataType = 0;
        byte[]? raw = null;
        string name = "";
        int pos = 0;
        while (pos < bytes.Length)
        {
            ulong key = ReadVarint(bytes, ref pos);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (field, wire)
            {
                case (1, 0): dims.Add((long)ReadVarint(bytes, ref pos)); break;                 // dims, unpacked
                case (1, 2):                                                                   // dims, packed
                    int dimsEnd = ReadLength(bytes, ref pos) + pos;
                    while (pos < dimsEnd)
                        dims.Add((long)ReadVarint(bytes, ref pos));
                    break;
                case (2, 0): dataType = (int)ReadVarint(bytes, ref pos); break;               // data_type
                case (4, 5): floats.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(pos))); pos += 4; break;   // float_data, unpacked
                case (4, 2):                                                                   // float_data, packed
                    int floatsEnd = ReadLength(bytes, ref pos) + pos;
                    for (; pos < floatsEnd; pos += 4)
                        floats.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(pos)));
                    break;
                case (8, 2): name = System.Text.Encoding.UTF8.GetString(ReadBytes(bytes, ref pos)); break; // name
                case (9, 2): raw = ReadBytes(bytes, ref pos); break;                          // raw_data
                default: Skip(bytes, ref pos, wire); break;
            }
        }
        if (dataType != FloatDataType)
            throw new NotSupportedException($"{path}: data_type {dataType} is not float; this reader only handles float tensors.");
        float[] data = raw is null ? floats.ToArray() : RawFloats(raw);
        long count = dims.Aggregate(1L, (a, d) => a * d);
        if (data.Length != count)
            throw new InvalidDataException($"{path}: dims [{string.Join(",", dims)}] need {count} floats, found {data.Length}.");
        return new TensorProtoFile(name, dataType, dims.ToArray(), data);
    }

    private static float[] RawFloats(byte[] raw)
    {
        var data = new float[raw.Length / 4];
        for (int i = 0; i < data.Length; i++)
            data[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(i * 4));
        return data;
    }

    private static ulong ReadVarint(byte[] b, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte next = b[pos++];
            value |= (ulong)(next & 0x7F) << shift;
            if (next < 0x80)
                return value;
        }
    }

    private static int ReadLength(byte[] b, ref int pos) => checked((int)ReadVarint(b, ref pos));

    private static byte[] ReadBytes(byte[] b, ref int pos)
    {
        int length = ReadLength(b, ref pos);
        byte[] result = b.AsSpan(pos, length).ToArray();
        pos += length;
        return result;
    }

    private static void Skip(byte[] b, ref int pos, int wire)
    {
        switch (wire)
        {
            case 0: ReadVarint(b, ref pos); break;
            case 1: pos += 8; break;
            case 2: pos += ReadLength(b, ref pos); break;
            case 5: pos += 4; break;
            default: throw new InvalidDataException($"Unsupported protobuf wire type {wire}.");
        }
    }
}
