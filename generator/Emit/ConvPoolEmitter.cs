// Licensed under the MIT license.
// A row-mode direct convolution and the max pool reading it, band by band (Passes/RingFusion). The input is split into
// its phase planes once (Emit/PhasePlanes, shared scratch S), as the unfused convolution does. Then per band of pool
// output rows: the convolution rows the band needs and no earlier band computed, each a row of tiles of the direct
// micro-kernels, into a ring of RingRows rows per channel (row y at slot y % RingRows; T, each worker's own), then the
// pool's row kernel (PlaneFilterEmitter.EmitMaxPoolPlaneRows) over the band's rows read from the ring. Workers split the
// output channels (one ring each), so no row is computed twice.

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class ConvPoolEmitter
{
    private static long RingFloats(ConvPoolSpec s) => RingBands.RingFloats(s.Pool.Geometry, s.Conv.OutChannels, s.BandRows);

    /// <summary>Floats of each worker's scratch T: the ring, then the pool's row buffer.</summary>
    public static long RingScratchFloats(ConvPoolSpec s) => RingFloats(s) + PlaneFilterEmitter.MaxPoolRowBufferFloats(s.Pool);

    public static IEnumerable<string> Remarks(ConvPoolSpec s, TargetProfile profile)
    {
        ConvGeometry g = s.Conv.Geometry;
        yield return $"lowering: the direct convolution and the max pool fused, {s.BandRows} pool output row(s) per band: each band's new convolution rows " +
            "into " + RingBands.RingRemark(s.Pool.Geometry, s.BandRows, s.Conv.OutChannels, s.Conv.MR, g.OutW, "pool rows");
        // Its rows go into the ring, not into an output tensor.
        foreach (string r in DirectConvEmitter.Remarks(s.Conv, profile)) yield return "convolution " + r.Replace("stored into Y", "stored into the ring");
        foreach (string r in PlaneFilterEmitter.Remarks(s.Pool)) yield return "pool " + r;
    }

    public static void Emit(ConvPoolSpec s, string? bias, SourceWriter w, EmitContext ctx)
    {
        DirectConvSpec d = s.Conv;
        PlaneFilterSpec f = s.Pool;
        ConvGeometry g = d.Geometry, pg = f.Geometry;
        PhasePlanes p = PhasePlanes.Plan(g);
        string L(long v) => EmitContext.Long(v);
        int taps = g.KernelH * g.KernelW, k = d.InChannels * taps, ring = RingBands.RingRows(pg, s.BandRows);
        long inPlane = (long)g.InH * g.InW, poolPlane = (long)pg.OutH * pg.OutW, ringPlane = (long)ring * g.OutW;
        long offsetsAt = (long)d.InChannels * p.PlaneStride;
        w.OpenBlock();
        w.WriteLine($"long* offs = (long*)(S + {L(offsetsAt)}L);");
        p.EmitTapOffsets(w, g);
        w.CloseBlock();
        w.OpenBlock("for (int n = 0; n < 1; n++)");
        // 1. Every input channel into its padded phase planes (parallel over channels), as the unfused convolution does.
        p.EmitSplitChannels(w, ctx, g, d.InChannels, inPlane);
        // 2. Bands of pool rows, each worker on its share of the channels with its own ring (T).
        w.WriteLine($"// bands of {s.BandRows} pool row(s); T: this worker's ring of {ring} convolution rows per channel, then the pool's row buffer");
        ctx.PerIsa(w, (isa, index) =>
        {
            DirectConvEmitter.RowKernels kernels = DirectConvEmitter.Kernels(d, p, isa, index, g.OutW, false, d.Activation, ctx);
            int nr = kernels.Tile.NR, mr = kernels.Tile.MR;
            ctx.ParallelFor(w, RingBands.SharesOf(d.OutChannels, d.MR), b =>
            {
                b.WriteLine($"long* offs = (long*)(S + {L(offsetsAt)}L);");
                b.WriteLine("float* ring = T;");
                PlaneFilterEmitter.EmitMaxPoolRowsPrologue(f, b, $"T + {L(RingFloats(s))}L");
                RingBands.EmitBandLoop(b, d.OutChannels, d.MR, pg, s.BandRows, "ch", r =>
                {
                    r.OpenBlock("for (int cy = done + 1; cy <= need; cy++)");
                    r.WriteLine($"float* cr = ring + (long)(cy % {ring}) * {g.OutW};");
                    r.OpenBlock($"for (int col = 0; col < {g.OutW}; col += {nr})");
                    r.WriteLine($"int nc = {EmitContext.Math}.Min({nr}, {g.OutW} - col);");
                    r.WriteLine($"float* bb = S + cy * {p.Wq} + col;");
                    r.OpenBlock($"for (int m0 = mBegin; m0 < mEnd; m0 += {mr})");
                    r.WriteLine($"float* a = W + (m0 / {mr}) * {L((long)mr * k)}L;");
                    r.WriteLine(bias is null ? "float* bias = null;" : $"float* bias = {bias} + m0;");
                    DirectConvEmitter.EmitCall(r, d, p, kernels, $"cr + m0 * {L(ringPlane)}L + col", ringPlane, null);
                    r.CloseBlock();
                    r.CloseBlock();
                    r.CloseBlock();
                    r.WriteLine("if (need > done) done = need;");
                }, r =>
                {
                    r.WriteLine($"float* xr = ring + (long)ch * {L(ringPlane)}L;");
                    r.WriteLine($"float* yp = Y + (long)ch * {L(poolPlane)}L;");
                    PlaneFilterEmitter.EmitMaxPoolPlaneRows(f, r, ctx, y => $"xr + ({y}) % {ring} * {g.OutW}", "oy0", "oy1");
                });
            }, new[] { "n" }, privateScratch: "T");
        });
        w.CloseBlock();
    }
}
