// Licensed under the MIT license.
// Winograd F(m x m, 3x3) convolution (Lavin & Gray 2016) for 3x3, stride-1, undilated, ungrouped layers, m = 2 or 4:
//   Y(m x m tile) = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A        d: the tile's n x n input window (n = m + 2), g: a 3x3 kernel
// F(2x2, 3x3): 16 multiplications per tile and channel pair instead of 36 (2.25x fewer MACs); F(4x4, 3x3): 36 instead
// of 144 (4x fewer), with larger transforms and about 10x the rounding error per layer (a few 1e-6 of the output's
// scale in float, against a few 1e-7). The cost model picks the tile per layer.
//
// Layout: the input planes are split into the stride-m phases of an n x n window (Emit/PhasePlanes, tile geometry), so
// the n² window values of 16 horizontally adjacent tiles are n² contiguous vector loads at build-time offsets, over the
// flat tile index q = ty * Wq + tx (one garbage tile column per row, as in the direct convolution's flat mode). Per band
// of tile rows (kept near L2): (1) V[ξ][c][q] = Bᵀ d B per channel, (2) n² GEMMs M[ξ] (K x q) = U[ξ] (K x C,
// transformed and packed at construction by WeightTransforms.WinogradPackA) x V[ξ] with the GEMM micro-kernels, (3) per
// output channel and tile row: Aᵀ M A, bias, residual and activation, m output columns per lane interleaved into Y.
// Small planes (one band; the cost model weighs both) use the channel layout for (2): the tiles become the broadcast
// rows of the channel-vectorised convolution's kernels (one tap) and the output channels fill the lanes, with U packed
// in panels of output channels; M is stored transposed and tile-compact, which (3) reads with a different row stride. A
// 7x7 plane is 16 tiles: 16 GEMM rows instead of 20 columns rounded up to 32 lanes.
//
// F(2x2, 3x3): Bᵀ = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]  G = [[1,0,0],[½,½,½],[½,-½,½],[0,0,1]]
//              Aᵀ = [[1,1,1,0],[0,1,-1,-1]]
// F(4x4, 3x3) (points 0, ±1, ±2, ∞): Bᵀ = [[4,0,-5,0,1,0],[0,-4,-4,1,1,0],[0,4,-4,-1,1,0],[0,-2,-1,2,1,0],
//              [0,2,-1,-2,1,0],[0,4,0,-5,0,1]]  G = [[¼,0,0],[-⅙,-⅙,-⅙],[-⅙,⅙,-⅙],[1/24,1/12,⅙],[1/24,-1/12,⅙],[0,0,1]]
//              Aᵀ = [[1,1,1,1,1,0],[0,1,-1,2,-2,0],[0,1,1,4,4,0],[0,1,-1,8,-8,1]]

using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class WinogradEmitter
{
    /// <summary>The tiling of one layer: Th x Tw tiles of Tile x Tile outputs, bands of BandRows tile rows of Wq flat columns.</summary>
    internal sealed class Plan
    {
        public int Tile, Th, Tw, Wq, BandRows, Bands, Pitch;

        /// <summary>The window side n = Tile + 2.</summary>
        public int N => Tile + 2;

        /// <summary>The number of transformed matrices (and GEMMs), n².</summary>
        public int Xis => N * N;
        public ConvGeometry Tiles = null!;
        public PhasePlanes Planes = null!;

        /// <summary>
        /// Floats between consecutive ξ matrices of <paramref name="rows"/> rows: skewed by a cache line so the 16 streams
        /// a transform reads or writes do not all map to the same L1 set (a multiple of 4 KiB would alias them).
        /// </summary>
        public long XiStride(int rows) => (long)rows * Pitch + 16;

        /// <summary>
        /// Whether the layer runs band by band, each band whole in one worker's private scratch (its input rows split into
        /// band-sized phase planes, then its V, GEMMs and M): more than one band, not the channel layout.
        /// </summary>
        public bool Banded;

        /// <summary>
        /// Tile rows of band <paramref name="band"/>: the rows shared out evenly, the Th % Bands bands one row longer at both
        /// ends (the first half of them rounded up, then the last ones). Workers claim bands from both ends
        /// (<c>WorkerPool.NextChunk</c>), so each side takes its longer bands first and the dynamic schedule ends level:
        /// ResNet-18's 14 tile rows in 4, 3, 3, 4 rather than 4, 4, 3, 3, where two workers ended 8 rows against 6.
        /// </summary>
        public int Rows(int band) => Th / Bands + (band < LongFront || band >= Bands - LongBack ? 1 : 0);

        /// <summary>
        /// The statement giving a band's <c>rows</c> (<see cref="Rows"/>) and first tile row <c>ty0</c> (the rows of the
        /// bands before it) from <c>band</c>.
        /// </summary>
        public string BandBounds()
        {
            int rows = Th / Bands;
            if (LongFront == 0) return $"int rows = {rows}, ty0 = band * {rows};";
            string m = EmitContext.Math;
            return LongBack == 0
                ? $"int rows = {rows} + (band < {LongFront} ? 1 : 0), ty0 = band * {rows} + {m}.Min(band, {LongFront});"
                : $"int rows = {rows} + (band < {LongFront} || band >= {Bands - LongBack} ? 1 : 0), ty0 = band * {rows} + {m}.Min(band, {LongFront}) + {m}.Max(0, band - {Bands - LongBack});";
        }

        private int LongFront => (Th % Bands + 1) / 2;

        private int LongBack => Th % Bands / 2;

        /// <summary>Flat columns of band <paramref name="band"/>.</summary>
        public int Columns(int band) => Rows(band) * Wq;

        /// <summary>The channel layout's M: tiles stored compact (no garbage column), one band.</summary>
        public bool Compact;

        /// <summary>Floats per output channel of an M matrix: the band's flat columns, or (compact) its tiles.</summary>
        public int MPitch => Compact ? (Th * Tw + 15) / 16 * 16 : Pitch;

        /// <summary>Floats between consecutive tile rows in M.</summary>
        public int MRow => Compact ? Tw : Wq;

        /// <summary>Floats between consecutive ξ matrices of M (<paramref name="rows"/> output channels), skewed as <see cref="XiStride"/>.</summary>
        public long MStride(int rows) => (long)rows * MPitch + 16;
    }

    /// <summary>The geometry of the tile windows: n x n windows at stride m over the padded input, one per output tile.</summary>
    public static ConvGeometry TileGeometry(ConvGeometry g, int tile) =>
        new(g.Channels, g.InH, g.InW, tile + 2, tile + 2, tile, tile, 1, 1, g.PadTop, g.PadLeft, (g.OutH + tile - 1) / tile, (g.OutW + tile - 1) / tile);

    public static Plan PlanOf(ConvGeometry g, int tile, int bandRows, bool compact = false)
    {
        ConvGeometry tiles = TileGeometry(g, tile);
        int th = tiles.OutH;
        bandRows = compact ? th : Math.Max(1, Math.Min(bandRows, th));
        int bands = (th + bandRows - 1) / bandRows;
        bandRows = (th + bands - 1) / bands; // the longest of the evened-out bands
        // Banded: phase planes of one band (its tile rows plus the halo its windows reach); else of the whole input.
        bool banded = bands > 1 && !compact;
        PhasePlanes p = PhasePlanes.Plan(tiles, banded ? bandRows : 0);
        return new Plan
        {
            Tile = tile, Th = th, Tw = tiles.OutW, Wq = p.Wq, BandRows = bandRows, Bands = bands,
            Pitch = (bandRows * p.Wq + 15) / 16 * 16, Tiles = tiles, Planes = p, Compact = compact, Banded = banded,
        };
    }

    /// <summary>
    /// <summary>Whether the layer runs band by band in each worker's private scratch (<see cref="Plan.Banded"/>).</summary>
    public static bool IsBanded(WinogradConvSpec s) => PlanOf(s.Geometry, s.Tile, s.BandRows, s.Panel > 0).Banded;

    /// <summary>
    /// Scratch floats: split planes (banded: of one channel of the band, each channel split and transformed in turn; else
    /// of every input channel), V (n² x C x Pitch), M (n² x K x Pitch), slack for overrunning vectors. Banded, every
    /// worker has this much of its own (LayerEmitter.WorkerScratchBytes).
    /// </summary>
    public static long ScratchFloats(WinogradConvSpec s)
    {
        Plan pl = PlanOf(s.Geometry, s.Tile, s.BandRows, s.Panel > 0);
        return PlanesFloats(s.InChannels, pl) + pl.Xis * (pl.XiStride(s.InChannels) + pl.MStride(s.OutChannels)) + 64;
    }

    /// <summary>The split planes' floats at the start of the scratch: one channel's when banded, else every channel's.</summary>
    private static long PlanesFloats(int channels, Plan pl) => (pl.Banded ? 1 : channels) * pl.Planes.PlaneStride;

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

    // Transform costs per tile and channel (same units): F(2x2, 3x3) 64 vector operations per 16 tiles at half rate in
    // and about as much out; F(4x4, 3x3) 36 loads, 72 arithmetic operations and 36 stores per 16 tiles in, 36 loads, 100
    // operations, 16 interleaves and 16 stores out.
    private static double InputCost(int tile) => tile == 2 ? 32.0 : 100.0;
    private static double OutputCost(int tile) => tile == 2 ? 28.0 : 110.0;

    private static double Cost(int c, int k, Plan pl)
    {
        double cost = 0;
        for (int b = 0; b < pl.Bands; b++)
        {
            int cols = pl.Columns(b), padded = (cols + 15) / 16 * 16;
            cost += pl.Xis * (double)c * k * GemmColumns(cols) / (GemmEfficiency * c / (c + 3.0))  // n² GEMMs (short K loops: accumulator stores weigh)
                + c * padded * InputCost(pl.Tile)
                + k * padded * OutputCost(pl.Tile);
        }
        long scratch = (long)pl.Xis * (c + k) * pl.Pitch * 4;
        return scratch > CacheBudgetBytes ? cost * 1.1 : cost;
    }

    /// <summary>
    /// The channel layout's cost (one band): tiles rounded up to the rows of the GEMM tile, output channels to whole
    /// blocks of NV vectors (a narrower tail block at its efficiency), the transposed store of each GEMM tile weighing
    /// like 12 more input channels, the output transform over whole vectors per tile row.
    /// </summary>
    private static double ChannelCost(int c, int k, Plan pl, int mr, int nv)
    {
        int tiles = pl.Th * pl.Tw, rowTile = ChannelRows(tiles, mr, nv, 16), nr = nv * 16;
        double rows = (tiles + rowTile - 1) / rowTile * rowTile;
        int rem = k % nr, tailNv = (rem + 15) / 16;
        double lanes = k / nr * nr + (rem > 0 ? 16.0 * tailNv / s_tileEfficiency[tailNv] : 0);
        int flat = (pl.Th * pl.Wq + 15) / 16 * 16, outLanes = pl.Th * ((pl.Tw + 15) / 16 * 16);
        double cost = pl.Xis * (double)c * rows * lanes / (GemmEfficiency * c / (c + 12.0))
            + c * flat * InputCost(pl.Tile)
            + k * outLanes * OutputCost(pl.Tile);
        long scratch = (long)pl.Xis * ((long)c * pl.Pitch + (long)k * pl.MPitch) * 4;
        return scratch > CacheBudgetBytes ? cost * 1.1 : cost;
    }

    /// <summary>
    /// The rows (tiles) of a channel-layout GEMM tile: the ISA's channel MR, or one more where that wastes fewer rows on
    /// the plane's tiles and the accumulators, weight vectors and a broadcast still fit the 32 AVX-512 registers (16
    /// tiles: two tiles of 8, not 7 + 7 + 2).
    /// </summary>
    public static int ChannelRows(int tiles, int mr, int nv, int width)
    {
        if (width != 16 || (mr + 1) * nv + nv + 1 > 32) return mr;
        return (tiles + mr) / (mr + 1) * (mr + 1) < (tiles + mr - 1) / mr * mr ? mr + 1 : mr;
    }

    /// <summary>
    /// The output tile (of <paramref name="tiles"/>), band height and layout with the lowest estimated cost (column tiles
    /// wasted on partial tiles, scratch beyond a 2 MB working set penalised), and that cost relative to the direct
    /// convolution's. The channel layout (one band) is a candidate when <paramref name="channelPanel"/> &gt; 0, with GEMM
    /// tiles of <paramref name="channelMr"/> rows x <paramref name="channelNv"/> vectors. Lower the layer to Winograd
    /// when the ratio is below <see cref="MaxCostRatio"/>.
    /// </summary>
    public static (int Tile, int BandRows, double Ratio, bool Channels) Choose(int c, int k, ConvGeometry g, IReadOnlyList<int> tiles,
        int channelPanel = 0, int channelMr = 0, int channelNv = 0)
    {
        int bestTile = 2, best = 1;
        bool channels = false;
        double bestCost = double.MaxValue;
        foreach (int tile in tiles)
        {
            // F(4x4)'s transformed weights are 4x the kernels' (F(2x2)'s 1.78x): beyond MaxF4WeightBytes a layer keeps F(2x2).
            if (tile == 4 && tiles.Contains(2) && 36L * c * k * 4 > MaxF4WeightBytes) continue;
            int th = TileGeometry(g, tile).OutH;
            for (int rows = 1; rows <= th; rows++)
            {
                // One band, or an even number (bands are shared out whole among the workers: 3 over 2 would idle one).
                int bands = (th + rows - 1) / rows;
                if (bands > 1 && bands % 2 == 1) continue;
                double cost = Cost(c, k, PlanOf(g, tile, rows));
                if (cost < bestCost * 0.999)
                {
                    (bestTile, best, bestCost, channels) = (tile, rows, cost, false);
                }
            }
            if (channelPanel > 0 && k >= channelPanel)
            {
                double cost = ChannelCost(c, k, PlanOf(g, tile, th, compact: true), channelMr, channelNv);
                if (cost < bestCost * 0.999)
                {
                    (bestTile, best, bestCost, channels) = (tile, th, cost, true);
                }
            }
        }
        double direct = 9.0 * c * k * g.OutH * (g.OutW + 2) / DirectEfficiency;
        return (bestTile, best, bestCost / direct, channels);
    }

    /// <summary>
    /// The largest F(4x4) weight (36 x C x K floats) the cost model considers: ResNet-18's 256-channel layers measured
    /// 10% faster with F(4x4) than F(2x2), for 9.4 instead of 4.2 MB of weights each (ResNet-18 packed 103.5 MB instead of 85.8).
    /// </summary>
    public const long MaxF4WeightBytes = 4L << 20;

    /// <summary>The estimated cost ratio (Winograd / direct) under which a layer is lowered to Winograd.</summary>
    public const double MaxCostRatio = 0.8;

    public static IEnumerable<string> Remarks(WinogradConvSpec s, TargetProfile profile)
    {
        ConvGeometry g = s.Geometry;
        Plan pl = PlanOf(g, s.Tile, s.BandRows, s.Panel > 0);
        if (s.Panel > 0)
        {
            yield return $"lowering: Winograd F({s.Tile}x{s.Tile},3x3) in the channel layout, {s.InChannels} -> {s.OutChannels} channels, {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}, pads {g.PadTop},{g.PadLeft}; " +
                $"{pl.Th}x{pl.Tw} = {pl.Th * pl.Tw} tiles; {pl.Xis} GEMMs (tiles as broadcast rows, output channels in the vector lanes, weights in panels of {ChannelVectorConvEmitter.PanelRemark(profile)}) K={s.InChannels}; " +
                $"estimated cost {s.CostRatio:0.00} x the direct convolution's";
            var rowTiles = new List<string>();
            for (int i = 0; i < profile.Isas.Count; i++)
            {
                Isa isa = profile.Isas[i];
                int nv = profile.ChannelTileNV[i];
                int rows = ChannelRows(pl.Th * pl.Tw, profile.ChannelTileMR[i], nv, isa.Width);
                rowTiles.Add($"{rows} tiles x {nv * isa.Width} channels ({isa.Name}{ChannelVectorConvEmitter.TailRemark(profile, i, rows, s.OutChannels)})");
            }
            yield return "GEMM tiles: " + string.Join(", ", rowTiles) + $"; epilogue in the output transform: bias{(s.Residual ? ", residual" : "")}, activation {s.Activation}";
            yield break;
        }
        yield return $"lowering: Winograd F({s.Tile}x{s.Tile},3x3), {s.InChannels} -> {s.OutChannels} channels, {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}, pads {g.PadTop},{g.PadLeft}; " +
            (pl.Banded
                ? $"{pl.Th}x{pl.Tw} tiles in {pl.Bands} bands of {pl.Th / pl.Bands}{(pl.Th % pl.Bands > 0 ? $"-{pl.BandRows}" : "")} tile rows (up to {pl.BandRows * pl.Wq} flat columns, 1 garbage column per row), " +
                  $"each whole in one worker's scratch ({ScratchFloats(s) * sizeof(float) / 1024} KB: its input rows split into phase planes of {pl.Planes.Hq}x{pl.Wq}, V, M); "
                : $"{pl.Th}x{pl.Tw} tiles in one band ({pl.Th * pl.Wq} flat columns, 1 garbage column per row); ") +
            $"{pl.Xis} GEMMs per band M={s.OutChannels} K={s.InChannels}; estimated cost {s.CostRatio:0.00} x the direct convolution's";
        var tiles = new List<string>();
        for (int i = 0; i < profile.Isas.Count; i++) tiles.Add($"{profile.Tile(i).MR}x{profile.Tile(i).NR} ({profile.Isas[i].Name})");
        yield return "tiles MRxNR: " + string.Join(", ", tiles) + $"; epilogue in the output transform: bias{(s.Residual ? ", residual" : "")}, activation {s.Activation}";
    }

    public static void Emit(WinogradConvSpec s, string? bias, string? residual, SourceWriter w, EmitContext ctx)
    {
        ConvGeometry g = s.Geometry;
        Plan pl = PlanOf(g, s.Tile, s.BandRows, s.Panel > 0);
        PhasePlanes p = pl.Planes;
        int c = s.InChannels, k = s.OutChannels;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        long vAt = PlanesFloats(c, pl), mAt = vAt + pl.Xis * pl.XiStride(c);
        string[] carried = { "n" };
        WinogradConvSpec spec = s;
        ctx.PerIsa(w, (isa, index) =>
        {
            // The channel layout's weights are packed in the panels of the machine's ISA.
            WinogradConvSpec s = spec.Panel > 0 ? spec with { Panel = ctx.Profile.ChannelPanels[index] } : spec;
            GemmTile tile = ctx.Profile.Tile(index);
            w.OpenBlock($"for (int n = 0; n < {s.Batch}; n++)");
            if (pl.Banded)
            {
                // Per band, in one worker's private scratch: (1) channel by channel, the input rows the band's windows read
                // split into band-sized phase planes (one channel's, reused: they stay in L1) and input-transformed into V,
                // (2) the n² GEMMs, (3) the output transform into Y. One fork per layer, and each band's V and M stay in the
                // cache of the core that wrote them. (Splitting every channel before transforming any sent the planes
                // through L3 when they outgrew L2: 590 KB per band for ResNet-18's 64-channel 56x56 layers; stand-alone,
                // alternated, those 1.35-1.37 -> 1.30-1.31 ms, YOLOX-nano's 12 -> 16 stem 1.79-2.00 -> 1.71-1.87, its
                // 32 -> 32 at 104x104 1.44-1.52 -> 1.38-1.40.)
                GemmLoop gemms = Gemms(tile, s, pl, vAt, mAt, ctx);
                ctx.ParallelFor(w, pl.Bands, b =>
                {
                    b.OpenBlock("for (int band = pb; band < pe; band++)");
                    b.WriteLine(pl.BandBounds());
                    // Each step in a method of its own: the unrolled transforms of one method exceeded the 1024 locals the JIT
                    // tracks, and the rest lived on the stack (stand-alone, alternated: YOLOX's 12 -> 16 stem at 208x208 in 8 bands
                    // 4.88 -> 2.72 ms, 16 -> 16 at 104x104 in 2 bands 1.31 -> 0.82 ms, 32 -> 32 at 104x104 3.02 -> 2.05 ms).
                    var locals = new[] { ("float*", "S"), ("int", "n"), ("int", "rows"), ("int", "ty0") };
                    var steps = new (string Name, Action<SourceWriter> Emit)[]
                    {
                        ("SplitTransform", sw => EmitInputTransform(sw, isa, s, pl, vAt, "0", c.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            split: sb => p.EmitSplitChannel(sb, pl.Tiles, c, inPlane, "ty0", $"rows + {p.Halo}", oneSlot: true))),
                        ("Gemms", sw => gemms.Body(sw, "0", EmitContext.Long(gemms.Count))),
                        ("OutputTransform", sw => EmitOutputTransform(sw, isa, s, pl, mAt, outPlane, bias, residual, "0", EmitContext.Long((long)k * pl.BandRows))),
                    };
                    foreach ((string name, Action<SourceWriter> emit) in steps) b.WriteLine(ctx.LayerStep($"Band{name}_{isa.Name}", locals, emit));
                    b.CloseBlock();
                }, carried, privateScratch: "S");
                w.CloseBlock();
                return;
            }
            // One band: each step shared out among the workers in turn.
            string whole = $"const int rows = {pl.Th};";
            // 1. Split every input channel into the padded stride-m phases of the tile windows.
            p.EmitSplitChannels(w, ctx, pl.Tiles, c, inPlane);
            // 2. Input transform, per channel.
            ctx.ParallelFor(w, c, b =>
            {
                b.WriteLine(whole);
                EmitInputTransform(b, isa, s, pl, vAt, "pb", "pe");
            }, carried);
            // 3. The n² GEMMs, tiles (ξ, column tile, row tile) column-tile-major (channel layout: ξ, channel block, tiles).
            if (s.Panel > 0)
            {
                EmitChannelGemms(w, isa, index, s, pl, vAt, mAt, ctx, carried);
            }
            else
            {
                GemmLoop gemms = Gemms(tile, s, pl, vAt, mAt, ctx);
                ctx.ParallelFor(w, gemms.Count, b =>
                {
                    b.WriteLine(whole);
                    gemms.Body(b, "pb", "pe");
                }, carried);
            }
            // 4. Output transform with the epilogue, per (output channel, tile row).
            ctx.ParallelFor(w, (long)k * pl.BandRows, b =>
            {
                b.WriteLine($"const int ty0 = 0, rows = {pl.Th};");
                EmitOutputTransform(b, isa, s, pl, mAt, outPlane, bias, residual, "pb", "pe");
            }, carried);
            w.CloseBlock();
        });
    }

    /// <summary>Flat columns of the band in hand (C#: <c>rows</c> tile rows in scope).</summary>
    private static string Columns(Plan pl) => $"rows * {pl.Wq}";

    /// <summary>
    /// Statements computing <c>{o}0..{o}{n-1}</c> = Bᵀ applied to the window values <paramref name="d"/> (one row or
    /// column of n), with the constants c4 = 4, cm4 = -4, cm5 = -5, c2 = 2, cm2 = -2 in scope for F(4x4, 3x3).
    /// </summary>
    private static string InputTransform(Isa isa, int tile, string[] d, string o)
    {
        if (tile == 2)
            return $"var {o}0 = {d[0]} - {d[2]}; var {o}1 = {d[1]} + {d[2]}; var {o}2 = {d[2]} - {d[1]}; var {o}3 = {d[1]} - {d[3]};";
        // t1,2 = (d4 - 4 d2) ± (d3 - 4 d1); t3,4 = (d4 - d2) ± 2 (d3 - d1).
        return $"var {o}p = {isa.Fma(d[2], "cm4", d[4])}; var {o}q = {isa.Fma(d[1], "cm4", d[3])}; var {o}r = {d[4]} - {d[2]}; var {o}s = {d[3]} - {d[1]}; " +
            $"var {o}0 = {isa.Fma(d[0], "c4", isa.Fma(d[2], "cm5", d[4]))}; var {o}1 = {o}p + {o}q; var {o}2 = {o}p - {o}q; " +
            $"var {o}3 = {isa.Fma($"{o}s", "c2", $"{o}r")}; var {o}4 = {isa.Fma($"{o}s", "cm2", $"{o}r")}; var {o}5 = {isa.Fma(d[1], "c4", isa.Fma(d[3], "cm5", d[5]))};";
    }

    /// <summary>
    /// Statements computing <c>{o}0..{o}{m-1}</c> = Aᵀ applied to <paramref name="v"/> (n values), with c2, c4, c8 in
    /// scope for F(4x4, 3x3).
    /// </summary>
    private static string OutputTransform(Isa isa, int tile, string[] v, string o)
    {
        if (tile == 2) return $"var {o}0 = {v[0]} + {v[1]} + {v[2]}; var {o}1 = {v[1]} - {v[2]} - {v[3]};";
        // y0 = v0 + a + c, y1 = b + 2 d, y2 = a + 4 c, y3 = b + 8 d + v5 with a, b = v1 ± v2 and c, d = v3 ± v4.
        return $"var {o}a = {v[1]} + {v[2]}; var {o}b = {v[1]} - {v[2]}; var {o}c = {v[3]} + {v[4]}; var {o}d = {v[3]} - {v[4]}; " +
            $"var {o}0 = {v[0]} + {o}a + {o}c; var {o}1 = {isa.Fma($"{o}d", "c2", $"{o}b")}; var {o}2 = {isa.Fma($"{o}c", "c4", $"{o}a")}; " +
            $"var {o}3 = {isa.Fma($"{o}d", "c8", $"{o}b")} + {v[5]};";
    }

    /// <summary>The input transform of channels <paramref name="lo"/> .. <paramref name="hi"/> (C# expressions) of the band in hand (<c>rows</c> in scope).</summary>
    /// <summary>
    /// The input transform of channels <paramref name="lo"/> .. <paramref name="hi"/> from their phase planes into V. With
    /// <paramref name="split"/>, each channel is first split (by it) into the planes of one channel at S, which the
    /// transform then reads while they are in L1; else each channel's planes are at S + ch x PlaneStride.
    /// </summary>
    private static void EmitInputTransform(SourceWriter b, Isa isa, WinogradConvSpec s, Plan pl, long vAt, string lo, string hi, Action<SourceWriter>? split = null)
    {
        PhasePlanes p = pl.Planes;
        string L(long v) => EmitContext.Long(v);
        long xiStride = pl.XiStride(s.InChannels);
        int n = pl.N;
        b.WriteLine($"int cols = {Columns(pl)};");
        if (pl.Tile == 4)
            b.WriteLine($"var c4 = {isa.Broadcast("4f")}; var cm4 = {isa.Broadcast("-4f")}; var cm5 = {isa.Broadcast("-5f")}; var c2 = {isa.Broadcast("2f")}; var cm2 = {isa.Broadcast("-2f")};");
        b.OpenBlock($"for (int ch = {lo}; ch < {hi}; ch++)");
        if (split is not null)
        {
            b.OpenBlock();
            split(b);
            b.CloseBlock();
        }
        b.WriteLine(split is not null ? "float* src = S;" : $"float* src = S + ch * {L(p.PlaneStride)}L;");
        b.WriteLine($"float* dst = S + {L(vAt)}L + ch * {L(pl.Pitch)}L;");
        b.OpenBlock($"for (int q = 0; q < cols; q += {isa.Width})");
        // Bᵀ d B: the transform of each window row (w{r}j), then of each column.
        for (int r = 0; r < n; r++)
        {
            b.WriteLine(string.Join(" ", Enumerable.Range(0, n).Select(j => $"var d{r}{j} = {isa.Load($"src + q + {L(p.Offset(pl.Tiles, r, j))}")};")));
            b.WriteLine(InputTransform(isa, pl.Tile, Enumerable.Range(0, n).Select(j => $"d{r}{j}").ToArray(), $"w{r}"));
        }
        for (int j = 0; j < n; j++)
        {
            b.WriteLine(InputTransform(isa, pl.Tile, Enumerable.Range(0, n).Select(r => $"w{r}{j}").ToArray(), $"u{j}"));
            for (int i = 0; i < n; i++) b.WriteLine(isa.Store($"u{j}{i}", $"dst + q + {L((n * i + j) * xiStride)}L"));
        }
        b.CloseBlock();
        b.CloseBlock();
    }

    /// <summary>The n² GEMMs of a band as a range of <see cref="Count"/> tiles; <see cref="Body"/>(writer, lo, hi) emits tiles lo .. hi.</summary>
    private sealed record GemmLoop(long Count, Action<SourceWriter, string, string> Body);

    private static GemmLoop Gemms(GemmTile tile, WinogradConvSpec s, Plan pl, long vAt, long mAt, EmitContext ctx)
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
        return new GemmLoop(pl.Xis * colTiles * mTiles, (b, lo, hi) =>
        {
            b.WriteLine($"int cols = {Columns(pl)};");
            b.OpenBlock($"for (int t = {lo}; t < {hi}; t++)");
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
        });
    }

    /// <summary>
    /// The channel layout's n² GEMMs: per (ξ, block of output channels, tile group), the channel-vectorised kernel with
    /// one tap broadcasts V[ξ][c][q] of the group's tiles (q: the flat column of compact tile i) against the panel of
    /// U[ξ] and stores the group transposed into M[ξ][k][i]; tile groups innermost, so a weight block is read once.
    /// </summary>
    private static void EmitChannelGemms(SourceWriter w, Isa isa, int index, WinogradConvSpec s, Plan pl, long vAt, long mAt, EmitContext ctx, string[] carried)
    {
        int c = s.InChannels, k = s.OutChannels, panel = s.Panel, tiles = pl.Th * pl.Tw;
        int nv = ctx.Profile.ChannelTileNV[index], nr = nv * isa.Width, blocks = panel / nr;
        int mr = ChannelRows(tiles, ctx.Profile.ChannelTileMR[index], nv, isa.Width);
        int panels = (k + panel - 1) / panel;
        long groups = (tiles + mr - 1) / mr, uMatrix = (long)panels * panel * c;
        string L(long v) => EmitContext.Long(v);
        (string kernel, string? tailKernel, int lastBlock) = ChannelVectorConvEmitter.BlockKernels(isa, nv, k, panel,
            v => ChannelVectorConvEmitter.RequireTapsKernel(isa, mr, v, false, false, Activation.None, new long[] { 0 }, panel, ctx));
        ctx.ParallelFor(w, pl.Xis * panels * blocks * groups, b =>
        {
            b.WriteLine($"int* pix = stackalloc int[{mr}];");
            b.OpenBlock("for (int t = pb; t < pe; t++)");
            b.WriteLine($"int pt = t % {L(groups)}, rest = t / {L(groups)}, xi = rest / {panels * blocks};");
            b.WriteLine($"rest %= {panels * blocks};");
            ChannelVectorConvEmitter.EmitTileBounds(b, panel, blocks, nr, k, mr, tiles);
            b.OpenBlock($"for (int i = 0; i < {mr}; i++)");
            b.WriteLine($"int q = {EmitContext.Math}.Min(p0 + i, {tiles - 1});");
            b.WriteLine($"pix[i] = q / {pl.Tw} * {pl.Wq} + q % {pl.Tw};");
            b.CloseBlock();
            string args = $"(S + {L(vAt)}L + xi * {L(pl.XiStride(c))}L, {L(pl.Pitch)}, {c}, pix, " +
                $"W + xi * {L(uMatrix)}L + (long)panel * {L((long)c * panel)}L + (oc0 - panel * {panel}), null, " +
                $"S + {L(mAt)}L + xi * {L(pl.MStride(k))}L + (long)oc0 * {pl.MPitch} + p0, {pl.MPitch}, null, mc, nc, null, 2);";
            b.WriteLine(ChannelVectorConvEmitter.KernelCall(kernel, tailKernel, lastBlock, args));
            b.CloseBlock();
        }, carried);
    }

    /// <summary>The output transform of (output channel, tile row) pairs <paramref name="lo"/> .. <paramref name="hi"/> of the band in hand (<c>ty0</c>, <c>rows</c> in scope).</summary>
    private static void EmitOutputTransform(SourceWriter b, Isa isa, WinogradConvSpec s, Plan pl, long mAt, long outPlane, string? bias, string? residual, string lo, string hi)
    {
        ConvGeometry g = s.Geometry;
        int k = s.OutChannels, n = pl.N, m = pl.Tile;
        string L(long v) => EmitContext.Long(v);
        long xiStride = pl.MStride(k);
        // Exp-based activations over each finished output row of the tile row (contiguous, in L1): inline in the transform
        // their chains crowded its registers (AVX2, alternated stand-alone: YOLOX's 12 -> 16 stem at 208x208 3.21 -> 2.46 ms,
        // 16 -> 16 at 104x104 0.86 -> 0.70 ms, 32 -> 32 at 104x104 2.12 -> 1.84 ms, 64 -> 64 at 52x52 equal).
        bool rowsAfter = !isa.IsScalar && ActivationEmitter.IsHeavy(s.Activation);
        Activation act = rowsAfter ? Activation.None : s.Activation;
        string? pro = isa.IsScalar ? null : ActivationEmitter.Prologue(act, isa);
        if (pro is not null) b.WriteLine(pro);
        if (m == 4) b.WriteLine($"var c2 = {isa.Broadcast("2f")}; var c4 = {isa.Broadcast("4f")}; var c8 = {isa.Broadcast("8f")};");
        b.OpenBlock($"for (int t = {lo}; t < {hi}; t++)");
        b.WriteLine($"int oc = t / {pl.BandRows}, tr = t % {pl.BandRows}, ty = ty0 + tr;");
        b.WriteLine("if (tr >= rows) continue;");
        b.WriteLine($"float* m = S + {L(mAt)}L + oc * {L(pl.MPitch)}L + tr * {pl.MRow};");
        b.WriteLine($"var bv = {(bias is null ? isa.Zero : isa.Broadcast($"{bias}[oc]"))};");
        b.WriteLine($"long o = ((long)n * {k} + oc) * {L(outPlane)}L + {m} * ty * {g.OutW};");
        b.WriteLine("float* y0 = Y + o;");
        if (residual is not null) b.WriteLine($"float* r0 = {residual} + o;");
        b.OpenBlock($"for (int tx = 0; tx < {pl.Tw}; tx += {isa.Width})");
        // Aᵀ M A: the transform of each column j of the n x n matrix (s{a}{j}, a < m), then of each output row a.
        for (int j = 0; j < n; j++)
        {
            b.WriteLine(string.Join(" ", Enumerable.Range(0, n).Select(i => $"var m{i}{j} = {isa.Load($"m + tx + {L((n * i + j) * xiStride)}L")};")));
            b.WriteLine(OutputTransform(isa, m, Enumerable.Range(0, n).Select(i => $"m{i}{j}").ToArray(), $"s{j}_"));
        }
        b.WriteLine($"int valid = {g.OutW} - {m} * tx;");
        for (int a = 0; a < m; a++)
        {
            b.WriteLine(OutputTransform(isa, m, Enumerable.Range(0, n).Select(j => $"s{j}_{a}").ToArray(), $"y{a}_"));
            var columns = Enumerable.Range(0, m).Select(x => $"y{a}_{x} + bv").ToArray();
            string rowOffset = a == 0 ? "" : $"{a * g.OutW} + ";
            if (a > 0) b.OpenBlock($"if ({m} * ty + {a} < {g.OutH})");
            EmitOutputRow(b, isa, act, columns, $"y0 + {rowOffset}{m} * tx", residual is null ? null : $"r0 + {rowOffset}{m} * tx");
            if (a > 0) b.CloseBlock();
        }
        b.CloseBlock();
        if (rowsAfter)
        {
            for (int a = 0; a < m; a++)
            {
                string call = ActivationEmitter.InPlace(s.Activation, a == 0 ? "y0" : $"y0 + {a * g.OutW}", g.OutW.ToString(System.Globalization.CultureInfo.InvariantCulture));
                b.WriteLine(a == 0 ? call : $"if ({m} * ty + {a} < {g.OutH}) {call}");
            }
        }
        b.CloseBlock();
    }

    /// <summary>
    /// Stores one output row segment: column x of each tile in <paramref name="columns"/>[x] (tile-major lanes), `valid`
    /// columns from <paramref name="dst"/>, interleaved so the tiles' columns land side by side.
    /// </summary>
    private static void EmitOutputRow(SourceWriter b, Isa isa, Activation act, string[] columns, string dst, string? res)
    {
        int m = columns.Length;
        if (isa.IsScalar)
        {
            for (int x = 0; x < m; x++)
            {
                string v = res is null ? columns[x] : $"({columns[x]} + ({res})[{x}])";
                string store = $"({dst})[{x}] = {ActivationEmitter.ApplyScalar(act, v)};";
                b.WriteLine(x == 0 ? store : $"if (valid > {x}) {store}");
            }
            return;
        }
        int width = isa.Width;
        string zip = $"{EmitContext.RuntimeNs}.Interleave";
        b.OpenBlock();
        string[] parts;
        if (m == 2)
        {
            b.WriteLine($"var v0 = {zip}.ZipLow({columns[0]}, {columns[1]}); var v1 = {zip}.ZipHigh({columns[0]}, {columns[1]});");
            parts = new[] { "v0", "v1" };
        }
        else
        {
            // Two rounds of zips: (0, 2) and (1, 3), then their halves: x0 x1 x2 x3 of tile 0, of tile 1, ...
            b.WriteLine($"var e0 = {columns[0]}; var e1 = {columns[1]}; var e2 = {columns[2]}; var e3 = {columns[3]};");
            b.WriteLine($"var p0 = {zip}.ZipLow(e0, e2); var p1 = {zip}.ZipHigh(e0, e2); var q0 = {zip}.ZipLow(e1, e3); var q1 = {zip}.ZipHigh(e1, e3);");
            b.WriteLine($"var v0 = {zip}.ZipLow(p0, q0); var v1 = {zip}.ZipHigh(p0, q0); var v2 = {zip}.ZipLow(p1, q1); var v3 = {zip}.ZipHigh(p1, q1);");
            parts = new[] { "v0", "v1", "v2", "v3" };
        }
        b.OpenBlock($"if (valid >= {m * width})");
        for (int i = 0; i < m; i++)
        {
            string offset = i == 0 ? "" : $" + {i * width}";
            string v = res is null ? parts[i] : $"({parts[i]} + {isa.Load($"{res}{offset}")})";
            b.WriteLine(isa.Store(ActivationEmitter.Apply(act, isa, v), $"{dst}{offset}"));
        }
        b.CloseBlock();
        b.OpenBlock("else");
        for (int i = 0; i < m; i++)
        {
            string offset = i == 0 ? "" : $" + {i * width}";
            if (i > 0) b.OpenBlock($"if (valid > {i * width})");
            b.WriteLine($"var mask{i} = {isa.TailMask(i == 0 ? $"{EmitContext.Math}.Min(valid, {width})" : $"{EmitContext.Math}.Min(valid - {i * width}, {width})")};");
            string v = res is null ? parts[i] : $"({parts[i]} + {isa.MaskLoad($"{res}{offset}", $"mask{i}")})";
            b.WriteLine(isa.MaskStore(ActivationEmitter.Apply(act, isa, v), $"{dst}{offset}", $"mask{i}"));
        }
        for (int i = m - 1; i > 0; i--) b.CloseBlock();
        b.CloseBlock();
        b.CloseBlock();
    }
}
