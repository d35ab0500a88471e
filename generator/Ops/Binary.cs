// Licensed under the MIT license.
// Element-wise binary operators with multidirectional (numpy) broadcasting: Add, Sub, Mul, Div
// (https://onnx.ai/onnx/operators/onnx__Add.html; opsets 7, 13, 14). Opsets before 7 used a `broadcast` attribute and
// are not supported. Integer inputs fold at build time (shape arithmetic); float tensors run as vectorised loops.

using System;
using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Binary : OpHandler
{
    private readonly string _opType;
    private readonly int _minOpset;

    public Binary(string opType, int minOpset)
    {
        _opType = opType;
        _minOpset = minOpset;
    }

    public override string OpType => _opType;

    public override int MinOpset => _minOpset;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 2, 2);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown();
        Value a = node.Inputs[0]!, b = node.Inputs[1]!;
        if (a.Type != b.Type) throw new InvalidNodeException($"input types differ ({a.Type} and {b.Type})");
        int[]? shape = Shapes.Broadcast(ShapeOf(a, "input A"), ShapeOf(b, "input B"));
        if (shape is null) throw new InvalidNodeException($"shapes {Shapes.Format(a.Shape!)} and {Shapes.Format(b.Shape!)} do not broadcast");
        ctx.SetOutput(node, 0, a.Type, shape);
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        Constant a = node.Inputs[0]!.Constant!, b = node.Inputs[1]!.Constant!;
        Func<double, double, double> d = _opType switch
        {
            "Add" => (x, y) => x + y,
            "Sub" => (x, y) => x - y,
            "Mul" => (x, y) => x * y,
            _ => (x, y) => x / y,
        };
        Func<long, long, long> l = _opType switch
        {
            "Add" => (x, y) => x + y,
            "Sub" => (x, y) => x - y,
            "Mul" => (x, y) => x * y,
            _ => (x, y) => y == 0 ? throw new InvalidNodeException("integer division by zero") : x / y,
        };
        return new[] { Folding.Binary(a, b, node.Outputs[0].Shape!, node.Outputs[0].Type, ctx.Model, d, l) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value a = node.Inputs[0]!, b = node.Inputs[1]!;
        if (node.Outputs[0].Type != OnnxDataType.Float) throw new UnsupportedNodeException($"{node.Outputs[0].Type} tensors computed at run time");
        int[] shape = node.Outputs[0].Shape!;
        (int[] merged, long[] sa, long[] sb) = Merge(shape, Shapes.BroadcastStrides(a.Shape!, shape), Shapes.BroadcastStrides(b.Shape!, shape));
        ctx.AddLayer(node, new BinarySpec(_opType, merged.ToEquatableArray(), sa.ToEquatableArray(), sb.ToEquatableArray(), node.FusedActivation ?? Activation.None),
            new[] { ctx.In("A", a), ctx.In("B", b), ctx.Out("C", node.Outputs[0]) });
    }

    /// <summary>Merges adjacent axes that are contiguous (or broadcast) for both inputs; drops size-1 axes.</summary>
    internal static (int[] Shape, long[] A, long[] B) Merge(int[] shape, long[] sa, long[] sb)
    {
        var dims = new List<int>();
        var la = new List<long>();
        var lb = new List<long>();
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            int last = dims.Count - 1;
            if (last >= 0 && la[last] == sa[i] * shape[i] && lb[last] == sb[i] * shape[i])
            {
                dims[last] *= shape[i];
                la[last] = sa[i];
                lb[last] = sb[i];
                continue;
            }
            dims.Add(shape[i]);
            la.Add(sa[i]);
            lb.Add(sb[i]);
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            la.Add(0);
            lb.Add(0);
        }
        return (dims.ToArray(), la.ToArray(), lb.ToArray());
    }
}
