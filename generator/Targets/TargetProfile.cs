// Licensed under the MIT license.
// Target profiles as data: which ISA paths the generated code carries, and the tile shapes per kernel family.

using System;
using System.Collections.Generic;

namespace ModelGen.Generator.Targets;

/// <summary>GEMM tile for one ISA: MR rows (shared by all ISAs, it fixes the weight packing) and NV vectors of columns.</summary>
internal sealed record GemmTile(Isa Isa, int MR, int NV)
{
    public int NR => NV * Isa.Width;

    /// <summary>
    /// Rows per pass (0: all MR in one): a tile of MR rows computed as MR / PassRows passes over the same B columns, each
    /// with PassRows x NV accumulators reading its rows of the MR-row weight panel (fewer registers than MR x NV).
    /// </summary>
    public int PassRows { get; init; }

    public bool Split => PassRows > 0 && PassRows < MR;

    /// <summary>The kernel-name part of one pass of a split tile: "4of8x24" (4 of the panel's 8 rows, 24 columns).</summary>
    public string PassShape => $"{PassRows}of{MR}x{NR}";

    /// <summary>"8x24" or, in passes, "8x24 in 2 passes of 4 rows".</summary>
    public string Describe() => $"{MR}x{NR}" + (Split ? $" in {MR / PassRows} passes of {PassRows} rows" : "");
}

/// <summary>A target profile: ISA dispatch order, tiles and enabled fusions.</summary>
internal sealed record TargetProfile
{
    public required string Name { get; init; }
    /// <summary>ISA branches in dispatch order; the last one must be <see cref="Isa.Scalar"/>.</summary>
    public required IReadOnlyList<Isa> Isas { get; init; }
    /// <summary>Rows of the packed weight panels (GEMM MR), common to every ISA path.</summary>
    public required int GemmMR { get; init; }
    /// <summary>Column vectors per GEMM tile, per ISA (same order as <see cref="Isas"/>).</summary>
    public required IReadOnlyList<int> GemmNV { get; init; }
    /// <summary>Column width of packed-B weight panels (Gemm/MatMul with constant B); a multiple of every ISA width.</summary>
    public required int PackedBNR { get; init; }
    /// <summary>
    /// Layers with at least this many multiply-accumulates (convolutions, GEMMs, depthwise and pooling filters) are split
    /// across the instance's workers when it was constructed with a degree of parallelism above 1; smaller layers run on
    /// the calling thread (a fork-join costs a few microseconds).
    /// </summary>
    public long ParallelMinMacs { get; init; } = 300_000;
    /// <summary>
    /// Layers that only move or combine elements (strided copies and transposes, concatenation copies, element-wise
    /// operations) with at least this many output elements are split across the workers too (0: never). They run at
    /// memory speed, so without the split the second core idles through them, and the calling thread reads the half of
    /// their input that the other core's caches hold. x64: 65536 (256 KB of floats, ~10 us at memory speed, against a
    /// fork-join of about a microsecond). YOLOX-nano with 2 threads (two builds alternated, 6 rounds): whole runs 8.84 ->
    /// 8.44 ms at best, 9.33 -> 9.02 median; its Focus slices 0.154 -> 0.084 ms, its output transpose 0.155 -> 0.078; one
    /// thread unchanged (15.39 -> 15.28 at best).
    /// </summary>
    public long ParallelMinElements { get; init; }
    public bool FuseBatchNorm { get; init; } = true;
    public bool FuseActivations { get; init; } = true;
    /// <summary>A per-channel scale of a 1x1 convolution's input folds into its weights at run time (Passes/FoldChannelScale).</summary>
    public bool FoldChannelScale { get; init; } = true;
    /// <summary>
    /// The Winograd output tiles the cost model chooses from for 3x3 stride-1 convolutions (needs a zip per vector ISA;
    /// empty: none): 2 (F(2x2, 3x3), 16 products per 4 outputs) and 4 (F(4x4, 3x3), 36 per 16: 1.78x fewer, larger
    /// transforms, about 10x the rounding error of F(2x2, 3x3); see docs/performance.md).
    /// </summary>
    public IReadOnlyList<int> WinogradTiles { get; init; } = Array.Empty<int>();

    /// <summary>3x3 stride-1 convolutions may lower to Winograd where the cost model favours it.</summary>
    public bool Winograd => WinogradTiles.Count > 0;

    /// <summary>
    /// Register-blocked tiles that store straight into a layer output of at least this many bytes prefetch their
    /// destination lines when the tile starts (0: never). A tile writes MR rows in MR different output planes; a large
    /// early layer has dozens of such write streams, more than the hardware prefetcher follows, and every store then
    /// waits for its line (read for ownership) from memory. The prefetch overlaps that read with the tile's arithmetic.
    /// </summary>
    public long OutputPrefetchBytes { get; init; }

    /// <summary>
    /// A GEMM reading B in place (row-major, a 1x1 convolution's NCHW input) whose column panel (K rows x the lines of NR
    /// floats) exceeds twice this many bytes runs K in chunks within it: per column tile, each chunk over all its row tiles, the
    /// partial sums in C (0: never).
    /// </summary>
    public int GemmKBlockBytes { get; init; }

    /// <summary>
    /// Rows of the alternative weight panels for convolutions (1x1 GEMM and direct) whose output channels are a multiple
    /// of it, up to <see cref="AltGemmMaxM"/> (0: none): 16 or 32 channels in 6-row panels compute 18 or 36 rows, 12.5%
    /// of the work for nothing; where both fit, the AVX2 8-row tile (7 loads per 12 FMAs, against 8 for 6 x 16) measured
    /// faster (MobileNetV2's 96 -> 24 at 56x56 stand-alone, 10th percentile 0.63 -> 0.53-0.57 ms; see the profile).
    /// </summary>
    public int AltGemmMR { get; init; }
    public int AltGemmMaxM { get; init; }
    /// <summary>Column vectors per tile with <see cref="AltGemmMR"/> rows, per ISA.</summary>
    public IReadOnlyList<int> AltGemmNV { get; init; } = Array.Empty<int>();
    /// <summary>Rows per pass of an <see cref="AltGemmMR"/>-row tile, per ISA (0: one pass); see <see cref="GemmTile.PassRows"/>.</summary>
    public IReadOnlyList<int> AltGemmPassRows { get; init; } = Array.Empty<int>();

    /// <summary>
    /// Rows of the weight panels for convolutions with at most this many output channels (per group), 0: none. Three
    /// output channels (an RGB image at the end of a style-transfer or super-resolution network) in 6-row panels compute
    /// 6 rows, half of them for nothing; 3-row panels take wider tiles instead (<see cref="SmallNV"/>).
    /// </summary>
    public int SmallMR { get; init; }
    /// <summary>Column vectors per tile with <see cref="SmallMR"/> rows, per ISA.</summary>
    public IReadOnlyList<int> SmallNV { get; init; } = Array.Empty<int>();

    /// <summary>The panel rows for a packed convolution (1x1 GEMM or direct) with <paramref name="m"/> output channels per group.</summary>
    public int GemmMRFor(int m) =>
        SmallMR > 0 && m <= SmallMR ? SmallMR
        : AltGemmMR > 0 && m % AltGemmMR == 0 && m <= AltGemmMaxM ? AltGemmMR : GemmMR;

    /// <summary>The tile of an ISA path for weight panels of <paramref name="mr"/> rows.</summary>
    public GemmTile Tile(int isaIndex, int mr) =>
        mr == GemmMR ? Tile(isaIndex)
        : mr == SmallMR ? new(Isas[isaIndex], mr, SmallNV[isaIndex])
        : new(Isas[isaIndex], mr, AltGemmNV[isaIndex]) { PassRows = AltGemmPassRows.Count > isaIndex ? AltGemmPassRows[isaIndex] : 0 };

    public GemmTile Tile(int isaIndex) => new(Isas[isaIndex], GemmMR, GemmNV[isaIndex]);

    /// <summary>The widest column tile over the ISA paths for panels of <paramref name="mr"/> rows: the floats per K row of a packed B panel in scratch.</summary>
    public int WidestNR(int mr)
    {
        int nr = 0;
        for (int i = 0; i < Isas.Count; i++) nr = Math.Max(nr, Tile(i, mr).NR);
        return nr;
    }

    /// <summary>
    /// Per ISA: output channels per packed weight panel of the channel-vectorised convolutions (empty: not used), a whole
    /// number of that ISA's tiles. The weights are packed at construction in the panels of the ISA the machine has, so a
    /// tile reads whole contiguous rows (AVX2's 24-channel tile read half of every 48-float row: two of its three lines).
    /// </summary>
    public IReadOnlyList<int> ChannelPanels { get; init; } = Array.Empty<int>();

    /// <summary>The first ISA's panel (0: channel-vectorised convolutions not used): the lowering decisions are made for it.</summary>
    public int ChannelPanel => ChannelPanels.Count == 0 ? 0 : ChannelPanels[0];

    /// <summary>
    /// The panel of the ISA path the generated code takes on this machine, as a C# expression evaluated at construction
    /// (the same constant-folded guards as the layers' branches).
    /// </summary>
    public string ChannelPanelAtConstruction()
    {
        // From the last ISA back; ISAs ahead of a constant tail with the same panel need no guard.
        int tail = ChannelPanels.Count - 1;
        while (tail > 0 && ChannelPanels[tail - 1] == ChannelPanels[tail]) tail--;
        string expr = ChannelPanels[tail].ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (int i = tail - 1; i >= 0; i--) expr = $"({Isas[i].Guard} ? {ChannelPanels[i]} : {expr})";
        return expr;
    }

    /// <summary>Floats of <paramref name="rows"/> rows rounded up to whole panels, the most over the ISA paths (what the packed block reserves).</summary>
    public long ChannelPanelRows(long rows)
    {
        long most = 0;
        foreach (int p in ChannelPanels) most = Math.Max(most, (rows + p - 1) / p * p);
        return most;
    }

    /// <summary>Per ISA: pixels x vectors of the channel-vectorised tile (its vectors cover part or all of a panel).</summary>
    public IReadOnlyList<int> ChannelTileMR { get; init; } = Array.Empty<int>();
    public IReadOnlyList<int> ChannelTileNV { get; init; } = Array.Empty<int>();

    /// <summary>
    /// Per ISA: pixels of a channel-blocked 1x1's tile in a block with one vector of output channels left (a multiple of
    /// the ISA's <see cref="ChannelTileMR"/>; equal: no wider tile). Such a tile keeps as many accumulators as a whole
    /// one, one weight load per that many FMAs, where an MR-pixel tile of one vector loads a weight vector per MR FMAs.
    /// </summary>
    public IReadOnlyList<int> ChannelTailMR { get; init; } = Array.Empty<int>();

    /// <summary>
    /// Per ISA: the narrower panel and tile vectors a channel-vectorised layer (not Winograd) takes when its output
    /// channels fill whole narrow panels but not whole wide ones (<see cref="NarrowsChannelPanels"/>); equal to
    /// <see cref="ChannelPanels"/> and <see cref="ChannelTileNV"/>: never.
    /// </summary>
    public IReadOnlyList<int> ChannelNarrowPanels { get; init; } = Array.Empty<int>();
    public IReadOnlyList<int> ChannelNarrowTileNV { get; init; } = Array.Empty<int>();

    /// <summary>Output planes of at most this many pixels take the narrow panels whenever the wide ones leave a partial last block (see <see cref="NarrowsChannelPanels"/>).</summary>
    public long ChannelNarrowMaxPixels { get; init; }

    /// <summary>
    /// Whether a channel-vectorised layer with <paramref name="outChannels"/> output channels over <paramref name="pixels"/>
    /// output pixels takes the narrow panels: on some ISA whose narrow panel differs, its channels fill whole narrow
    /// panels, and leave one vector in the last wide block, or (planes up to <see cref="ChannelNarrowMaxPixels"/>) any
    /// partial last wide block.
    /// </summary>
    public bool NarrowsChannelPanels(int outChannels, long pixels)
    {
        for (int i = 0; i < ChannelNarrowPanels.Count && i < ChannelPanels.Count; i++)
        {
            int wide = ChannelPanels[i], narrow = ChannelNarrowPanels[i];
            if (narrow != wide && outChannels % narrow == 0 &&
                (outChannels % wide == Isas[i].Width || (outChannels % wide != 0 && pixels <= ChannelNarrowMaxPixels))) return true;
        }
        return false;
    }

    /// <summary>This profile with the narrow channel panels and tiles in place of the wide ones (<paramref name="narrow"/>), else itself.</summary>
    public TargetProfile WithChannelPanels(bool narrow) =>
        narrow ? this with { ChannelPanels = ChannelNarrowPanels, ChannelTileNV = ChannelNarrowTileNV } : this;

    /// <summary>The pixels of ISA <paramref name="index"/>'s one-vector tail tiles (its MR when the profile has none wider).</summary>
    public int ChannelTailPixels(int index) => index < ChannelTailMR.Count ? ChannelTailMR[index] : ChannelTileMR[index];

    /// <summary>
    /// Independent FMA chains a channel-vectorised kernel keeps in flight (FMA latency x FMA pipes; 0: no minimum). A
    /// narrower tile (a block's channel tail, a plane's pixel tail) deals its FMAs round-robin to as many accumulator sets
    /// as reach it, summed before the epilogue.
    /// </summary>
    public int ChannelChains { get; init; }

    /// <summary>Accumulator sets of an MR x NV channel-vectorised tile on <paramref name="isa"/> (see <see cref="ChannelChains"/>; at most 4).</summary>
    public int ChannelSets(Isa isa, int mr, int nv) =>
        isa.IsScalar || ChannelChains == 0 ? 1 : Math.Min(4, (ChannelChains + mr * nv - 1) / (mr * nv));

    /// <summary>
    /// Depthwise convolutions with output rows at most this wide (and channels a multiple of 16) put the channels in the
    /// vector lanes (Emit/DepthwiseChannelsEmitter) instead of the pixels of a row (0: never); so do stride-1 ones with
    /// rows up to <see cref="DepthwiseChannelsWideOutW"/> and windows of at least <see cref="DepthwiseChannelsWideMinTaps"/> taps.
    /// </summary>
    public int DepthwiseChannelsMaxOutW { get; init; }
    public int DepthwiseChannelsWideOutW { get; init; }
    public int DepthwiseChannelsWideMinTaps { get; init; }
    /// <summary>
    /// Direct convolutions (row mode) whose phase planes would exceed twice this many bytes run in bands of output rows
    /// whose phase planes take at most about this many (0: never): the planes of a band are written and read while they
    /// are in L2, instead of a whole-input copy that goes out to memory and comes back.
    /// </summary>
    public long DirectBandBytes { get; init; }

    /// <summary>
    /// 1x1 convolutions (GEMM) with at least this many input channels (K) and <see cref="PackedBMinRowTiles"/> row tiles
    /// copy each column tile of their input into a contiguous panel once, for all row tiles, instead of reading it in
    /// place at the plane's pitch (0: never). The copy costs one pass over the input; it pays when many row tiles read it.
    /// </summary>
    public int PackedBMinK { get; init; }
    public int PackedBMinRowTiles { get; init; }

    /// <summary>Rows up to this wide take the lanes too when an exp-based activation (SiLU, Sigmoid, Tanh) follows.</summary>
    public int DepthwiseChannelsExpOutW { get; init; }

    /// <summary>
    /// Activations of at most this many pixels per plane (channels a multiple of 16) between kernels that can read and
    /// write them channel-blocked are stored [N][C/16][H][W][16] (Passes/BlockedLayout; 0: never): the 1x1 and depthwise
    /// kernels of those planes put the channels in the vector lanes, and the blocked layout spares them the transposes in
    /// and out of channel planes.
    /// </summary>
    public int BlockedMaxPixels { get; init; }

    /// <summary>
    /// Max and average pools with output planes up to this many pixels run as a direct loop (taps unrolled inside the
    /// input) instead of the phase-plane filter: MNIST's 3x3 stride-3 pool to 4x4 spent 15 us of the model's 65 in nine
    /// phase copies and fills per plane, for 2304 maxima.
    /// </summary>
    public int DirectPoolMaxPixels { get; init; }

    /// <summary>
    /// Spatial convolutions with fewer output channels than a channel panel (but at least one vector) may still take the
    /// channel-vectorised kernel when their output plane has at most this many pixels.
    /// </summary>
    public int ChannelPartialPanelMaxPixels { get; init; }

    /// <summary>
    /// Spatial channel-vectorised convolutions whose weight block (input channels x taps x one tile's channels) exceeds
    /// <see cref="ChannelSplitMinBytes"/> accumulate over chunks of input channels whose block takes at most about
    /// <see cref="ChannelSplitBytes"/> (0: never), the partial sums of a group of pixel tiles kept in the worker's stack: a
    /// chunk's weights stay in L1 for all the group's tiles, where the whole block was re-read from L2 or L3 for every tile.
    /// x64: 24 KB / 12 KB (were 64 / 16, sized on a VM whose QEMU CPU model reported invented caches). On a Zen 3 core (32
    /// KB L1) ResNet-18's 64 -> 128 3x3 stride 2 (55 KB AVX2 block, unsplit) 1.64 -> 1.44 ms, ONNX Runtime 1.27-1.29;
    /// 16 / 8 and 32 / 16 within 3% of it on the three stride-2 layers.
    /// </summary>
    public int ChannelSplitMinBytes { get; init; }
    public int ChannelSplitBytes { get; init; }

    /// <summary>
    /// Split channel-vectorised convolutions with more weights than this prefetch each next chunk's weights while the
    /// group's tiles run the current one (0: never). x64: 1 MB. On a Zen 3 core (512 KB L2), stand-alone: ResNet-18's 256
    /// -> 512 3x3 stride 2 (4.7 MB) 1.48-1.50 -> 1.38 ms; its 128 -> 256 (1.2 MB) within 2% either way, its 64 -> 128
    /// (295 KB, L2-resident) 2% slower with it.
    /// </summary>
    public long ChannelPrefetchMinBytes { get; init; }

    /// <summary>
    /// 1x1 channel-vectorised layers that sweep the pixel tiles innermost (a blocked input with more output channels than
    /// pixels, or every pixel tile packed first) prefetch the next weight block over the current block's pixel tiles when a
    /// block (input channels x panel floats) is at most this many bytes (0: never). x64: 32 KB. In the models (a block's
    /// weights come from L3 or memory on each inference; its first pixel tile waited on them): EfficientNet-B0's 192 ->
    /// 1152 at 7x7 0.272 -> 0.251 ms, MobileNetV2's 160 -> 960 0.178 -> 0.165 ms, ShuffleNetV2's 232 -> 232 at 7x7 and
    /// YOLOX's packed 128- and 256-input layers 1-3%. Larger blocks (1152 -> 192: 110 KB) crowd the current block and the
    /// input out of L2: 6% slower with a cold cache.
    /// </summary>
    public int ChannelPrefetchNextBlockBytes { get; init; }

    /// <summary>
    /// A 1x1 that reads an NCHW input and writes the channel-blocked layout (the first layer of a blocked region) runs as
    /// the pixel GEMM, each column tile's outputs transposed into the blocked layout from the worker's scratch, when it has
    /// at most <see cref="GemmBlockedMaxChannels"/> output channels and <see cref="GemmBlockedMaxK"/> input channels (0:
    /// never); the others take the channel-vectorised 1x1, which packs its input channel-major first. x64: 64 and 128. In
    /// YOLOX-nano (3 alternated runs, the 30th percentile): 64 -&gt; 64 at 52x52 + SiLU 0.342 -&gt; 0.307 ms, 32 -&gt; 32 at 52x52
    /// 0.121 -&gt; 0.097, 128 -&gt; 64 at 26x26 0.155 -&gt; 0.143, 64 -&gt; 64 at 26x26 0.084 -&gt; 0.078. Stand-alone, more output
    /// channels transpose more per MAC (24 -&gt; 144 at 56x56 0.436 -&gt; 0.456, 128 -&gt; 256 at 13x13 0.133 -&gt; 0.139) and
    /// longer K gains less from skipping the pack (256 -&gt; 64 at 26x26 0.285 -&gt; 0.300, 512 -&gt; 256 at 13x13 0.487 -&gt; 0.576).
    /// </summary>
    public int GemmBlockedMaxChannels { get; init; }
    public int GemmBlockedMaxK { get; init; }

    /// <summary>Pixel tiles per group of a split channel-vectorised convolution (their partial sums stay in L1).</summary>
    public int ChannelSplitTiles { get; init; }

    /// <summary>
    /// A layer whose output of at least this many bytes only one row-by-row layer reads is fused with it (Passes/RingFusion;
    /// 0: never): a 1x1 expansion into a depthwise convolution, a row-mode direct convolution into a max pool. The
    /// producer's rows are computed a band at a time into a ring of rows per channel of at most about
    /// <see cref="RingFusionRingBytes"/>, and the consumer's rows read them there, while they are in L2.
    /// </summary>
    public long RingFusionMinBytes { get; init; }
    public long RingFusionRingBytes { get; init; }

    public static readonly TargetProfile X64 = new()
    {
        Name = "x64",
        Isas = new[] { Isa.Avx512, Isa.Avx2, Isa.Scalar },
        // 6 rows x 4 zmm = 24 accumulators (of 32 zmm); 6 x 2 ymm = 12 (of 16 ymm); scalar 6 x 4.
        GemmMR = 6,
        GemmNV = new[] { 4, 2, 4 },
        // 8 rows x 3 zmm = 24 accumulators; AVX2 8 x 3 ymm in two passes of 4 x 3 (12 of 16 ymm: 7 loads per 12 FMAs,
        // where one pass of 8 x 1 takes 9 per 8 and measured 83% of the 4 x 3 rate with its data in L1); scalar 8 x 2.
        // Up to 160 channels (AVX2-only machine, per layer against the 6 x 16 tiles): MobileNetV2's 16 -> 96 at 112x112
        // 1.62-1.66 -> 1.44-1.54 ms, 24 -> 144 at 56x56 0.66-0.75 -> 0.62-0.64, YOLOX-nano's 64- and 128-row GEMMs 0-13%
        // faster, ResNet-18's 7x7 stem 7.03 -> 6.76; SqueezeNet's 512 -> 1000 equal (so larger M keeps 6 rows).
        AltGemmMR = 8,
        AltGemmMaxM = 160,
        AltGemmNV = new[] { 3, 3, 2 },
        AltGemmPassRows = new[] { 0, 4, 0 },
        // 3 rows x 8 zmm = 24 accumulators; 3 x 4 ymm = 12; scalar 3 x 8.
        SmallMR = 3,
        SmallNV = new[] { 8, 4, 8 },
        PackedBNR = 64,
        WinogradTiles = new[] { 2, 4 },
        // 7 pixels x 3 zmm (21 accumulators): a 7x7 plane is 7 whole tiles; AVX2 4 x 3 ymm (12 accumulators, 7 loads per 12
        // FMAs; a panel is 2 blocks of 24): against 6 x 2 on the AVX2-only machine (stand-alone, 10th percentile) the 7x7
        // 512-channel Winograd layer 8.5 -> 5.6-5.8 ms (its 16 tiles are 4 groups of 4, not 6 + 6 + 4), 1x1 7x7 layers equal
        // within noise, the 3x3 direct channel-vectorised layers 0-8% slower (not chosen where Winograd is); scalar 1 x 16.
        // Panels: AVX-512 one tile of 48, AVX2 one tile of 24 (was two tiles of a 48-panel, each reading half of every
        // row; on a Zen 3 core, stand-alone against 48: ResNet-18's 3x3 stride-2 layers 3-6% faster, MobileNetV2's 7x7 1x1
        // layers 10%, the 7x7 512-channel Winograd layer 2.64 -> 2.27 ms), scalar 3 tiles of 8.
        ChannelPanels = new[] { 48, 24, 24 },
        ChannelTileMR = new[] { 7, 4, 1 },
        ChannelTailMR = new[] { 7, 12, 1 },
        ChannelTileNV = new[] { 3, 3, 8 },
        // AVX2 4 x 16 (8 accumulators, 6 loads per 8 FMAs) where 24-channel panels would end in a block of 8 channels
        // (32, 80, 128, 320, 512, 1280 outputs), whose 4-pixel tile runs half the FMA rate, and on planes of up to 13x13
        // where they would end in a block of 16 (64, 160, 256, 1024). In the models (two builds alternated, 6 rounds,
        // best per layer), every layer on 16-channel panels against 24: MobileNetV2's 960 -> 320 at 7x7 0.375 -> 0.338 ms
        // and 144/192 -> 32 at 28x28 8-9% faster, YOLOX-nano's 256 -> 128 at 13x13 6-8%, EfficientNet-B0's 320 -> 1280
        // 5%, ResNet-18's 3x3 stride-2 64 -> 128 3%; but ResNet-18's 256- and 512-channel Winograd layers 7-11% slower,
        // outputs of 24, 40 and 112 channels 6-14% slower, 192 and 480 equal or slower. Then (8 rounds) the 16-channel
        // blocks on small planes: YOLOX-nano's 512 -> 256 at 13x13 0.534 -> 0.493 ms, ShuffleNetV2's 464 -> 1024 at 7x7
        // 0.564 -> 0.528, MobileNetV2's 960 -> 160 and 576 -> 160 4-5% faster; at 14x14 (384 -> 64, 672 -> 112) 0-2% slower.
        ChannelNarrowPanels = new[] { 48, 16, 24 },
        ChannelNarrowTileNV = new[] { 3, 2, 8 },
        ChannelNarrowMaxPixels = 169,
        // 4-cycle FMA latency x 2 FMA pipes (Zen 3-5, Intel since Skylake): AVX2's 4-pixel tile of one vector (the 8-channel
        // tail of 80, 128, 320 or 512 channels) runs 4 chains, half the FMA rate.
        ChannelChains = 8,
        // Half of one core's L2 (1 MiB on Zen 4/5): such an output shares L2 with its inputs and arrives cold. Measured in
        // a stand-alone harness, cold/warm caches: 3-channel stems (1.2-3.2 MB) 11-20% faster cold, unchanged warm; 1x1
        // layers with 800 KB and 600 KB outputs 6-15% faster cold and 0-7% warm; a 300 KB output (14x14x384) 10-25% faster
        // cold but 0-8% slower warm, hence the threshold.
        OutputPrefetchBytes = 512 << 10,
        // Half of a 32 KB L1. Stand-alone 1x1 GEMMs M=64 N=169 (SqueezeNet's squeezes) on the AVX2 path, B panels of 24
        // columns (2-3 lines per row): K=128 at 83% of peak, 256 at 77%, 512 at 72%; in chunks of 64-85 rows 512 and 384
        // at 82%; 8 KB chunks 3-6% slower than 16 KB, 24 KB equal.
        GemmKBlockBytes = 16 << 10,
        // Half of L2. Stand-alone (fns-candy's 16 -> 32 and 32 -> 64 3x3 stride-2 layers, 10th percentile): whole-input
        // split 27.4-28.6 and 19.9-20.3 ms; bands within 256 KB 20.8 and 17.8-18.1, 512 KB 19.4 and 17.0, 1 MB 19.2 and 17.0.
        DirectBandBytes = 512 << 10,
        // Measured on the AVX2 path (AVX2-only machine; stand-alone layer, 10th percentile): SqueezeNet's 512 -> 1000 at
        // 13x13 (167 row tiles) 5.36-5.79 -> 4.99-5.15 ms (ONNX Runtime 4.81-5.28); 128 -> 16 at 55x55 (2 row tiles)
        // 0.72-0.86 -> 1.70 ms, 96 -> 24 at 56x56 0.56-0.68 -> 1.08 ms: the copy is not paid back by few row tiles.
        PackedBMinK = 256,
        PackedBMinRowTiles = 32,
        // Measured per layer against the row kernel (EfficientNet-B0, MobileNetV2; one thread, 10th percentile): 7-wide
        // rows (7 of 16 lanes) 1.15-2.4x faster with 3x3 and 5x5 windows; 14- and 28-wide rows 1.3-1.45x faster with 5x5
        // windows but 1.3-1.6x slower with 3x3 (the transposes outweigh 9 taps), and 5x5 at stride 2 from 28-wide rows
        // 1.0-1.3x slower, 3x3 2.2x slower. With SiLU after them (EfficientNet-B0), 14-wide 3x3 rows 1.5x faster and 5x5
        // from 28-wide rows at stride 2 1.1x faster in lanes.
        DepthwiseChannelsMaxOutW = 8,
        DepthwiseChannelsWideOutW = 28,
        DepthwiseChannelsWideMinTaps = 25,
        DepthwiseChannelsExpOutW = 14,
        BlockedMaxPixels = 3136,
        DirectPoolMaxPixels = 64,
        ChannelPartialPanelMaxPixels = 3136,
        ChannelSplitMinBytes = 24 << 10,
        ChannelSplitBytes = 12 << 10,
        ChannelSplitTiles = 16,
        ChannelPrefetchMinBytes = 1 << 20,
        ChannelPrefetchNextBlockBytes = 32 << 10,
        GemmBlockedMaxChannels = 64,
        GemmBlockedMaxK = 128,
        RingFusionMinBytes = 2 << 20,
        RingFusionRingBytes = 256 << 10,
        ParallelMinElements = 1 << 16,
    };

    public static IReadOnlyList<TargetProfile> All { get; } = new[] { X64 };

    public static TargetProfile? Find(string name)
    {
        foreach (TargetProfile p in All)
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p;
        }
        return null;
    }
}
