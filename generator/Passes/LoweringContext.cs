// Licensed under the MIT license.
// Collects what lowering produces (activation tensors, weights, layers) and turns it into the equatable ModelSpec.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Passes;

internal sealed class LoweringContext
{
    /// <summary>Literals above this many elements are computed at construction instead of emitted into source.</summary>
    private const long MaxLiteralElements = 4096;

    private readonly Dictionary<Value, int> _tensorOf = new();
    private readonly Dictionary<Constant, int> _rawWeightOf = new();
    private readonly Dictionary<string, int> _transformOf = new();

    public LoweringContext(Graph graph, TargetProfile profile)
    {
        Graph = graph;
        Profile = profile;
    }

    public Graph Graph { get; }
    public TargetProfile Profile { get; }
    public byte[] Model => Graph.ModelBytes;

    public List<TensorBuilder> Tensors { get; } = new();
    public List<WeightSpec> Weights { get; } = new();
    public List<LayerSpec> Layers { get; } = new();
    public long PackedWeightBytes { get; private set; }

    internal sealed class TensorBuilder
    {
        public int Id;
        public string Name = "";
        public OnnxDataType Type;
        public int[] Shape = Array.Empty<int>();
        public TensorLocation Location;
        public int IoIndex = -1;
        public long Offset;
        /// <summary>When this tensor is a slice of another (an input of a concatenation done in place): that tensor.</summary>
        public int ViewOf = -1;
        /// <summary>Element offset of this slice in <see cref="ViewOf"/>.</summary>
        public long ViewElementOffset;
    }

    /// <summary>The activation tensor holding a run-time value (created on first use).</summary>
    public int Tensor(Value v)
    {
        if (v.Constant is not null) throw new InvalidOperationException($"'{v.Name}' is a constant, not an activation");
        if (_tensorOf.TryGetValue(v, out int id)) return id;
        id = NewTensor(v.Name, v.Type, v.Shape ?? throw new InvalidOperationException($"'{v.Name}' has no shape"));
        if (v.IsGraphInput)
        {
            Tensors[id].Location = TensorLocation.Input;
            Tensors[id].IoIndex = v.GraphInputIndex;
        }
        _tensorOf[v] = id;
        return id;
    }

    public int NewTensor(string name, OnnxDataType type, int[] shape)
    {
        var t = new TensorBuilder { Id = Tensors.Count, Name = name, Type = type, Shape = shape, Location = TensorLocation.Arena };
        Tensors.Add(t);
        return t.Id;
    }

    /// <summary>Lets <paramref name="output"/> share the storage of <paramref name="input"/> (Reshape, Identity...).</summary>
    public void Alias(Value output, Value input)
    {
        if (input.Constant is not null)
        {
            output.Constant = input.Constant.WithShape(output.Shape ?? input.Constant.Shape);
            return;
        }
        _tensorOf[output] = Tensor(input);
    }

    public bool HasTensor(Value v) => _tensorOf.ContainsKey(v);

    /// <summary>
    /// Makes every input a slice of the output at the given element offsets, so their producers write straight into the
    /// output (a concatenation with nothing to copy). Only when each input is an arena activation produced earlier that
    /// is not a slice already (an input of another in-place concatenation), and appears once; returns false otherwise.
    /// </summary>
    /// <remarks>
    /// Safe because every tensor has one writer (its producer, which runs before the concatenation) and kernels never
    /// store past a tensor's end; the memory planner keeps the output alive over all its slices' lifetimes.
    /// </remarks>
    public bool TryMakeSlices(Value output, IReadOnlyList<Value> inputs, IReadOnlyList<long> elementOffsets)
    {
        if (output.IsGraphInput || output.Constant is not null || HasTensor(output)) return false;
        var ids = new HashSet<int>();
        foreach (Value v in inputs)
        {
            if (v.Constant is not null || v.IsGraphInput || !HasTensor(v)) return false;
            TensorBuilder t = Tensors[Tensor(v)];
            if (t.Location != TensorLocation.Arena || t.ViewOf >= 0 || t.Type != output.Type || !ids.Add(t.Id)) return false;
        }
        int outId = Tensor(output);
        for (int i = 0; i < inputs.Count; i++)
        {
            TensorBuilder t = Tensors[Tensor(inputs[i])];
            t.ViewOf = outId;
            t.ViewElementOffset = elementOffsets[i];
        }
        return true;
    }

    /// <summary>
    /// A weight operand holding the constant's data: float32 data of the model file is used in place; float16/double data
    /// stored in the file is converted at construction; small folded values (and integer or bool constants, typed) are
    /// literals; recipes are computed at construction.
    /// </summary>
    public int RawWeight(Constant c, string name)
    {
        if (_rawWeightOf.TryGetValue(c, out int id)) return id;
        ulong hash = c.ContentHash(Model);
        string hashText = hash.ToString("x16", CultureInfo.InvariantCulture);
        WeightSpec spec;
        if (c.Recipe is not null)
        {
            return Remember(c, RecipeWeight(c, name));
        }
        // float16 and bfloat16 have no C# pointer type here: they are always used as float32.
        OnnxDataType type = c.Type is OnnxDataType.Float16 or OnnxDataType.BFloat16 ? OnnxDataType.Float : c.Type;
        if (type == OnnxDataType.Float && c.FileOffset >= 0 && c.StorageType == OnnxDataType.Float)
        {
            spec = new WeightSpec
            {
                Id = Weights.Count, Name = name, Kind = WeightSourceKind.File, ElementCount = c.ElementCount,
                ContentHash = hashText, Offset = c.FileOffset, Shape = c.Shape.ToEquatableArray(),
            };
        }
        else if (type == OnnxDataType.Float && c.FileOffset >= 0 && c.ElementCount > MaxLiteralElements)
        {
            // float16 / double weights stored in the file: converted to float32 once, at construction.
            string kind = c.StorageType switch
            {
                OnnxDataType.Float16 => "ConvertFromHalf",
                OnnxDataType.Double => "ConvertFromDouble",
                _ => throw new UnsupportedNodeException($"weight '{name}' of type {c.StorageType} cannot be used as float data"),
            };
            spec = new WeightSpec
            {
                Id = Weights.Count, Name = name, Kind = WeightSourceKind.Transform, ElementCount = c.ElementCount,
                ContentHash = hashText, Offset = AllocatePacked(c.ElementCount * 4), Transform = kind,
                Parameters = new EquatableArray<string>(new[] { Lit.Int(c.FileOffset) }),
                Shape = c.Shape.ToEquatableArray(),
            };
        }
        else
        {
            if (c.ElementCount > MaxLiteralElements)
                throw new UnsupportedNodeException($"constant '{name}' ({c.ElementCount} elements of {c.Type}) would have to be embedded in source");
            int size = Constant.ElementSize(type);
            spec = new WeightSpec
            {
                Id = Weights.Count, Name = name, Kind = WeightSourceKind.Literal, ElementCount = c.ElementCount,
                ContentHash = hashText, Offset = AllocatePacked(c.ElementCount * size),
                Literal = Literals(c, type).ToEquatableArray(), Shape = c.Shape.ToEquatableArray(), ElementType = type.ToString(),
            };
        }
        Weights.Add(spec);
        return Remember(c, spec.Id);
    }

    private IEnumerable<string> Literals(Constant c, OnnxDataType type)
    {
        switch (type)
        {
            case OnnxDataType.Float:
                return c.ToFloats(Model).Select(FloatLiteral);
            case OnnxDataType.Double:
                return c.ToDoubles(Model).Select(d => double.IsNaN(d) ? "double.NaN" : double.IsPositiveInfinity(d) ? "double.PositiveInfinity"
                    : double.IsNegativeInfinity(d) ? "double.NegativeInfinity" : d.ToString("R", CultureInfo.InvariantCulture) + "d");
            case OnnxDataType.Bool:
                return c.ToLongs(Model).Select(l => l != 0 ? "true" : "false");
            case OnnxDataType.Int64:
                return c.ToLongs(Model).Select(l => l == long.MinValue ? "long.MinValue" : l.ToString(CultureInfo.InvariantCulture) + "L");
            case OnnxDataType.Int32:
                return c.ToLongs(Model).Select(l => l == int.MinValue ? "int.MinValue" : l.ToString(CultureInfo.InvariantCulture));
            case OnnxDataType.UInt64:
                return c.ToLongs(Model).Select(l => ((ulong)l).ToString(CultureInfo.InvariantCulture) + "UL");
            case OnnxDataType.UInt32:
                return c.ToLongs(Model).Select(l => ((uint)l).ToString(CultureInfo.InvariantCulture) + "U");
            default:
                // int8, uint8, int16, uint16: the array type fixes the conversion of these small literals.
                return c.ToLongs(Model).Select(l => l.ToString(CultureInfo.InvariantCulture));
        }
    }

    private int Remember(Constant c, int id)
    {
        _rawWeightOf[c] = id;
        return id;
    }

    /// <summary>Construction-time recipes (BatchNorm folding) as WeightTransforms calls.</summary>
    private int RecipeWeight(Constant c, string name)
    {
        ConstantRecipe r = c.Recipe!;
        int[] ops = r.Operands.Select(o => RawWeight(o, name)).ToArray();
        switch (r.Kind)
        {
            case "BatchNormScale":
                return Transform("BatchNormScale", name + ":bn_scale", ops, new[] { Lit.Int(c.ElementCount), Lit.Double(r.Parameters[0]) }, c.ElementCount, c.Shape);
            case "BatchNormBias":
                if (ops.Length == 4) ops = new[] { -1 }.Concat(ops).ToArray();
                return Transform("BatchNormBias", name + ":bn_bias", ops, new[] { Lit.Int(c.ElementCount), Lit.Double(r.Parameters[0]) }, c.ElementCount, c.Shape);
            case "AddBias":
            {
                // Operands (bias?, addend): the addend's element count (1 or the channels) is its broadcast period.
                long count = r.Operands[r.Operands.Length - 1].ElementCount;
                if (ops.Length == 1) ops = new[] { -1, ops[0] };
                return Transform("AddBias", name + ":bias", ops, new[] { Lit.Int(c.ElementCount), Lit.Int(count) }, c.ElementCount, c.Shape);
            }
            case "ScaleRows":
            {
                int rows = c.Shape[0];
                long cols = rows == 0 ? 0 : c.ElementCount / rows;
                return Transform("ScaleRows", name + ":scaled", ops, new[] { Lit.Int(rows), Lit.Int(cols) }, c.ElementCount, c.Shape);
            }
            default:
                throw new InvalidOperationException("unknown recipe " + r.Kind);
        }
    }

    /// <summary>A weight computed at construction by <c>WeightTransforms.{kind}(dst, operands..., parameters...)</c> into the packed block.</summary>
    /// <param name="parameters">C# literals (see <see cref="Lit"/>), passed after the operand pointers.</param>
    public int Transform(string kind, string name, int[] operands, string[] parameters, long elementCount, int[]? shape = null)
    {
        string[] ps = parameters;
        string key = kind + "(" + string.Join(",", operands) + ";" + string.Join(",", ps) + ")";
        if (_transformOf.TryGetValue(key, out int existing)) return existing;
        ulong hash = Hashing.Combine(Hashing.Start, key);
        foreach (int o in operands) hash = Hashing.Combine(hash, o < 0 ? "none" : Weights[o].ContentHash);
        var spec = new WeightSpec
        {
            Id = Weights.Count, Name = name, Kind = WeightSourceKind.Transform, ElementCount = elementCount,
            ContentHash = hash.ToString("x16", CultureInfo.InvariantCulture), Offset = AllocatePacked(elementCount * 4),
            Transform = kind, Operands = operands.ToEquatableArray(), Parameters = ps.ToEquatableArray(),
            Shape = (shape ?? new[] { (int)elementCount }).ToEquatableArray(),
        };
        Weights.Add(spec);
        _transformOf[key] = spec.Id;
        return spec.Id;
    }

    /// <summary>Reserves bytes in the packed-weight block; returns the byte offset (64-byte aligned).</summary>
    private long AllocatePacked(long bytes)
    {
        long offset = PackedWeightBytes;
        PackedWeightBytes += (bytes + 63) / 64 * 64;
        return offset;
    }

    /// <summary>An input operand: the activation tensor, or the constant as a raw weight.</summary>
    public Operand In(string parameter, Value v) =>
        v.Constant is not null
            ? new Operand(parameter, OperandKind.Weight, RawWeight(v.Constant, v.Name))
            : new Operand(parameter, OperandKind.Tensor, Tensor(v));

    public Operand Out(string parameter, Value v) => new(parameter, OperandKind.Tensor, Tensor(v), Writes: true);

    /// <summary>A per-layer scratch buffer (lives only while the layer runs).</summary>
    public Operand Scratch(string parameter, Node node, long floats) =>
        new(parameter, OperandKind.Tensor, NewTensor(node.Name + ":scratch", OnnxDataType.Float, new[] { (int)Math.Max(1, floats) }), Writes: true);

    /// <summary>
    /// Packs a weight that is a graph input (or computed) at run time into an arena tensor, with the same
    /// WeightTransforms function the constructor uses for constant weights. Returns the packed tensor's operand.
    /// </summary>
    public Operand RuntimePack(Node node, string parameter, string transform, Value source, string[] parameters, long floats)
    {
        int packed = NewTensor(node.Name + ":" + parameter + "_packed", OnnxDataType.Float, new[] { (int)floats });
        AddLayer(node, new RuntimeTransformSpec(transform, parameters.ToEquatableArray()),
            new[] { In("X", source), new Operand("Y", OperandKind.Tensor, packed, Writes: true) },
            new[] { $"packs '{source.Name}' for the GEMM at run time" });
        return new Operand(parameter, OperandKind.Tensor, packed);
    }

    public void AddLayer(Node node, KernelSpec kernel, IEnumerable<Operand> operands, IEnumerable<string>? extraRemarks = null)
    {
        var remarks = new List<string>(Remarks.ForNode(node));
        if (extraRemarks is not null) remarks.AddRange(extraRemarks);
        AddLayer(node.OpType, node.Name, kernel, operands, remarks, new[] { node.Name }.Concat(node.FusedNodeNames));
    }

    public void AddLayer(string opType, string nodeName, KernelSpec kernel, IEnumerable<Operand> operands, IEnumerable<string> remarks, IEnumerable<string>? nodes = null)
    {
        int index = Layers.Count;
        Layers.Add(new LayerSpec
        {
            Index = index,
            MethodName = Identifiers.LayerMethodName(index, opType, nodeName),
            Remarks = remarks.ToEquatableArray(),
            Nodes = (nodes ?? new[] { nodeName }).ToEquatableArray(),
            Operands = operands.ToEquatableArray(),
            Kernel = kernel,
            Macs = MacsOf(kernel),
        });
    }

    private static long MacsOf(KernelSpec kernel) => kernel switch
    {
        GemmSpec g => (long)g.M * g.N * g.K * g.Groups * g.Batch,
        DirectConvSpec d => (long)d.Batch * d.Groups * d.OutChannels * d.InChannels * d.Geometry.OutH * d.Geometry.OutW * d.Geometry.KernelH * d.Geometry.KernelW,
        ChannelVectorConvSpec c => (long)c.Batch * c.OutChannels * c.InChannels * c.Geometry.OutH * c.Geometry.OutW * c.Geometry.KernelH * c.Geometry.KernelW,
        WinogradConvSpec w => (long)w.Batch * w.OutChannels * w.InChannels * w.Geometry.OutH * w.Geometry.OutW * 9,
        PlaneFilterSpec { Op: "DepthwiseConv" } f => (long)f.Batch * f.Channels * f.Multiplier * f.Geometry.OutH * f.Geometry.OutW * f.Geometry.KernelH * f.Geometry.KernelW,
        _ => 0,
    };

    /// <summary>C# literal text for transform parameters.</summary>
    internal static class Lit
    {
        public static string Int(long v) => v.ToString(CultureInfo.InvariantCulture);

        public static string Float(float v) => FloatLiteral(v);

        public static string Double(double v) => v.ToString("R", CultureInfo.InvariantCulture) + "d";
    }

    public static string FloatLiteral(float f)
    {
        if (float.IsNaN(f)) return "float.NaN";
        if (float.IsPositiveInfinity(f)) return "float.PositiveInfinity";
        if (float.IsNegativeInfinity(f)) return "float.NegativeInfinity";
        string s = f.ToString("R", CultureInfo.InvariantCulture);
        if (s.IndexOfAny(new[] { '.', 'E', 'e' }) < 0) s += ".0";
        return s + "f";
    }
}

/// <summary>The human-readable description of a node that heads each generated layer.</summary>
internal static class Remarks
{
    public static IEnumerable<string> ForNode(Node node)
    {
        string fused = node.FusedNodes.Count == 0 ? "" : " + " + string.Join(" + ", node.FusedNodes) + " (fused)";
        yield return $"ONNX node {node.OpType} '{node.Name}' (opset {node.Opset}){fused}";
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            Value? v = node.Inputs[i];
            if (v is null) continue;
            string shape = v.Shape is null ? "?" : Shapes.Format(v.Shape);
            yield return $"input {i}: '{v.Name}' {shape}{(v.Constant is not null ? " (constant)" : "")}";
        }
        for (int i = 0; i < node.Outputs.Count; i++)
        {
            Value v = node.Outputs[i];
            yield return $"output {i}: '{v.Name}' {(v.Shape is null ? "?" : Shapes.Format(v.Shape))}";
        }
        var names = node.Attributes.Names.OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (names.Count > 0)
        {
            var sb = new StringBuilder("attributes: ");
            for (int i = 0; i < names.Count; i++)
            {
                if (i > 0) sb.Append(", ");
                sb.Append(names[i]).Append('=').Append(FormatAttribute(node.Attributes.Get(names[i])!));
            }
            yield return sb.ToString();
        }
        if (node.FusedActivation is { Kind: not ActivationKind.None } act) yield return $"fused activation: {act}";
    }

    private static string FormatAttribute(OnnxAttributeProto a)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        return a.EffectiveType switch
        {
            OnnxAttributeType.Int => a.I.ToString(c),
            OnnxAttributeType.Float => a.F.ToString("R", c),
            OnnxAttributeType.String => "\"" + Encoding.UTF8.GetString(a.S) + "\"",
            OnnxAttributeType.Ints => "[" + string.Join(",", a.Ints.Select(i => i.ToString(c))) + "]",
            OnnxAttributeType.Floats => "[" + string.Join(",", a.Floats.Select(f => f.ToString("R", c))) + "]",
            OnnxAttributeType.Tensor => $"tensor {a.T?.DataType} [{string.Join("x", a.T?.Dims ?? new List<long>())}]",
            _ => a.EffectiveType.ToString(),
        };
    }
}
