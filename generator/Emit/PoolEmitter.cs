// Licensed under the MIT license.
// Pooling kernels over NCHW planes: windowed Max/Average/Lp pooling and global pooling. Window clipping follows ONNX
// Runtime: the average divisor counts padding only when count_include_pad is set (window clipped to the padded extent).

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

internal static class PoolEmitter
{
    public static IEnumerable<string> Remarks(PoolSpec p)
    {
        ConvGeometry g = p.Geometry;
        yield return $"lowering: {p.Kind} pool over {p.Planes} planes {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}, window {g.KernelH}x{g.KernelW}, " +
            $"stride {g.StrideH}x{g.StrideW}, dilation {g.DilationH}x{g.DilationW}, pad top/left {g.PadTop}/{g.PadLeft}" +
            (p.Kind == PoolKind.Average ? $", count_include_pad={(p.CountIncludePad ? 1 : 0)}" : "");
        if (UnrolledInterior(p) is var (rows, cols))
            yield return $"direct loop per output pixel; windows inside the input (rows {rows.Lo}..{rows.Hi - 1}, columns {cols.Lo}..{cols.Hi - 1}) with their {g.KernelH * g.KernelW} taps unrolled, border windows clipped";
    }

    public static void EmitPool(PoolSpec p, string x, string y, SourceWriter w)
    {
        ConvGeometry g = p.Geometry;
        // Window end clipped to the padded input (ONNX Runtime's divisor for count_include_pad).
        int hLimit = g.InH + p.PadBottom, wLimit = g.InW + p.PadRight;
        w.OpenBlock($"for (int c = 0; c < {p.Planes}; c++)");
        w.WriteLine($"float* xp = {x} + (long)c * {(long)g.InH * g.InW}L;");
        w.WriteLine($"float* yp = {y} + (long)c * {(long)g.OutH * g.OutW}L;");
        w.OpenBlock($"for (int oy = 0; oy < {g.OutH}; oy++)");
        w.WriteLine($"int hs = oy * {g.StrideH} - {g.PadTop};");
        var interior = UnrolledInterior(p);
        if (interior is var ((oyLo, oyHi), _)) w.WriteLine($"bool rowInside = (uint)(oy - {oyLo}) < {oyHi - oyLo}u;");
        w.OpenBlock($"for (int ox = 0; ox < {g.OutW}; ox++)");
        w.WriteLine($"int ws = ox * {g.StrideW} - {g.PadLeft};");
        if (interior is var (_, (oxLo, oxHi)))
        {
            // A window inside the input: its taps at build-time offsets, no bounds tests (the clipped loops below are for the border).
            w.OpenBlock($"if (rowInside && (uint)(ox - {oxLo}) < {oxHi - oxLo}u)");
            w.WriteLine($"float* q = xp + hs * {g.InW} + ws;");
            bool max = p.Kind == PoolKind.Max;
            var taps = new List<string>();
            for (int ky = 0; ky < g.KernelH; ky++)
                for (int kx = 0; kx < g.KernelW; kx++) taps.Add($"q[{ky * g.DilationH * g.InW + kx * g.DilationW}]");
            w.WriteLine($"float a = {taps[0]};");
            for (int t = 1; t < taps.Count; t++) w.WriteLine(max ? $"a = {EmitContext.MathF}.Max(a, {taps[t]});" : $"a += {taps[t]};");
            w.WriteLine(max ? $"yp[oy * {g.OutW} + ox] = a;" : $"yp[oy * {g.OutW} + ox] = a / {taps.Count}f;");
            w.WriteLine("continue;");
            w.CloseBlock();
        }
        switch (p.Kind)
        {
            case PoolKind.Max:
                w.WriteLine("float m = float.NegativeInfinity;");
                if (p.Indices) w.WriteLine("long at = 0;");
                w.OpenBlock($"for (int ky = 0; ky < {g.KernelH}; ky++)");
                w.WriteLine($"int iy = hs + ky * {g.DilationH};");
                w.WriteLine($"if ((uint)iy >= {g.InH}u) continue;");
                w.OpenBlock($"for (int kx = 0; kx < {g.KernelW}; kx++)");
                w.WriteLine($"int ix = ws + kx * {g.DilationW};");
                w.WriteLine($"if ((uint)ix >= {g.InW}u) continue;");
                w.WriteLine($"float v = xp[iy * {g.InW} + ix];");
                w.WriteLine(p.Indices
                    ? $"if (v > m || float.IsNaN(v)) {{ m = v; at = (long)c * {(long)g.InH * g.InW}L + {(p.StorageOrder == 0 ? $"iy * {g.InW} + ix" : $"ix * {g.InH} + iy")}; }}"
                    : "if (v > m || float.IsNaN(v)) m = v;");
                w.CloseBlock();
                w.CloseBlock();
                w.WriteLine($"yp[oy * {g.OutW} + ox] = m;");
                if (p.Indices) w.WriteLine($"I[(long)c * {(long)g.OutH * g.OutW}L + oy * {g.OutW} + ox] = at;");
                break;
            case PoolKind.Average:
            case PoolKind.Lp:
            {
                bool lp = p.Kind == PoolKind.Lp;
                w.WriteLine($"int he = {EmitContext.Math}.Min(hs + {(g.KernelH - 1) * g.DilationH + 1}, {hLimit});");
                w.WriteLine($"int we = {EmitContext.Math}.Min(ws + {(g.KernelW - 1) * g.DilationW + 1}, {wLimit});");
                w.WriteLine("float s = 0f; int count = 0;");
                w.OpenBlock($"for (int ky = 0; ky < {g.KernelH}; ky++)");
                w.WriteLine($"int iy = hs + ky * {g.DilationH};");
                w.WriteLine($"if ((uint)iy >= {g.InH}u) continue;");
                w.OpenBlock($"for (int kx = 0; kx < {g.KernelW}; kx++)");
                w.WriteLine($"int ix = ws + kx * {g.DilationW};");
                w.WriteLine($"if ((uint)ix >= {g.InW}u) continue;");
                w.WriteLine($"float v = xp[iy * {g.InW} + ix];");
                w.WriteLine(lp ? LpAccumulate(p.P) : "s += v;");
                w.WriteLine("count++;");
                w.CloseBlock();
                w.CloseBlock();
                if (lp)
                {
                    w.WriteLine($"yp[oy * {g.OutW} + ox] = {LpFinish(p.P, "s")};");
                }
                else if (p.CountIncludePad)
                {
                    w.WriteLine($"int size = ((he - hs + {g.DilationH - 1}) / {g.DilationH}) * ((we - ws + {g.DilationW - 1}) / {g.DilationW});");
                    w.WriteLine($"yp[oy * {g.OutW} + ox] = s / size;");
                }
                else
                {
                    w.WriteLine($"yp[oy * {g.OutW} + ox] = count == 0 ? 0f : s / count;");
                }
                break;
            }
        }
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
    }

    /// <summary>
    /// The output rows and columns whose windows lie inside the input, when the pool unrolls their taps (max and average
    /// pools without an Indices output, windows of at most 49 taps, some window inside); else null.
    /// </summary>
    private static ((int Lo, int Hi) Rows, (int Lo, int Hi) Cols)? UnrolledInterior(PoolSpec p)
    {
        ConvGeometry g = p.Geometry;
        if (p.Indices || p.Kind is not (PoolKind.Max or PoolKind.Average) || g.KernelH * g.KernelW > 49) return null;
        (int, int) rows = g.InteriorRows(), cols = g.InteriorColumns();
        return rows.Item1 < rows.Item2 && cols.Item1 < cols.Item2 ? (rows, cols) : null;
    }

    private static string LpAccumulate(int p) => p switch
    {
        1 => "s += global::System.MathF.Abs(v);",
        2 => "s += v * v;",
        _ => $"s += global::System.MathF.Pow(global::System.MathF.Abs(v), {p}f);",
    };

    private static string LpFinish(int p, string s) => p switch
    {
        1 => s,
        2 => $"global::System.MathF.Sqrt({s})",
        _ => $"global::System.MathF.Pow({s}, 1f / {p}f)",
    };

    public static IEnumerable<string> Remarks(GlobalPoolSpec p)
    {
        yield return $"lowering: global {p.Kind} pool, {p.Outer} planes of {p.Inner} elements, vectorised reduction" +
            (p.BlockedChannels > 0 ? " over the channel-blocked input [C/16][H][W][16] (16 channels' sums in the lanes)" : "");
    }

    public static void EmitGlobalPool(GlobalPoolSpec p, string x, string y, SourceWriter w, EmitContext ctx)
    {
        if (p.BlockedChannels > 0)
        {
            EmitBlockedGlobalPool(p, x, y, w, ctx);
            return;
        }
        w.OpenBlock($"for (int c = 0; c < {p.Outer}; c++)");
        w.WriteLine($"float* xp = {x} + (long)c * {p.Inner};");
        bool max = p.Kind == PoolKind.Max;
        if (p.Kind == PoolKind.Lp)
        {
            w.WriteLine("float s = 0f;");
            w.WriteLine($"for (int i = 0; i < {p.Inner}; i++) {{ float v = xp[i]; {LpAccumulate(p.P)} }}");
            w.WriteLine($"{y}[c] = {LpFinish(p.P, "s")};");
            w.CloseBlock();
            return;
        }
        w.WriteLine(max ? "float s = float.NegativeInfinity;" : "float s = 0f;");
        w.WriteLine("int i = 0;");
        ctx.PerIsa(w, (isa, _) =>
        {
            if (isa.IsScalar || p.Inner < isa.Width) return;
            w.WriteLine($"var acc = {(max ? isa.Load("xp") : isa.Zero)};");
            w.WriteLine($"for (; i <= {p.Inner - isa.Width}; i += {isa.Width}) acc = {(max ? isa.Max("acc", isa.Load("xp + i")) : $"acc + {isa.Load("xp + i")}")};");
            w.WriteLine(max
                ? $"for (int l = 0; l < {isa.Width}; l++) s = {EmitContext.MathF}.Max(s, {isa.GetElement("acc", "l")});"
                : $"s = {isa.StaticType}.Sum(acc);");
        });
        w.WriteLine(max
            ? $"for (; i < {p.Inner}; i++) s = {EmitContext.MathF}.Max(s, xp[i]);"
            : $"for (; i < {p.Inner}; i++) s += xp[i];");
        w.WriteLine(max ? $"{y}[c] = s;" : $"{y}[c] = s / {p.Inner}f;");
        w.CloseBlock();
    }

    /// <summary>Global pooling of a channel-blocked input: per block of 16 channels, the sums (maxima) of its pixels in the lanes.</summary>
    private static void EmitBlockedGlobalPool(GlobalPoolSpec p, string x, string y, SourceWriter w, EmitContext ctx)
    {
        const int Block = Passes.BlockedLayout.Block;
        bool max = p.Kind == PoolKind.Max;
        w.OpenBlock($"for (int cb = 0; cb < {p.Outer / Block}; cb++)");
        w.WriteLine($"float* xp = {x} + (long)cb * {EmitContext.Long((long)p.Inner * Block)}L;");
        w.WriteLine($"float* yp = {y} + cb * {Block};");
        ctx.PerIsa(w, (isa, _) =>
        {
            w.OpenBlock($"for (int lane = 0; lane < {Block}; lane += {isa.Width})");
            w.WriteLine($"var acc = {(max ? isa.Load("xp + lane") : isa.Zero)};");
            string load = isa.Load($"xp + i * {Block} + lane");
            w.WriteLine($"for (int i = 0; i < {p.Inner}; i++) acc = {(max ? isa.Max("acc", load) : $"acc + {load}")};");
            w.WriteLine(isa.Store(max ? "acc" : $"acc / {isa.Broadcast($"{p.Inner}f")}", "yp + lane"));
            w.CloseBlock();
        });
        w.CloseBlock();
    }
}
