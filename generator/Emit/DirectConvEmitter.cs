// Licensed under the MIT license.
// Direct convolution on phase planes: (1) each input channel plane is copied once into padded stride-phase sub-planes;
// (2) a register-blocked GEMM runs over the output's flat index q = oy * Wq + ox, where B's row for (channel c, tap t)
// is simply the channel's sub-planes at offset(t) — no im2col panel is packed; (3) the flat rows are compacted into Y
// (dropping Wq - OW garbage columns), adding the residual and applying the activation.
//
// Cost model: against implicit im2col, packing K x NR panels per column tile (K = C * KH * KW small copies) is replaced
// by one padded copy of the input (C planes); the micro-kernel is the GEMM one with an indirect B row per tap (one
// extra add per k). The price is the garbage columns ((Wq - OW) / Wq of the flat work: 3% at 56x56, 22% at 7x7) and a
// compaction pass over the output.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class DirectConvEmitter
{
    private static int FlatN(DirectConvSpec d, PhasePlanes p) => p.FlatN(d.Geometry);

    /// <summary>Scratch floats: split planes of every input channel, the tap offsets (as longs), the flat output.</summary>
    public static long ScratchFloats(DirectConvSpec d)
    {
        PhasePlanes p = PhasePlanes.Plan(d.Geometry);
        int taps = d.Geometry.KernelH * d.Geometry.KernelW;
        return (long)d.Groups * d.InChannels * p.PlaneStride + ((2L * taps + 15) / 16 * 16) + (long)d.Groups * d.OutChannels * FlatN(d, p) + 16;
    }

    public static IEnumerable<string> Remarks(DirectConvSpec d, TargetProfile profile)
    {
        ConvGeometry g = d.Geometry;
        PhasePlanes p = PhasePlanes.Plan(g);
        int taps = g.KernelH * g.KernelW;
        yield return $"lowering: direct convolution, {d.Groups} group(s) of {d.InChannels} -> {d.OutChannels} channels, {g.KernelH}x{g.KernelW} " +
            $"stride {g.StrideH}x{g.StrideW} dilation {g.DilationH}x{g.DilationW} pads {g.PadTop},{g.PadLeft}; input planes split into " +
            $"{p.Used.Count} padded phase(s) of {p.Hq}x{p.Wq}; GEMM M={d.OutChannels} N={FlatN(d, p)} (flat, {p.Wq - g.OutW} garbage column(s) per row) " +
            $"K={d.InChannels}x{taps} taps";
        var tiles = new List<string>();
        for (int i = 0; i < profile.Isas.Count; i++) tiles.Add($"{profile.Tile(i).MR}x{profile.Tile(i).NR} ({profile.Isas[i].Name})");
        yield return "tiles MRxNR: " + string.Join(", ", tiles) + $"; epilogue: bias{(d.Residual ? "; residual and " : "; ")}activation {d.Activation} " +
            (d.Residual ? "applied while compacting" : "in the kernel");
    }

    public static void Emit(DirectConvSpec d, string? bias, string? residual, SourceWriter w, EmitContext ctx)
    {
        ConvGeometry g = d.Geometry;
        PhasePlanes p = PhasePlanes.Plan(g);
        int taps = g.KernelH * g.KernelW;
        int cin = d.Groups * d.InChannels, cout = d.Groups * d.OutChannels;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        int flatN = FlatN(d, p);
        long planes = (long)cin * p.PlaneStride;
        long offsetsAt = planes, flatAt = planes + (2L * taps + 15) / 16 * 16;
        int k = d.InChannels * taps;
        long aGroup = (long)((d.OutChannels + d.MR - 1) / d.MR) * d.MR * k;

        w.WriteLine($"long* offs = (long*)(S + {EmitContext.Long(offsetsAt)}L);");
        var offsets = new List<long>();
        for (int kh = 0; kh < g.KernelH; kh++) for (int kw = 0; kw < g.KernelW; kw++) offsets.Add(p.Offset(g, kh, kw));
        for (int t = 0; t < taps; t++) w.WriteLine($"offs[{t}] = {EmitContext.Long(offsets[t])}L;");
        w.WriteLine($"float* flat = S + {EmitContext.Long(flatAt)}L;");
        w.OpenBlock($"for (int n = 0; n < {d.Batch}; n++)");
        // 1. Split every input channel into its padded phase sub-planes.
        w.OpenBlock($"for (int ch = 0; ch < {cin}; ch++)");
        w.WriteLine($"float* xp = X + ((long)n * {cin} + ch) * {EmitContext.Long(inPlane)}L;");
        w.WriteLine($"float* planes = S + ch * {EmitContext.Long(p.PlaneStride)}L;");
        p.EmitSplit(w, g, "xp", "planes", "0f");
        w.CloseBlock();
        // 2. Tiles over the flat output.
        Activation kernelAct = d.Residual ? Activation.None : d.Activation;
        ctx.PerIsa(w, (isa, index) =>
        {
            GemmTile tile = ctx.Profile.Tile(index);
            string main = RequireKernel(tile.Isa, tile.MR, tile.NV, d.HasBias, kernelAct, ctx);
            int nr = tile.NR;
            int full = flatN / nr * nr, rem = flatN - full;
            int tailNv = (rem + isa.Width - 1) / isa.Width;
            string? tail = rem > 0 && tailNv < tile.NV ? RequireKernel(tile.Isa, tile.MR, tailNv, d.HasBias, kernelAct, ctx) : null;
            if (d.Groups > 1) w.OpenBlock($"for (int g = 0; g < {d.Groups}; g++)");
            string gi = d.Groups > 1 ? "g" : "0";
            w.WriteLine($"float* a = W + {gi} * {EmitContext.Long(aGroup)}L;");
            w.WriteLine($"float* b = S + {gi} * {EmitContext.Long((long)d.InChannels * p.PlaneStride)}L;");
            w.WriteLine($"float* c = flat + {gi} * {EmitContext.Long((long)d.OutChannels * flatN)}L;");
            w.WriteLine(bias is null ? "float* bias = null;" : $"float* bias = {bias} + {gi} * {d.OutChannels};");
            void Tiles(string kernel, string n0Loop)
            {
                w.OpenBlock(n0Loop);
                w.WriteLine($"int nc = {EmitContext.Math}.Min({nr}, {flatN} - n0);");
                w.OpenBlock($"for (int m0 = 0; m0 < {d.OutChannels}; m0 += {tile.MR})");
                w.WriteLine($"{kernel}(a + (m0 / {tile.MR}) * {EmitContext.Long((long)tile.MR * k)}L, b + n0, {EmitContext.Long(p.PlaneStride)}, offs, {taps}, " +
                    $"c + (long)m0 * {flatN} + n0, {flatN}, {d.InChannels}, {(bias is null ? "null" : "bias + m0")}, {EmitContext.Math}.Min({tile.MR}, {d.OutChannels} - m0), nc);");
                w.CloseBlock();
                w.CloseBlock();
            }
            Tiles(main, tail is null ? $"for (int n0 = 0; n0 < {flatN}; n0 += {nr})" : $"for (int n0 = 0; n0 < {full}; n0 += {nr})");
            if (tail is not null) Tiles(tail, $"for (int n0 = {full}; n0 < {flatN}; n0 += {nr})");
            if (d.Groups > 1) w.CloseBlock();
        });
        // 3. Compaction into Y (residual and activation here when there is a residual).
        w.OpenBlock($"for (int oc = 0; oc < {cout}; oc++)");
        w.OpenBlock($"for (int oy = 0; oy < {g.OutH}; oy++)");
        w.WriteLine($"float* src = flat + (long)oc * {flatN} + oy * {p.Wq};");
        w.WriteLine($"long o = ((long)n * {cout} + oc) * {EmitContext.Long(outPlane)}L + oy * {g.OutW};");
        w.WriteLine($"float* dst = Y + o;");
        if (!d.Residual)
        {
            w.WriteLine($"global::System.Buffer.MemoryCopy(src, dst, {g.OutW * 4}, {g.OutW * 4});");
        }
        else
        {
            w.WriteLine($"float* rr = {residual} + o;");
            w.WriteLine("int ox = 0;");
            ctx.PerIsa(w, (isa, _) =>
            {
                if (isa.IsScalar || g.OutW < isa.Width) return;
                string? pro = ActivationEmitter.Prologue(d.Activation, isa);
                if (pro is not null) w.WriteLine(pro);
                w.WriteLine($"for (; ox <= {g.OutW - isa.Width}; ox += {isa.Width}) " +
                    isa.Store(ActivationEmitter.Apply(d.Activation, isa, $"({isa.Load("src + ox")} + {isa.Load("rr + ox")})"), "dst + ox"));
            });
            w.WriteLine($"for (; ox < {g.OutW}; ox++) dst[ox] = {ActivationEmitter.ApplyScalar(d.Activation, "(src[ox] + rr[ox])")};");
        }
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
    }

    /// <summary>The shared micro-kernel: per input channel, per tap, one rank-1 update with B at b + offs[t].</summary>
    private static string RequireKernel(Isa isa, int mr, int nv, bool bias, Activation act, EmitContext ctx)
    {
        int nr = nv * isa.Width;
        string name = $"F32ConvDirect_{mr}x{nr}{(bias ? "_Bias" : "")}{ActivationEmitter.Name(act)}" +
            (act.Kind is ActivationKind.Clip or ActivationKind.LeakyRelu ? "_" + GemmEmitter.ActivationKey(act) : "") + "_" + isa.Name;
        ctx.RequireHelper(name, w =>
        {
            w.WriteLine($"/// <summary>{mr}x{nr} fp32 direct-convolution micro-kernel ({isa.Name}): C = act(sum over channels and taps of A x B + bias).</summary>");
            w.WriteLine($"/// <remarks>A packed [channels][taps][{mr}]; B row (channel c, tap t) at b + c * cs + offs[t]; mc/nc valid rows/columns.</remarks>");
            GemmEmitter.EmitTile(w,
                $"private static void {name}(float* a, float* b, nint cs, long* offs, int taps, float* c, nint ldc, int channels, float* bias, int mc, int nc)",
                isa, mr, nv, bias ? GemmBias.PerRow : GemmBias.None, residual: false, act, body =>
                {
                    body.OpenBlock("for (int ch = 0; ch < channels; ch++)");
                    body.OpenBlock("for (int tap = 0; tap < taps; tap++)");
                    body.WriteLine("float* bt = b + offs[tap];");
                    GemmEmitter.EmitStep(body, isa, mr, nv, j => j == 0 ? "bt" : $"bt + {j * isa.Width}", i => $"a[{i}]");
                    body.WriteLine($"a += {mr};");
                    body.CloseBlock();
                    body.WriteLine("b += cs;");
                    body.CloseBlock();
                });
        });
        return name;
    }
}
