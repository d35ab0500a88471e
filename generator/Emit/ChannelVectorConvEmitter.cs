// Licensed under the MIT license.
// Channel-vectorised convolution: the output channels fill the vector lanes and MR output pixels are broadcast rows,
// so a small output plane wastes no lanes (a 7x7 plane is 49 pixels: 7 tiles of 7, where pixel-vectorised tiles
// compute 64 lanes for 49 pixels). Per (input channel, tap) step: NV loads of a packed weight row, MR broadcasts of
// input values, MR x NV FMAs; the input comes from a per-tile channel-major pack (1x1 stride 1) or from the
// stride-phase planes of Emit/PhasePlanes at build-time tap offsets. The tile is stored transposed (Y is NCHW) through
// 8x8 transposes of 256-bit halves with bias, residual and activation (a scalar pass for partial channel blocks).

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
    /// up to MR rows; the channel kernel rounds the pixels up to its MR and the channels up to whole vectors (the block
    /// holding the last channels runs a narrower kernel).
    /// </summary>
    public static bool Pays(TargetProfile profile, ConvGeometry g, int outChannels, bool pointwise)
    {
        if (profile.ChannelPanel == 0) return false;
        int mr = profile.ChannelTileMR[0], gemmMr = profile.GemmMR, panel = profile.ChannelPanel;
        long pixels = (long)g.OutH * g.OutW;
        long flat = pointwise ? pixels : PhasePlanes.Plan(g).FlatN(g);
        // At least one whole panel: a tile narrower than a panel has fewer accumulators. Except for spatial windows over
        // small output planes with at least one whole vector of channels where more than an eighth of the pixel kernels'
        // flat columns are garbage (MNIST's 5x5 8 -> 16 at 14x14: 252 flat columns for 196 pixels).
        if (outChannels < panel && (pointwise || outChannels < profile.Isas[0].Width || pixels > profile.ChannelPartialPanelMaxPixels || pixels * 8 >= flat * 7))
            return false;
        double pixelLanes = (double)((flat + 15) / 16 * 16) * ((outChannels + gemmMr - 1) / gemmMr * gemmMr);
        int width = profile.Isas[0].Width;
        double channelLanes = (double)((pixels + mr - 1) / mr * mr) * ((outChannels + width - 1) / width * width);
        // Spatial windows on small planes (not stems) at up to equal lanes: the channel kernel's taps are unrolled at
        // build-time offsets. ResNet-18's 64 -> 128 3x3 stride 2 at 28x28 (784 against 816 lanes per channel) 3.88 -> 3.74
        // ms; its 3-channel 7x7 stem (12544 pixels) 6.75 -> 6.90 and fns-candy's 32 -> 64 at 200x200 slower. Not for one
        // tap (1x1 stride 2): there the pixel GEMM's 16 FMAs per step against the tile's transposed store won on a Zen 3
        // core (ResNet-18's 64 -> 128 downsample at 28x28 0.201 -> 0.176 ms stand-alone, its 128 -> 256 equal).
        bool equalLanes = !pointwise && g.KernelH * g.KernelW > 1 && g.Channels >= 16 && pixels <= profile.ChannelPartialPanelMaxPixels;
        return channelLanes < (equalLanes ? 1.0 : 0.9) * pixelLanes;
    }

    public static long ScratchFloats(ChannelVectorConvSpec c, TargetProfile profile)
    {
        if (!c.Pointwise) return InputPlane.Of(c.Geometry) is { InPlace: false } plane ? c.InChannels * plane.ChannelStride + 16 : 16;
        if (c.XBlocked) return 16;
        long floats = (long)c.InChannels * PackStride(profile.ChannelTileMR.Max());
        for (int i = 0; i < profile.Isas.Count; i++)
        {
            if (PacksWhole(c, profile.Isas[i], profile.ChannelTileMR[i])) floats = System.Math.Max(floats, WholePackFloats(c, profile.ChannelTileMR[i]));
        }
        return floats + 16;
    }

    /// <summary>The budget of a whole-plane 1x1 pack: it stays in L2 beside the weight panel being swept.</summary>
    private const long WholePackBudgetBytes = 256 << 10;

    /// <summary>
    /// The budget of a whole-plane 1x1 pack when the weights outgrow L1 (<see cref="WholePackMinWeightBytes"/>): streaming
    /// them from L2 for every pixel tile costs more than sweeping the pack once per weight panel, even a pack past L2.
    /// Measured in YOLOX-nano against per-tile packs (in the model, 5 alternated runs): 512 -&gt; 256 at 13x13 (512 KB of
    /// weights, 352 KB pack) 0.57-0.59 -&gt; 0.51-0.55 ms, 128 -&gt; 128 at 26x26 (64 KB, 346 KB) 0.32-0.33 -&gt; 0.29-0.30, 128 -&gt;
    /// 64 3% faster; with 4-16 KB of weights (32 -&gt; 64 and 64 -&gt; 64 at 52x52, 1.4-2.8 MB packs) 1-5% slower, hence the floor.
    /// </summary>
    private const long WholePackLargeBudgetBytes = 2 << 20;
    private const long WholePackMinWeightBytes = 24 << 10;

    /// <summary>Floats of every pixel tile of a 1x1 layer packed channel-major, tile after tile.</summary>
    private static long WholePackFloats(ChannelVectorConvSpec c, int mr) =>
        ((long)c.Geometry.OutH * c.Geometry.OutW + mr - 1) / mr * c.InChannels * PackStride(mr);

    /// <summary>
    /// Whether a 1x1 layer packs all its pixel tiles up front and sweeps the weights once, panel by panel, with the pixel
    /// tiles innermost (vector ISAs, pack within the budget): the weights come from L3 or memory on each inference, and a
    /// panel re-read per pixel tile streamed them 7-28 times through L2.
    /// </summary>
    private static bool PacksWhole(ChannelVectorConvSpec c, Isa isa, int mr) =>
        c.Pointwise && !isa.IsScalar && isa.HasMaskedMemory && PackStride(mr) is 4 or 8 &&
        WholePackFloats(c, mr) * 4 <= ((long)c.InChannels * c.OutChannels * sizeof(float) >= WholePackMinWeightBytes ? WholePackLargeBudgetBytes : WholePackBudgetBytes);

    public static IEnumerable<string> Remarks(ChannelVectorConvSpec c, TargetProfile profile)
    {
        ConvGeometry g = c.Geometry;
        yield return $"lowering: channel-vectorised convolution (output channels in vector lanes), {c.InChannels} -> {c.OutChannels} channels, " +
            $"{g.KernelH}x{g.KernelW} stride {g.StrideH}x{g.StrideW} dilation {g.DilationH}x{g.DilationW} pads {g.PadTop},{g.PadLeft}, " +
            $"{g.OutH}x{g.OutW} = {g.OutH * g.OutW} output pixels; " +
            (c.XBlocked ? $"input channel-blocked [C/16][H][W][16], read in place by the tiles, {(BlockedPixelsInner(c) ? "pixel tiles innermost (the input is smaller than the weights: each weight block read once" + NextBlockRemark(c, profile, packed: false) + ")" : "weight blocks innermost")}"
                : c.Pointwise ? (PacksWhole(c, profile.Isas[0], profile.ChannelTileMR[0]) ? "all pixel tiles packed channel-major into scratch first, pixel tiles innermost (each weight block read once" + NextBlockRemark(c, profile, packed: true) + ")"
                : "each pixel tile packed channel-major into scratch, weight blocks innermost")
                : InputPlane.Of(g).Remark) +
            $"; weights in panels of {PanelRemark(profile)} output channels" + SplitRemark(c, profile);
        var tiles = new List<string>();
        for (int i = 0; i < profile.Isas.Count; i++)
        {
            (int rest, int splits) = c.Pointwise ? PixelTail(c, profile.ChannelTileMR[i]) : (0, 1);
            tiles.Add($"{profile.ChannelTileMR[i]} pixels x {profile.ChannelTileNV[i] * profile.Isas[i].Width} channels ({profile.Isas[i].Name}" +
                (splits > 1 ? $"; the last tile's {rest} pixel{(rest > 1 ? "s" : "")} with the input channels over {splits} accumulator sets" : "") +
                (c.Pointwise && WideTail(ForIsa(c, profile, i), profile.Isas[i], profile.ChannelTileMR[i], profile.ChannelTileNV[i], profile) is int wide
                    ? $"; the last block's {c.OutChannels - LastBlock(c.OutChannels, profile.ChannelPanels[i], profile.Isas[i], profile.ChannelTileNV[i] * profile.Isas[i].Width).LastBlock} channels in tiles of {wide} pixels"
                    : TailRemark(profile, i, profile.ChannelTileMR[i], c.OutChannels)) + ")");
        }
        yield return "tiles: " + string.Join(", ", tiles) + $"; epilogue ({(c.YBlocked ? "output channel-blocked [C/16][H][W][16]: channel vectors stored as they are" : "transposed store")}): " +
            $"bias{(c.Residual ? ", residual" : "")}, activation {c.Activation}";
    }

    public static void Emit(ChannelVectorConvSpec c, string? bias, string? residual, SourceWriter w, EmitContext ctx)
    {
        if (c.Pointwise)
        {
            EmitPointwise(c, bias, residual, w, ctx);
            return;
        }
        ConvGeometry g = c.Geometry;
        InputPlane p = InputPlane.Of(g);
        long inPlane = (long)g.InH * g.InW;
        var offsets = new List<long>();
        for (int kh = 0; kh < g.KernelH; kh++) for (int kw = 0; kw < g.KernelW; kw++) offsets.Add(p.TapOffset(g, kh, kw));
        ChannelVectorConvSpec spec = c;
        ctx.PerIsa(w, (isa, index) =>
        {
            ChannelVectorConvSpec c = ForIsa(spec, ctx.Profile, index);
            int mr = ctx.Profile.ChannelTileMR[index], nv = ctx.Profile.ChannelTileNV[index], nr = nv * isa.Width;
            int chunk = SplitChannels(c, ctx.Profile, isa, nr);
            (string kernel, string? tailKernel, int lastBlock) = BlockKernels(isa, nv, c.OutChannels, c.Panel,
                v => RequireTapsKernel(isa, mr, v, c.HasBias, c.Residual, c.Activation, offsets, c.Panel, ctx));
            w.OpenBlock($"for (int n = 0; n < {c.Batch}; n++)");
            p.Copy?.EmitSplitChannels(w, ctx, p.SplitGeometry, c.InChannels, inPlane);
            EmitTiles(c, bias, residual, w, ctx, isa, p, mr, nr, chunk, kernel, tailKernel, lastBlock);
            w.CloseBlock();
        });
    }

    /// <summary>The spec with the weight panel of ISA <paramref name="index"/> (the weights are packed in the machine's ISA's panels).</summary>
    internal static ChannelVectorConvSpec ForIsa(ChannelVectorConvSpec c, TargetProfile profile, int index) => c with { Panel = profile.ChannelPanels[index] };

    /// <summary>
    /// Input channels per chunk of a spatial convolution's tiles (all of them: not split): when a block of the weights
    /// (channels x taps x NR floats) exceeds <see cref="TargetProfile.ChannelSplitMinBytes"/>, chunks that share the
    /// channels evenly, each chunk's block within about <see cref="TargetProfile.ChannelSplitBytes"/>. Vector ISAs only.
    /// </summary>
    internal static int SplitChannels(ChannelVectorConvSpec c, TargetProfile profile, Isa isa, int nr)
    {
        long row = (long)c.Geometry.KernelH * c.Geometry.KernelW * nr * sizeof(float);
        if (profile.ChannelSplitBytes == 0 || isa.IsScalar || c.InChannels * row <= profile.ChannelSplitMinBytes) return c.InChannels;
        if (c.Pointwise && !SplitsPointwise(c, profile, row)) return c.InChannels;
        int chunk = (int)System.Math.Max(1, profile.ChannelSplitBytes / row);
        int chunks = (c.InChannels + chunk - 1) / chunk;
        int even = (c.InChannels + chunks - 1) / chunks;
        // A blocked input's tiles step over whole blocks of channels.
        return c.Pointwise ? (even + Block - 1) / Block * Block : even;
    }

    /// <summary>
    /// Whether a 1x1 layer accumulates over chunks of input channels (<see cref="SplitChannels"/>): a blocked input swept
    /// with the pixel tiles innermost whose weight block (input channels x NR floats) is too large for the next block's
    /// prefetch (<see cref="TargetProfile.ChannelPrefetchNextBlockBytes"/>): the 7x7 planes' projections (EfficientNet-B0's
    /// 1152 -&gt; 192 and 320, MobileNetV2's 960 -&gt; 320: 90-150 KB blocks) re-read their block from L2 for every pixel tile,
    /// where a chunk's 12 KB stay in L1 for a group of tiles.
    /// </summary>
    private static bool SplitsPointwise(ChannelVectorConvSpec c, TargetProfile profile, long row) =>
        c.XBlocked && BlockedPixelsInner(c) && c.InChannels * row > profile.ChannelPrefetchNextBlockBytes;

    /// <summary>Each ISA's weight panel (<c>48 (Avx512), 24 (Avx2, Scalar)</c>).</summary>
    internal static string PanelRemark(TargetProfile profile) =>
        string.Join(", ", Enumerable.Range(0, profile.Isas.Count).GroupBy(i => profile.ChannelPanels[i])
            .Select(g => $"{g.Key} ({string.Join(", ", g.Select(i => profile.Isas[i].Name))})"));

    /// <summary>
    /// Whether a split layer's tiles prefetch the next chunk's weights: when all its weights exceed
    /// <see cref="TargetProfile.ChannelPrefetchMinBytes"/> they come from memory on each inference (a model's weights pass
    /// through the caches layer after layer), and the hardware prefetcher left the start of each chunk to the tiles.
    /// </summary>
    private static bool PrefetchesChunks(ChannelVectorConvSpec c, TargetProfile profile) =>
        profile.ChannelPrefetchMinBytes > 0 &&
        (long)c.InChannels * c.Geometry.KernelH * c.Geometry.KernelW * c.OutChannels * sizeof(float) > profile.ChannelPrefetchMinBytes;

    private static string SplitRemark(ChannelVectorConvSpec c, TargetProfile profile)
    {
        var parts = new List<string>();
        for (int i = 0; i < profile.Isas.Count; i++)
        {
            int nr = profile.ChannelTileNV[i] * profile.Isas[i].Width, chunk = SplitChannels(c, profile, profile.Isas[i], nr);
            if (chunk < c.InChannels) parts.Add($"{chunk} ({profile.Isas[i].Name})");
        }
        return parts.Count == 0 ? "" : $"; input channels accumulated in chunks of {string.Join(", ", parts)} over groups of up to {profile.ChannelSplitTiles} pixel tiles (partial sums on the stack" +
            (PrefetchesChunks(c, profile) ? ", the next chunk's weights prefetched)" : ")");
    }

    /// <summary>
    /// Spatial tiles: work items (panel, block, group of pixel tiles); per item, the pixel offsets of its tiles, then per
    /// chunk of input channels every tile of the group accumulates that chunk into its partial sums (the first chunk from
    /// the bias, the last one through the epilogue into Y), so a chunk's weights are read from L1 by every tile.
    /// </summary>
    private static void EmitTiles(ChannelVectorConvSpec c, string? bias, string? residual, SourceWriter w, EmitContext ctx, Isa isa, InputPlane p,
        int mr, int nr, int chunk, string kernel, string? tailKernel, int lastBlock)
    {
        ConvGeometry g = c.Geometry;
        int taps = g.KernelH * g.KernelW, k = c.InChannels * taps;
        long pixels = (long)g.OutH * g.OutW, pixelTiles = (pixels + mr - 1) / mr;
        int panels = (c.OutChannels + c.Panel - 1) / c.Panel, blocks = c.Panel / nr;
        (int group, long groups) = TileGroups(c, ctx.Profile, nr, pixelTiles);
        string L(long v) => EmitContext.Long(v);
        ctx.ParallelFor(w, (long)panels * blocks * groups, b =>
        {
            b.WriteLine($"int* pix = stackalloc int[{group * mr}];");
            EmitSplitItem(b, c, mr, nr, group, groups, pixelTiles);
            b.OpenBlock($"for (int i = 0; i < tiles * {mr}; i++)");
            b.WriteLine($"int q = {EmitContext.Math}.Min(pt0 * {mr} + i, {L(pixels - 1)});");
            b.WriteLine($"pix[i] = q / {g.OutW} * {p.RowStep} + q % {g.OutW}{(p.ColumnStep > 1 ? $" * {p.ColumnStep}" : "")};");
            b.CloseBlock();
            EmitChunkLoop(b, c, k, chunk);
            b.WriteLine($"float* xc = {(p.InPlace ? $"X + ((long)n * {c.InChannels} + c0) * {L(p.ChannelStride)}L" : $"S + (long)c0 * {L(p.ChannelStride)}L")}, wc = wb + (long)c0 * {taps * c.Panel};");
            b.OpenBlock("for (int i = 0; i < tiles; i++)");
            b.WriteLine($"int p0 = (pt0 + i) * {mr}, mc = {EmitContext.Math}.Min({mr}, {L(pixels)} - p0);");
            b.WriteLine($"long o = ((long)n * {c.OutChannels} + oc0) * {L(pixels)}L + p0;");
            if (chunk < c.InChannels) EmitChunkPrefetch(b, c, ctx.Profile, isa, chunk, taps, group);
            string args = $"(xc, {L(p.ChannelStride)}, cc, pix + i * {mr}, wc, {(bias is null ? "null" : $"{bias} + oc0")}, " +
                $"Y + o, {L(pixels)}, {(residual is null ? "null" : $"{residual} + o")}, mc, nc, part + i * {mr * nr}, mode);";
            b.WriteLine(KernelCall(kernel, tailKernel, lastBlock, args));
            b.CloseBlock();
            b.CloseBlock();
            b.CloseBlock();
        }, new[] { "n" });
    }

    /// <summary>
    /// Groups of at most <see cref="TargetProfile.ChannelSplitTiles"/> pixel tiles for a split layer's work items (block
    /// of output channels, group), and enough items for the workers to share (16): tiles per group, and groups.
    /// </summary>
    private static (int Group, long Groups) TileGroups(ChannelVectorConvSpec c, TargetProfile profile, int nr, long pixelTiles)
    {
        int blocks = c.Panel / nr, panels = (c.OutChannels + c.Panel - 1) / c.Panel;
        int items = panels * blocks - (blocks - 1 - (c.OutChannels - 1) % c.Panel / nr);
        long groups = System.Math.Min(pixelTiles, System.Math.Max((pixelTiles + profile.ChannelSplitTiles - 1) / profile.ChannelSplitTiles, (16 + items - 1) / items));
        int group = (int)((pixelTiles + groups - 1) / groups);
        return (group, (pixelTiles + group - 1) / group);
    }

    /// <summary>
    /// A split layer's work item (block of output channels, group of pixel tiles) opened: the partial sums of the group's
    /// tiles on the stack, the item loop, its panel, oc0 and nc, and its first tile pt0 and tile count.
    /// </summary>
    private static void EmitSplitItem(SourceWriter b, ChannelVectorConvSpec c, int mr, int nr, int group, long groups, long pixelTiles, int extraSlots = 0)
    {
        string L(long v) => EmitContext.Long(v);
        b.WriteLine($"float* part = stackalloc float[{(group + extraSlots) * mr * nr}];");
        b.OpenBlock("for (int t = pb; t < pe; t++)");
        b.WriteLine($"int gr = t % {L(groups)}, rest = t / {L(groups)};");
        EmitBlockBounds(b, c.Panel, blocks: c.Panel / nr, nr, c.OutChannels);
        b.WriteLine($"int nc = {EmitContext.Math}.Min({nr}, {c.OutChannels} - oc0);");
        b.WriteLine($"int pt0 = gr * {group}, tiles = {EmitContext.Math}.Min({group}, {L(pixelTiles)} - pt0);");
    }

    /// <summary>
    /// The item's weight block wb (<paramref name="rows"/> rows of the panel) and its loop over chunks of input channels
    /// opened: c0, the chunk's channels cc and the kernels' mode (bit 0: not the first chunk, bit 1: the last).
    /// </summary>
    private static void EmitChunkLoop(SourceWriter b, ChannelVectorConvSpec c, int rows, int chunk)
    {
        b.WriteLine($"float* wb = W + (long)panel * {EmitContext.Long((long)rows * c.Panel)}L + (oc0 - panel * {c.Panel});");
        b.OpenBlock($"for (int c0 = 0; c0 < {c.InChannels}; c0 += {chunk})");
        b.WriteLine($"int cc = {EmitContext.Math}.Min({chunk}, {c.InChannels} - c0), mode = (c0 > 0 ? 1 : 0) | (c0 + {chunk} >= {c.InChannels} ? 2 : 0);");
    }

    /// <summary>
    /// In a split layer's tile loop (tile i of a group of <paramref name="group"/>, chunk c0 of <paramref name="chunk"/>
    /// channels, its weights at wc): tile i's share of the next chunk's weight lines as prefetches, when the layer's
    /// weights come from memory (<see cref="PrefetchesChunks"/>).
    /// </summary>
    private static void EmitChunkPrefetch(SourceWriter b, ChannelVectorConvSpec c, TargetProfile profile, Isa isa, int chunk, int taps, int group)
    {
        if (!PrefetchesChunks(c, profile) || isa.Prefetch("nx + l * 16") is not string prefetch) return;
        string L(long v) => EmitContext.Long(v);
        long chunkFloats = (long)chunk * taps * c.Panel, lines = (chunkFloats * sizeof(float) + 63) / 64, per = (lines + group - 1) / group;
        b.OpenBlock($"if (c0 + {chunk} < {c.InChannels})");
        b.WriteLine($"float* nx = wc + {L(chunkFloats)}L;");
        b.WriteLine($"for (long l = i * {per}L, le = {EmitContext.Math}.Min(l + {per}L, {lines}L); l < le; l++) {prefetch}");
        b.CloseBlock();
    }

    /// <summary>
    /// The kernel for whole blocks of NV vectors of output channels and, when the block holding the last of
    /// <paramref name="channels"/> needs fewer vectors, a narrower one (<paramref name="require"/> makes a kernel of a
    /// given width), with that block's first channel.
    /// </summary>
    internal static (string Kernel, string? Tail, int LastBlock) BlockKernels(Isa isa, int nv, int channels, int panel, System.Func<int, string> require)
    {
        (int last, int tailNv) = LastBlock(channels, panel, isa, nv * isa.Width);
        string kernel = require(nv);
        return (kernel, tailNv < nv ? require(tailNv) : null, last);
    }

    /// <summary>
    /// Statements decoding a tile from <c>rest</c> (its block of NR output channels, in panels) and <c>pt</c> (its group
    /// of MR rows out of <paramref name="rows"/>): panel, oc0 (blocks past the last channel skipped), p0, mc and nc.
    /// </summary>
    internal static void EmitTileBounds(SourceWriter b, int panel, int blocks, int nr, int channels, int mr, long rows)
    {
        EmitBlockBounds(b, panel, blocks, nr, channels);
        b.WriteLine($"int p0 = pt * {mr}, mc = {EmitContext.Math}.Min({mr}, {EmitContext.Long(rows)} - p0), nc = {EmitContext.Math}.Min({nr}, {channels} - oc0);");
    }

    /// <summary>Statements decoding a block of NR output channels from <c>rest</c>: panel and oc0 (blocks past the last channel skipped).</summary>
    private static void EmitBlockBounds(SourceWriter b, int panel, int blocks, int nr, int channels)
    {
        b.WriteLine($"int panel = rest / {blocks}, oc0 = panel * {panel} + rest % {blocks} * {nr};");
        b.WriteLine($"if (oc0 >= {channels}) continue;");
    }

    /// <summary>The kernel call with <paramref name="args"/>, through the narrower kernel for the block at <paramref name="lastBlock"/>.</summary>
    internal static string KernelCall(string kernel, string? tail, int lastBlock, string args) =>
        tail is null ? kernel + args : $"if (oc0 == {lastBlock}) {tail}{args} else {kernel}{args}";

    /// <summary>
    /// The first output channel of the block holding the last channels, and the vectors that block needs: it runs a
    /// narrower kernel when that saves vectors (160 channels = 3 panels of 48 and one block of 16: one vector of three).
    /// </summary>
    /// <summary>The block holding the last of <paramref name="channels"/> output channels in panels of <paramref name="panel"/>, and its vectors.</summary>
    /// <summary>"; the last block's N channels over S accumulator sets" when ISA <paramref name="index"/>'s tail block needs them (see <see cref="TargetProfile.ChannelChains"/>).</summary>
    internal static string TailRemark(TargetProfile profile, int index, int mr, int channels)
    {
        Isa isa = profile.Isas[index];
        int nv = profile.ChannelTileNV[index];
        (int last, int tailNv) = LastBlock(channels, profile.ChannelPanels[index], isa, nv * isa.Width);
        int sets = profile.ChannelSets(isa, mr, tailNv);
        return tailNv < nv && sets > 1 && sets > profile.ChannelSets(isa, mr, nv) ? $"; the last block's {channels - last} channels over {sets} accumulator sets" : "";
    }

    private static (int LastBlock, int TailNv) LastBlock(int channels, int panel, Isa isa, int nr)
    {
        int last = (channels - 1) / panel * panel + (channels - 1) % panel / nr * nr;
        return (last, (channels - last + isa.Width - 1) / isa.Width);
    }

    /// <summary>
    /// Floats per input channel of a packed pixel tile: 4 for tiles of up to 4 pixels (AVX2's 4 x 24: a stride of 8 left
    /// half of every pack empty, and 960 -> 160 on a 7x7 plane then missed the whole-plane pack's budget), else whole 8s.
    /// </summary>
    private static int PackStride(int mr) => mr <= 4 ? 4 : (mr + 7) / 8 * 8;

    /// <summary>
    /// 1x1: per pixel tile, its MR pixels of every input channel are packed contiguously into the worker's scratch
    /// (channels x 4 or 8 floats, L1-resident), then every block of output channels runs over that pack (blocks innermost):
    /// the kernel streams only the weight panel from L2, where reading the pixels in place would stream a second, strided
    /// line per input channel for every tile.
    /// </summary>
    private static void EmitPointwise(ChannelVectorConvSpec c, string? bias, string? residual, SourceWriter w, EmitContext ctx)
    {
        ConvGeometry g = c.Geometry;
        long inPlane = (long)g.InH * g.InW, pixels = (long)g.OutH * g.OutW;
        string L(long v) => EmitContext.Long(v);
        ChannelVectorConvSpec spec = c;
        ctx.PerIsa(w, (isa, index) =>
        {
            ChannelVectorConvSpec c = ForIsa(spec, ctx.Profile, index);
            int panels = (c.OutChannels + c.Panel - 1) / c.Panel;
            int mr = ctx.Profile.ChannelTileMR[index], nv = ctx.Profile.ChannelTileNV[index], nr = nv * isa.Width;
            int blocks = c.Panel / nr, ps = PackStride(mr);
            long pixelTiles = (pixels + mr - 1) / mr;
            (string kernel, string? tailKernel, int lastBlock) = BlockKernels(isa, nv, c.OutChannels, c.Panel, v => RequirePointwiseKernel(isa, mr, v, c, ctx));
            string Call(string args) => PointwiseCall(c, isa, mr, nv, pixelTiles, kernel, tailKernel, lastBlock, args, ctx);
            w.OpenBlock($"for (int n = 0; n < {c.Batch}; n++)");
            int split = SplitChannels(c, ctx.Profile, isa, nr);
            if (split < c.InChannels)
            {
                EmitSplitPointwise(c, bias, residual, w, ctx, isa, mr, nv, split);
                w.CloseBlock();
                return;
            }
            if (c.XBlocked)
            {
                // Blocked input: a tile's pixels of 16 channels are 16 x MR contiguous floats, read in place.
                ctx.ParallelFor(w, pixelTiles * panels * blocks, b =>
                {
                    b.OpenBlock("for (int t = pb; t < pe; t++)");
                    b.WriteLine(BlockedPixelsInner(c)
                        ? $"int pt = t % {L(pixelTiles)}, rest = t / {L(pixelTiles)};"
                        : $"int rest = t % {panels * blocks}, pt = t / {panels * blocks};");
                    EmitTileBounds(b, c.Panel, blocks, nr, c.OutChannels, mr, pixels);
                    if (BlockedPixelsInner(c) && PrefetchesNextBlock(c, ctx.Profile, blocks, pixelTiles)) EmitNextBlockPrefetch(b, c, isa, panels, pixelTiles);
                    b.WriteLine(Call(PointwiseArgs(c, $"X + (long)n * {L(c.InChannels * inPlane)}L + (long)p0 * {Block}, {L(inPlane * Block)}", bias, residual)));
                    b.CloseBlock();
                }, new[] { "n" });
                w.CloseBlock();
                return;
            }
            if (PacksWhole(c, isa, mr))
            {
                EmitWholePack(c, bias, residual, w, ctx, isa, mr, nr, Call);
                w.CloseBlock();
                return;
            }
            ctx.ParallelFor(w, pixelTiles * panels * blocks, b =>
            {
                b.WriteLine($"float* xn = X + (long)n * {L(c.InChannels * inPlane)}L;");
                b.WriteLine("int packed = -1;");
                b.OpenBlock("for (int t = pb; t < pe; t++)");
                b.WriteLine($"int rest = t % {panels * blocks}, pt = t / {panels * blocks};");
                EmitTileBounds(b, c.Panel, blocks, nr, c.OutChannels, mr, pixels);
                b.OpenBlock("if (pt != packed)");
                b.WriteLine("// This tile's pixels of every input channel, contiguous (lanes past mc zero).");
                b.WriteLine("float* src = xn + p0;");
                if (!isa.IsScalar && isa.HasMaskedMemory && ps is 4 or 8)
                {
                    b.WriteLine($"var pm = {EmitContext.RuntimeNs}.MaskedMemory.FirstLanes256(mc);");
                    b.WriteLine(PackChannels(c, inPlane, "S", ps));
                }
                else
                {
                    b.OpenBlock($"for (int ch = 0; ch < {c.InChannels}; ch++)");
                    b.WriteLine($"for (int i = 0; i < {ps}; i++) S[ch * {ps} + i] = i < mc ? src[ch * {L(inPlane)}L + i] : 0f;");
                    b.CloseBlock();
                }
                b.WriteLine("packed = pt;");
                b.CloseBlock();
                b.WriteLine(Call(PointwiseArgs(c, "S", bias, residual)));
                b.CloseBlock();
            }, new[] { "n" }, privateScratch: "S");
            w.CloseBlock();
        });
    }

    /// <summary>
    /// A blocked 1x1 in chunks of input channels (<see cref="SplitsPointwise"/>): work items (block of output channels,
    /// group of pixel tiles); per item and chunk, every tile of the group accumulates the chunk into its partial sums on
    /// the worker's stack (the first chunk from the bias, the last through the epilogue), so the chunk's weights are read
    /// from L1 by all but the first tile. As the spatial tiles (<see cref="EmitTiles"/>), with the input read in place.
    /// </summary>
    private static void EmitSplitPointwise(ChannelVectorConvSpec c, string? bias, string? residual, SourceWriter w, EmitContext ctx, Isa isa, int mr, int nv, int chunk)
    {
        long pixels = (long)c.Geometry.OutH * c.Geometry.OutW, inPlane = pixels, pixelTiles = (pixels + mr - 1) / mr;
        int nr = nv * isa.Width, panels = (c.OutChannels + c.Panel - 1) / c.Panel, blocks = c.Panel / nr;
        (int group, long groups) = TileGroups(c, ctx.Profile, nr, pixelTiles);
        (string kernel, string? tailKernel, int lastBlock) = BlockKernels(isa, nv, c.OutChannels, c.Panel, v => RequirePointwiseKernel(isa, mr, v, 1, PackStride(mr), c, ctx, chunked: true));
        string L(long v) => EmitContext.Long(v);
        ctx.ParallelFor(w, (long)panels * blocks * groups, b =>
        {
            // A wide tail tile may reach past the group: the narrow tiles of its partial last one take slots up to group + f - 2.
            int f = WideTail(c, isa, mr, nv, ctx.Profile) is int tailMr ? tailMr / mr : 1;
            EmitSplitItem(b, c, mr, nr, group, groups, pixelTiles, f - 1);
            EmitChunkLoop(b, c, c.InChannels, chunk);
            b.WriteLine($"float* xc = X + (long)n * {L(c.InChannels * inPlane)}L + (long)(c0 >> {BlockShift}) * {L(inPlane * Block)}L, wc = wb + (long)c0 * {c.Panel};");
            b.OpenBlock("for (int i = 0; i < tiles; i++)");
            b.WriteLine($"int pt = pt0 + i, p0 = pt * {mr}, mc = {EmitContext.Math}.Min({mr}, {L(pixels)} - p0);");
            EmitChunkPrefetch(b, c, ctx.Profile, isa, chunk, 1, group);
            string o = c.YBlocked ? $"(long)n * {L(c.OutChannels * pixels)}L + (long)p0 * {Block}" : $"((long)n * {c.OutChannels} + oc0) * {L(pixels)}L + p0";
            string ldy = c.YBlocked ? $"{L(pixels * Block)}, oc0" : L(pixels);
            string Args(string slot) => $"(xc + (long)p0 * {Block}, {L(inPlane * Block)}, cc, wc, {c.Panel}, {(bias is null ? "null" : $"{bias} + oc0")}, Y + {o}, {ldy}, " +
                $"{(residual is null ? "null" : $"{residual} + {o}")}, mc, nc, part + {slot} * {mr * nr}, mode);";
            b.WriteLine(PointwiseCall(c, isa, mr, nv, pixelTiles, kernel, tailKernel, lastBlock, Args("i"), ctx, chunked: true, slotArgs: Args("(pt - pt0)")));
            b.CloseBlock();
            b.CloseBlock();
            b.CloseBlock();
        }, new[] { "n" });
    }

    /// <summary>
    /// 1x1 with every pixel tile packed first (channels x 4 or 8 floats per tile, tile after tile, in the shared scratch), then
    /// tiles (panel, block, pixel tile) with the pixel tiles innermost: each weight block is read from memory once and
    /// reused from L1/L2 by every pixel tile.
    /// </summary>
    private static void EmitWholePack(ChannelVectorConvSpec c, string? bias, string? residual, SourceWriter w, EmitContext ctx, Isa isa, int mr, int nr, System.Func<string, string> call)
    {
        ConvGeometry g = c.Geometry;
        long inPlane = (long)g.InH * g.InW, pixels = (long)g.OutH * g.OutW, pixelTiles = (pixels + mr - 1) / mr;
        int panels = (c.OutChannels + c.Panel - 1) / c.Panel, blocks = c.Panel / nr;
        int ps = PackStride(mr);
        long tileFloats = (long)c.InChannels * ps;
        string L(long v) => EmitContext.Long(v);
        ctx.ParallelFor(w, pixelTiles, b =>
        {
            b.WriteLine($"float* xn = X + (long)n * {L(c.InChannels * inPlane)}L;");
            b.OpenBlock("for (int pt = pb; pt < pe; pt++)");
            b.WriteLine("// This tile's pixels of every input channel, contiguous (lanes past mc zero).");
            b.WriteLine($"int p0 = pt * {mr};");
            b.WriteLine($"float* src = xn + p0, dst = S + pt * {L(tileFloats)}L;");
            b.WriteLine($"var pm = {EmitContext.RuntimeNs}.MaskedMemory.FirstLanes256({EmitContext.Math}.Min({mr}, {L(pixels)} - p0));");
            b.WriteLine(PackChannels(c, inPlane, "dst", ps));
            b.CloseBlock();
        }, new[] { "n" });
        ctx.ParallelFor(w, pixelTiles * panels * blocks, b =>
        {
            b.OpenBlock("for (int t = pb; t < pe; t++)");
            b.WriteLine($"int pt = t % {L(pixelTiles)}, rest = t / {L(pixelTiles)};");
            EmitTileBounds(b, c.Panel, blocks, nr, c.OutChannels, mr, pixels);
            if (PrefetchesNextBlock(c, ctx.Profile, blocks, pixelTiles)) EmitNextBlockPrefetch(b, c, isa, panels, pixelTiles);
            b.WriteLine(call(PointwiseArgs(c, $"S + pt * {L(tileFloats)}L", bias, residual)));
            b.CloseBlock();
        }, new[] { "n" });
    }

    /// <summary>
    /// Blocked input: the tiles sweep the pixel tiles innermost when the input (C x pixels) is smaller than the weights
    /// (C x OC), so the larger operand is read once and the smaller one is re-read from L2 per block of the other. The
    /// 1x1 layers of 7x7 planes have 0.6-1.6 MB of weights, more than L2: weight blocks innermost re-read them from L3
    /// for each of the 13 pixel tiles.
    /// </summary>
    private static bool BlockedPixelsInner(ChannelVectorConvSpec c) => (long)c.Geometry.OutH * c.Geometry.OutW <= c.OutChannels;

    /// <summary>Pixel tile pt's share of the next block's weight lines (the next panel: one block per panel), as prefetches.</summary>
    private static void EmitNextBlockPrefetch(SourceWriter b, ChannelVectorConvSpec c, Isa isa, int panels, long pixelTiles)
    {
        if (isa.Prefetch("nx + l * 16") is not string prefetch) return;
        string L(long v) => EmitContext.Long(v);
        long blockFloats = (long)c.InChannels * c.Panel, lines = (blockFloats * sizeof(float) + 63) / 64, per = (lines + pixelTiles - 1) / pixelTiles;
        b.OpenBlock($"if (panel + 1 < {panels})");
        b.WriteLine($"float* nx = W + (long)(panel + 1) * {L(blockFloats)}L;");
        b.WriteLine($"for (long l = pt * {per}L, le = {EmitContext.Math}.Min(l + {per}L, {lines}L); l < le; l++) {prefetch}");
        b.CloseBlock();
    }

    /// <summary>
    /// ", the next one prefetched over its pixel tiles (ISAs)" for the vector ISAs whose tiles do (<see cref="PrefetchesNextBlock"/>),
    /// for a 1x1 whose pixel tiles are innermost (<paramref name="packed"/>: on the ISAs that pack every tile first).
    /// </summary>
    private static string NextBlockRemark(ChannelVectorConvSpec c, TargetProfile profile, bool packed)
    {
        long pixels = (long)c.Geometry.OutH * c.Geometry.OutW;
        var isas = Enumerable.Range(0, profile.Isas.Count).Where(i => !profile.Isas[i].IsScalar && (!packed || PacksWhole(c, profile.Isas[i], profile.ChannelTileMR[i])) &&
            PrefetchesNextBlock(ForIsa(c, profile, i), profile, profile.ChannelPanels[i] / (profile.ChannelTileNV[i] * profile.Isas[i].Width),
                (pixels + profile.ChannelTileMR[i] - 1) / profile.ChannelTileMR[i])).ToList();
        return isas.Count == 0 ? "" : $", the next one prefetched over its pixel tiles ({string.Join(", ", isas.Select(i => profile.Isas[i].Name))})";
    }

    /// <summary>
    /// Whether a 1x1 whose pixel tiles are innermost (blocked input with fewer pixels than output channels, or every tile
    /// packed first) prefetches the next weight block over each block's pixel tiles
    /// (<see cref="TargetProfile.ChannelPrefetchNextBlockBytes"/>; one block per panel, at least two panels, at least 4
    /// pixel tiles: a 1x1 plane's squeeze-and-excitation layers, one tile per block, ran 1-2 us slower with it).
    /// </summary>
    private static bool PrefetchesNextBlock(ChannelVectorConvSpec c, TargetProfile profile, int blocks, long pixelTiles) =>
        blocks == 1 && c.OutChannels > c.Panel && pixelTiles >= 4 && (long)c.InChannels * c.Panel * sizeof(float) <= profile.ChannelPrefetchNextBlockBytes;

    /// <summary>Channels per block of the channel-blocked layout (Passes/BlockedLayout), and its log2.</summary>
    private const int Block = Passes.BlockedLayout.Block, BlockShift = 4;

    /// <summary>
    /// The pointwise kernel's arguments for the input at <paramref name="input"/> (a pack, or a blocked tile and its block
    /// stride) and the tile of batch n decoded by <see cref="EmitTileBounds"/>: Y (and R) at the tile's first output channel
    /// plane, or (blocked) at its first pixel with the block stride and oc0.
    /// </summary>
    private static string PointwiseArgs(ChannelVectorConvSpec c, string input, string? bias, string? residual)
    {
        string L(long v) => EmitContext.Long(v);
        long pixels = (long)c.Geometry.OutH * c.Geometry.OutW;
        string o = c.YBlocked ? $"(long)n * {L(c.OutChannels * pixels)}L + (long)p0 * {Block}" : $"((long)n * {c.OutChannels} + oc0) * {L(pixels)}L + p0";
        string ldy = c.YBlocked ? $"{L(pixels * Block)}, oc0" : L(pixels);
        return $"({input}, {c.InChannels}, W + (long)panel * {L((long)c.InChannels * c.Panel)}L + (oc0 - panel * {c.Panel}), {c.Panel}, " +
            $"{(bias is null ? "null" : $"{bias} + oc0")}, Y + {o}, {ldy}, {(residual is null ? "null" : $"{residual} + {o}")}, mc, nc);";
    }

    /// <summary>
    /// The pointwise tile's kernel call; when the last pixel tile holds at most half of MR pixels (49 = 12 x 4 + 1 on
    /// AVX2), that tile goes through kernels of its pixels with the input channels split over MR / pixels accumulator
    /// sets (<see cref="RequirePointwiseKernel(Isa, int, int, int, int, ChannelVectorConvSpec, EmitContext)"/>).
    /// </summary>
    private static string PointwiseCall(ChannelVectorConvSpec c, Isa isa, int mr, int nv, long pixelTiles, string kernel, string? tailKernel, int lastBlock, string args, EmitContext ctx,
        bool chunked = false, string? slotArgs = null)
    {
        if (WideTail(c, isa, mr, nv, ctx.Profile) is not int tailMr) return PixelTailedCall(c, isa, mr, nv, pixelTiles, kernel, tailKernel, lastBlock, args, ctx, chunked, null);
        // The block with one vector of channels left: tiles of tailMr pixels (every f-th MR tile starts one; the last,
        // partial one goes MR pixels at a time through the narrow kernels, pt, p0 and mc stepped, each its own partial
        // sums slot: slotArgs).
        long pixels = (long)c.Geometry.OutH * c.Geometry.OutW;
        int f = tailMr / mr;
        string wide = RequirePointwiseKernel(isa, tailMr, 1, 1, PackStride(mr), c, ctx, chunked, whole: true);
        string narrow = PixelTailedCall(c, isa, mr, nv, pixelTiles, tailKernel!, null, lastBlock, slotArgs ?? args, ctx, chunked, tailBlock: true);
        string main = PixelTailedCall(c, isa, mr, nv, pixelTiles, kernel, null, lastBlock, args, ctx, chunked, tailBlock: false);
        return $"if (oc0 == {lastBlock}) {{ if (pt % {f} != 0) continue; if (p0 + {tailMr} <= {EmitContext.Long(pixels)}) {{ mc = {tailMr}; {wide}{args} continue; }} " +
            $"for (int e = (int){EmitContext.Math}.Min(pt + {f}, {EmitContext.Long(pixelTiles)}); pt < e; pt++) {{ p0 = pt * {mr}; mc = {EmitContext.Math}.Min({mr}, {EmitContext.Long(pixels)} - p0); {narrow} }} continue; }} {main}";
    }

    /// <summary>
    /// The tile's kernel call (<see cref="PointwiseCall"/>) with the last pixel tile's split kernels when the plane leaves
    /// one: for either block kind by oc0 (<paramref name="tailBlock"/> null), or for the one it names.
    /// </summary>
    private static string PixelTailedCall(ChannelVectorConvSpec c, Isa isa, int mr, int nv, long pixelTiles, string kernel, string? tailKernel, int lastBlock, string args, EmitContext ctx,
        bool chunked, bool? tailBlock)
    {
        string whole = KernelCall(kernel, tailKernel, lastBlock, args);
        (int pixels, int splits) = PixelTail(c, mr);
        if (splits < 2) return whole; // the scalar path's 1-pixel tiles never leave a tail
        (string k, string? tk, _) = BlockKernels(isa, nv, c.OutChannels, c.Panel, v => RequirePointwiseKernel(isa, pixels, v, splits, PackStride(mr), c, ctx, chunked));
        string last = tailBlock switch { null => KernelCall(k, tk, lastBlock, args), true => tk + args, false => k + args };
        return $"if (pt == {EmitContext.Long(pixelTiles - 1)}) {{ {last} }} else {{ {whole} }}";
    }

    /// <summary>
    /// The pixels of a channel-blocked 1x1's tiles in its block with one vector of channels left, when wider than MR
    /// (<see cref="TargetProfile.ChannelTailMR"/>; the input read in place, a plane of at least one such tile); else null.
    /// </summary>
    private static int? WideTail(ChannelVectorConvSpec c, Isa isa, int mr, int nv, TargetProfile profile)
    {
        if (!c.XBlocked || isa.IsScalar) return null;
        int index = 0;
        while (index < profile.Isas.Count && profile.Isas[index] != isa) index++;
        int tailMr = index < profile.Isas.Count ? profile.ChannelTailPixels(index) : mr;
        (_, int tailNv) = LastBlock(c.OutChannels, c.Panel, isa, nv * isa.Width);
        return tailNv == 1 && nv > 1 && tailMr > mr && tailMr % mr == 0 && (long)c.Geometry.OutH * c.Geometry.OutW >= tailMr ? tailMr : null;
    }

    /// <summary>The pixels of a 1x1 layer's last tile of <paramref name="mr"/> and its accumulator sets (1: no split tail).</summary>
    private static (int Pixels, int Splits) PixelTail(ChannelVectorConvSpec c, int mr)
    {
        int rest = (int)((long)c.Geometry.OutH * c.Geometry.OutW % mr);
        return (rest, rest == 0 ? 1 : mr / rest);
    }

    /// <summary>
    /// One masked 8-float load per input channel from <c>src</c> (lanes past <c>pm</c> zero), its first
    /// <paramref name="stride"/> (4 or 8) floats stored every <paramref name="stride"/> floats from <paramref name="dst"/>.
    /// </summary>
    private static string PackChannels(ChannelVectorConvSpec c, long inPlane, string dst, int stride)
    {
        string load = $"{EmitContext.RuntimeNs}.MaskedMemory.Load(src + ch * {EmitContext.Long(inPlane)}L, pm)";
        string store = stride == 4 ? $"global::System.Runtime.Intrinsics.Vector128.Store(global::System.Runtime.Intrinsics.Vector256.GetLower({load}), {dst} + ch * 4)" : $"global::System.Runtime.Intrinsics.Vector256.Store({load}, {dst} + ch * 8)";
        return $"for (int ch = 0; ch < {c.InChannels}; ch++) {store};";
    }

    /// <summary>
    /// The 1x1 micro-kernel for whole pixel tiles: per input channel, NV weight vectors times MR broadcasts of its pixels,
    /// from a pack (channels x 4 or 8 floats) or from the channel-blocked input in place (per block of 16 channels, MR
    /// pixels of 16 floats; rows past mc re-read the last pixel); the tile stored transposed into NCHW planes or, blocked,
    /// as it is.
    /// </summary>
    private static string RequirePointwiseKernel(Isa isa, int mr, int nv, ChannelVectorConvSpec c, EmitContext ctx) =>
        RequirePointwiseKernel(isa, mr, nv, 1, PackStride(mr), c, ctx);

    /// <summary>
    /// The 1x1 micro-kernel with the input channels dealt round-robin to <paramref name="splits"/> sets of MR x NV
    /// accumulators, summed before the epilogue: a pixel tail of MR pixels (a 7x7 plane's 49th pixel on AVX2's 4-pixel
    /// tiles) keeps as many FMA chains in flight as a whole tile, where one set would wait on each FMA's latency. Packed
    /// input tiles have <paramref name="ps"/> floats per channel (the whole tiles' stride).
    /// </summary>
    private static string RequirePointwiseKernel(Isa isa, int mr, int nv, int splits, int ps, ChannelVectorConvSpec c, EmitContext ctx, bool chunked = false, bool whole = false)
    {
        int width = isa.Width, nr = nv * width;
        splits = System.Math.Max(splits, ctx.Profile.ChannelSets(isa, mr, nv));
        string name = $"F32ConvChannelsPointwise_{mr}x{nr}{(splits > 1 ? $"k{splits}" + (c.XBlocked ? "" : $"p{ps}") : "")}{(c.XBlocked ? "_BlockedX" : "")}{(c.YBlocked ? "_BlockedY" : "")}{(whole ? "_Whole" : "")}{(chunked ? "_Part" : "")}" +
            GemmEmitter.EpilogueSuffix(c.HasBias ? "_Bias" : "", c.Residual, c.Activation, isa);
        ctx.RequireHelper(name, w =>
        {
            w.WriteLine($"/// <summary>{mr} pixels x {nr} output channels of a 1x1 convolution, fp32, {isa.Name}: Y = act(X x W + bias + R){(splits > 1 ? $"; input channels over {splits} accumulator sets" : "")}.</summary>");
            w.WriteLine("/// <remarks>" + (c.XBlocked
                ? $"X channel-blocked: channel c of pixel i at x[(c / {Block}) * xs + i * {Block} + c % {Block}]"
                : $"Pixel i of channel c at x[c * {ps} + i]") + "; W rows of the panel every ldw floats; " + (c.YBlocked
                ? $"Y (and R) channel-blocked from the tile's first pixel: channel oc0 + j at y[((oc0 + j) / {Block}) * bs + i * {Block} + (oc0 + j) % {Block}]"
                : "Y (and R) [channel][pixel], channels every ldy") + "; mc/nc valid pixels/channels." +
                (chunked ? " One chunk of the input channels: mode bit 0: start from the partial sums in part (else from the bias), bit 1: finish through the epilogue (else store the partial sums)." : "") +
                (whole ? $" Whole tiles only (mc = {mr}): the pixels read at constant offsets from x." : "") + "</remarks>");
            w.WriteLine(EmitContext.MethodImpl);
            w.WriteLine(EmitContext.SkipLocalsInit);
            string output = c.YBlocked ? "float* y, nint bs, int oc0" : "float* y, nint ldy";
            w.OpenBlock($"private static void {name}(float* x, {(c.XBlocked ? "nint xs, " : "")}int channels, float* w, nint ldw, float* bias, {output}, float* r, int mc, int nc{(chunked ? ", float* part, int mode" : "")})");
            GemmEmitter.DeclareAccumulators(w, isa, mr, nv, c.HasBias ? GemmBias.PerColumn : GemmBias.None);
            GemmEmitter.DeclareAccumulatorSets(w, isa, mr, nv, splits);
            if (chunked) EmitLoadPartial(w, isa, mr, nv);
            if (c.XBlocked)
            {
                // Rows past mc re-read the last pixel (pointers clamped), except in whole tiles: one pointer, constant offsets.
                if (!whole) for (int i = 0; i < mr; i++) w.WriteLine(i == 0 ? "float* x0 = x;" : $"float* x{i} = x + {EmitContext.Math}.Min({i}, mc - 1) * {Block};");
                w.OpenBlock($"for (int cb = 0; cb < channels; cb += {Block})");
                for (int ch = 0; ch < Block; ch++)
                {
                    w.OpenBlock();
                    GemmEmitter.EmitStep(w, isa, mr, nv, j => j == 0 ? "w" : $"w + {j * width}", i => whole ? $"x[{i * Block + ch}]" : $"x{i}[{ch}]", GemmEmitter.AccumulatorSet(ch % splits));
                    w.WriteLine("w += ldw;");
                    w.CloseBlock();
                }
                if (whole) w.WriteLine("x += xs;");
                else for (int i = 0; i < mr; i++) w.WriteLine($"x{i} += xs;");
                w.CloseBlock();
            }
            else
            {
                if (splits > 1)
                {
                    w.WriteLine("int ch = 0;");
                    w.OpenBlock($"for (; ch <= channels - {splits}; ch += {splits})");
                    for (int s = 0; s < splits; s++)
                    {
                        w.OpenBlock();
                        GemmEmitter.EmitStep(w, isa, mr, nv, j => j == 0 ? "w" : $"w + {j * width}", i => $"x[{s * ps + i}]", GemmEmitter.AccumulatorSet(s));
                        w.WriteLine("w += ldw;");
                        w.CloseBlock();
                    }
                    w.WriteLine($"x += {splits * ps};");
                    w.CloseBlock();
                }
                w.OpenBlock(splits > 1 ? "for (; ch < channels; ch++)" : "for (int ch = 0; ch < channels; ch++)");
                GemmEmitter.EmitStep(w, isa, mr, nv, j => j == 0 ? "w" : $"w + {j * width}", i => $"x[{i}]");
                w.WriteLine($"x += {ps};");
                w.WriteLine("w += ldw;");
                w.CloseBlock();
            }
            GemmEmitter.SumAccumulatorSets(w, mr, nv, splits);
            if (chunked) EmitStorePartial(w, isa, mr, nv);
            if (c.YBlocked) EmitBlockedEpilogue(w, isa, mr, nv, c.Residual, c.Activation);
            else EmitTransposedEpilogue(w, isa, mr, nv, c.Residual, c.Activation, whole);
            w.CloseBlock();
        });
        return name;
    }

    /// <summary>
    /// The tile (bias included) into a channel-blocked Y: per vector j of channels, its block's plane and lane offset,
    /// then per valid pixel one store of acc + R through the activation (exp-based ones in a second pass over the stored
    /// vectors). The vectors of a tile never straddle a block: tiles start at multiples of NR, and NR and the blocks are
    /// multiples of the vector width.
    /// </summary>
    private static void EmitBlockedEpilogue(SourceWriter w, Isa isa, int mr, int nv, bool residual, Activation act)
    {
        int width = isa.Width;
        bool heavy = ActivationEmitter.IsHeavy(act);
        Activation inline = heavy ? Activation.None : act;
        for (int j = 0; j < nv; j++)
        {
            string at = $"((oc0 + {j * width}) >> {BlockShift}) * bs + ((oc0 + {j * width}) & {Block - 1})";
            w.WriteLine($"float* y{j} = y + {at};" + (residual ? $" float* r{j} = r + {at};" : ""));
        }
        string? pro = ActivationEmitter.Prologue(inline, isa);
        if (pro is not null) w.WriteLine(pro);
        for (int i = 0; i < mr; i++)
        {
            w.OpenBlock(i == 0 ? null : $"if (mc > {i})");
            for (int j = 0; j < nv; j++)
            {
                string v = $"acc{i}x{j}" + (residual ? $" + {isa.Load($"r{j} + {i * Block}")}" : "");
                w.WriteLine(isa.Store(ActivationEmitter.Apply(inline, isa, residual ? $"({v})" : v), $"y{j} + {i * Block}"));
            }
            w.CloseBlock();
        }
        if (heavy)
        {
            w.OpenBlock("for (int i = 0; i < mc; i++)");
            for (int j = 0; j < nv; j++) w.WriteLine(isa.Store(ActivationEmitter.Apply(act, isa, isa.Load($"y{j} + i * {Block}")), $"y{j} + i * {Block}"));
            w.CloseBlock();
        }
    }

    /// <summary>
    /// The tile (bias included: the accumulators start from it) transposed into Y (with the residual and activation). In a
    /// whole tile (<paramref name="whole"/>: mc = MR) a group of 8 or 4 valid rows stores each channel's pixels with a plain
    /// 256- or 128-bit store (AMD's masked stores cost several times a plain one: AVX2's 12 x 8 tail tiles into NCHW with a
    /// sigmoid, stand-alone: YOLOX-nano's 64 -&gt; 80 head at 52x52 0.463 -&gt; 0.395 ms, without the activation 0.340 -&gt; 0.321).
    /// </summary>
    private static void EmitTransposedEpilogue(SourceWriter w, Isa isa, int mr, int nv, bool residual, Activation act, bool whole = false)
    {
        int nr = nv * isa.Width;
        bool heavy = ActivationEmitter.IsHeavy(act);
        if (isa.Width == 8 && mr == 4 && !(heavy && residual)) EmitTransposedQuads(w, nv, residual, act);
        if (!isa.IsScalar && isa.HasMaskedMemory && (mr <= 8 || isa.Width == 8 && mr <= 16) && isa.Width % 8 == 0 && !(heavy && residual))
        {
            // Whole channel blocks: 8x8 transposes of 256-bit halves (pixels x channels -> channels x pixels; the rows
            // past MR are zero), then per channel one masked load of the residual, the activation and one masked
            // store of its mc pixels; tiles of 9-16 pixels (256-bit vectors) in two groups of 8 rows.
            w.OpenBlock($"if (nc == {nr})");
            const string Ri = "global::System.Runtime.Intrinsics.", Avx = Ri + "X86.Avx.";
            Isa half = Isa.Avx2;
            string? pro = heavy ? null : ActivationEmitter.Prologue(act, half, "ta");
            if (pro is not null) w.WriteLine(pro);
            if (heavy)
            {
                // Exp-based: over the spilled tile in one call (per-vector calls would clobber the accumulators), then
                // the transposes read the tile back.
                GemmEmitter.SpillAccumulators(w, isa, mr, nv);
                w.WriteLine(ActivationEmitter.InPlace(act, "t", $"{mr * nr}"));
            }
            // Rows of group g a whole tile stores without a mask (8, or 4 through the low 128 bits).
            bool Plain(int g) => whole && System.Math.Min(8, mr - g * 8) is 8 or 4;
            if (!Plain(0)) w.WriteLine($"var sm = {EmitContext.RuntimeNs}.MaskedMemory.FirstLanes256(mc);");
            for (int g = 1; g * 8 < mr; g++)
            {
                if (!Plain(g)) w.WriteLine($"var sm{g} = {EmitContext.RuntimeNs}.MaskedMemory.FirstLanes256(mc - {g * 8});");
            }
            for (int j = 0; j < nv; j++)
            {
                for (int h = 0, g = 0; h < isa.Width / 8; h += g * 8 + 8 < mr ? 0 : 1, g = g * 8 + 8 < mr ? g + 1 : 0)
                {
                    // Rows g x 8 ... g x 8 + 7 (g > 0 only for tiles past 8 pixels): pixels g x 8 on in each channel.
                    string mask = g == 0 ? "sm" : $"sm{g}", at = g == 0 ? "" : $" + {g * 8}";
                    w.OpenBlock();
                    for (int i = 0; i < 8; i++)
                    {
                        int row = g * 8 + i;
                        string q = row >= mr ? Ri + "Vector256<float>.Zero"
                            : heavy ? $"{Ri}Vector256.Load(t + {row * nr + j * isa.Width + h * 8})"
                            : isa.Width == 8 ? $"acc{row}x{j}" : h == 0 ? $"{Ri}Vector512.GetLower(acc{row}x{j})" : $"{Ri}Vector512.GetUpper(acc{row}x{j})";
                        w.WriteLine($"var q{i} = {q};");
                    }
                    for (int i = 0; i < 8; i += 2)
                        w.WriteLine($"var t{i} = {Avx}UnpackLow(q{i}, q{i + 1}); var t{i + 1} = {Avx}UnpackHigh(q{i}, q{i + 1});");
                    for (int i = 0; i < 8; i += 4)
                    {
                        w.WriteLine($"var u{i} = {Avx}Shuffle(t{i}, t{i + 2}, 0x44); var u{i + 1} = {Avx}Shuffle(t{i}, t{i + 2}, 0xEE);");
                        w.WriteLine($"var u{i + 2} = {Avx}Shuffle(t{i + 1}, t{i + 3}, 0x44); var u{i + 3} = {Avx}Shuffle(t{i + 1}, t{i + 3}, 0xEE);");
                    }
                    for (int k = 0; k < 8; k++)
                    {
                        // Channel k of this group: pixels 0-3 from the first four rows' transposition, 4-7 from the others.
                        string col = $"{Avx}Permute2x128(u{k % 4}, u{k % 4 + 4}, {(k < 4 ? "0x20" : "0x31")})";
                        int ch = j * isa.Width + h * 8 + k;
                        string rp = $"r + {ch} * ldy{at}", yp = $"y + {ch} * ldy{at}";
                        if (Plain(g))
                        {
                            bool quad = mr - g * 8 == 4;
                            string rv = quad ? $"{Ri}Vector128.ToVector256Unsafe({Ri}Vector128.Load({rp}))" : half.Load(rp);
                            string pv = residual ? $"{col} + {rv}" : col;
                            string a = heavy ? pv : ActivationEmitter.Apply(act, half, $"({pv})", "ta");
                            w.WriteLine(quad ? $"{Ri}Vector128.Store({Ri}Vector256.GetLower({a}), {yp});" : half.Store(a, yp));
                            continue;
                        }
                        string v = residual ? $"{col} + {half.MaskLoad(rp, mask)}" : col;
                        w.WriteLine(half.MaskStore(heavy ? v : ActivationEmitter.Apply(act, half, $"({v})", "ta"), yp, mask));
                    }
                    w.CloseBlock();
                }
            }
            w.WriteLine("return;");
            w.CloseBlock();
        }
        w.OpenBlock();
        GemmEmitter.SpillAccumulators(w, isa, mr, nv);
        w.OpenBlock("for (int j = 0; j < nc; j++)");
        w.OpenBlock("for (int i = 0; i < mc; i++)");
        w.WriteLine($"float v = t[i * {nr} + j]{(residual ? " + r[j * ldy + i]" : "")};");
        w.WriteLine($"y[j * ldy + i] = {ActivationEmitter.ApplyScalar(act, "v")};");
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
    }

    /// <summary>
    /// Whole 4-pixel tiles of 256-bit vectors (AVX2's 4 x 24): per vector of 8 channels, one 4x4 transpose within each
    /// 128-bit half (channel k in the low half, k + 4 in the high one), the residual's two rows joined into one vector,
    /// the activation, and each half stored as the channel's 4 pixels (plain 128-bit stores: no vperm2f128, no masked
    /// 256-bit stores of half-empty rows).
    /// </summary>
    private static void EmitTransposedQuads(SourceWriter w, int nv, bool residual, Activation act)
    {
        const string Ri = "global::System.Runtime.Intrinsics.", Avx = Ri + "X86.Avx.";
        bool heavy = ActivationEmitter.IsHeavy(act);
        Isa isa = Isa.Avx2;
        w.OpenBlock("if (mc == 4 && nc == " + nv * 8 + ")");
        string? pro = heavy ? null : ActivationEmitter.Prologue(act, isa, "ta");
        if (pro is not null) w.WriteLine(pro);
        if (heavy)
        {
            GemmEmitter.SpillAccumulators(w, isa, 4, nv);
            w.WriteLine(ActivationEmitter.InPlace(act, "t", $"{4 * nv * 8}"));
        }
        for (int j = 0; j < nv; j++)
        {
            w.OpenBlock();
            for (int i = 0; i < 4; i++) w.WriteLine($"var q{i} = {(heavy ? $"{Ri}Vector256.Load(t + {i * nv * 8 + j * 8})" : $"acc{i}x{j}")};");
            w.WriteLine($"var t0 = {Avx}UnpackLow(q0, q1); var t1 = {Avx}UnpackHigh(q0, q1); var t2 = {Avx}UnpackLow(q2, q3); var t3 = {Avx}UnpackHigh(q2, q3);");
            w.WriteLine($"var u0 = {Avx}Shuffle(t0, t2, 0x44); var u1 = {Avx}Shuffle(t0, t2, 0xEE); var u2 = {Avx}Shuffle(t1, t3, 0x44); var u3 = {Avx}Shuffle(t1, t3, 0xEE);");
            for (int k = 0; k < 4; k++)
            {
                int lo = j * 8 + k, hi = lo + 4;
                string v = $"u{k}";
                if (residual) v = $"({v} + {Ri}Vector256.Create({Ri}Vector128.Load(r + {lo} * ldy), {Ri}Vector128.Load(r + {hi} * ldy)))";
                if (!heavy) v = ActivationEmitter.Apply(act, isa, v, "ta");
                w.WriteLine($"var o{k} = {v};");
                w.WriteLine($"{Ri}Vector128.Store({Ri}Vector256.GetLower(o{k}), y + {lo} * ldy); {Ri}Vector128.Store({Ri}Vector256.GetUpper(o{k}), y + {hi} * ldy);");
            }
            w.CloseBlock();
        }
        w.WriteLine("return;");
        w.CloseBlock();
    }

    /// <summary>A chunked kernel's start: with mode bit 0, the accumulators from the partial sums in part (MR x NR floats).</summary>
    private static void EmitLoadPartial(SourceWriter w, Isa isa, int mr, int nv)
    {
        w.OpenBlock("if ((mode & 1) != 0)");
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nv; j++) w.WriteLine($"acc{i}x{j} = {isa.Load($"part + {i * nv * isa.Width + j * isa.Width}")};");
        w.CloseBlock();
    }

    /// <summary>A chunked kernel's end: without mode bit 1, the accumulators back into the partial sums, and return.</summary>
    private static void EmitStorePartial(SourceWriter w, Isa isa, int mr, int nv)
    {
        w.OpenBlock("if ((mode & 2) == 0)");
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nv; j++) w.WriteLine(isa.Store($"acc{i}x{j}", $"part + {i * nv * isa.Width + j * isa.Width}"));
        w.WriteLine("return;");
        w.CloseBlock();
    }

    /// <summary>
    /// The shared micro-kernel of one window geometry (Winograd's transformed GEMMs: one tap at offset 0): per input
    /// channel of a chunk, the taps unrolled at the layer's build-time plane offsets and panel rows (no offset table, no
    /// tap loop: 19 instructions per 12 FMAs on AVX2's 4 x 24 where a looped kernel takes 24); the accumulators start
    /// from the bias or the partial sums and end in the epilogue or back in the partial sums (mode 2: one chunk).
    /// </summary>
    internal static string RequireTapsKernel(Isa isa, int mr, int nv, bool bias, bool residual, Activation act, IReadOnlyList<long> offsets, int panel, EmitContext ctx)
    {
        int width = isa.Width, nr = nv * width, taps = offsets.Count;
        ulong h = Hashing.Combine(Hashing.Start, (ulong)panel);
        foreach (long o in offsets) h = Hashing.Combine(h, (ulong)o);
        int sets = ctx.Profile.ChannelSets(isa, mr, nv);
        string name = $"F32ConvChannels_{mr}x{nr}{(sets > 1 ? $"k{sets}" : "")}_{taps}t{(uint)(h ^ (h >> 32)):x8}" + GemmEmitter.EpilogueSuffix(bias ? "_Bias" : "", residual, act, isa);
        ctx.RequireHelper(name, w =>
        {
            w.WriteLine($"/// <summary>{mr} pixels x {nr} output channels, fp32, {isa.Name}, one chunk of the input channels: Y = act(sum over channels and taps of X x W + bias + R), stored transposed.</summary>");
            w.WriteLine($"/// <remarks>Pixel i reads x + pix[i] + c * cs + ({string.Join(", ", offsets)})[t]; W rows of the panel every {panel} floats; Y (and R) [channel][pixel], channels every ldy; mc/nc valid pixels/channels. " +
                "mode bit 0: start from the partial sums in part (else from the bias), bit 1: finish through the epilogue (else store the partial sums).</remarks>");
            w.WriteLine(EmitContext.MethodImpl);
            w.WriteLine(EmitContext.SkipLocalsInit);
            w.OpenBlock($"private static void {name}(float* x, nint cs, int channels, int* pix, float* w, float* bias, float* y, nint ldy, float* r, int mc, int nc, float* part, int mode)");
            GemmEmitter.DeclareAccumulators(w, isa, mr, nv, bias ? GemmBias.PerColumn : GemmBias.None);
            GemmEmitter.DeclareAccumulatorSets(w, isa, mr, nv, sets);
            EmitLoadPartial(w, isa, mr, nv);
            for (int i = 0; i < mr; i++) w.WriteLine($"float* x{i} = x + pix[{i}];");
            // Windows of one or two taps (1x1 stride-2 layers, Winograd's channel-layout GEMMs): four channels per
            // iteration, so the loop's pointer steps and branch do not crowd the 12 FMAs of a step out of the front end
            // (a 2-FMA core: ResNet-18's 256 -> 512 downsample 0.190-0.196 -> 0.178-0.181 ms, its 7x7 Winograd layers 3-4%).
            // Every tap of `count` consecutive channels (channel u at x_i[cx[u] + offset]), then the pointers past them.
            string[] cx = { "", "cs + ", "cs2 + ", "cs3 + " };
            void Channels(int count)
            {
                for (int u = 0; u < count; u++)
                {
                    for (int t = 0; t < taps; t++)
                    {
                        w.OpenBlock();
                        int step = u * taps + t;
                        GemmEmitter.EmitStep(w, isa, mr, nv, j => step * panel + j * width == 0 ? "w" : $"w + {step * panel + j * width}", i => $"x{i}[{cx[u]}{offsets[t]}]", GemmEmitter.AccumulatorSet(step % sets));
                        w.CloseBlock();
                    }
                }
                w.WriteLine($"w += {count * taps * panel};");
                for (int i = 0; i < mr; i++) w.WriteLine(count == 1 ? $"x{i} += cs;" : $"x{i} += cs * {count};");
                w.CloseBlock();
            }
            int unroll = taps <= 2 ? cx.Length : 1;
            if (unroll > 1)
            {
                w.WriteLine("int ch = 0;");
                w.WriteLine("nint cs2 = cs * 2, cs3 = cs * 3;");
                w.OpenBlock($"for (; ch + {unroll} <= channels; ch += {unroll})");
                Channels(unroll);
            }
            w.OpenBlock(unroll > 1 ? "for (; ch < channels; ch++)" : "for (int ch = 0; ch < channels; ch++)");
            Channels(1);
            GemmEmitter.SumAccumulatorSets(w, mr, nv, sets);
            EmitStorePartial(w, isa, mr, nv);
            EmitTransposedEpilogue(w, isa, mr, nv, residual, act);
            w.CloseBlock();
        });
        return name;
    }
}

/// <summary>
/// Where a spatial channel-vectorised convolution reads its input. The tiles broadcast single values, so a strided tap
/// needs no phase split when every input pixel is read: output pixel (oy, ox) starts at oy * RowStep + ox * ColumnStep and
/// each tap adds its <see cref="TapOffset"/>. Without padding the tiles read X in place; with padding each channel is
/// copied once with it (the window at stride 1 over the padded input: a row copy per input row). Splitting a stride-2
/// input into four phase planes took a strided copy and two fills per phase row: 0.15 ms of each of ResNet-18's 3x3
/// stride-2 layers (1.3-1.8 ms on the AVX2 path). A window that skips input pixels (a 1x1 stride-2 downsample) keeps
/// the compact stride phases it reads: read in place, its broadcasts touched four times the lines (0.18-0.23 -> 0.21-0.26 ms).
/// </summary>
internal sealed record InputPlane(InputPlane.Source Kind, long RowStep, int ColumnStep, long ChannelStride, ConvGeometry SplitGeometry, PhasePlanes? Copy)
{
    public enum Source { InPlace, Padded, Phases }

    public static InputPlane Of(ConvGeometry g)
    {
        PhasePlanes phases = PhasePlanes.Plan(g);
        if (phases.Used.Count < g.StrideH * g.StrideW) return new InputPlane(Source.Phases, phases.Wq, 1, phases.PlaneStride, g, phases);
        ConvGeometry g1 = g with { StrideH = 1, StrideW = 1, OutH = (g.OutH - 1) * g.StrideH + 1, OutW = (g.OutW - 1) * g.StrideW + 1 };
        bool unpadded = g.PadTop == 0 && g.PadLeft == 0 &&
            (g.OutH - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH < g.InH && (g.OutW - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW < g.InW;
        if (unpadded) return new InputPlane(Source.InPlace, (long)g.StrideH * g.InW, g.StrideW, (long)g.InH * g.InW, g1, null);
        PhasePlanes p = PhasePlanes.Plan(g1);
        return new InputPlane(Source.Padded, (long)g.StrideH * p.Wq, g.StrideW, p.PlaneStride, g1, p);
    }

    public bool InPlace => Kind == Source.InPlace;

    /// <summary>Offset of tap (kh, kw) from an output pixel's start.</summary>
    public long TapOffset(ConvGeometry g, int kh, int kw) =>
        Copy is not null ? Copy.Offset(SplitGeometry, kh, kw) : (long)kh * g.DilationH * g.InW + kw * g.DilationW;

    public string Remark => Kind switch
    {
        Source.InPlace => "input planes read in place (no padding; the tiles' stride in their pixel offsets)",
        Source.Padded => "input planes copied with their padding (the tiles' stride in their pixel offsets)",
        _ => $"input planes split into {Copy!.Used.Count} padded phase(s)",
    };
}
