// Licensed under the MIT license.
// Gemm — https://onnx.ai/onnx/operators/onnx__Gemm.html (opsets 7, 9, 11, 13). Y = alpha * A' x B' + beta * C with
// optional transposes; C (optional from 11) broadcasts unidirectionally to [M, N]. A constant B is packed (transposed,
// alpha folded) at construction; C becomes a padded per-column or per-row bias or a full residual.

using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Gemm : OpHandler
{
    public override string OpType => "Gemm";

    public override int MinOpset => 6;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, node.Opset >= 11 ? 2 : 3, 3);
        RequireOutputs(node, 1, 1);
        // Opset 6 has `broadcast` for C; C broadcasts unidirectionally either way (a C that must not broadcast already has
        // the full [M, N] shape).
        if (node.Opset < 7) node.Attributes.RejectUnknown("alpha", "beta", "transA", "transB", "broadcast");
        else node.Attributes.RejectUnknown("alpha", "beta", "transA", "transB");
        Value a = node.Inputs[0]!, b = node.Inputs[1]!;
        int[] sa = ShapeOf(a, "A"), sb = ShapeOf(b, "B");
        if (sa.Length != 2 || sb.Length != 2) throw new InvalidNodeException($"A {Shapes.Format(sa)} and B {Shapes.Format(sb)} must be 2-D");
        if (a.Type != OnnxDataType.Float || b.Type != OnnxDataType.Float) throw new UnsupportedNodeException($"element type {a.Type}");
        (int m, int k) = node.Attributes.GetInt("transA", 0) != 0 ? (sa[1], sa[0]) : (sa[0], sa[1]);
        (int kb, int n) = node.Attributes.GetInt("transB", 0) != 0 ? (sb[1], sb[0]) : (sb[0], sb[1]);
        if (k != kb) throw new InvalidNodeException($"inner dimensions differ: A' is {m}x{k}, B' is {kb}x{n}");
        if (node.Input(2) is { } c)
        {
            int[] sc = ShapeOf(c, "C");
            int[]? bc = Shapes.Broadcast(sc, new[] { m, n });
            if (sc.Length > 2 || bc is null || bc[0] != m || bc[1] != n) throw new InvalidNodeException($"C {Shapes.Format(sc)} does not broadcast to [{m}x{n}]");
        }
        ctx.SetOutput(node, 0, OnnxDataType.Float, new[] { m, n });
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value a = node.Inputs[0]!, b = node.Inputs[1]!;
        bool transB = node.Attributes.GetInt("transB", 0) != 0;
        float alpha = node.Attributes.GetFloat("alpha", 1f), beta = node.Attributes.GetFloat("beta", 1f);
        int[] y = node.Outputs[0].Shape!;
        int m = y[0], n = y[1];
        if (node.Attributes.GetInt("transA", 0) != 0)
        {
            // A' = A^T materialised by a strided copy (A is [K, M]); the GEMM then reads rows of A'.
            Value at = ctx.Graph.NewValue(node.Name + ":A_transposed");
            at.Type = OnnxDataType.Float;
            at.Shape = new[] { m, a.Shape![0] };
            CopyLowering.StridedCopy(node, ctx, a, at, at.Shape, new long[] { 1, m }, 0);
            a = at;
        }
        int k = a.Shape![1];
        var plan = new GemmLowering.BiasPlan(GemmBias.None, -1, null, -1);
        if (node.Input(2) is { } c && beta != 0f)
        {
            int[] sc = c.Shape!;
            long count = Shapes.Product(sc);
            bool perColumn = count == 1 || (sc[sc.Length - 1] == n && count == n);
            bool perRow = !perColumn && sc.Length == 2 && sc[0] == m && sc[1] == 1;
            if (c.Constant is not null && (perColumn || perRow))
            {
                // Broadcast and scale by beta into a bias padded to the packed panel width (full-vector loads).
                int length = perColumn ? n : m;
                long padded = perColumn ? (long)(n + ctx.Profile.PackedBNR - 1) / ctx.Profile.PackedBNR * ctx.Profile.PackedBNR : m;
                int weight = ctx.Transform("BroadcastScaled", c.Name + ":bias", new[] { ctx.RawWeight(c.Constant, c.Name) },
                    new[] { LoweringContext.Lit.Int(count), LoweringContext.Lit.Int(length), LoweringContext.Lit.Float(beta) }, padded);
                plan = new GemmLowering.BiasPlan(perColumn ? GemmBias.PerColumn : GemmBias.PerRow, weight, null, -1);
            }
            else if (Shapes.SameShape(sc, y) && c.Constant is not null)
            {
                int weight = beta == 1f
                    ? ctx.RawWeight(c.Constant, c.Name)
                    : ctx.Transform("BroadcastScaled", c.Name + ":scaled", new[] { ctx.RawWeight(c.Constant, c.Name) },
                        new[] { LoweringContext.Lit.Int(count), LoweringContext.Lit.Int(count), LoweringContext.Lit.Float(beta) }, count);
                plan = new GemmLowering.BiasPlan(GemmBias.None, -1, null, weight);
            }
            else if (Shapes.SameShape(sc, y) && beta == 1f)
            {
                plan = new GemmLowering.BiasPlan(GemmBias.None, -1, c, -1);
            }
            else
            {
                // Any other C (computed at run time and broadcast): the GEMM writes Y, then Y += beta * C in place (and the
                // fused activation, if any, moves to that second step).
                Activation? act = node.FusedActivation;
                node.FusedActivation = null;
                GemmLowering.Lower(node, ctx, a, b, m, n, k, transB, alpha, plan, batch: 1, aBatchStride: 0, bBatchStride: 0, bBroadcastBatch: true);
                node.FusedActivation = act;
                Value yv = node.Outputs[0];
                long[][] strides = { Shapes.Strides(y), Shapes.BroadcastStrides(sc, y) };
                (int[] merged, long[][] ms) = Broadcasting.Merge(y, strides);
                ctx.AddLayer(node, new BroadcastSpec("Axpy", merged.ToEquatableArray(), ms.Select(x => x.ToEquatableArray()).ToEquatableArray(), act ?? Activation.None) { Alpha = beta },
                    new[] { ctx.In("X0", yv), ctx.In("X1", c), ctx.Out("Y", yv) }, new[] { $"adds beta * C ({Shapes.Format(sc)}) in place" });
                return;
            }
        }
        GemmLowering.Lower(node, ctx, a, b, m, n, k, transB, alpha, plan, batch: 1, aBatchStride: 0, bBatchStride: 0, bBroadcastBatch: true);
    }
}
