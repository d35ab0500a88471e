// Licensed under the MIT license.
// Clip — https://onnx.ai/onnx/operators/onnx__Clip.html (opsets 6, 11, 12, 13). Before 11: `min`/`max` attributes;
// from 11: optional `min`/`max` inputs, which must be build-time constants (ReLU6 in MobileNet).

using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Clip : OpHandler
{
    public override string OpType => "Clip";

    public override int MinOpset => 6;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, node.Opset >= 11 ? 3 : 1);
        RequireOutputs(node, 1, 1);
        if (node.Opset < 11) node.Attributes.RejectUnknown("min", "max");
        else node.Attributes.RejectUnknown();
        Value x = node.Inputs[0]!;
        for (int i = 1; i < node.Inputs.Count; i++)
        {
            if (node.Inputs[i] is { } b && (b.Type != x.Type || (b.Shape is not null && Shapes.Product(b.Shape) != 1)))
                throw new InvalidNodeException($"'{(i == 1 ? "min" : "max")}' must be a scalar of the input's type");
        }
        ctx.SetOutput(node, 0, x.Type, ShapeOf(x, "the input"));
    }

    internal static (float Min, float Max) Bounds(Node node, byte[] model)
    {
        if (node.Opset < 11)
        {
            return (node.Attributes.GetFloat("min", float.NegativeInfinity), node.Attributes.GetFloat("max", float.PositiveInfinity));
        }
        float lo = float.NegativeInfinity, hi = float.PositiveInfinity;
        if (node.Input(1) is { } min) lo = Scalar(node, min, "min", model);
        if (node.Input(2) is { } max) hi = Scalar(node, max, "max", model);
        return (lo, hi);
    }

    private static long MinOf(OnnxDataType t) => t switch
    {
        OnnxDataType.Int8 => sbyte.MinValue, OnnxDataType.Int16 => short.MinValue, OnnxDataType.Int32 => int.MinValue,
        OnnxDataType.Int64 => long.MinValue, _ => 0,
    };

    private static long MaxOf(OnnxDataType t) => t switch
    {
        OnnxDataType.Int8 => sbyte.MaxValue, OnnxDataType.UInt8 => byte.MaxValue, OnnxDataType.Int16 => short.MaxValue,
        OnnxDataType.UInt16 => ushort.MaxValue, OnnxDataType.Int32 => int.MaxValue, OnnxDataType.Bool => 1, _ => long.MaxValue,
    };

    private static float Scalar(Node node, Value v, string name, byte[] model)
    {
        if (v.Constant is not { IsMaterializable: true } c) throw new UnsupportedNodeException($"the '{name}' input is computed at run time");
        if (c.ElementCount != 1) throw new InvalidNodeException($"'{name}' must be a scalar");
        return c.ToFloats(model)[0];
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Shared.Folding.CanFold(node) || node.Inputs[0]!.Type != OnnxDataType.Float) return null;
        (float lo, float hi) = Bounds(node, ctx.Model);
        float[] x = node.Inputs[0]!.Constant!.ToFloats(ctx.Model);
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = System.Math.Min(System.Math.Max(x[i], lo), hi);
        return new[] { Constant.FromFloats(node.Outputs[0].Shape!, y) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        bool runtimeBounds = node.Opset >= 11 && node.Inputs.Skip(1).Any(b => b is not null && b.Constant is null);
        if (runtimeBounds || x.Type != OnnxDataType.Float)
        {
            // Bounds computed at run time (or a non-float input): a broadcast Clip reading min and max as scalars.
            if (!Importer.IsIoType(x.Type)) throw new UnsupportedNodeException($"element type {x.Type}");
            Value Bound(int index, double value)
            {
                if (node.Input(index) is { } b) return b;
                Value v = ctx.Graph.NewValue(node.Name + (index == 1 ? ":min" : ":max"));
                v.Type = x.Type;
                v.Shape = new int[0];
                v.Constant = x.Type == OnnxDataType.Float ? Constant.FromFloats(new int[0], new[] { (float)value })
                    : x.Type == OnnxDataType.Double ? Constant.FromDoubles(new int[0], new[] { value })
                    : Constant.FromLongs(x.Type, new int[0], new[] { value < 0 ? MinOf(x.Type) : MaxOf(x.Type) });
                return v;
            }
            var inputs = new[] { x, Bound(1, double.NegativeInfinity), Bound(2, double.PositiveInfinity) };
            int[] shape = node.Outputs[0].Shape!;
            long[][] strides = inputs.Select(v => Shapes.BroadcastStrides(v.Shape!, shape)).ToArray();
            (int[] merged, long[][] mergedStrides) = Shared.Broadcasting.Merge(shape, strides);
            var operands = inputs.Select((v, i) => ctx.In("X" + i, v)).ToList();
            operands.Add(ctx.Out("Y", node.Outputs[0]));
            ctx.AddLayer(node, new BroadcastSpec("Clip", Common.EquatableArray.ToEquatableArray(merged),
                Common.EquatableArray.ToEquatableArray(mergedStrides.Select(s => Common.EquatableArray.ToEquatableArray(s))), Activation.None), operands);
            return;
        }
        (float lo, float hi) = Bounds(node, ctx.Model);
        ctx.AddLayer(node, new UnarySpec("Clip", Shapes.Product(node.Outputs[0].Shape!), lo, hi),
            new[] { ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]) });
    }
}
