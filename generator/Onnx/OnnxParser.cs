// Licensed under the MIT license.
// Decodes ModelProto bytes into the OnnxModel classes. Never trusts a length; nested graphs are depth-limited.

using System.Collections.Generic;

namespace ModelGen.Generator.Onnx;

internal static class OnnxParser
{
    private const int MaxGraphDepth = 16;

    /// <summary>Parses a serialized ModelProto. Throws <see cref="OnnxFormatException"/> on malformed input.</summary>
    public static OnnxModelProto ParseModel(byte[] bytes)
    {
        if (bytes.Length == 0) throw new OnnxFormatException("expected a ModelProto, but the file is empty");
        var r = new ProtoReader(bytes, 0, bytes.Length, "ModelProto");
        var model = new OnnxModelProto();
        bool sawGraph = false;
        while (r.TryReadTag(out int field, out WireType wt))
        {
            switch (field)
            {
                case 1: r.Expect(field, wt, WireType.Varint, "ir_version"); model.IrVersion = r.ReadInt64("ir_version"); break;
                case 2: r.Expect(field, wt, WireType.LengthDelimited, "producer_name"); model.ProducerName = r.ReadString("producer_name"); break;
                case 3: r.Expect(field, wt, WireType.LengthDelimited, "producer_version"); model.ProducerVersion = r.ReadString("producer_version"); break;
                case 7:
                    r.Expect(field, wt, WireType.LengthDelimited, "graph");
                    var g = r.ReadMessage("GraphProto");
                    model.Graph = ParseGraph(ref g, 0);
                    sawGraph = true;
                    break;
                case 8:
                {
                    r.Expect(field, wt, WireType.LengthDelimited, "opset_import");
                    var o = r.ReadMessage("OperatorSetIdProto");
                    string domain = "";
                    long version = 0;
                    while (o.TryReadTag(out int f2, out WireType w2))
                    {
                        if (f2 == 1) { o.Expect(f2, w2, WireType.LengthDelimited, "domain"); domain = o.ReadString("domain"); }
                        else if (f2 == 2) { o.Expect(f2, w2, WireType.Varint, "version"); version = o.ReadInt64("version"); }
                        else o.Skip(f2, w2);
                    }
                    model.OpsetImports.Add((domain, version));
                    break;
                }
                case 25: r.Skip(field, wt); model.FunctionCount++; break;
                default: r.Skip(field, wt); break;
            }
        }
        if (!sawGraph || model.Graph is null)
            throw new OnnxFormatException($"expected ModelProto.graph (field 7), but the {bytes.Length}-byte file has none (not an ONNX model?)");
        if (model.IrVersion <= 0)
            throw new OnnxFormatException("expected ModelProto.ir_version (field 1) to be set and positive");
        return model;
    }

    private static OnnxGraphProto ParseGraph(ref ProtoReader r, int depth)
    {
        if (depth > MaxGraphDepth) throw r.Error(r.Position, $"subgraphs nested at most {MaxGraphDepth} deep");
        var g = new OnnxGraphProto();
        while (r.TryReadTag(out int field, out WireType wt))
        {
            switch (field)
            {
                case 1: { r.Expect(field, wt, WireType.LengthDelimited, "node"); var n = r.ReadMessage("NodeProto"); g.Nodes.Add(ParseNode(ref n, depth)); break; }
                case 2: r.Expect(field, wt, WireType.LengthDelimited, "name"); g.Name = r.ReadString("name"); break;
                case 5: { r.Expect(field, wt, WireType.LengthDelimited, "initializer"); var t = r.ReadMessage("TensorProto"); g.Initializers.Add(ParseTensor(ref t)); break; }
                case 11: { r.Expect(field, wt, WireType.LengthDelimited, "input"); var v = r.ReadMessage("ValueInfoProto"); g.Inputs.Add(ParseValueInfo(ref v)); break; }
                case 12: { r.Expect(field, wt, WireType.LengthDelimited, "output"); var v = r.ReadMessage("ValueInfoProto"); g.Outputs.Add(ParseValueInfo(ref v)); break; }
                case 13: { r.Expect(field, wt, WireType.LengthDelimited, "value_info"); var v = r.ReadMessage("ValueInfoProto"); g.ValueInfos.Add(ParseValueInfo(ref v)); break; }
                case 15: r.Skip(field, wt); g.SparseInitializerCount++; break;
                default: r.Skip(field, wt); break;
            }
        }
        return g;
    }

    private static OnnxNodeProto ParseNode(ref ProtoReader r, int depth)
    {
        var n = new OnnxNodeProto();
        while (r.TryReadTag(out int field, out WireType wt))
        {
            switch (field)
            {
                case 1: r.Expect(field, wt, WireType.LengthDelimited, "input"); n.Inputs.Add(r.ReadString("input")); break;
                case 2: r.Expect(field, wt, WireType.LengthDelimited, "output"); n.Outputs.Add(r.ReadString("output")); break;
                case 3: r.Expect(field, wt, WireType.LengthDelimited, "name"); n.Name = r.ReadString("name"); break;
                case 4: r.Expect(field, wt, WireType.LengthDelimited, "op_type"); n.OpType = r.ReadString("op_type"); break;
                case 5: { r.Expect(field, wt, WireType.LengthDelimited, "attribute"); var a = r.ReadMessage("AttributeProto"); n.Attributes.Add(ParseAttribute(ref a, depth)); break; }
                case 7: r.Expect(field, wt, WireType.LengthDelimited, "domain"); n.Domain = r.ReadString("domain"); break;
                default: r.Skip(field, wt); break;
            }
        }
        if (n.OpType.Length == 0) throw r.Error(r.Position, "NodeProto.op_type (field 4) to be set");
        return n;
    }

    private static OnnxAttributeProto ParseAttribute(ref ProtoReader r, int depth)
    {
        var a = new OnnxAttributeProto();
        while (r.TryReadTag(out int field, out WireType wt))
        {
            switch (field)
            {
                case 1: r.Expect(field, wt, WireType.LengthDelimited, "name"); a.Name = r.ReadString("name"); break;
                case 2: r.Expect(field, wt, WireType.Fixed32, "f"); a.F = r.ReadFloat("f"); a._hasF = true; break;
                case 3: r.Expect(field, wt, WireType.Varint, "i"); a.I = r.ReadInt64("i"); a._hasI = true; break;
                case 4: r.Expect(field, wt, WireType.LengthDelimited, "s"); a.S = r.ReadBytes("s"); break;
                case 5: { r.Expect(field, wt, WireType.LengthDelimited, "t"); var t = r.ReadMessage("TensorProto"); a.T = ParseTensor(ref t); break; }
                case 6: { r.Expect(field, wt, WireType.LengthDelimited, "g"); var g = r.ReadMessage("GraphProto"); a.G = ParseGraph(ref g, depth + 1); break; }
                case 7: ReadFloats(ref r, wt, a.Floats, "floats"); break;
                case 8: ReadVarints(ref r, wt, a.Ints, "ints"); break;
                case 9: r.Expect(field, wt, WireType.LengthDelimited, "strings"); a.Strings.Add(r.ReadBytes("strings")); break;
                case 10: { r.Expect(field, wt, WireType.LengthDelimited, "tensors"); var t = r.ReadMessage("TensorProto"); a.Tensors.Add(ParseTensor(ref t)); break; }
                case 11: { r.Expect(field, wt, WireType.LengthDelimited, "graphs"); var g = r.ReadMessage("GraphProto"); a.Graphs.Add(ParseGraph(ref g, depth + 1)); break; }
                case 14: case 15: r.Skip(field, wt); a.HasTypeProto = true; break;
                case 20: r.Expect(field, wt, WireType.Varint, "type"); a.Type = (OnnxAttributeType)r.ReadInt32("type"); break;
                case 21: r.Expect(field, wt, WireType.LengthDelimited, "ref_attr_name"); a.RefAttrName = r.ReadString("ref_attr_name"); break;
                case 22: case 23: r.Skip(field, wt); a.HasSparse = true; break;
                default: r.Skip(field, wt); break;
            }
        }
        return a;
    }

    internal static OnnxTensorProto ParseTensor(ref ProtoReader r)
    {
        var t = new OnnxTensorProto();
        while (r.TryReadTag(out int field, out WireType wt))
        {
            switch (field)
            {
                case 1: ReadVarints(ref r, wt, t.Dims, "dims"); break;
                case 2: r.Expect(field, wt, WireType.Varint, "data_type"); t.DataType = (OnnxDataType)r.ReadInt32("data_type"); break;
                case 3: r.Skip(field, wt); t.HasSegment = true; break;
                case 4:
                    if (wt == WireType.LengthDelimited && t.FloatData is null && t.RawOffset < 0)
                    {
                        (int s, int e) = r.ReadLengthDelimited("float_data");
                        if ((e - s) % 4 != 0) throw r.Error(s, "packed float_data with a length that is a multiple of 4");
                        t.RawOffset = s; t.RawLength = e - s; t.RawFromTypedField = true;
                    }
                    else
                    {
                        t.FloatData ??= new List<float>();
                        MoveTypedSliceToList(t, r.Buffer);
                        ReadFloats(ref r, wt, t.FloatData, "float_data");
                    }
                    break;
                case 5: t.Int32Data ??= new List<long>(); ReadVarints(ref r, wt, t.Int32Data, "int32_data"); break;
                case 6: r.Expect(field, wt, WireType.LengthDelimited, "string_data"); (t.StringData ??= new List<byte[]>()).Add(r.ReadBytes("string_data")); break;
                case 7: t.Int64Data ??= new List<long>(); ReadVarints(ref r, wt, t.Int64Data, "int64_data"); break;
                case 8: r.Expect(field, wt, WireType.LengthDelimited, "name"); t.Name = r.ReadString("name"); break;
                case 9:
                {
                    r.Expect(field, wt, WireType.LengthDelimited, "raw_data");
                    (int s, int e) = r.ReadLengthDelimited("raw_data");
                    t.RawOffset = s; t.RawLength = e - s; t.RawFromTypedField = false;
                    break;
                }
                case 10:
                    if (wt == WireType.LengthDelimited && t.DoubleData is null && t.RawOffset < 0)
                    {
                        (int s, int e) = r.ReadLengthDelimited("double_data");
                        if ((e - s) % 8 != 0) throw r.Error(s, "packed double_data with a length that is a multiple of 8");
                        t.RawOffset = s; t.RawLength = e - s; t.RawFromTypedField = true;
                    }
                    else
                    {
                        t.DoubleData ??= new List<double>();
                        ReadDoubles(ref r, wt, t.DoubleData, "double_data");
                    }
                    break;
                case 11:
                {
                    var list = new List<long>();
                    ReadVarints(ref r, wt, list, "uint64_data");
                    t.UInt64Data ??= new List<ulong>();
                    foreach (long v in list) t.UInt64Data.Add((ulong)v);
                    break;
                }
                case 13:
                {
                    r.Expect(field, wt, WireType.LengthDelimited, "external_data");
                    var kv = r.ReadMessage("StringStringEntryProto");
                    string key = "", value = "";
                    while (kv.TryReadTag(out int f2, out WireType w2))
                    {
                        if (f2 == 1) { kv.Expect(f2, w2, WireType.LengthDelimited, "key"); key = kv.ReadString("key"); }
                        else if (f2 == 2) { kv.Expect(f2, w2, WireType.LengthDelimited, "value"); value = kv.ReadString("value"); }
                        else kv.Skip(f2, w2);
                    }
                    if (key == "location") t.ExternalLocation = value;
                    break;
                }
                case 14: r.Expect(field, wt, WireType.Varint, "data_location"); t.ExternalData = r.ReadInt32("data_location") == 1; break;
                default: r.Skip(field, wt); break;
            }
        }
        return t;
    }

    // A float_data field split across several packed runs (legal but never seen) falls back to a decoded list.
    private static void MoveTypedSliceToList(OnnxTensorProto t, byte[] buffer)
    {
        if (t.RawOffset >= 0 && t.RawFromTypedField && t.FloatData is { Count: 0 })
        {
            for (int i = 0; i < t.RawLength; i += 4) t.FloatData.Add(System.BitConverter.ToSingle(buffer, t.RawOffset + i));
            t.RawOffset = -1;
            t.RawLength = 0;
            t.RawFromTypedField = false;
        }
    }

    private static OnnxValueInfoProto ParseValueInfo(ref ProtoReader r)
    {
        var v = new OnnxValueInfoProto();
        while (r.TryReadTag(out int field, out WireType wt))
        {
            switch (field)
            {
                case 1: r.Expect(field, wt, WireType.LengthDelimited, "name"); v.Name = r.ReadString("name"); break;
                case 2: { r.Expect(field, wt, WireType.LengthDelimited, "type"); var t = r.ReadMessage("TypeProto"); v.Type = ParseType(ref t); break; }
                default: r.Skip(field, wt); break;
            }
        }
        return v;
    }

    private static OnnxTypeProto ParseType(ref ProtoReader r)
    {
        var type = new OnnxTypeProto { Kind = OnnxTypeKind.Unknown };
        while (r.TryReadTag(out int field, out WireType wt))
        {
            switch (field)
            {
                case 1:
                {
                    r.Expect(field, wt, WireType.LengthDelimited, "tensor_type");
                    type.Kind = OnnxTypeKind.Tensor;
                    var t = r.ReadMessage("TypeProto.Tensor");
                    while (t.TryReadTag(out int f2, out WireType w2))
                    {
                        if (f2 == 1) { t.Expect(f2, w2, WireType.Varint, "elem_type"); type.ElemType = (OnnxDataType)t.ReadInt32("elem_type"); }
                        else if (f2 == 2)
                        {
                            t.Expect(f2, w2, WireType.LengthDelimited, "shape");
                            var s = t.ReadMessage("TensorShapeProto");
                            type.Shape = ParseShape(ref s);
                        }
                        else t.Skip(f2, w2);
                    }
                    break;
                }
                case 4: r.Skip(field, wt); type.Kind = OnnxTypeKind.Sequence; break;
                case 5: r.Skip(field, wt); type.Kind = OnnxTypeKind.Map; break;
                case 8: r.Skip(field, wt); type.Kind = OnnxTypeKind.SparseTensor; break;
                case 9: r.Skip(field, wt); type.Kind = OnnxTypeKind.Optional; break;
                default: r.Skip(field, wt); break;
            }
        }
        return type;
    }

    private static List<OnnxDim> ParseShape(ref ProtoReader r)
    {
        var dims = new List<OnnxDim>();
        while (r.TryReadTag(out int field, out WireType wt))
        {
            if (field != 1) { r.Skip(field, wt); continue; }
            r.Expect(field, wt, WireType.LengthDelimited, "dim");
            var d = r.ReadMessage("TensorShapeProto.Dimension");
            long? value = null;
            string? param = null;
            while (d.TryReadTag(out int f2, out WireType w2))
            {
                if (f2 == 1) { d.Expect(f2, w2, WireType.Varint, "dim_value"); value = d.ReadInt64("dim_value"); }
                else if (f2 == 2) { d.Expect(f2, w2, WireType.LengthDelimited, "dim_param"); param = d.ReadString("dim_param"); }
                else d.Skip(f2, w2);
            }
            dims.Add(new OnnxDim(value, param));
        }
        return dims;
    }

    /// <summary>Parses a serialized TensorProto (the backend-test .pb files).</summary>
    public static OnnxTensorProto ParseTensorFile(byte[] bytes)
    {
        var r = new ProtoReader(bytes, 0, bytes.Length, "TensorProto");
        return ParseTensor(ref r);
    }

    private static void ReadVarints(ref ProtoReader r, WireType wt, List<long> into, string name)
    {
        if (wt == WireType.LengthDelimited)
        {
            (int s, int e) = r.ReadLengthDelimited(name);
            var inner = new ProtoReader(r.Buffer, s, e, name);
            while (!inner.AtEnd) into.Add(inner.ReadInt64(name));
        }
        else if (wt == WireType.Varint) into.Add(r.ReadInt64(name));
        else throw r.Error(r.Position, $"{name} as varints (wire type 0 or 2), found wire type {(int)wt}");
    }

    private static void ReadFloats(ref ProtoReader r, WireType wt, List<float> into, string name)
    {
        if (wt == WireType.LengthDelimited)
        {
            (int s, int e) = r.ReadLengthDelimited(name);
            if ((e - s) % 4 != 0) throw r.Error(s, $"packed {name} with a length that is a multiple of 4");
            for (int i = s; i < e; i += 4) into.Add(System.BitConverter.ToSingle(r.Buffer, i));
        }
        else if (wt == WireType.Fixed32) into.Add(r.ReadFloat(name));
        else throw r.Error(r.Position, $"{name} as floats (wire type 5 or 2), found wire type {(int)wt}");
    }

    private static void ReadDoubles(ref ProtoReader r, WireType wt, List<double> into, string name)
    {
        if (wt == WireType.LengthDelimited)
        {
            (int s, int e) = r.ReadLengthDelimited(name);
            if ((e - s) % 8 != 0) throw r.Error(s, $"packed {name} with a length that is a multiple of 8");
            for (int i = s; i < e; i += 8) into.Add(System.BitConverter.ToDouble(r.Buffer, i));
        }
        else if (wt == WireType.Fixed64) into.Add(r.ReadDouble(name));
        else throw r.Error(r.Position, $"{name} as doubles (wire type 1 or 2), found wire type {(int)wt}");
    }
}
