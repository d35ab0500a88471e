// Licensed under the MIT license.
// ConstantOfShape — https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html (opsets 9, 20, 21) and Range
// (https://onnx.ai/onnx/operators/onnx__Range.html, opset 11): build-time generators, always folded (shape inputs and
// range bounds must be constants).

using System;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class ConstantOfShape : OpHandler
{
    public override string OpType => "ConstantOfShape";

    public override int MinOpset => 9;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("value");
        int[] shape = InferContext.ToShape(ctx.RequireConstant(node, 0, "input").ToLongs(ctx.Model), "shape");
        OnnxDataType type = node.Attributes.GetTensor("value")?.DataType ?? OnnxDataType.Float;
        ctx.SetOutput(node, 0, type, shape);
        if (Shapes.Product(shape) > InferContext.MaxFoldElements)
            throw new UnsupportedNodeException($"a constant of {Shapes.Product(shape)} elements (larger than the {InferContext.MaxFoldElements} folded at build time)");
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        int[] shape = node.Outputs[0].Shape!;
        long count = Shapes.Product(shape);
        Constant value = node.Attributes.GetTensor("value") is { } t
            ? Constant.FromTensorProto(t, ctx.Model, "value")
            : Constant.FromFloats(new[] { 1 }, new[] { 0f });
        if (value.ElementCount != 1) throw new InvalidNodeException("value must have one element");
        if (value.Type == OnnxDataType.Double) { var d = new double[count]; for (long i = 0; i < count; i++) d[i] = value.ToDoubles(ctx.Model)[0]; return new[] { Constant.FromDoubles(shape, d) }; }
        if (Folding.IsFloat(value.Type)) { var f = new float[count]; float v = value.ToFloats(ctx.Model)[0]; for (long i = 0; i < count; i++) f[i] = v; return new[] { Constant.FromFloats(shape, f) }; }
        var l = new long[count];
        long lv = value.ToLongs(ctx.Model)[0];
        for (long i = 0; i < count; i++) l[i] = lv;
        return new[] { Constant.FromLongs(value.Type, shape, l) };
    }

    public override void Lower(Node node, LoweringContext ctx) { }
}

internal sealed class RangeOp : OpHandler
{
    public override string OpType => "Range";

    public override int MinOpset => 11;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 3, 3);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown();
        Constant start = ctx.RequireConstant(node, 0, "start"), limit = ctx.RequireConstant(node, 1, "limit"), delta = ctx.RequireConstant(node, 2, "delta");
        double s = start.ToDoubles(ctx.Model)[0], l = limit.ToDoubles(ctx.Model)[0], d = delta.ToDoubles(ctx.Model)[0];
        if (d == 0) throw new InvalidNodeException("delta must not be 0");
        long count = Math.Max(0, (long)Math.Ceiling((l - s) / d));
        if (count > InferContext.MaxFoldElements) throw new UnsupportedNodeException($"a range of {count} elements");
        ctx.SetOutput(node, 0, start.Type, new[] { (int)count });
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        Constant start = node.Inputs[0]!.Constant!, delta = node.Inputs[2]!.Constant!;
        int count = node.Outputs[0].Shape![0];
        if (Folding.IsFloat(start.Type))
        {
            // ONNX defines the values by repeated addition in the input type.
            var f = new float[count];
            float v = start.ToFloats(ctx.Model)[0], dv = delta.ToFloats(ctx.Model)[0];
            for (int i = 0; i < count; i++) f[i] = v + i * dv;
            return new[] { start.Type == OnnxDataType.Double ? Constant.FromDoubles(new[] { count }, Array.ConvertAll(f, x => (double)x)) : Constant.FromFloats(new[] { count }, f) };
        }
        var l = new long[count];
        long s = start.ToLongs(ctx.Model)[0], dl = delta.ToLongs(ctx.Model)[0];
        for (int i = 0; i < count; i++) l[i] = s + i * dl;
        return new[] { Constant.FromLongs(start.Type, new[] { count }, l) };
    }

    public override void Lower(Node node, LoweringContext ctx) { }
}
