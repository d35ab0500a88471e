// Licensed under the MIT license.
// Split — https://onnx.ai/onnx/operators/onnx__Split.html (opsets 1, 2, 11, 13, 18). Sizes from the `split` attribute
// (before 13) or a build-time input (13+), `num_outputs` (18+), or equal parts. Each output is a strided copy (folded on
// constants).

using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Split : OpHandler
{
    public override string OpType => "Split";

    public override int MinOpset => 2;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, node.Opset >= 13 ? 2 : 1);
        RequireOutputs(node, 1, int.MaxValue);
        node.Attributes.RejectUnknown(node.Opset >= 18 ? new[] { "axis", "num_outputs" } : node.Opset >= 13 ? new[] { "axis" } : new[] { "axis", "split" });
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "input");
        (int axis, int[] sizes) = Plan(node, s, ctx.Model, ctx);
        for (int i = 0; i < sizes.Length; i++)
        {
            var o = (int[])s.Clone();
            o[axis] = sizes[i];
            ctx.SetOutput(node, i, x.Type, o);
        }
    }

    private static (int Axis, int[] Sizes) Plan(Node node, int[] s, byte[] model, InferContext? ctx)
    {
        long a = node.Attributes.GetInt("axis", 0);
        int axis = Shapes.NormalizeAxis(a, s.Length);
        if (axis < 0) throw new InvalidNodeException($"axis {a} is out of range for rank {s.Length}");
        int outputs = node.Outputs.Count;
        long[]? split = node.Opset >= 13
            ? (node.Input(1) is null ? null : (ctx is not null ? ctx.RequireConstant(node, 1, "split") : node.Inputs[1]!.Constant!).ToLongs(model))
            : node.Attributes.GetInts("split");
        int[] sizes;
        if (split is { Length: > 0 })
        {
            if (split.Length != outputs) throw new InvalidNodeException($"split has {split.Length} sizes for {outputs} outputs");
            if (split.Any(v => v < 0) || split.Sum() != s[axis]) throw new InvalidNodeException($"split sizes [{string.Join(",", split)}] do not add up to {s[axis]}");
            sizes = split.Select(v => (int)v).ToArray();
        }
        else
        {
            // Equal parts; from opset 18 with num_outputs the last part may be smaller (ceil division).
            int n = node.Opset >= 18 && node.Attributes.Has("num_outputs") ? (int)node.Attributes.GetInt("num_outputs", outputs) : outputs;
            if (n != outputs || n <= 0) throw new InvalidNodeException($"num_outputs {n} does not match {outputs} outputs");
            int part = node.Opset >= 18 ? (s[axis] + n - 1) / n : s[axis] / n;
            if (node.Opset < 18 && s[axis] % n != 0) throw new InvalidNodeException($"axis of {s[axis]} does not split into {n} equal parts");
            sizes = Enumerable.Range(0, n).Select(i => System.Math.Max(0, System.Math.Min(part, s[axis] - i * part))).ToArray();
        }
        return (axis, sizes);
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        Constant x = node.Inputs[0]!.Constant!;
        (int axis, int[] sizes) = Plan(node, x.Shape, ctx.Model, ctx);
        long[] strides = Shapes.Strides(x.Shape);
        var result = new Constant[sizes.Length];
        long start = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            result[i] = Folding.Remap(x, node.Outputs[i].Shape!, strides, start * strides[axis], ctx.Model);
            start += sizes[i];
        }
        return result;
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        (int axis, int[] sizes) = Plan(node, x.Shape!, ctx.Model, null);
        long[] strides = Shapes.Strides(x.Shape!);
        long start = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            Value y = node.Outputs[i];
            if (sizes[i] > 0 && (y.Consumers.Count > 0 || y.IsGraphOutput))
                CopyLowering.StridedCopy(node, ctx, x, y, y.Shape!, strides, start * strides[axis]);
            start += sizes[i];
        }
    }
}
