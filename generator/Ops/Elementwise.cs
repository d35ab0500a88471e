// Licensed under the MIT license.
// Element-wise operators with multidirectional broadcasting (https://onnx.ai/onnx/operators/), one table row per op:
//   arithmetic  Add Sub Mul Div (6, 7, 13, 14)  Pow (1, 7, 12, 13, 15)  Max Min (6, 8, 12, 13)  Sum Mean (6, 8, 13)
//   activation  PRelu (7, 9, 16; slope broadcasts unidirectionally to X)
//   comparison  Equal (7, 11, 13, 19)  Less Greater (7, 9, 13)  LessOrEqual GreaterOrEqual (12, 16) -> bool
//   selection   Where (9, 16)
// Before opset 7 (8 for Max/Min/Sum/Mean) broadcasting was explicit: `broadcast`=1 aligns B at `axis` (default: the
// trailing axes), which is the same as numpy broadcasting of B padded with 1s. Constants fold at build time (float32 results, or int64
// arithmetic for integer shape computations); float tensors run as vectorised loops, the rest as scalar loops.

using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Elementwise : OpHandler
{
    internal sealed record Definition(string OpType, int MinOpset, int MinInputs, int MaxInputs);

    public static readonly IReadOnlyList<Definition> Definitions = new[]
    {
        new Definition("Add", 6, 2, 2), new Definition("Sub", 6, 2, 2), new Definition("Mul", 6, 2, 2), new Definition("Div", 6, 2, 2),
        new Definition("Pow", 1, 2, 2), new Definition("Max", 6, 1, int.MaxValue), new Definition("Min", 6, 1, int.MaxValue),
        new Definition("Sum", 6, 1, int.MaxValue), new Definition("Mean", 6, 1, int.MaxValue), new Definition("PRelu", 7, 2, 2),
        new Definition("Equal", 7, 2, 2), new Definition("Less", 7, 2, 2), new Definition("Greater", 7, 2, 2),
        new Definition("LessOrEqual", 12, 2, 2), new Definition("GreaterOrEqual", 12, 2, 2), new Definition("Where", 9, 3, 3),
        new Definition("And", 7, 2, 2), new Definition("Or", 7, 2, 2), new Definition("Xor", 7, 2, 2), new Definition("Not", 1, 1, 1),
    };

    private readonly Definition _def;

    public Elementwise(Definition definition) => _def = definition;

    public override string OpType => _def.OpType;

    public override int MinOpset => _def.MinOpset;

    private bool IsComparison => _def.OpType is "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual";

    private bool IsLogical => _def.OpType is "And" or "Or" or "Xor" or "Not";

    /// <summary>True for the opset-6 form with an explicit `broadcast` attribute.</summary>
    private bool Legacy(Node node) => node.Opset < 7 && _def.OpType is "Add" or "Sub" or "Mul" or "Div" or "Pow";

    /// <summary>The shape input <paramref name="i"/> broadcasts with: B padded with 1s at `axis` in the legacy form.</summary>
    private int[] InputShape(Node node, int i)
    {
        int[] s = ShapeOf(node.Inputs[i], $"input {i}");
        if (!Legacy(node) || i != 1 || node.Attributes.GetInt("broadcast", 0) == 0) return s;
        int[] a = ShapeOf(node.Inputs[0], "input 0");
        long axis = node.Attributes.GetInt("axis", a.Length - s.Length);
        if (axis < 0) axis += a.Length;
        if (axis < 0 || axis + s.Length > a.Length) throw new InvalidNodeException($"B {Shapes.Format(s)} does not fit in A {Shapes.Format(a)} at axis {axis}");
        var padded = new int[a.Length];
        for (int d = 0; d < padded.Length; d++) padded[d] = d >= axis && d < axis + s.Length ? s[d - axis] : 1;
        return padded;
    }

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, _def.MinInputs, _def.MaxInputs);
        RequireOutputs(node, 1, 1);
        if (Legacy(node)) node.Attributes.RejectUnknown("broadcast", "axis");
        else node.Attributes.RejectUnknown();
        if (Legacy(node) && node.Attributes.GetInt("broadcast", 0) == 0 && !Shapes.SameShape(ShapeOf(node.Inputs[0], "A"), ShapeOf(node.Inputs[1], "B")))
            throw new InvalidNodeException("without broadcast=1 the shapes must be equal");
        if (node.Inputs.Any(i => i is null)) throw new InvalidNodeException("an input is missing");
        var inputs = node.Inputs.Select(i => i!).ToList();
        var data = _def.OpType == "Where" ? inputs.Skip(1).ToList() : inputs;
        OnnxDataType type = data[0].Type;
        // Pow (12+) lets the exponent have its own numeric type.
        var typed = _def.OpType == "Pow" ? data.Take(1).ToList() : data;
        if (typed.Any(v => v.Type != type)) throw new InvalidNodeException($"inputs have different element types ({string.Join(", ", data.Select(v => v.Type))})");
        if (_def.OpType == "Where" && inputs[0].Type != OnnxDataType.Bool) throw new InvalidNodeException("condition must be bool");
        if (IsLogical && type != OnnxDataType.Bool) throw new InvalidNodeException("inputs must be bool");
        int[]? shape = _def.OpType == "PRelu"
            ? (Shapes.Broadcast(ShapeOf(inputs[0], "X"), ShapeOf(inputs[1], "slope")) is { } b && Shapes.SameShape(b, inputs[0].Shape) ? inputs[0].Shape : null)
            : Broadcasting.Shape(inputs.Select((v, i) => InputShape(node, i)));
        if (shape is null) throw new InvalidNodeException($"shapes {string.Join(", ", inputs.Select(v => Shapes.Format(v.Shape!)))} do not broadcast");
        ctx.SetOutput(node, 0, IsComparison ? OnnxDataType.Bool : type, shape);
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        var inputs = node.Inputs.Select(v => v!.Constant!).ToList();
        int[] shape = node.Outputs[0].Shape!;
        OnnxDataType outType = node.Outputs[0].Type;
        long count = Shapes.Product(shape);
        long[][] strides = inputs.Select((c, i) => Shapes.BroadcastStrides(InputShape(node, i), shape)).ToArray();
        bool integer = !Folding.IsFloat(_def.OpType == "Where" ? inputs[1].Type : inputs[0].Type);
        if (IsLogical) integer = true;
        if (_def.OpType == "Pow" && !integer) integer = false;
        var idx = new int[shape.Length];
        if (integer && !IsComparison && _def.OpType != "Where" && !IsLogical)
        {
            long[][] vals = inputs.Select(c => c.ToLongs(ctx.Model)).ToArray();
            var r = new long[count];
            var args = new long[inputs.Count];
            for (long i = 0; i < count; i++)
            {
                for (int k = 0; k < args.Length; k++) args[k] = vals[k][Offset(idx, strides[k])];
                r[i] = EvaluateLong(args);
                Folding.Increment(idx, shape);
            }
            return new[] { Constant.FromLongs(outType, shape, r) };
        }
        double[][] d = inputs.Select(c => c.ToDoubles(ctx.Model)).ToArray();
        var result = new double[count];
        var a = new double[inputs.Count];
        for (long i = 0; i < count; i++)
        {
            for (int k = 0; k < a.Length; k++)
            {
                double v = d[k][Offset(idx, strides[k])];
                a[k] = integer || inputs[k].Type == OnnxDataType.Double ? v : (float)v;
            }
            result[i] = EvaluateDouble(a);
            Folding.Increment(idx, shape);
        }
        if (outType == OnnxDataType.Double) return new[] { Constant.FromDoubles(shape, result) };
        if (Folding.IsFloat(outType)) return new[] { Constant.FromFloats(shape, result.Select(v => (float)v).ToArray()) };
        return new[] { Constant.FromLongs(outType, shape, result.Select(v => (long)v).ToArray()) };
    }

    private static long Offset(int[] idx, long[] strides)
    {
        long o = 0;
        for (int i = 0; i < idx.Length; i++) o += idx[i] * strides[i];
        return o;
    }

    private long EvaluateLong(long[] a) => _def.OpType switch
    {
        "Add" => a[0] + a[1],
        "Sub" => a[0] - a[1],
        "Mul" => a[0] * a[1],
        "Div" => a[1] == 0 ? throw new InvalidNodeException("integer division by zero") : a[0] / a[1],
        "Max" => a.Max(),
        "Min" => a.Min(),
        "Sum" => a.Sum(),
        "Mean" => a.Sum() / a.Length,
        "Pow" => (long)Math.Pow(a[0], a[1]),
        "PRelu" => a[0] < 0 ? a[0] * a[1] : a[0],
        _ => throw new InvalidOperationException(_def.OpType),
    };

    private double EvaluateDouble(double[] a) => _def.OpType switch
    {
        "Add" => (float)(a[0] + a[1]),
        "Sub" => (float)(a[0] - a[1]),
        "Mul" => (float)(a[0] * a[1]),
        "Div" => (float)(a[0] / a[1]),
        "Pow" => (float)Math.Pow(a[0], a[1]),
        "Max" => a.Max(),
        "Min" => a.Min(),
        "Sum" => a.Aggregate(0f, (s, v) => (float)(s + v)),
        "Mean" => a.Aggregate(0f, (s, v) => (float)(s + v)) / a.Length,
        "PRelu" => a[0] < 0 ? (float)(a[0] * a[1]) : a[0],
        "Equal" => a[0] == a[1] ? 1 : 0,
        "Less" => a[0] < a[1] ? 1 : 0,
        "Greater" => a[0] > a[1] ? 1 : 0,
        "LessOrEqual" => a[0] <= a[1] ? 1 : 0,
        "GreaterOrEqual" => a[0] >= a[1] ? 1 : 0,
        "Where" => a[0] != 0 ? a[1] : a[2],
        "And" => a[0] != 0 && a[1] != 0 ? 1 : 0,
        "Or" => a[0] != 0 || a[1] != 0 ? 1 : 0,
        "Xor" => (a[0] != 0) != (a[1] != 0) ? 1 : 0,
        "Not" => a[0] != 0 ? 0 : 1,
        _ => throw new InvalidOperationException(_def.OpType),
    };

    public override void Lower(Node node, LoweringContext ctx)
    {
        var inputs = node.Inputs.Select(v => v!).ToList();
        if (inputs.Any(v => !Importer.IsIoType(v.Type))) throw new UnsupportedNodeException($"{inputs.First(v => !Importer.IsIoType(v.Type)).Type} tensors computed at run time");
        int[] shape = node.Outputs[0].Shape!;
        long[][] strides = inputs.Select((v, i) => Shapes.BroadcastStrides(InputShape(node, i), shape)).ToArray();
        if (node.Outputs[0].Blocked)
        {
            // A channel scale of a blocked tensor (Passes/BlockedLayout.ScaledInput): over [N, C/16, H*W, 16], the blocked
            // input and output dense, the [N or 1, C, 1, 1] scale at channel cb * 16 + lane.
            const int Block = BlockedLayout.Block;
            Value x = BlockedLayout.ScaledInput(node)!;
            int c = shape[1], hw = shape[2] * shape[3];
            shape = new[] { shape[0], c / Block, hw, Block };
            strides = inputs.Select(v => v == x
                ? new long[] { (long)c * hw, (long)hw * Block, Block, 1 }
                : new long[] { v.Shape![0] == 1 ? 0 : c, Block, 0, 1 }).ToArray();
        }
        (int[] merged, long[][] mergedStrides) = Broadcasting.Merge(shape, strides);
        var operands = inputs.Select((v, i) => ctx.In("X" + i, v)).ToList();
        operands.Add(ctx.Out("Y", node.Outputs[0]));
        ctx.AddLayer(node, new BroadcastSpec(_def.OpType, merged.ToEquatableArray(),
            mergedStrides.Select(s => s.ToEquatableArray()).ToEquatableArray(), node.FusedActivation ?? Activation.None), operands);
    }
}
