// Licensed under the MIT license.
// Col2Im: the scatter-add half of a transposed convolution lowered as GEMM + col2im (ConvTranspose), NCHW.

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class ConvEmitter
{
    public static IEnumerable<string> Remarks(Col2ImSpec c)
    {
        ConvGeometry g = c.Geometry;
        yield return $"lowering: col2im scatter-add, {c.Groups} group(s) x {c.OutChannelsPerGroup} output channels, {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}, " +
            $"kernel {g.KernelH}x{g.KernelW}, stride {g.StrideH}x{g.StrideW}, dilation {g.DilationH}x{g.DilationW}, pad top/left {g.PadTop}/{g.PadLeft}";
    }

    /// <summary>
    /// Per (image, output channel), parallel: the plane filled with the bias, then every (tap, input row) added into its
    /// output row with StridedCopy.ScatterAdd (vectorised for strides 1 and 2).
    /// </summary>
    public static void EmitCol2Im(Col2ImSpec c, string col, string? b, string y, SourceWriter w, EmitContext ctx)
    {
        ConvGeometry g = c.Geometry;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        int oc = c.Groups * c.OutChannelsPerGroup;
        ctx.ParallelFor(w, (long)c.Batch * oc, p =>
        {
            p.OpenBlock("for (int t = pb; t < pe; t++)");
            p.WriteLine($"int n = t / {oc}, o = t % {oc};");
            p.WriteLine($"float* yp = {y} + ((long)n * {oc} + o) * {outPlane}L;");
            p.WriteLine($"new global::System.Span<float>(yp, {outPlane}).Fill({(b is null ? "0f" : b + "[o]")});");
            p.WriteLine($"int grp = o / {c.OutChannelsPerGroup}, m = o % {c.OutChannelsPerGroup};");
            p.WriteLine($"float* cg = {col} + (((long)n * {c.Groups} + grp) * {(long)c.OutChannelsPerGroup * g.KernelH * g.KernelW}L + (long)m * {g.KernelH * g.KernelW}) * {inPlane}L;");
            p.OpenBlock($"for (int ky = 0; ky < {g.KernelH}; ky++)");
            p.OpenBlock($"for (int iy = 0; iy < {g.InH}; iy++)");
            p.WriteLine($"int oy = iy * {g.StrideH} - {g.PadTop} + ky * {g.DilationH};");
            p.WriteLine($"if ((uint)oy >= {g.OutH}u) continue;");
            p.WriteLine($"float* yr = yp + (long)oy * {g.OutW};");
            for (int kx = 0; kx < g.KernelW; kx++)
            {
                // Input columns ix whose output column ox = ix * sw + (kx * dw - padLeft) lands inside the output.
                int off = kx * g.DilationW - g.PadLeft;
                int lo = off >= 0 ? 0 : (-off + g.StrideW - 1) / g.StrideW;
                int hi = g.OutW - 1 - off < 0 ? 0 : System.Math.Min(g.InW, (g.OutW - 1 - off) / g.StrideW + 1);
                if (hi <= lo) continue;
                p.WriteLine($"{EmitContext.RuntimeNs}.StridedCopy.ScatterAdd(cg + ((long)ky * {g.KernelW} + {kx}) * {inPlane}L + (long)iy * {g.InW} + {lo}, " +
                    $"yr + {lo * g.StrideW + off}, {hi - lo}, {g.StrideW});");
            }
            p.CloseBlock();
            p.CloseBlock();
            p.CloseBlock();
        });
    }
}
