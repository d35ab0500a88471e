// Licensed under the MIT license.
// Transpose — https://onnx.ai/onnx/operators/onnx__Transpose.html (opsets 1, 13, 21). perm defaults to reversing the
// axes. Folded on constants, else a strided copy (the channel shuffle of ShuffleNet, the box layout of detectors).

using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Transpose : OpHandler
{
    public override string OpType => "Transpose";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("perm");
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "the input");
        int[] perm = Perm(node, s.Length);
        ctx.SetOutput(node, 0, x.Type, perm.Select(p => s[p]).ToArray());
    }

    private static int[] Perm(Node node, int rank)
    {
        long[]? p = node.Attributes.GetInts("perm");
        if (p is null || p.Length == 0) return Enumerable.Range(0, rank).Reverse().ToArray();
        if (p.Length != rank) throw new InvalidNodeException($"perm has {p.Length} entries for rank {rank}");
        var perm = new int[rank];
        var seen = new bool[rank];
        for (int i = 0; i < rank; i++)
        {
            int a = Shapes.NormalizeAxis(p[i], rank);
            if (a < 0 || seen[a]) throw new InvalidNodeException($"perm [{string.Join(",", p)}] is not a permutation");
            seen[a] = true;
            perm[i] = a;
        }
        return perm;
    }

    private static (int[] Shape, long[] Strides) Plan(Node node, int[] s)
    {
        int[] perm = Perm(node, s.Length);
        long[] inStrides = Shapes.Strides(s);
        return (perm.Select(p => s[p]).ToArray(), perm.Select(p => inStrides[p]).ToArray());
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        Constant x = node.Inputs[0]!.Constant!;
        (int[] shape, long[] strides) = Plan(node, x.Shape);
        return new[] { Folding.Remap(x, shape, strides, 0, ctx.Model) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        (int[] shape, long[] strides) = Plan(node, x.Shape!);
        CopyLowering.StridedCopy(node, ctx, x, node.Outputs[0], shape, strides, 0);
    }
}
