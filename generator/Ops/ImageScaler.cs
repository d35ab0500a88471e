// Licensed under the MIT license.
// ImageScaler and Crop — experimental ONNX ops removed in opset 10 that ONNX Runtime still runs (fns-candy uses them).
// ImageScaler: y[n, c] = scale * x[n, c] + bias[c] (a per-channel affine layer). Crop: border = [left, top, right,
// bottom], optional scale = [height, width] (then the crop starts at left/top with that size), as ONNX Runtime does.

using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class ImageScaler : OpHandler
{
    public override string OpType => "ImageScaler";

    public override int MaxOpset => 9;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("bias", "scale");
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "the input");
        if (s.Length != 4) throw new InvalidNodeException($"the input must be NCHW, got {Shapes.Format(s)}");
        float[]? bias = node.Attributes.GetFloats("bias");
        if (bias is not null && bias.Length != s[1]) throw new InvalidNodeException($"bias has {bias.Length} values for {s[1]} channels");
        RequireFloat(x);
        ctx.SetOutput(node, 0, x.Type, s);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        int[] s = x.Shape!;
        float scale = node.Attributes.GetFloat("scale", 1f);
        float[] bias = node.Attributes.GetFloats("bias") ?? new float[s[1]];
        int scaleWeight = ctx.RawWeight(Constant.FromFloats(new[] { s[1] }, Enumerable.Repeat(scale, s[1]).ToArray()), node.Name + ":scale");
        int biasWeight = ctx.RawWeight(Constant.FromFloats(new[] { s[1] }, bias), node.Name + ":bias");
        ctx.AddLayer(node, new ChannelAffineSpec(s[0], s[1], s[2] * s[3], Activation.None), new[]
        {
            ctx.In("X", x),
            new Operand("Scale", OperandKind.Weight, scaleWeight),
            new Operand("Shift", OperandKind.Weight, biasWeight),
            ctx.Out("Y", node.Outputs[0]),
        });
    }
}

internal sealed class Crop : OpHandler
{
    public override string OpType => "Crop";

    public override int MaxOpset => 9;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("border", "scale");
        Value x = node.Inputs[0]!;
        (int[] shape, _, _) = Plan(node, ShapeOf(x, "the input"));
        ctx.SetOutput(node, 0, x.Type, shape);
    }

    private static (int[] Shape, long[] Strides, long Offset) Plan(Node node, int[] s)
    {
        if (s.Length != 4) throw new InvalidNodeException($"the input must be NCHW, got {Shapes.Format(s)}");
        long[] border = node.Attributes.GetInts("border") ?? throw new InvalidNodeException("border is required");
        if (border.Length != 4) throw new InvalidNodeException("border must have 4 values (left, top, right, bottom)");
        long left = border[0], top = border[1], right = border[2], bottom = border[3];
        long bottomLimit = s[2] - bottom, rightLimit = s[3] - right;
        long[]? scale = node.Attributes.GetInts("scale");
        if (scale is { Length: > 0 })
        {
            if (scale.Length != 2) throw new InvalidNodeException("scale must have 2 values (height, width)");
            bottomLimit = top + scale[0];
            rightLimit = left + scale[1];
        }
        if (left < 0 || top < 0 || bottomLimit > s[2] || rightLimit > s[3] || bottomLimit <= top || rightLimit <= left)
            throw new InvalidNodeException($"the crop [{top}..{bottomLimit}) x [{left}..{rightLimit}) is outside the {s[2]}x{s[3]} input");
        long[] st = Shapes.Strides(s);
        return (new[] { s[0], s[1], (int)(bottomLimit - top), (int)(rightLimit - left) }, st, top * st[2] + left * st[3]);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        (int[] shape, long[] strides, long offset) = Plan(node, x.Shape!);
        CopyLowering.StridedCopy(node, ctx, x, node.Outputs[0], shape, strides, offset);
    }
}
