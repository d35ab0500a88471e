// Licensed under the MIT license.
// A 1x1 expansion (GEMM over NCHW planes) and the depthwise convolution reading it, band by band (Passes/RingFusion).
// Per band of output rows: the expansion rows the band needs and no earlier band computed go through the GEMM
// micro-kernels into a ring of RingRows rows per channel (row y at slot y % RingRows; a run of rows that would wrap is
// split), then the depthwise row kernel (Emit/DepthwiseRowsEmitter) reads its input rows from the ring. The ring holds
// every row a band reads: ((BandRows - 1) x stride + kernel height) rows. Workers split the channels (one ring each),
// not the rows, so no row is computed twice.

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class ExpandDepthwiseEmitter
{
    private static long RingFloats(ExpandDepthwiseSpec s) => RingBands.RingFloats(s.Depthwise.Geometry, s.Expand.M, s.BandRows);

    /// <summary>Scratch floats: the ring, then the depthwise kernel's zero row.</summary>
    public static long ScratchFloats(ExpandDepthwiseSpec s) => RingFloats(s) + DepthwiseRowsEmitter.ScratchFloats(s.Depthwise);

    public static IEnumerable<string> Remarks(ExpandDepthwiseSpec s, TargetProfile profile)
    {
        GemmSpec g = s.Expand;
        ConvGeometry d = s.Depthwise.Geometry;
        yield return $"lowering: the 1x1 expansion (GEMM M={g.M} N={g.N} K={g.K}) and the depthwise convolution fused, {s.BandRows} output row(s) per band: " +
            "each band's new expansion rows into " + RingBands.RingRemark(d, s.BandRows, g.M, g.MR, d.InW, "depthwise rows");
        foreach (string r in GemmEmitter.Remarks(g, profile)) yield return "expansion " + r;
        foreach (string r in DepthwiseRowsEmitter.Remarks(s.Depthwise)) yield return "depthwise " + r;
    }

    public static void Emit(ExpandDepthwiseSpec s, string? expandBias, string? depthwiseBias, SourceWriter outer, EmitContext ctx)
    {
        GemmSpec g = s.Expand;
        PlaneFilterSpec f = s.Depthwise;
        ConvGeometry d = f.Geometry;
        string L(long v) => EmitContext.Long(v);
        int mr = g.MR, ring = RingBands.RingRows(d, s.BandRows);
        long ringPlane = (long)ring * d.InW, inPlane = (long)d.InH * d.InW, outPlane = (long)d.OutH * d.OutW;
        outer.WriteLine($"// bands of {s.BandRows} output row(s); S: this worker's ring of {ring} expansion rows per channel, then the zero row");
        ctx.PerIsa(outer, (isa, isaIndex) => ctx.ParallelFor(outer, RingBands.SharesOf(g.M, mr), w =>
        {
            GemmTile tile = GemmEmitter.TileFor(g, ctx.Profile, isaIndex);
            string kernel = GemmEmitter.RequireKernel(g, tile, ctx);
            int nr = tile.NR;
            w.WriteLine("float* ring = S;");
            w.WriteLine($"float* zero = S + {L(RingFloats(s))}L;");
            DepthwiseRowsEmitter.RowPlan plan = DepthwiseRowsEmitter.EmitPrologue(f, w, isa, "zero");
            RingBands.EmitBandLoop(w, g.M, mr, d, s.BandRows, "c", b =>
            {
                b.OpenBlock("while (done < need)");
                b.WriteLine($"int y0 = done + 1, slot = y0 % {ring};");
                b.WriteLine($"int y1 = {EmitContext.Math}.Min(need + 1, y0 + {ring} - slot);");
                b.WriteLine($"int np = (y1 - y0) * {d.InW};");
                b.WriteLine($"float* bx = X + (long)y0 * {d.InW};");
                b.WriteLine($"float* cr = ring + (long)slot * {d.InW};");
                b.OpenBlock($"for (int n0 = 0; n0 < np; n0 += {nr})");
                b.WriteLine($"int nc = {EmitContext.Math}.Min({nr}, np - n0);");
                // (mt: the depthwise masks are m0, m1, ...)
                b.OpenBlock($"for (int mt = mBegin; mt < mEnd; mt += {mr})");
                string bias = g.Bias == GemmBias.PerRow && expandBias is not null ? $"{expandBias} + mt" : "null";
                b.WriteLine($"{kernel}(A + (mt / {mr}) * {L((long)mr * g.K)}L, {L(g.Lda)}, bx + n0, {L(inPlane)}, cr + mt * {L(ringPlane)}L + n0, {L(ringPlane)}, {g.K}, " +
                    $"{bias}, null, {L(ringPlane)}, {EmitContext.Math}.Min({mr}, {g.M} - mt), nc);");
                b.CloseBlock();
                b.CloseBlock();
                b.WriteLine("done = y1 - 1;");
                b.CloseBlock();
            }, b =>
            {
                b.WriteLine($"float* xr = ring + (long)c * {L(ringPlane)}L;");
                b.WriteLine($"float* yp = Y + (long)c * {L(outPlane)}L;");
                DepthwiseRowsEmitter.EmitPlaneRows(f, b, isa, plan, "W", depthwiseBias, y => $"xr + ({y}) % {ring} * {d.InW}", "oy0", "oy1");
            });
        }, privateScratch: "S"));
    }
}
