// Licensed under the MIT license.
// Direct convolution kernels that are not GEMMs: depthwise (one input channel per group), NCHW. Padding is resolved
// at generation time: for every kernel column the valid output range is a constant, so the inner loops have no
// bounds checks.

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class ConvEmitter
{
    public static IEnumerable<string> Remarks(DepthwiseConvSpec d)
    {
        ConvGeometry g = d.Geometry;
        yield return $"lowering: depthwise direct convolution, {d.Channels} channels x multiplier {d.Multiplier}, " +
            $"{g.KernelH}x{g.KernelW} stride {g.StrideH}x{g.StrideW}, output rows vectorised along x" +
            (g.StrideW == 1 ? "" : " (scalar: stride > 1)");
        for (int kx = 0; kx < g.KernelW; kx++)
        {
            (int lo, int hi, int ix0) = ColumnRange(g, kx);
            yield return $"kernel column {kx}: output x in [{lo}, {hi}) is interior (left border {lo}, right border {g.OutW - hi})";
        }
    }

    /// <summary>For kernel column kx: output columns [lo, hi) read in-bounds input at x = ox*sw + ix0.</summary>
    internal static (int Lo, int Hi, int Ix0) ColumnRange(ConvGeometry g, int kx)
    {
        int ix0 = kx * g.DilationW - g.PadLeft;
        int lo = ix0 >= 0 ? 0 : (-ix0 + g.StrideW - 1) / g.StrideW;
        int hi = g.InW - 1 - ix0 < 0 ? 0 : System.Math.Min(g.OutW, (g.InW - 1 - ix0) / g.StrideW + 1);
        if (hi < lo) hi = lo;
        return (lo, hi, ix0);
    }

    public static void EmitDepthwise(DepthwiseConvSpec d, string x, string wt, string? b, string y, SourceWriter w, EmitContext ctx)
    {
        ConvGeometry g = d.Geometry;
        int oc = d.Channels * d.Multiplier;
        w.OpenBlock($"for (int n = 0; n < {d.Batch}; n++)");
        w.OpenBlock($"for (int o = 0; o < {oc}; o++)");
        w.WriteLine($"float* xp = {x} + ((long)n * {d.Channels} + o / {d.Multiplier}) * {(long)g.InH * g.InW}L;");
        w.WriteLine($"float* wp = {wt} + o * {g.KernelH * g.KernelW};");
        w.WriteLine($"float* yp = {y} + ((long)n * {oc} + o) * {(long)g.OutH * g.OutW}L;");
        w.WriteLine($"float bias = {(b is null ? "0f" : b + "[o]")};");
        w.OpenBlock($"for (int oy = 0; oy < {g.OutH}; oy++)");
        w.WriteLine($"float* yr = yp + oy * {g.OutW};");
        w.WriteLine($"for (int ox = 0; ox < {g.OutW}; ox++) yr[ox] = bias;");
        w.OpenBlock($"for (int ky = 0; ky < {g.KernelH}; ky++)");
        w.WriteLine($"int iy = oy * {g.StrideH} - {g.PadTop} + ky * {g.DilationH};");
        w.WriteLine($"if ((uint)iy >= {g.InH}u) continue;");
        w.WriteLine($"float* xr = xp + iy * {g.InW};");
        w.WriteLine($"float* wr = wp + ky * {g.KernelW};");
        for (int kx = 0; kx < g.KernelW; kx++)
        {
            (int lo, int hi, int ix0) = ColumnRange(g, kx);
            if (hi <= lo) continue;
            w.OpenBlock();
            w.WriteLine($"float wv = wr[{kx}];");
            if (g.StrideW == 1)
            {
                w.WriteLine($"int ox = {lo};");
                ctx.PerIsa(w, (isa, _) =>
                {
                    if (isa.IsScalar) return;
                    w.WriteLine($"var vw = {isa.Broadcast("wv")};");
                    w.WriteLine($"for (; ox <= {hi - isa.Width}; ox += {isa.Width}) {isa.Store(isa.Fma("vw", isa.Load($"xr + ox + {ix0}"), isa.Load("yr + ox")), "yr + ox")}");
                });
                w.WriteLine($"for (; ox < {hi}; ox++) yr[ox] += wv * xr[ox + {ix0}];");
            }
            else
            {
                w.WriteLine($"for (int ox = {lo}; ox < {hi}; ox++) yr[ox] += wv * xr[ox * {g.StrideW} + {ix0}];");
            }
            w.CloseBlock();
        }
        w.CloseBlock();
        if (d.Activation.Kind != ActivationKind.None)
        {
            w.WriteLine($"for (int ox = 0; ox < {g.OutW}; ox++) yr[ox] = {ActivationEmitter.ApplyScalar(d.Activation, "yr[ox]")};");
        }
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
    }

    public static IEnumerable<string> Remarks(Col2ImSpec c)
    {
        ConvGeometry g = c.Geometry;
        yield return $"lowering: col2im scatter-add, {c.Groups} group(s) x {c.OutChannelsPerGroup} output channels, {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}, " +
            $"kernel {g.KernelH}x{g.KernelW}, stride {g.StrideH}x{g.StrideW}, dilation {g.DilationH}x{g.DilationW}, pad top/left {g.PadTop}/{g.PadLeft}";
    }

    public static void EmitCol2Im(Col2ImSpec c, string col, string? b, string y, SourceWriter w)
    {
        ConvGeometry g = c.Geometry;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        int oc = c.Groups * c.OutChannelsPerGroup;
        w.OpenBlock($"for (int n = 0; n < {c.Batch}; n++)");
        w.OpenBlock($"for (int o = 0; o < {oc}; o++)");
        w.WriteLine($"float* yp = {y} + ((long)n * {oc} + o) * {outPlane}L;");
        w.WriteLine($"new global::System.Span<float>(yp, {outPlane}).Fill({(b is null ? "0f" : b + "[o]")});");
        w.WriteLine($"int grp = o / {c.OutChannelsPerGroup}, m = o % {c.OutChannelsPerGroup};");
        w.WriteLine($"float* cg = {col} + (((long)n * {c.Groups} + grp) * {(long)c.OutChannelsPerGroup * g.KernelH * g.KernelW}L + (long)m * {g.KernelH * g.KernelW}) * {inPlane}L;");
        w.OpenBlock($"for (int ky = 0; ky < {g.KernelH}; ky++)");
        w.OpenBlock($"for (int iy = 0; iy < {g.InH}; iy++)");
        w.WriteLine($"int oy = iy * {g.StrideH} - {g.PadTop} + ky * {g.DilationH};");
        w.WriteLine($"if ((uint)oy >= {g.OutH}u) continue;");
        w.WriteLine($"float* yr = yp + (long)oy * {g.OutW};");
        for (int kx = 0; kx < g.KernelW; kx++)
        {
            // Input columns ix whose output column ox = ix * sw + (kx * dw - padLeft) lands inside the output.
            int off = kx * g.DilationW - g.PadLeft;
            int lo = off >= 0 ? 0 : (-off + g.StrideW - 1) / g.StrideW;
            int hi = g.OutW - 1 - off < 0 ? 0 : System.Math.Min(g.InW, (g.OutW - 1 - off) / g.StrideW + 1);
            if (hi <= lo) continue;
            w.WriteLine($"{{ float* cr = cg + ((long)ky * {g.KernelW} + {kx}) * {inPlane}L + (long)iy * {g.InW}; " +
                $"for (int ix = {lo}; ix < {hi}; ix++) yr[ix * {g.StrideW} + {off}] += cr[ix]; }}");
        }
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
    }
}
