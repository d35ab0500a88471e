// Licensed under the MIT license.
// Clip — https://onnx.ai/onnx/operators/onnx__Clip.html (opsets 6, 11, 12, 13). Before 11: `min`/`max` attributes;
// from 11: optional `min`/`max` inputs, which must be build-time constants (ReLU6 in MobileNet).

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
        if (x.Type != OnnxDataType.Float) throw new UnsupportedNodeException($"element type {x.Type}");
        Bounds(node, ctx.Model);
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

    private static float Scalar(Node node, Value v, string name, byte[] model)
    {
        if (v.Constant is not { IsMaterializable: true } c) throw new UnsupportedNodeException($"the '{name}' input is computed at run time");
        if (c.ElementCount != 1) throw new InvalidNodeException($"'{name}' must be a scalar");
        return c.ToFloats(model)[0];
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Shared.Folding.CanFold(node)) return null;
        (float lo, float hi) = Bounds(node, ctx.Model);
        float[] x = node.Inputs[0]!.Constant!.ToFloats(ctx.Model);
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = System.Math.Min(System.Math.Max(x[i], lo), hi);
        return new[] { Constant.FromFloats(node.Outputs[0].Shape!, y) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        (float lo, float hi) = Bounds(node, ctx.Model);
        ctx.AddLayer(node, new UnarySpec("Clip", Shapes.Product(node.Outputs[0].Shape!), lo, hi),
            new[] { ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]) });
    }
}
