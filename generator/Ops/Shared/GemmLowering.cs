// Licensed under the MIT license.
// Lowering shared by Gemm and MatMul: Y[M,N] = act(A[M,K] x B[K,N] + bias + R), B packed at construction when it is a
// constant, read in place when it is an arena tensor, or packed per column tile otherwise.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Passes;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Ops.Shared;

internal static class GemmLowering
{
    /// <summary>How the bias is applied.</summary>
    internal sealed record BiasPlan(GemmBias Kind, int Weight, Value? Residual, int ResidualWeight);

    public static void Lower(Node node, LoweringContext ctx, Value a, Value b, int m, int n, int k, bool transB, float alpha,
        BiasPlan bias, int batch, long aBatchStride, long bBatchStride, bool bBroadcastBatch)
    {
        TargetProfile profile = ctx.Profile;
        Value y = node.Outputs[0];
        var ops = new List<Operand> { ctx.In("A", a) };
        GemmBLayout layout;
        long ldb = n;
        int nrp = profile.PackedBNR;
        ConvGeometry? panel = null;
        long bStride = bBatchStride;
        if (b.Constant is not null)
        {
            int packedBatch = bBroadcastBatch ? 1 : batch;
            long perBatch = (long)((n + nrp - 1) / nrp) * nrp * k;
            int packed = ctx.Transform("PackB", b.Name + ":packed", new[] { ctx.RawWeight(b.Constant, b.Name) },
                new[] { LoweringContext.Lit.Int(packedBatch), LoweringContext.Lit.Int(k), LoweringContext.Lit.Int(n), LoweringContext.Lit.Int(nrp),
                    LoweringContext.Lit.Int(transB ? 1 : 0), LoweringContext.Lit.Float(alpha) },
                packedBatch * perBatch);
            ops.Add(new Operand("B", OperandKind.Weight, packed));
            layout = GemmBLayout.Packed;
            bStride = bBroadcastBatch ? 0 : perBatch;
        }
        else if (transB || alpha != 1f)
        {
            // A run-time B that must be transposed or scaled: packed per run like constant weights are at construction.
            int packedBatch = bBroadcastBatch ? 1 : batch;
            long perBatch = (long)((n + nrp - 1) / nrp) * nrp * k;
            ops.Add(ctx.RuntimePack(node, "B", "PackB", b, new[] { LoweringContext.Lit.Int(packedBatch), LoweringContext.Lit.Int(k),
                LoweringContext.Lit.Int(n), LoweringContext.Lit.Int(nrp), LoweringContext.Lit.Int(transB ? 1 : 0), LoweringContext.Lit.Float(alpha) },
                packedBatch * perBatch));
            layout = GemmBLayout.Packed;
            bStride = bBroadcastBatch ? 0 : perBatch;
        }
        else
        {
            ops.Add(ctx.In("B", b));
            if (!b.IsGraphInput && !b.IsGraphOutput)
            {
                layout = GemmBLayout.RowMajor;
            }
            else
            {
                // B rows as a 1 x N "image" with K channels: the im2col packer copies K x NR panels (no over-read).
                layout = GemmBLayout.Im2ColPanel;
                panel = ConvGeometry.Rows(k, n);
            }
        }
        string? biasName = null, rName = null;
        if (bias.Kind != GemmBias.None)
        {
            ops.Add(new Operand("C", OperandKind.Weight, bias.Weight));
            biasName = "C";
        }
        if (bias.Residual is not null)
        {
            ops.Add(ctx.In("R", bias.Residual));
            rName = "R";
        }
        else if (bias.ResidualWeight >= 0)
        {
            ops.Add(new Operand("R", OperandKind.Weight, bias.ResidualWeight));
            rName = "R";
        }
        ops.Add(ctx.Out("Y", y));
        int maxNr = profile.WidestNR(profile.GemmMR);
        if (panel is not null) ops.Add(ctx.Scratch("S", node, (long)k * maxNr));
        var spec = new GemmSpec
        {
            AName = "A", BName = "B", YName = "Y", BiasName = biasName, RName = rName, ScratchName = panel is null ? null : "S",
            M = m, N = n, K = k,
            ALayout = GemmALayout.RowMajor, Lda = k,
            BLayout = layout, Ldb = ldb, PackedNR = nrp,
            Ldc = n, Ldr = n,
            Bias = bias.Kind,
            Residual = rName is not null,
            Activation = node.FusedActivation ?? Activation.None,
            MR = profile.GemmMR,
            Batch = batch,
            ABatchStride = aBatchStride,
            BBatchStride = bStride,
            CBatchStride = (long)m * n,
            Conv = panel,
        };
        ctx.AddLayer(node, spec, ops);
    }
}
