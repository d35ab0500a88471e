// Licensed under the MIT license.
// MatMul — https://onnx.ai/onnx/operators/onnx__MatMul.html (opsets 1, 9, 13). numpy semantics: 1-D operands are
// promoted, leading (batch) dimensions broadcast. With a 2-D B every leading dimension of A folds into M (one GEMM);
// otherwise one GEMM per batch with stride-0 broadcasting.

using System;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class MatMul : OpHandler
{
    public override string OpType => "MatMul";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 2, 2);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown();
        Value a = node.Inputs[0]!, b = node.Inputs[1]!;
        if (a.Type != OnnxDataType.Float || b.Type != OnnxDataType.Float) throw new UnsupportedNodeException($"element type {a.Type}");
        ctx.SetOutput(node, 0, OnnxDataType.Float, Plan(ShapeOf(a, "A"), ShapeOf(b, "B")).Output);
    }

    private sealed record Layout(int[] Output, int[] Batch, int M, int N, int K, int[] ABatch, int[] BBatch);

    private static Layout Plan(int[] sa, int[] sb)
    {
        if (sa.Length == 0 || sb.Length == 0) throw new InvalidNodeException("MatMul inputs must have at least one dimension");
        int[] a = sa.Length == 1 ? new[] { 1, sa[0] } : sa;
        int[] b = sb.Length == 1 ? new[] { sb[0], 1 } : sb;
        int m = a[a.Length - 2], k = a[a.Length - 1], kb = b[b.Length - 2], n = b[b.Length - 1];
        if (k != kb) throw new InvalidNodeException($"inner dimensions differ: A {Shapes.Format(sa)}, B {Shapes.Format(sb)}");
        int[] aBatch = Take(a, a.Length - 2), bBatch = Take(b, b.Length - 2);
        int[] batch = Shapes.Broadcast(aBatch, bBatch) ?? throw new InvalidNodeException($"batch dimensions of {Shapes.Format(sa)} and {Shapes.Format(sb)} do not broadcast");
        var output = new System.Collections.Generic.List<int>(batch);
        if (sa.Length > 1) output.Add(m);
        if (sb.Length > 1) output.Add(n);
        return new Layout(output.ToArray(), batch, m, n, k, aBatch, bBatch);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value a = node.Inputs[0]!, b = node.Inputs[1]!;
        Layout l = Plan(a.Shape!, b.Shape!);
        var none = new GemmLowering.BiasPlan(Model.GemmBias.None, -1, null, -1);
        long batch = Shapes.Product(l.Batch);
        if (Shapes.Product(l.BBatch) == 1)
        {
            // B is one matrix: all of A's leading dimensions are rows of one GEMM.
            int rows = (int)(Shapes.Product(l.ABatch) * l.M);
            if (Shapes.Product(l.ABatch) != batch) throw new UnsupportedNodeException("A broadcast over B's batch");
            GemmLowering.Lower(node, ctx, a, b, rows, l.N, l.K, false, 1f, none, 1, 0, 0, true);
            return;
        }
        if (!SameOrOne(l.ABatch, l.Batch) || !Shapes.SameShape(Pad(l.BBatch, l.Batch.Length), l.Batch))
            throw new UnsupportedNodeException($"batch broadcasting of {Shapes.Format(a.Shape!)} x {Shapes.Format(b.Shape!)}");
        long aStride = Shapes.Product(l.ABatch) == 1 ? 0 : (long)l.M * l.K;
        GemmLowering.Lower(node, ctx, a, b, l.M, l.N, l.K, false, 1f, none, (int)batch, aStride, (long)l.K * l.N, false);
    }

    private static int[] Take(int[] s, int count)
    {
        var r = new int[count];
        Array.Copy(s, r, count);
        return r;
    }

    private static bool SameOrOne(int[] s, int[] batch) => Shapes.Product(s) == 1 || Shapes.SameShape(Pad(s, batch.Length), batch);

    private static int[] Pad(int[] s, int rank)
    {
        if (s.Length >= rank) return s;
        var r = new int[rank];
        for (int i = 0; i < rank; i++) r[i] = i < rank - s.Length ? 1 : s[i - (rank - s.Length)];
        return r;
    }
}
