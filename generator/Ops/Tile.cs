// Licensed under the MIT license.
// Tile — https://onnx.ai/onnx/operators/onnx__Tile.html (opsets 6, 13), and DepthToSpace / SpaceToDepth
// (https://onnx.ai/onnx/operators/onnx__DepthToSpace.html, opsets 1, 11, 13; DCR and CRD modes). All three are one
// strided copy over a reshaped, permuted view of the input (Tile broadcasts each axis with a zero stride).

using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Tile : OpHandler
{
    public override string OpType => "Tile";

    public override int MinOpset => 6;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 2, 2);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown();
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "input");
        long[] repeats = ctx.RequireConstant(node, 1, "repeats").ToLongs(ctx.Model);
        if (repeats.Length != s.Length) throw new InvalidNodeException($"repeats has {repeats.Length} values for rank {s.Length}");
        if (repeats.Any(r => r < 0)) throw new InvalidNodeException("repeats must not be negative");
        ctx.SetOutput(node, 0, x.Type, s.Select((d, i) => (int)(d * repeats[i])).ToArray());
    }

    /// <summary>[r0, d0, r1, d1, ...] with stride 0 on the repeat axes.</summary>
    private static (int[] Shape, long[] Strides) View(int[] s, int[] output)
    {
        long[] st = Shapes.Strides(s);
        var shape = new int[2 * s.Length];
        var strides = new long[2 * s.Length];
        for (int i = 0; i < s.Length; i++)
        {
            shape[2 * i] = s[i] == 0 ? 0 : output[i] / s[i];
            shape[2 * i + 1] = s[i];
            strides[2 * i + 1] = st[i];
        }
        return (shape, strides);
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        Constant x = node.Inputs[0]!.Constant!;
        (int[] shape, long[] strides) = View(x.Shape, node.Outputs[0].Shape!);
        return new[] { Folding.Remap(x, shape, strides, 0, ctx.Model).WithShape(node.Outputs[0].Shape!) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        (int[] shape, long[] strides) = View(x.Shape!, node.Outputs[0].Shape!);
        CopyLowering.StridedCopy(node, ctx, x, node.Outputs[0], shape, strides, 0);
    }
}

internal sealed class DepthToSpace : OpHandler
{
    private readonly bool _toDepth;

    public DepthToSpace(bool toDepth) => _toDepth = toDepth;

    public override string OpType => _toDepth ? "SpaceToDepth" : "DepthToSpace";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        if (_toDepth) node.Attributes.RejectUnknown("blocksize");
        else node.Attributes.RejectUnknown("blocksize", "mode");
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "input");
        (int[] shape, _, int[] output) = Plan(node, s);
        ctx.SetOutput(node, 0, x.Type, output);
    }

    private (int[] Shape, long[] Strides, int[] Output) Plan(Node node, int[] s)
    {
        if (s.Length != 4) throw new InvalidNodeException($"the input must be NCHW, got {Shapes.Format(s)}");
        if (!node.Attributes.Has("blocksize")) throw new InvalidNodeException("attribute 'blocksize' is required");
        long bl = node.Attributes.GetInt("blocksize", 1);
        if (bl <= 0 || bl > 1 << 16) throw new InvalidNodeException($"blocksize {bl} is invalid");
        int b = (int)bl, n = s[0], c = s[1], h = s[2], w = s[3];
        if (_toDepth)
        {
            if (h % b != 0 || w % b != 0) throw new InvalidNodeException($"H and W must be multiples of blocksize {b}");
            (int[] shape, long[] strides) = CopyLowering.PermutedView(new[] { n, c, h / b, b, w / b, b }, new[] { 0, 3, 5, 1, 2, 4 });
            return (shape, strides, new[] { n, c * b * b, h / b, w / b });
        }
        if (c % (b * b) != 0) throw new InvalidNodeException($"C must be a multiple of blocksize^2 = {b * b}");
        string mode = node.Attributes.GetString("mode", "DCR");
        (int[] sh, long[] st) = mode switch
        {
            "DCR" => CopyLowering.PermutedView(new[] { n, b, b, c / (b * b), h, w }, new[] { 0, 3, 4, 1, 5, 2 }),
            "CRD" => CopyLowering.PermutedView(new[] { n, c / (b * b), b, b, h, w }, new[] { 0, 1, 4, 2, 5, 3 }),
            _ => throw new InvalidNodeException($"mode '{mode}' is not DCR or CRD"),
        };
        return (sh, st, new[] { n, c / (b * b), h * b, w * b });
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        Constant x = node.Inputs[0]!.Constant!;
        (int[] shape, long[] strides, int[] output) = Plan(node, x.Shape);
        return new[] { Folding.Remap(x, shape, strides, 0, ctx.Model).WithShape(output) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        (int[] shape, long[] strides, _) = Plan(node, x.Shape!);
        CopyLowering.StridedCopy(node, ctx, x, node.Outputs[0], shape, strides, 0);
    }
}
