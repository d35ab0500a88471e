// Licensed under the MIT license.
// Unsqueeze — https://onnx.ai/onnx/operators/onnx__Unsqueeze.html (opsets 1, 11, 13, 21) and Squeeze
// (https://onnx.ai/onnx/operators/onnx__Squeeze.html, opsets 1, 11, 13, 21). Axes come from an attribute before 13 and
// from a constant input from 13 (negative axes from 11). Pure reshapes: the output aliases the input.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Unsqueeze : OpHandler
{
    private readonly bool _squeeze;

    public Unsqueeze(bool squeeze) => _squeeze = squeeze;

    public override string OpType => _squeeze ? "Squeeze" : "Unsqueeze";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, node.Opset >= 13 ? 2 : 1);
        RequireOutputs(node, 1, 1);
        if (node.Opset >= 13) node.Attributes.RejectUnknown();
        else node.Attributes.RejectUnknown("axes");
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "the input");
        long[]? axes = node.Opset >= 13
            ? (node.Input(1) is null ? null : ctx.RequireConstant(node, 1, "axes").ToLongs(ctx.Model))
            : node.Attributes.GetInts("axes");
        ctx.SetOutput(node, 0, x.Type, _squeeze ? Squeezed(s, axes) : Unsqueezed(s, axes));
    }

    private static int[] Unsqueezed(int[] s, long[]? axes)
    {
        if (axes is null || axes.Length == 0) throw new InvalidNodeException("axes are required");
        int rank = s.Length + axes.Length;
        var positions = new HashSet<int>();
        foreach (long a in axes)
        {
            int p = Shapes.NormalizeAxis(a, rank);
            if (p < 0 || !positions.Add(p)) throw new InvalidNodeException($"axis {a} is out of range or repeated for output rank {rank}");
        }
        var output = new int[rank];
        int j = 0;
        for (int i = 0; i < rank; i++) output[i] = positions.Contains(i) ? 1 : s[j++];
        return output;
    }

    private static int[] Squeezed(int[] s, long[]? axes)
    {
        if (axes is null || axes.Length == 0) return s.Where(d => d != 1).ToArray();
        var drop = new HashSet<int>();
        foreach (long a in axes)
        {
            int p = Shapes.NormalizeAxis(a, s.Length);
            if (p < 0) throw new InvalidNodeException($"axis {a} is out of range for rank {s.Length}");
            if (s[p] != 1) throw new InvalidNodeException($"axis {a} has size {s[p]}, not 1");
            drop.Add(p);
        }
        return s.Where((d, i) => !drop.Contains(i)).ToArray();
    }

    public override Constant[]? Fold(Node node, InferContext ctx) =>
        node.Inputs[0]!.Constant is { } c ? new[] { c.WithShape(node.Outputs[0].Shape!) } : null;

    public override void Lower(Node node, LoweringContext ctx) => ctx.Alias(node.Outputs[0], node.Inputs[0]!);
}
