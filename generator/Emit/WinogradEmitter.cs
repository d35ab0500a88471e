// Licensed under the MIT license.
// Winograd F(2x2, 3x3) convolution (Lavin & Gray 2016) for 3x3, stride-1, undilated, ungrouped layers:
//   Y(2x2 tile) = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A        d: the tile's 4x4 input window, g: a 3x3 kernel
// 16 multiplications per tile and channel pair instead of 36 (2.25x fewer MACs), at the price of two linear transforms.
//
// Layout: the input planes are split into the stride-2 phases of a 4x4 window (Emit/PhasePlanes, tile geometry), so the
// 16 window values of 16 horizontally adjacent tiles are 16 contiguous vector loads at build-time offsets, over the flat
// tile index q = ty * Wq + tx (one garbage tile column per row, as in the direct convolution's flat mode). Per band of
// tile rows (kept near L2): (1) V[ξ][c][q] = Bᵀ d B per channel, (2) 16 GEMMs M[ξ] (K x q) = U[ξ] (K x C, transformed
// and packed at construction by WeightTransforms.WinogradPackA) x V[ξ] with the GEMM micro-kernels, (3) per output
// channel and tile row: Aᵀ M A, bias, residual and activation, two output columns per lane interleaved into Y.
//
// Bᵀ = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]  G = [[1,0,0],[½,½,½],[½,-½,½],[0,0,1]]  Aᵀ = [[1,1,1,0],[0,1,-1,-1]]

using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class WinogradEmitter
{
    /// <summary>The tiling of one layer: Th x Tw tiles of 2x2 outputs, bands of BandRows tile rows of Wq flat columns.</summary>
    internal sealed class Plan
    {
        public int Th, Tw, Wq, BandRows, Bands, Pitch;
        public ConvGeometry Tiles = null!;
        public PhasePlanes Planes = null!;

        /// <summary>
        /// Floats between consecutive ξ matrices of <paramref name="rows"/> rows: skewed by a cache line so the 16 streams
        /// a transform reads or writes do not all map to the same L1 set (a multiple of 4 KiB would alias them).
        /// </summary>
        public long XiStride(int rows) => (long)rows * Pitch + 16;

        /// <summary>Flat columns of band <paramref name="band"/>.</summary>
        public int Columns(int band) => Math.Min(BandRows, Th - band * BandRows) * Wq;
    }

    /// <summary>The geometry of the tile windows: 4x4 windows at stride 2 over the padded input, one per output tile.</summary>
    public static ConvGeometry TileGeometry(ConvGeometry g) =>
        new(g.Channels, g.InH, g.InW, 4, 4, 2, 2, 1, 1, g.PadTop, g.PadLeft, (g.OutH + 1) / 2, (g.OutW + 1) / 2);

    public static Plan PlanOf(ConvGeometry g, int bandRows)
    {
        ConvGeometry tiles = TileGeometry(g);
        PhasePlanes p = PhasePlanes.Plan(tiles);
        int th = tiles.OutH;
        bandRows = Math.Max(1, Math.Min(bandRows, th));
        return new Plan
        {
            Th = th, Tw = tiles.OutW, Wq = p.Wq, BandRows = bandRows, Bands = (th + bandRows - 1) / bandRows,
            Pitch = (bandRows * p.Wq + 15) / 16 * 16, Tiles = tiles, Planes = p,
        };
    }

    /// <summary>Scratch floats: split planes of every input channel, V (16 x C x Pitch), M (16 x K x Pitch), slack for overrunning vectors.</summary>
    public static long ScratchFloats(WinogradConvSpec s)
    {
        Plan pl = PlanOf(s.Geometry, s.BandRows);
        return s.InChannels * pl.Planes.PlaneStride + 16 * (pl.XiStride(s.InChannels) + pl.XiStride(s.OutChannels)) + 64;
    }

    // ---- Cost model (relative units: one 16-lane FMA = 16) -------------------------------------------------------------

    // Micro-kernel efficiency by the number of 16-lane vectors of its column tile (broadcast-bound when narrow).
    private static readonly double[] s_tileEfficiency = { 0, 0.6, 0.8, 0.92, 1.0 };
    private const double GemmEfficiency = 0.88, DirectEfficiency = 0.85;
    private const long CacheBudgetBytes = 2L << 20;

    /// <summary>GEMM columns a band of <paramref name="cols"/> flat columns costs with 64-wide tiles and a narrower tail.</summary>
    private static double GemmColumns(int cols)
    {
        int rem = cols % 64, nv = (rem + 15) / 16;
        return cols / 64 * 64 + (rem > 0 ? 16.0 * nv / s_tileEfficiency[nv] : 0);
    }

    private static double Cost(int c, int k, Plan pl)
    {
        double cost = 0;
        for (int b = 0; b < pl.Bands; b++)
        {
            int cols = pl.Columns(b), padded = (cols + 15) / 16 * 16;
            cost += 16.0 * c * k * GemmColumns(cols) / (GemmEfficiency * c / (c + 3.0))  // 16 GEMMs (short K loops: accumulator stores weigh)
                + c * padded * 32.0                                    // input transform: 64 vector ops per 16 tiles, half-rate
                + k * padded * 28.0;                                   // output transform
        }
        long scratch = 16L * (c + k) * pl.Pitch * 4;
        return scratch > CacheBudgetBytes ? cost * 1.1 : cost;
    }

    /// <summary>
    /// The band height with the lowest estimated cost (column tiles wasted on partial tiles, scratch beyond a 2 MB
    /// working set penalised), and that cost relative to the direct convolution's. Lower the layer to Winograd when the
    /// ratio is below <see cref="MaxCostRatio"/>.
    /// </summary>
    public static (int BandRows, double Ratio) Choose(int c, int k, ConvGeometry g)
    {
        ConvGeometry tiles = TileGeometry(g);
        int best = 1;
        double bestCost = double.MaxValue;
        for (int rows = 1; rows <= tiles.OutH; rows++)
        {
            double cost = Cost(c, k, PlanOf(g, rows));
            if (cost < bestCost * 0.999)
            {
                best = rows;
                bestCost = cost;
            }
        }
        double direct = 9.0 * c * k * g.OutH * (g.OutW + 2) / DirectEfficiency;
        return (best, bestCost / direct);
    }

    /// <summary>The estimated cost ratio (Winograd / direct) under which a layer is lowered to Winograd.</summary>
    public const double MaxCostRatio = 0.8;

    public static IEnumerable<string> Remarks(WinogradConvSpec s, TargetProfile profile)
    {
        ConvGeometry g = s.Geometry;
        Plan pl = PlanOf(g, s.BandRows);
        yield return $"lowering: Winograd F(2x2,3x3), {s.InChannels} -> {s.OutChannels} channels, {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}, pads {g.PadTop},{g.PadLeft}; " +
            $"{pl.Th}x{pl.Tw} tiles in {pl.Bands} band(s) of {pl.BandRows} tile row(s) ({pl.BandRows * pl.Wq} flat columns, 1 garbage column per row); " +
            $"16 GEMMs per band M={s.OutChannels} K={s.InChannels}; estimated cost {s.CostRatio:0.00} x the direct convolution's";
        var tiles = new List<string>();
        for (int i = 0; i < profile.Isas.Count; i++) tiles.Add($"{profile.Tile(i).MR}x{profile.Tile(i).NR} ({profile.Isas[i].Name})");
        yield return "tiles MRxNR: " + string.Join(", ", tiles) + $"; epilogue in the output transform: bias{(s.Residual ? ", residual" : "")}, activation {s.Activation}";
    }

    public static void Emit(WinogradConvSpec s, string? bias, string? residual, SourceWriter w, EmitContext ctx)
    {
        ConvGeometry g = s.Geometry;
        Plan pl = PlanOf(g, s.BandRows);
        PhasePlanes p = pl.Planes;
        int c = s.InChannels, k = s.OutChannels;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        long vAt = c * p.PlaneStride, mAt = vAt + 16 * pl.XiStride(c);
        string[] carried = { "n", "band" };
        ctx.PerIsa(w, (isa, index) =>
        {
            GemmTile tile = ctx.Profile.Tile(index);
            w.OpenBlock($"for (int n = 0; n < {s.Batch}; n++)");
            // 1. Split every input channel into the padded stride-2 phases of the tile windows.
            p.EmitSplitChannels(w, ctx, pl.Tiles, c, inPlane);
            w.OpenBlock($"for (int band = 0; band < {pl.Bands}; band++)");
            // 2. Input transform, per channel.
            ctx.ParallelFor(w, c, b => EmitInputTransform(b, isa, s, pl, vAt), carried);
            // 3. The 16 GEMMs, tiles (ξ, column tile, row tile) column-tile-major.
            EmitGemms(w, tile, s, pl, vAt, mAt, ctx, carried);
            // 4. Output transform with the epilogue, per (output channel, tile row).
            ctx.ParallelFor(w, (long)k * pl.BandRows, b => EmitOutputTransform(b, isa, s, pl, mAt, outPlane, bias, residual), carried);
            w.CloseBlock();
            w.CloseBlock();
        });
    }

    private static string Columns(Plan pl) => $"{EmitContext.Math}.Min({pl.BandRows}, {pl.Th} - band * {pl.BandRows}) * {pl.Wq}";

    private static void EmitInputTransform(SourceWriter b, Isa isa, WinogradConvSpec s, Plan pl, long vAt)
    {
        PhasePlanes p = pl.Planes;
        string L(long v) => EmitContext.Long(v);
        long xiStride = pl.XiStride(s.InChannels);
        b.WriteLine($"int cols = {Columns(pl)};");
        b.OpenBlock("for (int ch = pb; ch < pe; ch++)");
        b.WriteLine($"float* src = S + ch * {L(p.PlaneStride)}L + band * {L((long)pl.BandRows * pl.Wq)}L;");
        b.WriteLine($"float* dst = S + {L(vAt)}L + ch * {L(pl.Pitch)}L;");
        b.OpenBlock($"for (int q = 0; q < cols; q += {isa.Width})");
        // Bᵀ d B: the column transform of each window row, then the row transform.
        for (int r = 0; r < 4; r++)
        {
            var d = Enumerable.Range(0, 4).Select(j => isa.Load($"src + q + {L(p.Offset(pl.Tiles, r, j))}")).ToArray();
            b.WriteLine($"var d{r}0 = {d[0]}; var d{r}1 = {d[1]}; var d{r}2 = {d[2]}; var d{r}3 = {d[3]};");
            b.WriteLine($"var w{r}0 = d{r}0 - d{r}2; var w{r}1 = d{r}1 + d{r}2; var w{r}2 = d{r}2 - d{r}1; var w{r}3 = d{r}1 - d{r}3;");
        }
        for (int j = 0; j < 4; j++)
        {
            string[] u = { $"w0{j} - w2{j}", $"w1{j} + w2{j}", $"w2{j} - w1{j}", $"w1{j} - w3{j}" };
            for (int i = 0; i < 4; i++) b.WriteLine(isa.Store($"({u[i]})", $"dst + q + {L((4 * i + j) * xiStride)}L"));
        }
        b.CloseBlock();
        b.CloseBlock();
    }

    private static void EmitGemms(SourceWriter w, GemmTile tile, WinogradConvSpec s, Plan pl, long vAt, long mAt, EmitContext ctx, string[] carried)
    {
        int c = s.InChannels, k = s.OutChannels, nr = tile.NR, width = tile.Isa.Width;
        string L(long v) => EmitContext.Long(v);
        long mTiles = (k + s.MR - 1) / s.MR, colTiles = (pl.BandRows * pl.Wq + nr - 1) / nr;
        long uMatrix = mTiles * s.MR * c;
        // Kernels: the full width, and a narrower one for each band width's last column tile when that saves vectors.
        var widths = new SortedSet<int> { tile.NV };
        foreach (int cols in Enumerable.Range(0, pl.Bands).Select(pl.Columns).Distinct())
        {
            if (cols % nr != 0) widths.Add((cols % nr + width - 1) / width);
        }
        var shape = new GemmSpec
        {
            AName = "W", BName = "V", YName = "M", M = k, N = pl.BandRows * pl.Wq, K = c, ALayout = GemmALayout.Packed,
            BLayout = GemmBLayout.RowMajor, Ldb = pl.Pitch, Ldc = pl.Pitch, Activation = Activation.None, MR = s.MR,
        };
        var kernels = widths.Reverse().Select(nv => (Nv: nv, Name: GemmEmitter.RequireKernel(shape, tile with { NV = nv }, ctx))).ToList();
        ctx.ParallelFor(w, 16 * colTiles * mTiles, b =>
        {
            b.WriteLine($"int cols = {Columns(pl)};");
            b.OpenBlock("for (int t = pb; t < pe; t++)");
            b.WriteLine($"int xi = t / {L(colTiles * mTiles)}, rest = t % {L(colTiles * mTiles)};");
            b.WriteLine($"int col = rest / {L(mTiles)} * {nr}, m0 = rest % {L(mTiles)} * {s.MR};");
            b.WriteLine("if (col >= cols) continue;");
            b.WriteLine($"int nc = {EmitContext.Math}.Min({nr}, cols - col), mc = {EmitContext.Math}.Min({s.MR}, {k} - m0);");
            b.WriteLine($"float* a = W + xi * {L(uMatrix)}L + (m0 / {s.MR}) * {L((long)s.MR * c)}L;");
            b.WriteLine($"float* bp = S + {L(vAt)}L + xi * {L(pl.XiStride(c))}L + col;");
            b.WriteLine($"float* cp = S + {L(mAt)}L + xi * {L(pl.XiStride(k))}L + m0 * {L(pl.Pitch)}L + col;");
            string Call(string name) => $"{name}(a, 0, bp, {L(pl.Pitch)}, cp, {L(pl.Pitch)}, {c}, null, null, 0, mc, nc);";
            for (int i = 0; i < kernels.Count; i++)
            {
                if (kernels.Count == 1) b.WriteLine(Call(kernels[i].Name));
                else if (i == 0) b.WriteLine($"if (nc > {kernels[1].Nv * width}) {Call(kernels[i].Name)}");
                else if (i < kernels.Count - 1) b.WriteLine($"else if (nc > {kernels[i + 1].Nv * width}) {Call(kernels[i].Name)}");
                else b.WriteLine($"else {Call(kernels[i].Name)}");
            }
            b.CloseBlock();
        }, carried);
    }

    private static void EmitOutputTransform(SourceWriter b, Isa isa, WinogradConvSpec s, Plan pl, long mAt, long outPlane, string? bias, string? residual)
    {
        ConvGeometry g = s.Geometry;
        int k = s.OutChannels, width = isa.Width;
        string L(long v) => EmitContext.Long(v);
        long xiStride = pl.XiStride(k);
        string? pro = isa.IsScalar ? null : ActivationEmitter.Prologue(s.Activation, isa);
        if (pro is not null) b.WriteLine(pro);
        b.OpenBlock("for (int t = pb; t < pe; t++)");
        b.WriteLine($"int oc = t / {pl.BandRows}, tr = t % {pl.BandRows}, ty = band * {pl.BandRows} + tr;");
        b.WriteLine($"if (ty >= {pl.Th}) continue;");
        b.WriteLine($"float* m = S + {L(mAt)}L + oc * {L(pl.Pitch)}L + tr * {pl.Wq};");
        b.WriteLine($"var bv = {(bias is null ? isa.Zero : isa.Broadcast($"{bias}[oc]"))};");
        b.WriteLine($"long o = ((long)n * {k} + oc) * {L(outPlane)}L + 2 * ty * {g.OutW};");
        b.WriteLine("float* y0 = Y + o;");
        if (residual is not null) b.WriteLine($"float* r0 = {residual} + o;");
        b.WriteLine($"bool secondRow = 2 * ty + 1 < {g.OutH};");
        b.OpenBlock($"for (int tx = 0; tx < {pl.Tw}; tx += {width})");
        // Aᵀ M A: the row transform of each column, then the column transform.
        for (int j = 0; j < 4; j++)
        {
            var mv = Enumerable.Range(0, 4).Select(i => isa.Load($"m + tx + {L((4 * i + j) * xiStride)}L")).ToArray();
            b.WriteLine($"var m0{j} = {mv[0]}; var m1{j} = {mv[1]}; var m2{j} = {mv[2]}; var m3{j} = {mv[3]};");
            b.WriteLine($"var s0{j} = m0{j} + m1{j} + m2{j}; var s1{j} = m1{j} - m2{j} - m3{j};");
        }
        b.WriteLine("var y00 = s00 + s01 + s02 + bv; var y01 = s01 - s02 - s03 + bv;");
        b.WriteLine("var y10 = s10 + s11 + s12 + bv; var y11 = s11 - s12 - s13 + bv;");
        b.WriteLine($"int valid = {g.OutW} - 2 * tx;");
        EmitOutputRow(b, isa, s, "y00", "y01", "y0 + 2 * tx", residual is null ? null : "r0 + 2 * tx");
        b.OpenBlock("if (secondRow)");
        EmitOutputRow(b, isa, s, "y10", "y11", $"y0 + {g.OutW} + 2 * tx", residual is null ? null : $"r0 + {g.OutW} + 2 * tx");
        b.CloseBlock();
        b.CloseBlock();
        b.CloseBlock();
    }

    /// <summary>Stores one output row segment: even columns <paramref name="even"/>, odd <paramref name="odd"/>, `valid` columns from <paramref name="dst"/>.</summary>
    private static void EmitOutputRow(SourceWriter b, Isa isa, WinogradConvSpec s, string even, string odd, string dst, string? res)
    {
        Activation act = s.Activation;
        if (isa.IsScalar)
        {
            string v0 = res is null ? even : $"({even} + ({res})[0])";
            string v1 = res is null ? odd : $"({odd} + ({res})[1])";
            b.WriteLine($"({dst})[0] = {ActivationEmitter.ApplyScalar(act, v0)};");
            b.WriteLine($"if (valid > 1) ({dst})[1] = {ActivationEmitter.ApplyScalar(act, v1)};");
            return;
        }
        int width = isa.Width;
        string zip = $"{EmitContext.RuntimeNs}.Interleave";
        b.OpenBlock();
        b.WriteLine($"var lo = {zip}.ZipLow({even}, {odd}); var hi = {zip}.ZipHigh({even}, {odd});");
        b.OpenBlock($"if (valid >= {2 * width})");
        string Full(string v, string offset) => res is null ? v : $"({v} + {isa.Load($"{res}{offset}")})";
        b.WriteLine(isa.Store(ActivationEmitter.Apply(act, isa, Full("lo", "")), dst));
        b.WriteLine(isa.Store(ActivationEmitter.Apply(act, isa, Full("hi", $" + {width}")), $"{dst} + {width}"));
        b.CloseBlock();
        b.OpenBlock("else");
        string Masked(string v, string offset, string mask) => res is null ? v : $"({v} + {isa.MaskLoad($"{res}{offset}", mask)})";
        b.WriteLine($"var mask0 = {isa.TailMask($"{EmitContext.Math}.Min(valid, {width})")};");
        b.WriteLine(isa.MaskStore(ActivationEmitter.Apply(act, isa, Masked("lo", "", "mask0")), dst, "mask0"));
        b.OpenBlock($"if (valid > {width})");
        b.WriteLine($"var mask1 = {isa.TailMask($"valid - {width}")};");
        b.WriteLine(isa.MaskStore(ActivationEmitter.Apply(act, isa, Masked("hi", $" + {width}", "mask1")), $"{dst} + {width}", "mask1"));
        b.CloseBlock();
        b.CloseBlock();
        b.CloseBlock();
    }
}
