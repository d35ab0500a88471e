// Licensed under the MIT license.
// Slice — https://onnx.ai/onnx/operators/onnx__Slice.html (opsets 1, 10, 11, 13). starts/ends/axes are attributes before
// 10 and build-time constant inputs (plus steps) from 10. Clamping follows the spec (start in [0, d] for positive
// steps, [0, d-1] for negative; end in [0, d] or [-1, d-1]). Folded on constants, else a strided copy; a slice read
// only by another slice is composed into that one's copy (a detector's space-to-depth stem: rows, then columns).

using System;
using System.Collections.Generic;
using System.Linq;
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
        // A slice read only by another slice is not computed: the reader copies straight from this one's input.
        if (ComposesInto(node) is not null) return;
        (Value source, int[] shape, long[] strides, long offset, List<Node> composed) = Composed(node, ctx.Model);
        IEnumerable<string>? remarks = null;
        if (composed.Count > 0)
        {
            // Nearest first (the slice this one reads, then the one that one reads); the remark names them in copy order.
            node.FusedNodeNames.AddRange(Enumerable.Reverse(composed).Select(p => p.Name));
            remarks = new[]
            {
                $"composed with {string.Join(", ", composed.Select(p => p.Describe()))} (read by this slice alone, not computed): copies from '{source.Name}' directly",
            };
        }
        CopyLowering.StridedCopy(node, ctx, source, node.Outputs[0], shape, strides, offset, remarks);
    }

    /// <summary>The slice that reads <paramref name="node"/>'s output, when it is that output's only reader (and the output is not a graph output).</summary>
    private static Node? ComposesInto(Node node)
    {
        Value y = node.Outputs[0];
        return !y.IsGraphOutput && y.Consumers.Count == 1 && y.Consumers[0] is { Domain.Length: 0, OpType: "Slice" } reader && reader.Inputs[0] == y
            ? reader
            : null;
    }

    /// <summary>
    /// The node's copy as one strided view of the first input not produced by a composing slice: y[j] = source[offset +
    /// sum_d j_d strides_d]. A slice of a contiguous [s1] tensor at per-axis start a_d and step t_d, of a view with strides
    /// r_d and offset o, is the view with strides r_d t_d and offset o + sum_d a_d r_d.
    /// </summary>
    private static (Value Source, int[] Shape, long[] Strides, long Offset, List<Node> Composed) Composed(Node node, byte[] model)
    {
        Value x = node.Inputs[0]!;
        (int[] shape, long[] strides, long offset) = Plan(node, model, x.Shape!, null);
        if (x.Producer is not { Domain.Length: 0, OpType: "Slice" } producer || ComposesInto(producer) != node) return (x, shape, strides, offset, new List<Node>());
        (Value source, int[] _, long[] outer, long outerOffset, List<Node> composed) = Composed(producer, model);
        long[] contiguous = Shapes.Strides(x.Shape!);
        var st = new long[shape.Length];
        long off = outerOffset;
        for (int d = 0; d < shape.Length; d++)
        {
            long start = offset / contiguous[d] % x.Shape![d];
            st[d] = strides[d] / contiguous[d] * outer[d];
            off += start * outer[d];
        }
        composed.Add(producer);
        return (source, shape, st, off, composed);
    }
}
