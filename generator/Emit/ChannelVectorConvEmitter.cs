// Licensed under the MIT license.
// Channel-vectorised convolution: the output channels fill the vector lanes and MR output pixels are broadcast rows,
// so a small output plane wastes no lanes (a 7x7 plane is 49 pixels: 7 tiles of 7, where pixel-vectorised tiles
// compute 64 lanes for 49 pixels). Per (input channel, tap) step: NV loads of a packed weight row, MR broadcasts of
// input values, MR x NV FMAs; the input is read in place (1x1 stride 1) or from the stride-phase planes of
// Emit/PhasePlanes at build-time tap offsets. The tile is stored transposed (Y is NCHW) with bias, residual and
// activation, a scalar pass that is small against the K = C x taps long accumulation it follows.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class ChannelVectorConvEmitter
{
    /// <summary>
    /// Whether channel-vectorised tiles compute at most 90% of the lanes the pixel-vectorised kernels would (profile
    /// tiles of the first ISA): the pixel kernels round each row of flat columns up to 16 lanes and the output channels
    /// up to MR rows; the channel kernel rounds the pixels up to its MR and the channels up to whole panels.
    /// </summary>
    public static bool Pays(TargetProfile profile, ConvGeometry g, int outChannels, bool pointwise)
    {
        if (profile.ChannelPanel == 0) return false;
        int mr = profile.ChannelTileMR[0], gemmMr = profile.GemmMR, panel = profile.ChannelPanel;
        long pixels = (long)g.OutH * g.OutW;
        long flat = pointwise ? pixels : PhasePlanes.Plan(g).FlatN(g);
        double pixelLanes = (double)((flat + 15) / 16 * 16) * ((outChannels + gemmMr - 1) / gemmMr * gemmMr);
        double channelLanes = (double)((pixels + mr - 1) / mr * mr) * ((outChannels + panel - 1) / panel * panel);
        return channelLanes < 0.9 * pixelLanes;
    }

    public static long ScratchFloats(ChannelVectorConvSpec c) =>
        c.Pointwise ? 1 : (long)c.InChannels * PhasePlanes.Plan(c.Geometry).PlaneStride + 16;

    public static IEnumerable<string> Remarks(ChannelVectorConvSpec c, TargetProfile profile)
    {
        ConvGeometry g = c.Geometry;
        yield return $"lowering: channel-vectorised convolution (output channels in vector lanes), {c.InChannels} -> {c.OutChannels} channels, " +
            $"{g.KernelH}x{g.KernelW} stride {g.StrideH}x{g.StrideW} dilation {g.DilationH}x{g.DilationW} pads {g.PadTop},{g.PadLeft}, " +
            $"{g.OutH}x{g.OutW} = {g.OutH * g.OutW} output pixels; " +
            (c.Pointwise ? "input read in place" : $"input planes split into {PhasePlanes.Plan(g).Used.Count} padded phase(s)") +
            $"; weights in panels of {c.Panel} output channels";
        var tiles = new List<string>();
        for (int i = 0; i < profile.Isas.Count; i++)
            tiles.Add($"{profile.ChannelTileMR[i]} pixels x {profile.ChannelTileNV[i] * profile.Isas[i].Width} channels ({profile.Isas[i].Name})");
        yield return "tiles: " + string.Join(", ", tiles) + $"; epilogue (transposed store): bias{(c.Residual ? ", residual" : "")}, activation {c.Activation}";
    }

    public static void Emit(ChannelVectorConvSpec c, string? bias, string? residual, SourceWriter w, EmitContext ctx)
    {
        ConvGeometry g = c.Geometry;
        PhasePlanes? p = c.Pointwise ? null : PhasePlanes.Plan(g);
        int taps = g.KernelH * g.KernelW, k = c.InChannels * taps;
        long inPlane = (long)g.InH * g.InW, pixels = (long)g.OutH * g.OutW;
        int panels = (c.OutChannels + c.Panel - 1) / c.Panel;
        string L(long v) => EmitContext.Long(v);
        var offsets = new List<long>();
        for (int kh = 0; kh < g.KernelH; kh++) for (int kw = 0; kw < g.KernelW; kw++) offsets.Add(p is null ? 0 : p.Offset(g, kh, kw));
        ctx.PerIsa(w, (isa, index) =>
        {
            int mr = ctx.Profile.ChannelTileMR[index], nv = ctx.Profile.ChannelTileNV[index], nr = nv * isa.Width;
            int blocks = c.Panel / nr;
            long pixelTiles = (pixels + mr - 1) / mr;
            string kernel = RequireKernel(isa, mr, nv, c.HasBias, c.Residual, c.Activation, ctx);
            w.OpenBlock($"for (int n = 0; n < {c.Batch}; n++)");
            p?.EmitSplitChannels(w, ctx, g, c.InChannels, inPlane);
            // Tiles (panel, block of the panel, pixel tile), pixel tiles innermost: a block's weights stay in cache.
            ctx.ParallelFor(w, (long)panels * blocks * pixelTiles, b =>
            {
                b.WriteLine($"int* pix = stackalloc int[{mr}];");
                b.WriteLine($"long* offs = stackalloc long[{taps}];");
                for (int t = 0; t < taps; t++) b.WriteLine($"offs[{t}] = {L(offsets[t])}L;");
                b.WriteLine(p is null
                    ? $"float* xb = X + (long)n * {L(c.InChannels * inPlane)}L;"
                    : "float* xb = S;");
                b.OpenBlock("for (int t = pb; t < pe; t++)");
                b.WriteLine($"int pt = t % {L(pixelTiles)}, rest = t / {L(pixelTiles)};");
                b.WriteLine($"int panel = rest / {blocks}, oc0 = panel * {c.Panel} + rest % {blocks} * {nr};");
                b.WriteLine($"if (oc0 >= {c.OutChannels}) continue;");
                b.WriteLine($"int p0 = pt * {mr}, mc = {EmitContext.Math}.Min({mr}, {L(pixels)} - p0), nc = {EmitContext.Math}.Min({nr}, {c.OutChannels} - oc0);");
                b.OpenBlock($"for (int i = 0; i < {mr}; i++)");
                b.WriteLine($"int q = {EmitContext.Math}.Min(p0 + i, {L(pixels - 1)});");
                b.WriteLine(p is null ? "pix[i] = q;" : $"pix[i] = q / {g.OutW} * {p.Wq} + q % {g.OutW};");
                b.CloseBlock();
                b.WriteLine($"long o = ((long)n * {c.OutChannels} + oc0) * {L(pixels)}L + p0;");
                b.WriteLine($"{kernel}(xb, {L(p is null ? inPlane : p.PlaneStride)}, offs, {taps}, {c.InChannels}, pix, " +
                    $"W + (long)panel * {L((long)k * c.Panel)}L + (oc0 - panel * {c.Panel}), {c.Panel}, {(bias is null ? "null" : $"{bias} + oc0")}, " +
                    $"Y + o, {L(pixels)}, {(residual is null ? "null" : $"{residual} + o")}, mc, nc);");
                b.CloseBlock();
            }, new[] { "n" });
            w.CloseBlock();
        });
    }

    /// <summary>The shared micro-kernel: per input channel and tap, NV weight vectors times MR broadcast input values.</summary>
    private static string RequireKernel(Isa isa, int mr, int nv, bool bias, bool residual, Activation act, EmitContext ctx)
    {
        int width = isa.Width, nr = nv * width;
        string name = $"F32ConvChannels_{mr}x{nr}{(bias ? "_Bias" : "")}{(residual ? "_Res" : "")}{ActivationEmitter.Name(act)}" +
            (act.Kind is ActivationKind.Clip or ActivationKind.LeakyRelu ? "_" + GemmEmitter.ActivationKey(act) : "") + "_" + isa.Name;
        ctx.RequireHelper(name, w =>
        {
            string V = isa.VectorType;
            w.WriteLine($"/// <summary>{mr} pixels x {nr} output channels, fp32, {isa.Name}: Y = act(sum over channels and taps of X x W + bias + R), stored transposed.</summary>");
            w.WriteLine("/// <remarks>Pixel i reads x + pix[i] + c * cs + offs[t]; W rows of the panel every ldw floats; Y (and R) [channel][pixel], channels every ldy; mc/nc valid pixels/channels.</remarks>");
            w.WriteLine(EmitContext.MethodImpl);
            w.WriteLine(EmitContext.SkipLocalsInit);
            w.OpenBlock($"private static void {name}(float* x, nint cs, long* offs, int taps, int channels, int* pix, float* w, nint ldw, float* bias, float* y, nint ldy, float* r, int mc, int nc)");
            GemmEmitter.DeclareAccumulators(w, isa, mr, nv);
            for (int i = 0; i < mr; i++) w.WriteLine($"float* x{i} = x + pix[{i}];");
            w.OpenBlock("for (int ch = 0; ch < channels; ch++)");
            w.OpenBlock("for (int tap = 0; tap < taps; tap++)");
            w.WriteLine("long o = offs[tap];");
            GemmEmitter.EmitStep(w, isa, mr, nv, j => j == 0 ? "w" : $"w + {j * width}", i => $"x{i}[o]");
            w.WriteLine("w += ldw;");
            w.CloseBlock();
            for (int i = 0; i < mr; i++) w.WriteLine($"x{i} += cs;");
            w.CloseBlock();
            // Bias per output channel (the lanes), then the tile transposed into Y.
            GemmEmitter.AddBias(w, isa, mr, nv, bias ? GemmBias.PerColumn : GemmBias.None);
            GemmEmitter.SpillAccumulators(w, isa, mr, nv);
            w.OpenBlock("for (int j = 0; j < nc; j++)");
            w.OpenBlock("for (int i = 0; i < mc; i++)");
            w.WriteLine($"float v = t[i * {nr} + j]{(residual ? " + r[j * ldy + i]" : "")};");
            w.WriteLine($"y[j * ldy + i] = {ActivationEmitter.ApplyScalar(act, "v")};");
            w.CloseBlock();
            w.CloseBlock();
            w.CloseBlock();
        });
        return name;
    }
}
