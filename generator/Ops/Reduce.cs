// Licensed under the MIT license.
// Reductions (https://onnx.ai/onnx/operators/onnx__ReduceMean.html and siblings): ReduceSum, ReduceMean, ReduceMax,
// ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare (opsets 1, 11, 13, 18, 20;
// axes is an attribute before 18 — before 13 for ReduceSum — and a build-time input after; keepdims; noop_with_empty_axes)
// and ArgMax/ArgMin (opsets 1, 11, 12, 13; axis, keepdims, select_last_index; int64 output).

using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Reduce : OpHandler
{
    public static readonly string[] ReduceOps =
    {
        "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
        "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
    };

    private readonly string _opType;

    public Reduce(string opType) => _opType = opType;

    public override string OpType => _opType;

    private bool IsArg => _opType is "ArgMax" or "ArgMin";

    /// <summary>The opset from which axes is an input.</summary>
    private int AxesInputOpset => _opType == "ReduceSum" ? 13 : 18;

    public override void Infer(Node node, InferContext ctx)
    {
        bool axesInput = !IsArg && node.Opset >= AxesInputOpset;
        RequireInputs(node, 1, axesInput ? 2 : 1);
        RequireOutputs(node, 1, 1);
        if (IsArg) node.Attributes.RejectUnknown("axis", "keepdims", "select_last_index");
        else if (axesInput) node.Attributes.RejectUnknown("keepdims", "noop_with_empty_axes");
        else node.Attributes.RejectUnknown("axes", "keepdims");
        Value x = node.Inputs[0]!;
        if (x.Type != OnnxDataType.Float && x.Type != OnnxDataType.Double) throw new UnsupportedNodeException($"element type {x.Type}");
        int[] s = ShapeOf(x, "data");
        (bool[] reduced, bool noop) = Axes(node, ctx, s.Length);
        if (noop)
        {
            ctx.SetOutput(node, 0, x.Type, s);
            return;
        }
        for (int i = 0; i < s.Length; i++)
        {
            if (reduced[i] && s[i] == 0 && (IsArg || _opType is "ReduceMax" or "ReduceMin"))
                throw new InvalidNodeException($"reducing an empty axis {i}");
        }
        bool keep = node.Attributes.GetInt("keepdims", 1) != 0;
        var output = new List<int>();
        for (int i = 0; i < s.Length; i++)
        {
            if (!reduced[i]) output.Add(s[i]);
            else if (keep) output.Add(1);
        }
        ctx.SetOutput(node, 0, IsArg ? OnnxDataType.Int64 : x.Type, output.ToArray());
    }

    /// <summary>Which axes are reduced; noop when axes is empty and noop_with_empty_axes=1 (identity).</summary>
    private (bool[] Reduced, bool Noop) Axes(Node node, InferContext? ctx, int rank)
    {
        var reduced = new bool[rank];
        if (IsArg)
        {
            long a = node.Attributes.GetInt("axis", 0);
            int axis = Shapes.NormalizeAxis(a, rank);
            if (axis < 0) throw new InvalidNodeException($"axis {a} is out of range for rank {rank}");
            reduced[axis] = true;
            return (reduced, false);
        }
        long[]? axes;
        if (node.Opset >= AxesInputOpset)
        {
            axes = node.Input(1) is null ? null
                : ctx is not null ? ctx.RequireConstant(node, 1, "axes").ToLongs(ctx.Model) : node.Inputs[1]!.Constant!.ToLongs(Array.Empty<byte>());
        }
        else
        {
            axes = node.Attributes.GetInts("axes");
        }
        if (axes is null || axes.Length == 0)
        {
            if (node.Opset >= AxesInputOpset && node.Attributes.GetInt("noop_with_empty_axes", 0) != 0) return (reduced, true);
            for (int i = 0; i < rank; i++) reduced[i] = true;
            return (reduced, false);
        }
        foreach (long a in axes)
        {
            int axis = Shapes.NormalizeAxis(a, rank);
            if (axis < 0) throw new InvalidNodeException($"axis {a} is out of range for rank {rank}");
            reduced[axis] = true;
        }
        return (reduced, false);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        int[] s = x.Shape!;
        (bool[] reduced, bool noop) = AxesForLowering(node, ctx, s.Length);
        if (noop)
        {
            ctx.Alias(node.Outputs[0], x);
            return;
        }
        long[] strides = Shapes.Strides(s);
        (int[] kept, long[] keptStrides) = MergeAxes(s, strides, i => !reduced[i]);
        (int[] red, long[] redStrides) = MergeAxes(s, strides, i => reduced[i]);
        ctx.AddLayer(node, new ReduceSpec(_opType, kept.ToEquatableArray(), keptStrides.ToEquatableArray(), red.ToEquatableArray(),
            redStrides.ToEquatableArray(), node.Attributes.GetInt("select_last_index", 0) != 0),
            new[] { ctx.In("X", x), ctx.Out("Y", node.Outputs[0]) });
    }

    private (bool[] Reduced, bool Noop) AxesForLowering(Node node, LoweringContext ctx, int rank)
    {
        // Axes inputs are constants by now (checked in Infer); read them with the model bytes.
        if (!IsArg && node.Opset >= AxesInputOpset && node.Input(1) is { } axesValue)
        {
            long[] axes = axesValue.Constant!.ToLongs(ctx.Model);
            var reduced = new bool[rank];
            if (axes.Length == 0)
            {
                if (node.Attributes.GetInt("noop_with_empty_axes", 0) != 0) return (reduced, true);
                for (int i = 0; i < rank; i++) reduced[i] = true;
                return (reduced, false);
            }
            foreach (long a in axes) reduced[Shapes.NormalizeAxis(a, rank)] = true;
            return (reduced, false);
        }
        return Axes(node, null, rank);
    }

    /// <summary>The selected axes with their strides, merging neighbours that are contiguous; [1] with stride 0 when none.</summary>
    private static (int[] Shape, long[] Strides) MergeAxes(int[] s, long[] strides, Func<int, bool> select)
    {
        var dims = new List<int>();
        var st = new List<long>();
        for (int i = 0; i < s.Length; i++)
        {
            if (!select(i) || s[i] == 1) continue;
            int last = dims.Count - 1;
            if (last >= 0 && st[last] == strides[i] * s[i])
            {
                dims[last] *= s[i];
                st[last] = strides[i];
                continue;
            }
            dims.Add(s[i]);
            st.Add(strides[i]);
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            st.Add(0);
        }
        return (dims.ToArray(), st.ToArray());
    }
}
