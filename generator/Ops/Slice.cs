// Licensed under the MIT license.
// Slice — https://onnx.ai/onnx/operators/onnx__Slice.html (opsets 1, 10, 11, 13). starts/ends/axes are attributes before
// 10 and build-time constant inputs (plus steps) from 10. Clamping follows the spec (start in [0, d] for positive
// steps, [0, d-1] for negative; end in [0, d] or [-1, d-1]). Folded on constants, else a strided copy.

using System;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Slice : OpHandler
{
    public override string OpType => "Slice";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, node.Opset >= 10 ? 3 : 1, node.Opset >= 10 ? 5 : 1);
        RequireOutputs(node, 1, 1);
        if (node.Opset >= 10) node.Attributes.RejectUnknown();
        else node.Attributes.RejectUnknown("starts", "ends", "axes");
        Value x = node.Inputs[0]!;
        (int[] shape, _, _) = Plan(node, ctx.Model, ShapeOf(x, "data"), ctx);
        ctx.SetOutput(node, 0, x.Type, shape);
    }

    /// <summary>Output shape, per-axis input strides and the start offset.</summary>
    private static (int[] Shape, long[] Strides, long Offset) Plan(Node node, byte[] model, int[] s, InferContext? ctx)
    {
        long[] starts, ends;
        long[]? axes, steps = null;
        if (node.Opset >= 10)
        {
            starts = Input(node, 1, "starts", model, ctx)!;
            ends = Input(node, 2, "ends", model, ctx)!;
            axes = Input(node, 3, "axes", model, ctx);
            steps = Input(node, 4, "steps", model, ctx);
        }
        else
        {
            starts = node.Attributes.GetInts("starts") ?? throw new InvalidNodeException("starts is required");
            ends = node.Attributes.GetInts("ends") ?? throw new InvalidNodeException("ends is required");
            axes = node.Attributes.GetInts("axes");
        }
        if (starts.Length != ends.Length) throw new InvalidNodeException("starts and ends have different lengths");
        int rank = s.Length;
        long[] inStrides = Shapes.Strides(s);
        var shape = (int[])s.Clone();
        var strides = (long[])inStrides.Clone();
        long offset = 0;
        var seen = new bool[rank];
        for (int i = 0; i < starts.Length; i++)
        {
            int axis = axes is null ? i : Shapes.NormalizeAxis(axes[i], rank);
            if (axis < 0 || seen[axis]) throw new InvalidNodeException($"axis {(axes is null ? i : axes[i])} is out of range or repeated");
            seen[axis] = true;
            long step = steps is null ? 1 : steps[i];
            if (step == 0) throw new InvalidNodeException("steps must not be 0");
            long d = s[axis];
            long start = starts[i] < 0 ? starts[i] + d : starts[i];
            long end = ends[i] < 0 ? ends[i] + d : ends[i];
            if (step > 0)
            {
                start = Math.Max(0, Math.Min(d, start));
                end = Math.Max(0, Math.Min(d, end));
            }
            else
            {
                start = Math.Max(0, Math.Min(d - 1, start));
                end = Math.Max(-1, Math.Min(d - 1, end));
            }
            long count = step > 0 ? Math.Max(0, (end - start + step - 1) / step) : Math.Max(0, (start - end + (-step) - 1) / -step);
            shape[axis] = (int)count;
            strides[axis] = inStrides[axis] * step;
            if (count > 0) offset += start * inStrides[axis];
        }
        return (shape, strides, offset);
    }

    private static long[]? Input(Node node, int index, string name, byte[] model, InferContext? ctx)
    {
        if (node.Input(index) is null) return null;
        if (ctx is not null) return ctx.RequireConstant(node, index, name).ToLongs(model);
        return node.Inputs[index]!.Constant!.ToLongs(model);
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        Constant x = node.Inputs[0]!.Constant!;
        (int[] shape, long[] strides, long offset) = Plan(node, ctx.Model, x.Shape, ctx);
        return new[] { Folding.Remap(x, shape, strides, offset, ctx.Model) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        (int[] shape, long[] strides, long offset) = Plan(node, ctx.Model, x.Shape!, null);
        CopyLowering.StridedCopy(node, ctx, x, node.Outputs[0], shape, strides, offset);
    }
}
