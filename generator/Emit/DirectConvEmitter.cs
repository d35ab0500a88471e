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
//
// Band mode (row mode with an input too large for L2, see PlanBand): steps (1) and (2) per band of output rows, each band
// in a worker's own scratch, so the phase planes are written and read while in L2 rather than copied out to memory whole.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class DirectConvEmitter
{
    private static int FlatN(DirectConvSpec d, PhasePlanes p) => p.FlatN(d.Geometry);

    /// <summary>
    /// Scratch floats: split planes of every input channel (of one band in band mode, per worker), the tap offsets (as
    /// longs), the flat output (flat mode).
    /// </summary>
    public static long ScratchFloats(DirectConvSpec d)
    {
        PhasePlanes p = PhasePlanes.Plan(d.Geometry, d.BandRows);
        int taps = d.Geometry.KernelH * d.Geometry.KernelW;
        long flat = StoresIntoY(d.Geometry, p) ? 0 : (long)d.Groups * d.OutChannels * FlatN(d, p);
        return (long)d.Groups * d.InChannels * p.PlaneStride + ((2L * taps + 15) / 16 * 16) + flat + 16;
    }

    /// <summary>
    /// Row mode: tiles run along each output row and store straight into Y (residual and activation in the kernel), with
    /// no flat buffer and no compaction pass. Chosen for wide rows, where a row's last partial vector wastes no more than
    /// the flat layout's garbage columns plus the compaction pass (estimated at 5% of the work): at 112 or 111 columns
    /// rows win (the flat buffer of an early layer is megabytes, far outside L2); at 56 or 28 the flat layout does.
    /// </summary>
    public static bool UsesRows(ConvGeometry g, PhasePlanes p)
    {
        if (g.OutW < 32) return false;
        double rowWaste = (double)((g.OutW + 15) / 16 * 16 - g.OutW) / g.OutW;
        double flatWaste = (double)(p.Wq - g.OutW) / p.Wq;
        return rowWaste <= flatWaste + 0.05;
    }

    /// <summary>
    /// Output rows per band, or 0 for the whole plane at once. Banded when row mode applies, there is one group, and the
    /// whole input's phase planes exceed twice the profile's <see cref="TargetProfile.DirectBandBytes"/>; the band takes
    /// as many rows as fit in that budget with the rows its taps reach below (at least one). fns-candy's 3x3 stride-2
    /// layers split 41 MB and 20 MB of input into phase planes before their first tile: in memory, not in L2.
    /// </summary>
    public static int PlanBand(ConvGeometry g, int groups, int inChannels, TargetProfile profile)
    {
        if (profile.DirectBandBytes <= 0 || groups != 1) return 0;
        PhasePlanes p = PhasePlanes.Plan(g);
        if (!UsesRows(g, p) || (long)inChannels * p.PlaneStride * sizeof(float) <= 2 * profile.DirectBandBytes) return 0;
        long rowBytes = (long)inChannels * p.Sy * p.Sx * p.Wq * sizeof(float);
        int rows = (int)System.Math.Max(1, profile.DirectBandBytes / rowBytes - p.Halo);
        return rows >= g.OutH ? 0 : rows;
    }

    /// <summary>
    /// Whether the tiles store straight into Y: row mode, or a flat layout without garbage columns (Wq = OW, e.g. a 1x1
    /// stride-2 convolution), whose flat rows are Y's planes as they are, so there is nothing to compact.
    /// </summary>
    private static bool StoresIntoY(ConvGeometry g, PhasePlanes p) => UsesRows(g, p) || p.Wq == g.OutW;

    /// <summary>Only row-mode tiles store into Y (flat mode stores into the scratch buffer): they prefetch a large output.</summary>
    private static bool PrefetchesOutput(DirectConvSpec d, PhasePlanes p) => d.PrefetchOutput && UsesRows(d.Geometry, p);

    public static IEnumerable<string> Remarks(DirectConvSpec d, TargetProfile profile)
    {
        ConvGeometry g = d.Geometry;
        PhasePlanes p = PhasePlanes.Plan(g);
        int taps = g.KernelH * g.KernelW;
        string split = d.BandRows > 0
            ? $"in bands of {d.BandRows} output row(s): each band's input rows split into {p.Used.Count} padded phase(s) of " +
              $"{d.BandRows + p.Halo}x{p.Wq} in the worker's scratch ({ScratchFloats(d) * sizeof(float) / 1024} KB), then its tiles"
            : $"input planes split into {p.Used.Count} padded phase(s) of {p.Hq}x{p.Wq}";
        yield return $"lowering: direct convolution, {d.Groups} group(s) of {d.InChannels} -> {d.OutChannels} channels, {g.KernelH}x{g.KernelW} " +
            $"stride {g.StrideH}x{g.StrideW} dilation {g.DilationH}x{g.DilationW} pads {g.PadTop},{g.PadLeft}; {split}; GEMM M={d.OutChannels} " +
            (UsesRows(g, p) ? $"N={g.OutH}x{g.OutW} (row mode: tiles along each output row, stored into Y) "
                : p.Wq == g.OutW ? $"N={FlatN(d, p)} (flat, no garbage column: stored into Y) " : $"N={FlatN(d, p)} (flat, {p.Wq - g.OutW} garbage column(s) per row) ") +
            $"K={d.InChannels}x{taps} taps";
        var tiles = new List<string>();
        for (int i = 0; i < profile.Isas.Count; i++) tiles.Add($"{profile.Tile(i, d.MR).Describe()} ({profile.Isas[i].Name})");
        yield return "tiles MRxNR: " + string.Join(", ", tiles) + $"; epilogue: bias{(d.Residual ? "; residual and " : "; ")}activation {d.Activation} " +
            (d.Residual && !StoresIntoY(g, p) ? "applied while compacting" : "in the kernel") +
            (PrefetchesOutput(d, p) ? GemmEmitter.PrefetchRemark : "");
    }

    public static void Emit(DirectConvSpec d, string? bias, string? residual, SourceWriter w, EmitContext ctx)
    {
        if (d.BandRows > 0)
        {
            w.OpenBlock($"for (int n = 0; n < {d.Batch}; n++)");
            EmitBands(d, bias, residual, w, ctx);
            w.CloseBlock();
            return;
        }
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

        string L(long v) => EmitContext.Long(v);
        // Tap offsets into the shared scratch (the parts read them).
        w.OpenBlock();
        w.WriteLine($"long* offs = (long*)(S + {L(offsetsAt)}L);");
        p.EmitTapOffsets(w, g);
        w.CloseBlock();
        string[] carried = { "n" };
        w.OpenBlock($"for (int n = 0; n < {d.Batch}; n++)");
        // 1. Split every input channel into its padded phase sub-planes (parallel over channels).
        p.EmitSplitChannels(w, ctx, g, cin, inPlane);
        bool rows = UsesRows(g, p);
        // 2. Tiles: (group, output row, column tile, row tile) as one range. Row mode: columns of one output row, stored
        // into Y with bias, residual and activation. Flat mode: one "row" of flatN columns into the flat buffer, or into Y
        // when there are no garbage columns (the flat rows are then Y's planes).
        string yn = $"Y + (long)n * {L(cout * outPlane)}L", rn = residual is null ? "" : $"{residual} + (long)n * {L(cout * outPlane)}L";
        var loop = rows
            ? new TileLoop(g.OutH, g.OutW, p.Wq, yn, outPlane, g.OutW, residual is null ? null : rn, d.Residual, d.Activation, null)
            : StoresIntoY(g, p) ? new TileLoop(1, flatN, 0, yn, outPlane, 0, residual is null ? null : rn, d.Residual, d.Activation, null)
            : new TileLoop(1, flatN, 0, "flat", flatN, 0, null, false, d.Residual ? Activation.None : d.Activation, $"float* flat = S + {L(flatAt)}L;");
        EmitTiles(d, p, loop, bias, aGroup, k, offsetsAt, w, ctx);
        if (StoresIntoY(g, p))
        {
            w.CloseBlock();
            return;
        }
        // 3. Compaction into Y, one output row per iteration (residual and activation here when there is a residual).
        ctx.ParallelFor(w, (long)cout * g.OutH, b =>
        {
            b.WriteLine($"float* flat = S + {L(flatAt)}L;");
            b.OpenBlock("for (int t = pb; t < pe; t++)");
            b.WriteLine($"int oc = t / {g.OutH}, oy = t % {g.OutH};");
            b.WriteLine($"float* src = flat + (long)oc * {flatN} + oy * {p.Wq};");
            b.WriteLine($"long o = ((long)n * {cout} + oc) * {L(outPlane)}L + oy * {g.OutW};");
            b.WriteLine("float* dst = Y + o;");
            if (!d.Residual)
            {
                b.WriteLine($"global::System.Buffer.MemoryCopy(src, dst, {g.OutW * 4}, {g.OutW * 4});");
            }
            else
            {
                b.WriteLine($"float* rr = {residual} + o;");
                b.WriteLine("int ox = 0;");
                ctx.PerIsa(b, (isa, _) =>
                {
                    if (isa.IsScalar || g.OutW < isa.Width) return;
                    string? pro = ActivationEmitter.Prologue(d.Activation, isa);
                    if (pro is not null) b.WriteLine(pro);
                    b.WriteLine($"for (; ox <= {g.OutW - isa.Width}; ox += {isa.Width}) " +
                        isa.Store(ActivationEmitter.Apply(d.Activation, isa, $"({isa.Load("src + ox")} + {isa.Load("rr + ox")})"), "dst + ox"));
                });
                b.WriteLine($"for (; ox < {g.OutW}; ox++) dst[ox] = {ActivationEmitter.ApplyScalar(d.Activation, "(src[ox] + rr[ox])")};");
            }
            b.CloseBlock();
        }, carried);
        w.CloseBlock();
    }

    /// <summary>
    /// Band mode (row mode, one group): per band of output rows, in one worker's private scratch, the input rows the band
    /// reads split into phase planes, then the band's tiles (row, column tile, row tile) from them, stored into Y with
    /// bias, residual and activation. The tap offsets follow the band's sub-plane size.
    /// </summary>
    private static void EmitBands(DirectConvSpec d, string? bias, string? residual, SourceWriter w, EmitContext ctx)
    {
        ConvGeometry g = d.Geometry;
        PhasePlanes p = PhasePlanes.Plan(g, d.BandRows);
        int taps = g.KernelH * g.KernelW, band = d.BandRows, bands = (g.OutH + band - 1) / band;
        int k = d.InChannels * taps;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        long offsetsAt = (long)d.InChannels * p.PlaneStride;
        long mTiles = (d.OutChannels + d.MR - 1) / d.MR;
        string L(long v) => EmitContext.Long(v);
        string M = EmitContext.Math;
        string yn = $"Y + (long)n * {L(d.OutChannels * outPlane)}L", rn = residual is null ? "null" : $"{residual} + (long)n * {L(d.OutChannels * outPlane)}L";
        ctx.PerIsa(w, (isa, index) =>
        {
            RowKernels kernels = Kernels(d, p, isa, index, g.OutW, d.Residual, d.Activation, ctx);
            GemmTile tile = kernels.Tile;
            int nr = tile.NR;
            long perRow = (g.OutW + nr - 1) / nr * mTiles;
            ctx.ParallelFor(w, bands, b =>
            {
                b.WriteLine($"long* offs = (long*)(S + {L(offsetsAt)}L);");
                p.EmitTapOffsets(b, g);
                b.OpenBlock("for (int band = pb; band < pe; band++)");
                b.WriteLine($"int r0 = band * {band}, rows = {M}.Min({band}, {g.OutH} - r0);");
                b.OpenBlock($"for (int ch = 0; ch < {d.InChannels}; ch++)");
                p.EmitSplitChannel(b, g, d.InChannels, inPlane, "r0", $"rows + {p.Halo}");
                b.CloseBlock();
                b.OpenBlock($"for (int tt = 0; tt < rows * {L(perRow)}; tt++)");
                b.WriteLine($"int lr = tt / {L(perRow)}, tile = tt % {L(perRow)};");
                b.WriteLine($"int col = tile / {L(mTiles)} * {nr}, m0 = tile % {L(mTiles)} * {tile.MR};");
                b.WriteLine($"int nc = {M}.Min({nr}, {g.OutW} - col);");
                b.WriteLine($"float* a = W + (m0 / {tile.MR}) * {L((long)tile.MR * k)}L;");
                b.WriteLine($"float* bb = S + lr * {p.Wq} + col;");
                b.WriteLine($"long o = (long)m0 * {L(outPlane)}L + (r0 + lr) * {g.OutW} + col;");
                b.WriteLine(bias is null ? "float* bias = null;" : $"float* bias = {bias} + m0;");
                EmitCall(b, d, p, kernels, $"{yn} + o", outPlane, residual is null ? null : $"{rn} + o");
                b.CloseBlock();
                b.CloseBlock();
            }, new[] { "n" }, privateScratch: "S");
        });
    }

    /// <summary>
    /// The tile range of one layer: <paramref name="Rows"/> rows of <paramref name="Width"/> columns; B for (row, column)
    /// at the group's planes + row * <paramref name="RowPitchB"/> + column; C (and R) at base + (group channel) * Ldc +
    /// row * <paramref name="RowPitchC"/> + column.
    /// </summary>
    private sealed record TileLoop(int Rows, int Width, int RowPitchB, string CBase, long Ldc, int RowPitchC, string? RBase,
        bool Residual, Activation Activation, string? Prelude);

    /// <summary>
    /// (group, row, column tile, row tile) as one range, column-tile-major within a row so the B rows a column tile reads
    /// stay in L1 across the output-channel tiles; the last column tile of a row uses a narrower kernel when that saves
    /// whole vectors (its partial vector is masked).
    /// </summary>
    private static void EmitTiles(DirectConvSpec d, PhasePlanes p, TileLoop loop, string? bias, long aGroup, int k, long offsetsAt, SourceWriter w, EmitContext ctx)
    {
        long mTiles = (d.OutChannels + d.MR - 1) / d.MR;
        string L(long v) => EmitContext.Long(v);
        ctx.PerIsa(w, (isa, index) =>
        {
            RowKernels kernels = Kernels(d, p, isa, index, loop.Width, loop.Residual, loop.Activation, ctx);
            GemmTile tile = kernels.Tile;
            int nr = tile.NR;
            long colTiles = (loop.Width + nr - 1) / nr;
            long perRow = colTiles * mTiles, perGroup = loop.Rows * perRow;
            ctx.ParallelFor(w, d.Groups * perGroup, b =>
            {
                if (loop.Prelude is not null) b.WriteLine(loop.Prelude);
                b.WriteLine($"long* offs = (long*)(S + {L(offsetsAt)}L);");
                b.OpenBlock("for (int t = pb; t < pe; t++)");
                b.WriteLine(d.Groups > 1 ? $"int gi = t / {L(perGroup)}, rest = t % {L(perGroup)};" : "const int gi = 0; int rest = t;");
                b.WriteLine(loop.Rows > 1 ? $"int row = rest / {L(perRow)}, tile = rest % {L(perRow)};" : "const int row = 0; int tile = rest;");
                b.WriteLine($"int col = tile / {L(mTiles)} * {nr}, m0 = tile % {L(mTiles)} * {tile.MR};");
                b.WriteLine($"int nc = {EmitContext.Math}.Min({nr}, {loop.Width} - col);");
                b.WriteLine($"float* a = W + gi * {L(aGroup)}L + (m0 / {tile.MR}) * {L((long)tile.MR * k)}L;");
                b.WriteLine($"float* bb = S + gi * {L((long)d.InChannels * p.PlaneStride)}L + row * {loop.RowPitchB} + col;");
                b.WriteLine($"long o = (long)(gi * {d.OutChannels} + m0) * {L(loop.Ldc)}L + row * {loop.RowPitchC} + col;");
                b.WriteLine(bias is null ? "float* bias = null;" : $"float* bias = {bias} + gi * {d.OutChannels} + m0;");
                EmitCall(b, d, p, kernels, $"{loop.CBase} + o", loop.Ldc, loop.RBase is null ? null : $"{loop.RBase} + o");
                b.CloseBlock();
            }, new[] { "n" });
        });
    }

    /// <summary>
    /// Windows of up to this many taps get kernels with the taps unrolled at the layer's build-time phase-plane offsets
    /// (no offset table, no tap loop: 19 instructions per 12 FMAs on AVX2's 4 x 24 where the loop takes 24). Stand-alone,
    /// alternated: MobileNetV2's 3 -> 32 stem 0.323-0.328 -> 0.307-0.308 ms, ResNet-18's 7x7 stem 2.66-2.69 -> 2.56-2.60,
    /// MNIST's 5x5 1 -> 8 11% faster. At 49 taps (7x7) the largest kernel, AVX-512's 8 x 48, is 24 KB of IL: under the
    /// ~60 KB past which the JIT stops optimising.
    /// </summary>
    internal const int MaxUnrolledTaps = 49;

    /// <summary>The kernels of a row of tiles: the main one, and a narrower one for the last column tile (when it saves whole vectors) past column Full.</summary>
    internal sealed record RowKernels(GemmTile Tile, string Main, string? Tail, int Full);

    internal static RowKernels Kernels(DirectConvSpec d, PhasePlanes p, Isa isa, int index, int width, bool residual, Activation act, EmitContext ctx)
    {
        GemmTile tile = ctx.Profile.Tile(index, d.MR);
        bool prefetch = PrefetchesOutput(d, p);
        long[]? offsets = null;
        ConvGeometry g = d.Geometry;
        if (g.KernelH * g.KernelW <= MaxUnrolledTaps)
        {
            offsets = new long[g.KernelH * g.KernelW];
            for (int kh = 0, t = 0; kh < g.KernelH; kh++)
            {
                for (int kw = 0; kw < g.KernelW; kw++, t++) offsets[t] = p.Offset(g, kh, kw);
            }
        }
        string main = RequireKernel(tile, d.HasBias, residual, act, prefetch, offsets, ctx);
        int full = width / tile.NR * tile.NR, rem = width - full;
        int tailNv = (rem + isa.Width - 1) / isa.Width;
        string? tail = rem > 0 && tailNv < tile.NV ? RequireKernel(tile with { NV = tailNv }, d.HasBias, residual, act, prefetch, offsets, ctx) : null;
        return new RowKernels(tile, main, tail, full);
    }

    /// <summary>One tile's kernel call (locals a, bb, offs, bias, col, m0, nc in scope), C and R rows every <paramref name="ldc"/>.</summary>
    internal static void EmitCall(SourceWriter b, DirectConvSpec d, PhasePlanes p, RowKernels k, string c, long ldc, string? r)
    {
        string L(long v) => EmitContext.Long(v);
        int taps = d.Geometry.KernelH * d.Geometry.KernelW;
        string Call(string kernel) => $"{kernel}(a, bb, {L(p.PlaneStride)}, offs, {taps}, {c}, {L(ldc)}, {r ?? "null"}, {L(ldc)}, " +
            $"{d.InChannels}, bias, {EmitContext.Math}.Min({k.Tile.MR}, {d.OutChannels} - m0), nc);";
        if (k.Tail is null) b.WriteLine(Call(k.Main));
        else
        {
            b.WriteLine($"if (col < {k.Full}) {Call(k.Main)}");
            b.WriteLine($"else {Call(k.Tail)}");
        }
    }

    /// <summary>The shared micro-kernel: per input channel, per tap, one rank-1 update with B at b + offs[t].</summary>
    private static string RequireKernel(GemmTile tile, bool bias, bool residual, Activation act, bool prefetchC, long[]? offsets, EmitContext ctx)
    {
        string suffix = GemmEmitter.PrefetchSuffix(prefetchC) + GemmEmitter.EpilogueSuffix(bias ? "_Bias" : "", residual, act, tile.Isa);
        if (offsets is not null)
        {
            ulong h = Hashing.Start;
            foreach (long o in offsets) h = Hashing.Combine(h, (ulong)o);
            suffix = $"_{offsets.Length}t{(uint)(h ^ (h >> 32)):x8}" + suffix;
        }
        string name = $"F32ConvDirect_{tile.MR}x{tile.NR}{suffix}";
        if (tile.Split)
        {
            string pass = $"F32ConvDirect_{tile.PassShape}{suffix}";
            RequireKernel(pass, tile.Isa, tile.PassRows, tile.NV, tile.MR, bias, residual, act, prefetchC, offsets, ctx);
            ctx.RequireHelper(name, w => GemmEmitter.EmitPasses(w, name, pass, tile, Signature, bias, residual,
                (a, c, b, r, mc) => $"({a}, b, cs, offs, taps, {c}, ldc, {r}, ldr, channels, {b}, {mc}, nc);"));
            return name;
        }
        return RequireKernel(name, tile.Isa, tile.MR, tile.NV, tile.MR, bias, residual, act, prefetchC, offsets, ctx);
    }

    /// <summary>The direct-convolution micro-kernels' parameter list.</summary>
    private const string Signature = "(float* a, float* b, nint cs, long* offs, int taps, float* c, nint ldc, float* r, nint ldr, int channels, float* bias, int mc, int nc)";

    /// <summary>One kernel of <paramref name="mr"/> rows reading weight panels of <paramref name="aStride"/> rows.</summary>
    private static string RequireKernel(string name, Isa isa, int mr, int nv, int aStride, bool bias, bool residual, Activation act, bool prefetchC, long[]? offsets, EmitContext ctx)
    {
        int nr = nv * isa.Width;
        ctx.RequireHelper(name, w =>
        {
            w.WriteLine($"/// <summary>{mr}x{nr} fp32 direct-convolution micro-kernel ({isa.Name}): C = act(sum over channels and taps of A x B + bias).</summary>");
            string taps = offsets is null ? "offs[t]" : $"({string.Join(", ", offsets)})[t] (the taps unrolled: offs and taps unused)";
            w.WriteLine($"/// <remarks>A packed [channels][taps][{aStride}]{(aStride != mr ? $" (this kernel reads {mr} of the rows)" : "")}; B row (channel c, tap t) at b + c * cs + {taps}; C (and R) rows every ldc (ldr); mc/nc valid rows/columns.</remarks>");
            GemmEmitter.EmitTile(w,
                $"private static void {name}{Signature}",
                isa, mr, nv, bias ? GemmBias.PerRow : GemmBias.None, residual, act, prefetchC, body =>
                {
                    body.OpenBlock("for (int ch = 0; ch < channels; ch++)");
                    if (offsets is null)
                    {
                        body.OpenBlock("for (int tap = 0; tap < taps; tap++)");
                        body.WriteLine("float* bt = b + offs[tap];");
                        GemmEmitter.EmitStep(body, isa, mr, nv, j => j == 0 ? "bt" : $"bt + {j * isa.Width}", i => $"a[{i}]");
                        body.WriteLine($"a += {aStride};");
                        body.CloseBlock();
                    }
                    else
                    {
                        for (int t = 0; t < offsets.Length; t++)
                        {
                            body.OpenBlock();
                            GemmEmitter.EmitStep(body, isa, mr, nv, j => $"b + {offsets[t] + j * isa.Width}", i => $"a[{t * aStride + i}]");
                            body.CloseBlock();
                        }
                        body.WriteLine($"a += {offsets.Length * aStride};");
                    }
                    body.WriteLine("b += cs;");
                    body.CloseBlock();
                });
        });
        return name;
    }
}
