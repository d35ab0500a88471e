// Licensed under the MIT license.
// Synthetic models that steer the x64 lowering into each of its kernel modes and edge cases — Winograd, channel-vectorised
// convolution on small planes, direct convolution in row
// mode (wide outputs, stored straight into Y, residual and activation in the kernel) and in flat mode (compaction),
// partial tiles, groups, strides and dilations, 1x1 GEMMs, depthwise and pooling filters, concatenations done in place
// (nested, and feeding or being graph outputs) — each compared element-wise with ONNX Runtime at |a-r| <= 1e-4 +
// 1e-4 |r| on inputs in [-1, 1], and run with two threads, which must give bit-identical results.

using ModelGen.Runtime;
using ModelGen.TestSupport;
using System.Text.RegularExpressions;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed class KernelShapeTests
{
    private static readonly Tolerance Tolerance = new(1e-4, 1e-4);

    public static TheoryData<string, int, int, int, int, int, int, int, int, int, bool, string, string> Convolutions => new()
    {
        // name, channels, height, width, out channels, kernel, stride, pad, dilation, group, residual, activation, expected lowering remark
        { "rows-wide-residual", 4, 9, 112, 20, 3, 1, 1, 1, 1, true, "Relu", "lowering: direct convolution" },
        { "rows-odd-width-stride2", 5, 12, 223, 13, 3, 2, 1, 1, 1, false, "Relu", "lowering: direct convolution" },
        { "rows-residual-7x7", 3, 16, 96, 7, 7, 2, 3, 1, 1, true, "Relu", "lowering: direct convolution" },
        { "rows-grouped-residual", 8, 10, 96, 12, 3, 1, 1, 1, 2, true, "Relu", "lowering: direct convolution" },
        { "flat-residual", 4, 14, 28, 24, 3, 1, 1, 1, 1, true, "Relu", "lowering: direct convolution" },
        { "flat-dilated", 6, 20, 20, 10, 3, 1, 2, 2, 1, false, "Relu", "lowering: direct convolution" },
        { "flat-small", 4, 7, 7, 12, 3, 1, 1, 1, 1, true, "Relu", "lowering: direct convolution" },
        // Fewer output channels than a panel but at least a vector, on small planes whose flat columns are more than an
        // eighth garbage: channel-vectorised with a partial panel (MNIST's second conv; a 7x7 plane with a residual).
        { "lanes-partial-panel-mnist", 8, 14, 14, 16, 5, 1, 2, 1, 1, false, "Relu", "lowering: channel-vectorised" },
        { "lanes-partial-panel-small", 4, 7, 7, 40, 3, 1, 1, 1, 1, true, "Relu", "lowering: channel-vectorised" },
        { "channels-7x7-tail-block", 4, 7, 7, 70, 3, 1, 1, 1, 1, true, "Relu", "lowering: channel-vectorised" },
        { "pointwise-residual", 32, 10, 17, 40, 1, 1, 0, 1, 1, true, "Relu", "lowering (x64): GEMM" },
        // 8-row weight panels with columns left after the last whole 24-column tile, as a GEMV with the rows in the lanes:
        // 1 column (13x13 = 7 x 24 + 1, SqueezeNet's squeezes; with 512 input channels in K chunks, partial sums in Y), 4
        // (26x26) and a whole vector of 8 (8x10 = 3 x 24 + 8), with residuals and exp-based activations.
        { "pointwise-column-tail-1", 64, 13, 13, 64, 1, 1, 0, 1, 1, true, "Relu", "the last column tile's 1 column as a GEMV" },
        { "pointwise-column-tail-k-chunks", 512, 13, 13, 48, 1, 1, 0, 1, 1, false, "Silu", "the last column tile's 1 column as a GEMV" },
        { "pointwise-column-tail-4", 40, 26, 26, 64, 1, 1, 0, 1, 1, true, "Silu", "the last column tile's 4 columns as a GEMV" },
        { "pointwise-column-tail-8", 16, 8, 10, 32, 1, 1, 0, 1, 1, false, "Relu", "the last column tile's 8 columns as a GEMV" },
        // 6-row panels (masked loads of A's rows) after 16-column tiles: ShuffleNetV2's 116 channels at 14x14 (the last
        // panel 2 rows), and 200 rows over 512 input channels with B's column tiles copied into panels.
        { "pointwise-column-tail-6-rows", 116, 14, 14, 116, 1, 1, 0, 1, 1, true, "Relu", "the last column tile's 4 columns as a GEMV, 6 rows" },
        { "pointwise-column-tail-packed-b", 512, 10, 10, 200, 1, 1, 0, 1, 1, false, "Silu", "the last column tile's 4 columns as a GEMV, 6 rows" },
        { "depthwise-stride2", 24, 33, 47, 24, 3, 2, 1, 1, 24, false, "Relu", "lowering: DepthwiseConv" },
        // Depthwise row by row: edge vectors with masked loads, a clean middle loop (112 and 113 wide), rows shorter than
        // a vector (7, 5), 5x5 windows at both strides, an unpadded window, SiLU epilogues; a dilated depthwise keeps the
        // phase filter.
        { "depthwise-rows-wide", 8, 9, 112, 8, 3, 1, 1, 1, 8, false, "Relu", "row by row from the input rows" },
        { "depthwise-rows-s2-wide", 6, 11, 113, 6, 3, 2, 1, 1, 6, false, "Silu", "row by row from the input rows" },
        { "depthwise-rows-s2-14", 24, 14, 14, 24, 3, 2, 1, 1, 24, false, "Relu", "row by row from the input rows" },
        { "depthwise-rows-7x7", 12, 7, 7, 12, 3, 1, 1, 1, 12, false, "Relu", "row by row from the input rows" },
        { "depthwise-rows-5x5", 10, 17, 40, 10, 5, 1, 2, 1, 10, false, "Silu", "row by row from the input rows" },
        { "depthwise-rows-5x5-s2", 12, 19, 40, 12, 5, 2, 2, 1, 12, false, "Relu", "row by row from the input rows" },
        { "depthwise-rows-unpadded-s2", 5, 20, 69, 5, 3, 2, 0, 1, 5, false, "Relu", "row by row from the input rows" },
        { "depthwise-rows-tiny", 7, 3, 5, 7, 3, 1, 1, 1, 7, false, "Relu", "row by row from the input rows" },
        // Depthwise with the channels in the lanes (channels a multiple of 16; output rows of at most 8, or 28 under a 5x5
        // window): 5x5 with an exp-based activation, 14-wide rows (two pieces of accumulators on AVX2), 27-wide rows (a
        // loop of equal pieces and a shorter last one: 14 + 13 on AVX-512, 3 x 7 + 6 on AVX2), stride 2 from a
        // 14-wide row (one transpose per input row), the 8-wide limit, a stride-2 window that never reaches the last input
        // row and column, and a 3x5 plane.
        { "depthwise-lanes-5x5-silu", 32, 7, 7, 32, 5, 1, 2, 1, 32, false, "Silu", "channels in the vector lanes" },
        { "depthwise-lanes-14-wide", 16, 14, 14, 16, 5, 1, 2, 1, 16, false, "Silu", "channels in the vector lanes" },
        { "depthwise-lanes-27-wide", 32, 9, 27, 32, 5, 1, 2, 1, 32, false, "Relu", "channels in the vector lanes" },
        // With an exp-based activation, rows up to 14 wide take the lanes whatever the window and stride.
        { "depthwise-lanes-14-silu", 16, 14, 14, 16, 3, 1, 1, 1, 16, false, "Silu", "channels in the vector lanes" },
        { "depthwise-lanes-s2-silu", 16, 28, 28, 16, 5, 2, 2, 1, 16, false, "Silu", "channels in the vector lanes" },
        { "depthwise-lanes-5x5-s2", 48, 14, 14, 48, 5, 2, 2, 1, 48, false, "Relu", "channels in the vector lanes" },
        { "depthwise-lanes-8-wide", 16, 8, 8, 16, 3, 1, 1, 1, 16, false, "Relu", "channels in the vector lanes" },
        { "depthwise-lanes-s2-unpadded", 16, 8, 8, 16, 3, 2, 0, 1, 16, false, "Relu", "channels in the vector lanes" },
        { "depthwise-lanes-tiny", 16, 3, 5, 16, 3, 1, 1, 1, 16, false, "Silu", "channels in the vector lanes" },
        { "depthwise-phases-dilated", 8, 20, 21, 8, 3, 1, 2, 2, 8, false, "Relu", "padded phase sub-plane" },
        { "depthwise-multiplier", 3, 20, 30, 24, 5, 1, 2, 1, 3, false, "Relu", "lowering: direct convolution" },
        { "single-channel-8x8", 1, 49, 40, 8, 8, 1, 3, 1, 1, false, "Relu", "lowering: direct convolution" },
        { "single-channel-8x8-lanes", 1, 49, 40, 16, 8, 1, 3, 1, 1, false, "Relu", "lowering: channel-vectorised" },
        // Winograd F(2x2,3x3): odd output sizes (half tiles at the right and bottom), unpadded, several bands with a
        // narrower last band, output channels not a multiple of the tile rows, residual, exp-based activation.
        { "winograd-odd-residual", 16, 15, 21, 26, 3, 1, 1, 1, 1, true, "Relu", "lowering: Winograd" },
        { "winograd-unpadded", 24, 12, 41, 32, 3, 1, 0, 1, 1, false, "Relu", "lowering: Winograd" },
        { "winograd-bands-residual", 32, 56, 56, 40, 3, 1, 1, 1, 1, true, "Relu", "lowering: Winograd" },
        { "winograd-silu", 16, 13, 30, 20, 3, 1, 1, 1, 1, false, "Silu", "lowering: Winograd" },
        { "winograd-residual-silu", 20, 20, 20, 16, 3, 1, 1, 1, 1, true, "Silu", "lowering: Winograd" },
        // Winograd F(4x4,3x3) (larger planes): output sizes 1, 2 and 3 past a multiple of 4 (partial tiles, the last
        // output rows and columns of a tile masked), unpadded, several bands, residual, exp-based activation.
        { "winograd4-odd-residual", 32, 29, 37, 26, 3, 1, 1, 1, 1, true, "Relu", "lowering: Winograd F(4x4,3x3)" },
        { "winograd4-unpadded", 32, 32, 45, 40, 3, 1, 0, 1, 1, false, "Relu", "lowering: Winograd F(4x4,3x3)" },
        { "winograd4-bands-silu", 64, 58, 58, 40, 3, 1, 1, 1, 1, false, "Silu", "lowering: Winograd F(4x4,3x3)" },
        // Bands each whole in one worker's scratch: 56x56 (ResNet-18's first stage) is 14 tile rows in 4 bands of 4, 4, 3, 3,
        // each splitting its own input rows plus the halo row below (top and bottom bands read padding), with a residual.
        { "winograd4-worker-bands-residual", 64, 56, 56, 64, 3, 1, 1, 1, 1, true, "Relu", "14x14 tiles in 4 bands of 3-4 tile rows" },
        { "winograd4-residual-silu", 24, 35, 31, 30, 3, 1, 1, 1, 1, true, "Silu", "lowering: Winograd F(4x4,3x3)" },
        // Winograd in the channel layout (small planes, one band; tiles as broadcast rows of the channel-vectorised
        // kernels, output channels in the lanes): 7x7 F(2x2) in 2 groups of 8 tiles with a partial last panel and a
        // residual; 13x13 F(4x4) (outputs past the last whole tile) with a one-vector tail block; 9 tiles (7 + 2) with SiLU.
        { "winograd-channels-7x7", 32, 7, 7, 90, 3, 1, 1, 1, 1, true, "Relu", "Winograd F(2x2,3x3) in the channel layout" },
        { "winograd-channels-13x13", 48, 13, 13, 64, 3, 1, 1, 1, 1, true, "Relu", "Winograd F(4x4,3x3) in the channel layout" },
        { "winograd-channels-9-tiles", 64, 10, 10, 96, 3, 1, 1, 1, 1, false, "Silu", "in the channel layout" },
        // Channel-vectorised (output channels in the lanes) on small planes: a partial last panel (90 = 48 + 42), stride 2
        // on phase planes, 1x1 read in place with an exp-based activation, and a plane whose pixels end mid-tile (25).
        { "channels-7x7-residual", 6, 7, 7, 90, 3, 1, 1, 1, 1, true, "Relu", "lowering: channel-vectorised" },
        { "channels-stride2", 24, 14, 14, 96, 3, 2, 1, 1, 1, false, "Relu", "lowering: channel-vectorised" },
        { "channels-pointwise-silu", 40, 7, 7, 96, 1, 1, 0, 1, 1, true, "Silu", "all pixel tiles packed channel-major into scratch first" },
        // 1x1 whose whole-plane pack is past the small budget (AVX-512: 7 tiles x 1300 channels x 8 floats = 291 KB; AVX2:
        // 13 x 1300 x 4 = 270 KB) but whose weights (244 KB) are past L1: packed whole all the same.
        { "channels-pointwise-large-weights", 1300, 7, 7, 48, 1, 1, 0, 1, 1, true, "Relu", "all pixel tiles packed channel-major into scratch first" },
        // 14x14 = 196 pixels: 28 whole tiles of 7, one panel of 48 and a two-vector tail block (80 channels).
        { "channels-pointwise-14x14", 64, 14, 14, 80, 1, 1, 0, 1, 1, false, "Silu", "all pixel tiles packed channel-major into scratch first" },
        { "channels-5x5", 16, 5, 5, 48, 1, 1, 0, 1, 1, false, "Relu", "lowering: channel-vectorised" },
        // A last pixel tile of at most half a tile: its pixels with the input channels over several accumulator sets (7x7 =
        // 49: AVX2 12 x 4 + 1 over 4 sets, AVX-512 7 x 7; 22 channels leave a remainder after the sets), and 6x7 = 42
        // (AVX2 10 x 4 + 2 over 2 sets) with a residual, a partial last panel (80 = 48 + 32) and SiLU.
        { "channels-pointwise-tail-1px", 22, 7, 7, 96, 1, 1, 0, 1, 1, true, "Relu", "the last tile's 1 pixel with the input channels over 4 accumulator sets" },
        { "channels-pointwise-tail-2px", 32, 6, 7, 80, 1, 1, 0, 1, 1, true, "Silu", "the last tile's 2 pixels with the input channels over 2 accumulator sets" },
        // Exp-based activation without a residual: applied over the spilled tile before the vectorised transposed store
        // (1x1 with a one-vector tail block, and 3x3 on phase planes).
        { "channels-pointwise-silu-plain", 24, 7, 7, 64, 1, 1, 0, 1, 1, false, "Silu", "lowering: channel-vectorised" },
        { "channels-3x3-silu", 16, 7, 7, 48, 3, 1, 1, 1, 1, false, "Silu", "lowering: channel-vectorised" },
        // Weight blocks past the profile's ChannelSplitMinBytes: the tiles accumulate chunks of input channels (uneven last
        // chunk: 100 = 6 x 17 - 2 on AVX2, 11 x 9 + 1 on AVX-512) in partial sums, the last chunk through the epilogue; a
        // partial last panel (90) with a residual at stride 2, and 5x5 windows (40 = 6 x 6 + 4) with SiLU.
        { "channels-split-stride2-residual", 100, 14, 14, 90, 3, 2, 1, 1, 1, true, "Relu", "input channels accumulated in chunks of" },
        { "channels-split-5x5-silu", 40, 8, 8, 48, 5, 1, 2, 1, 1, false, "Silu", "input channels accumulated in chunks of" },
        // Over 1 MB of weights (256 x 9 x 136 floats): the tiles prefetch each next chunk's weights (a partial last panel).
        { "channels-split-prefetch", 256, 14, 14, 136, 3, 2, 1, 1, 1, true, "Relu", "the next chunk's weights prefetched" },
        // 10x10 output at stride 2 (110 flat columns for 100 pixels: 0.91 of the pixel kernels' lanes): the channel kernel
        // at nearly equal lanes (small plane, not a stem).
        { "channels-equal-lanes-stride2", 32, 20, 20, 64, 3, 2, 1, 1, 1, false, "Relu", "lowering: channel-vectorised" },
        // The tiles' input: read in place without padding (an unpadded 3x3; a 2x2 stride-2 window, pixel offsets at the
        // stride), each plane copied once with its padding (a dilated window: taps at dilation x pitch), or the stride
        // phases it reads when a window skips input pixels (a padded 1x1 stride-2 window, a dilation-2 stride-2 one). One-tap
        // kernels take four channels per iteration: 70 leaves a remainder of 2.
        { "channels-in-place-unpadded", 32, 9, 9, 64, 3, 1, 0, 1, 1, true, "Relu", "input planes read in place" },
        { "channels-in-place-2x2-stride2", 32, 14, 13, 96, 2, 2, 0, 1, 1, false, "Relu", "input planes read in place" },
        { "channels-1x1-stride2-phase", 70, 12, 11, 96, 1, 2, 1, 1, 1, false, "Relu", "7x7 = 49 output pixels; input planes split into 1 padded phase(s)" },
        { "channels-padded-dilated", 24, 11, 12, 48, 3, 1, 2, 2, 1, true, "Relu", "input planes copied with their padding" },
        { "channels-dilated-stride2-phase", 24, 17, 18, 48, 3, 2, 2, 2, 1, true, "Relu", "input planes split into 1 padded phase(s)" },
        // A tail block too narrow to keep the profile's ChannelChains FMA chains in flight (AVX2: 4 pixels x one vector)
        // deals its FMAs round-robin to accumulator sets: taps of a 3x3 at stride 2 (104 = 4 x 24 + 8), the 4-channel
        // unroll of a 1x1 stride-2 downsample (42 channels: a remainder of 2), and a 1x1 whose last pixel tile also splits.
        { "channels-stride2-tail-sets", 24, 14, 14, 104, 3, 2, 1, 1, 1, false, "Silu", "the last block's 8 channels over 2 accumulator sets" },
        { "channels-1x1-stride2-tail-sets", 42, 14, 14, 56, 1, 2, 0, 1, 1, true, "Relu", "the last block's 8 channels over 2 accumulator sets" },
        { "channels-pointwise-tail-sets", 40, 7, 7, 56, 1, 1, 0, 1, 1, true, "Silu", "the last block's 8 channels over 2 accumulator sets" },
        // Output channels that would leave one vector in the last 24-channel panel and fill whole 16-channel ones (the
        // profile's ChannelNarrowPanels: 128 = 5 x 24 + 8 = 8 x 16, 80 = 3 x 24 + 8): AVX2 packs and reads 16-channel
        // panels, 4 x 16 tiles; a 1x1 with a residual, and a 3x3 at stride 2.
        { "channels-pointwise-narrow-panels", 48, 7, 7, 128, 1, 1, 0, 1, 1, true, "Silu", "weights in panels of 48 (Avx512), 16 (Avx2), 24 (Scalar) output channels" },
        { "channels-3x3-stride2-narrow-panels", 32, 14, 14, 80, 3, 2, 1, 1, 1, false, "Relu", "4 pixels x 16 channels (Avx2)" },
        // On a plane of at most 13x13 any partial last 24-channel panel: 160 = 6 x 24 + 16 = 10 x 16 at 7x7.
        { "channels-pointwise-narrow-small-plane", 96, 7, 7, 160, 1, 1, 0, 1, 1, true, "Relu", "weights in panels of 48 (Avx512), 16 (Avx2), 24 (Scalar) output channels" },
        // Outputs above the profile's OutputPrefetchBytes (512 KiB): the tiles prefetch their destination lines (a 3-channel
        // stride-2 stem in row mode, and a 1x1 GEMM at 112x112).
        { "rows-prefetch-residual-silu", 3, 224, 224, 24, 3, 2, 1, 1, 1, true, "Silu", "output lines prefetched per tile" },
        { "pointwise-prefetch-silu", 16, 112, 112, 24, 1, 1, 0, 1, 1, false, "Silu", "output lines prefetched per tile" },
        // 16 and 32 output channels: 8-row weight panels (the profile's AltGemmMR), with a narrower last column tile
        // (N = 300: 6 x 48 + 12) and a residual.
        { "pointwise-8-rows", 24, 15, 20, 16, 1, 1, 0, 1, 1, true, "Relu", "tiles MRxNR: 8x48 (Avx512), 8x24 in 2 passes of 4 rows (Avx2), 8x2 (Scalar)" },
        { "pointwise-8-rows-silu", 40, 9, 9, 32, 1, 1, 0, 1, 1, false, "Silu", "tiles MRxNR: 8x48 (Avx512)" },
        // The same panels for direct convolutions (a 3-channel stem with 32 outputs), and 3-row panels with wider tiles
        // for 3 output channels (the RGB output of a style-transfer network: 9x9 with tanh), direct and 1x1.
        { "rows-8-rows-stem", 3, 40, 224, 32, 3, 2, 1, 1, 1, false, "Silu", "tiles MRxNR: 8x48 (Avx512), 8x24 in 2 passes of 4 rows (Avx2), 8x2 (Scalar)" },
        { "rows-3-out-tanh", 16, 12, 150, 3, 9, 1, 4, 1, 1, false, "Tanh", "tiles MRxNR: 3x128 (Avx512), 3x32 (Avx2), 3x8 (Scalar)" },
        { "pointwise-3-out", 24, 10, 30, 3, 1, 1, 0, 1, 1, true, "Relu", "tiles MRxNR: 3x128 (Avx512)" },
        // Long K and many row tiles (profile PackedBMinK, PackedBMinRowTiles): each column tile of the input copied into a
        // contiguous panel once for all 34 row tiles; 169 pixels end in a partial column tile; residual.
        { "pointwise-packed-b", 256, 13, 13, 200, 1, 1, 0, 1, 1, true, "Relu", "B column tiles copied into contiguous K x NR panels" },
        // A 1x1 GEMM reading its NCHW input in place with a long K (SqueezeNet's squeezes): K in chunks whose B panel stays
        // in L1 (300 = 4 x 75 on AVX2, 5 x 60 on AVX-512), partial sums in Y, the residual with the first chunk, SiLU with
        // the last; 169 pixels end in a narrower column tile. And at K = 200: uneven chunks (67 + 67 + 66 on AVX2; 4 x 50 on AVX-512).
        { "pointwise-k-chunks-residual-silu", 300, 13, 13, 40, 1, 1, 0, 1, 1, true, "Silu", "K in chunks of 60 (Avx512), 75 (Avx2)" },
        { "pointwise-k-chunks-relu", 200, 9, 11, 64, 1, 1, 0, 1, 1, false, "Relu", "K in chunks of" },
        // 2x2 stride 2 unpadded (a patch embedding): the phase planes have no garbage column, so the tiles store into Y with
        // the epilogue in the kernel (13x13 = 169 = 2 x 64 + 41 with a residual; 12x12 = 144 = 2 x 64 + 16 through the
        // narrower tail kernel, 8-row panels and SiLU).
        { "flat-into-y-residual", 20, 26, 26, 30, 2, 2, 0, 1, 1, true, "Relu", "(flat, no garbage column: stored into Y)" },
        { "flat-into-y-silu", 12, 24, 24, 16, 2, 2, 0, 1, 1, false, "Silu", "(flat, no garbage column: stored into Y)" },
        // 1x1 with a stride (a residual network's downsample): the input's pixels copied into a compact tensor (vectorised
        // at stride 2, masked at the row ends: 25 and 23 wide), then the stride-1 GEMM with a residual, SiLU; stride 3
        // (the scalar copy); a 7x7 output plane through the channel-vectorised 1x1.
        // A 1x1 on a 7x7 plane with every pixel tile packed first and two or more weight panels: the next panel's weights
        // prefetched over the current one's pixel tiles.
        { "pointwise-packed-prefetch", 64, 7, 7, 96, 1, 1, 0, 1, 1, true, "Relu", "packed channel-major into scratch first, pixel tiles innermost (each weight block read once, the next one prefetched over its pixel tiles" },
        { "pointwise-stride2-residual", 20, 26, 26, 30, 1, 2, 0, 1, 1, true, "Relu", "as a stride-1 one over the compact input" },
        { "pointwise-stride2-odd-silu", 12, 25, 23, 40, 1, 2, 0, 1, 1, false, "Silu", "as a stride-1 one over the compact input" },
        { "pointwise-stride3", 16, 20, 20, 24, 1, 3, 0, 1, 1, true, "Relu", "every 3x3th pixel copied into a compact 16x7x7 tensor" },
        { "pointwise-stride2-lanes", 64, 14, 14, 96, 1, 2, 0, 1, 1, true, "Relu", "1x1 stride 1x1 dilation 1x1 pads 0,0, 7x7 = 49 output pixels" },
        // Row mode in bands (phase planes of the whole input above 1 MB): each band's input rows split in a worker's own
        // scratch. 3x3 stride 2: 48 output rows in bands of 17 (the last one 14), 20 channels (a partial row tile), 112-wide
        // rows (a narrower tail kernel), residual; 9x9 stride 1 with 4 rows of padding: the first and last bands read padding.
        { "rows-banded-stride2-residual", 16, 96, 224, 20, 3, 2, 1, 1, 1, true, "Relu", "in bands of 17 output row(s)" },
        { "rows-banded-9x9", 3, 300, 300, 5, 9, 1, 4, 1, 1, false, "Relu", "in bands of" },
    };

    [Theory]
    [MemberData(nameof(Convolutions))]
    public void Convolution_matches_onnx_runtime(string name, int c, int h, int w, int oc, int k, int stride, int pad, int dilation, int group, bool residual,
        string activation, string lowering) =>
        CompareWithOrt(ConvolutionModel(name, c, h, w, oc, k, stride, pad, dilation, group, residual, activation), name, lowering);

    /// <summary>Conv (+ residual Add) + Relu or SiLU (x * Sigmoid(x)) with the given geometry; returns the builder.</summary>
    internal static OnnxBuilder ConvolutionModel(string name, int c, int h, int w, int oc, int k, int stride, int pad, int dilation, int group, bool residual,
        string activation = "Relu")
    {
        int oh = (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1, ow = (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
        var b = new OnnxBuilder();
        b.Input("x", 1, c, h, w);
        b.Initializer(OnnxTensor.RandomFloats("w", new long[] { oc, c / group, k, k }, 11));
        b.Initializer(OnnxTensor.RandomFloats("b", new long[] { oc }, 12));
        // A pointwise convolution reads its input in place only from the arena: give it a producer.
        string x = "x";
        if (k == 1)
        {
            b.Node("Relu", new[] { "x" }, new[] { "xr" });
            x = "xr";
        }
        b.Node("Conv", new[] { x, "w", "b" }, new[] { "y" }, attributes: new[]
        {
            OnnxAttribute.Ints("kernel_shape", k, k), OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", pad, pad, pad, pad), OnnxAttribute.Ints("dilations", dilation, dilation),
            OnnxAttribute.Int("group", group),
        });
        string last = "y";
        if (residual)
        {
            b.Input("r", 1, oc, oh, ow);
            b.Node("Add", new[] { "y", "r" }, new[] { "s" });
            last = "s";
        }
        if (activation == "Silu")
        {
            b.Node("Sigmoid", new[] { last }, new[] { "sg" });
            b.Node("Mul", new[] { last, "sg" }, new[] { "z" });
        }
        else
        {
            b.Node(activation, new[] { last }, new[] { "z" });
        }
        b.Output("z", 1, oc, oh, ow);
        return b;
    }

    public static TheoryData<string, int[], int[]> Transposes => new()
    {
        // name, input shape, perm: the last two axes swapped in 8x8 blocks with partial blocks on both edges (a detector's
        // [1 x 85 x N] head output: 85 = 10 x 8 + 5, 301 = 37 x 8 + 5), under outer axes (rank 4), and the inner
        // transpose of a permutation that also moves an outer axis.
        { "transpose-head", new[] { 1, 85, 301 }, new[] { 0, 2, 1 } },
        { "transpose-inner-rank4", new[] { 2, 3, 20, 13 }, new[] { 0, 1, 3, 2 } },
        { "transpose-nchw-nhwc", new[] { 1, 24, 9, 11 }, new[] { 0, 2, 3, 1 } },
    };

    [Theory]
    [MemberData(nameof(Transposes))]
    public void Transpose_matches_onnx_runtime(string name, int[] shape, int[] perm)
    {
        var b = new OnnxBuilder();
        b.Input("x", shape.Cast<object>().ToArray());
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        b.Node("Transpose", new[] { "xr" }, new[] { "t" }, attributes: new[] { OnnxAttribute.Ints("perm", perm.Select(p => (long)p).ToArray()) });
        b.Node("Relu", new[] { "t" }, new[] { "y" });
        b.Output("y");
        CompareWithOrt(b, name, "the last two axes transposed in 8x8 blocks");
    }

    public static TheoryData<string, int[], float[], string> NearestResizes => new()
    {
        // name, input shape, scales, lowering: a detector neck's 2x upsampling (rows repeated, elements twice; 13 = 8 + 4 + 1
        // so the AVX2, SSE and scalar steps all run), 3x (rows gathered through the table), a non-integer scale, a
        // downsampling, and a resize of the rows only (the last axis copied).
        { "resize-nearest-2x", new[] { 1, 5, 13, 13 }, new[] { 1f, 1f, 2f, 2f }, "other rows each element twice" },
        { "resize-nearest-3x", new[] { 1, 3, 7, 9 }, new[] { 1f, 1f, 3f, 3f }, "other rows gathered through the index table" },
        { "resize-nearest-fractional", new[] { 1, 2, 10, 13 }, new[] { 1f, 1f, 1.5f, 1.7f }, "other rows gathered through the index table" },
        { "resize-nearest-down", new[] { 1, 4, 16, 18 }, new[] { 1f, 1f, 0.5f, 0.5f }, "other rows gathered through the index table" },
        { "resize-nearest-rows", new[] { 2, 3, 5, 11 }, new[] { 1f, 1f, 2f, 1f }, "other rows copied" },
    };

    [Theory]
    [MemberData(nameof(NearestResizes))]
    public void Nearest_resize_matches_onnx_runtime(string name, int[] shape, float[] scales, string lowering)
    {
        var b = new OnnxBuilder();
        b.Input("x", shape.Cast<object>().ToArray());
        b.Initializer(OnnxTensor.Floats("scales", new long[] { scales.Length }, scales));
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        b.Node("Resize", new[] { "xr", "", "scales" }, new[] { "r" }, attributes: new[]
        {
            OnnxAttribute.String("mode", "nearest"), OnnxAttribute.String("coordinate_transformation_mode", "asymmetric"),
            OnnxAttribute.String("nearest_mode", "floor"),
        });
        b.Node("Relu", new[] { "r" }, new[] { "y" });
        b.Output("y");
        CompareWithOrt(b, name, lowering);
    }

    public static TheoryData<string, int, int, int, int, int, int, int> ConvTransposes => new()
    {
        // name, channels, height, width, out channels, kernel, stride, pad: the col2im scatter-add in whole vectors and a
        // masked last one at strides 1 and 2 (rows of 37 and 40 inputs), a kernel wider than its stride, padding that
        // drops the first output columns, and a stride without a vector path.
        { "convtranspose-s2-k3", 5, 9, 37, 6, 3, 2, 0 },
        { "convtranspose-s2-k4-pad1", 4, 6, 40, 3, 4, 2, 1 },
        { "convtranspose-s1-k3-pad1", 3, 5, 37, 4, 3, 1, 1 },
        { "convtranspose-s3-k3", 2, 4, 19, 3, 3, 3, 0 },
    };

    [Theory]
    [MemberData(nameof(ConvTransposes))]
    public void ConvTranspose_matches_onnx_runtime(string name, int c, int h, int w, int oc, int k, int stride, int pad)
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, c, h, w);
        b.Initializer(OnnxTensor.RandomFloats("w", new long[] { c, oc, k, k }, 13));
        b.Initializer(OnnxTensor.RandomFloats("b", new long[] { oc }, 14));
        b.Node("ConvTranspose", new[] { "x", "w", "b" }, new[] { "y" }, attributes: new[]
        {
            OnnxAttribute.Ints("kernel_shape", k, k), OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", pad, pad, pad, pad),
        });
        b.Output("y");
        CompareWithOrt(b, name, "col2im scatter-add");
    }

    public static TheoryData<string, int, int, int, int, int, int, bool, string> Pools => new()
    {
        // name, channels, height, width, kernel, stride, pad, ceil mode, expected lowering remark
        { "maxpool-rows-pad1", 8, 56, 57, 3, 2, 1, false, "row by row" },
        { "maxpool-rows-ceil", 16, 111, 111, 3, 2, 0, true, "row by row" },
        { "maxpool-rows-small-ceil", 4, 13, 14, 3, 2, 0, true, "row by row" },
        // Output rows narrower than a vector (13 of 16 lanes on AVX-512: SqueezeNet's last pool) and input rows too (11
        // wide, padded), in masked vectors alone.
        { "maxpool-rows-27", 6, 27, 27, 3, 2, 0, false, "row by row" },
        { "maxpool-rows-narrow-pad1", 5, 9, 11, 3, 2, 1, false, "row by row" },
        // Separable max pooling (row maxima in place, then column maxima): YOLO's spatial-pyramid pools (stride 1, windows
        // up to the whole plane), and an unpadded 4x4 window on a plane whose flat size is a multiple of 16.
        { "maxpool-spp-13", 8, 13, 13, 13, 1, 6, false, "separable" },
        { "maxpool-spp-5", 8, 13, 13, 5, 1, 2, false, "separable" },
        { "maxpool-4x4-unpadded", 3, 19, 32, 4, 1, 0, false, "separable" },
        { "maxpool-phases-3x3-s3", 4, 29, 31, 3, 3, 0, false, "padded phase sub-plane" },
        // Column strides 2 and 4 with every column phase used: each row deinterleaved into its phases at once, the edge
        // columns (padding on the left, a short last group on the right) one by one.
        { "maxpool-phases-3x3-s2-pad2", 3, 33, 45, 3, 2, 2, false, "padded phase sub-plane" },
        { "maxpool-phases-4x4-s4", 3, 37, 70, 4, 4, 1, false, "padded phase sub-plane" },
        // Output planes of at most 64 pixels: the direct loop (MNIST's 3x3 stride-3 pool to 4x4; windows clipped at a padded
        // border and past the input in ceil mode; stride 1 with every border window clipped).
        { "maxpool-direct-3x3-s3", 16, 14, 14, 3, 3, 0, false, "taps unrolled" },
        { "maxpool-direct-pad-ceil", 3, 10, 11, 3, 3, 1, true, "taps unrolled" },
        { "maxpool-direct-s1", 4, 7, 7, 3, 1, 1, false, "taps unrolled" },
        // 2x2 stride 2 row by row (MNIST's pools): whole vectors, a ceil-mode last window past the row, output rows narrower
        // than a vector, padding on every side.
        { "maxpool-rows-2x2", 8, 28, 28, 2, 2, 0, false, "MaxPool 2x2 stride 2" },
        { "maxpool-rows-2x2-ceil", 5, 27, 43, 2, 2, 0, true, "MaxPool 2x2 stride 2" },
        { "maxpool-rows-2x2-narrow", 3, 14, 14, 2, 2, 0, false, "MaxPool 2x2 stride 2" },
        { "maxpool-rows-2x2-pad1", 4, 9, 20, 2, 2, 1, false, "MaxPool 2x2 stride 2" },
    };

    [Theory]
    [MemberData(nameof(Pools))]
    public void MaxPool_matches_onnx_runtime(string name, int c, int h, int w, int k, int stride, int pad, bool ceil, string lowering)
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, c, h, w);
        b.Node("MaxPool", new[] { "x" }, new[] { "y" }, attributes: new[]
        {
            OnnxAttribute.Ints("kernel_shape", k, k), OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", pad, pad, pad, pad), OnnxAttribute.Int("ceil_mode", ceil ? 1 : 0),
        });
        b.Output("y");
        CompareWithOrt(b, name, lowering);
    }

    /// <summary>Small average pools through the direct loop: padded borders with and without the padding counted.</summary>
    [Theory]
    [InlineData("averagepool-direct-exclude-pad", 0, 11, 13, 1)]
    [InlineData("averagepool-direct-include-pad", 1, 11, 13, 1)]
    [InlineData("averagepool-direct-unpadded", 0, 12, 12, 0)]
    public void Small_average_pool_matches_onnx_runtime(string name, int countIncludePad, int h, int w, int pad)
    {
        var b = new OnnxBuilder();
        b.Input("x", 2, 6, h, w);
        b.Node("AveragePool", new[] { "x" }, new[] { "y" }, attributes: new[]
        {
            OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("strides", 2, 2),
            OnnxAttribute.Ints("pads", pad, pad, pad, pad), OnnxAttribute.Int("count_include_pad", countIncludePad),
        });
        b.Output("y");
        CompareWithOrt(b, name, "taps unrolled");
    }

    /// <summary>
    /// A Conv followed by an Add of a per-channel constant (CNTK's MNIST: no conv bias, then Add of a [C,1,1] parameter,
    /// then Relu): the constant becomes the Conv's bias and the Relu its epilogue, so no Add layer is left.
    /// </summary>
    [Theory]
    [InlineData("bias-add-no-bias", false, new long[] { 12, 1, 1 })]
    [InlineData("bias-add-to-bias", true, new long[] { 1, 12, 1, 1 })]
    [InlineData("bias-add-scalar", false, new long[] { 1 })]
    public void Constant_add_after_a_conv_folds_into_its_bias(string name, bool bias, long[] addShape)
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, 5, 14, 14);
        b.Initializer(OnnxTensor.RandomFloats("w", new long[] { 12, 5, 5, 5 }, 61));
        if (bias) b.Initializer(OnnxTensor.RandomFloats("b", new long[] { 12 }, 62));
        b.Initializer(OnnxTensor.RandomFloats("c", addShape, 63));
        b.Node("Conv", bias ? new[] { "x", "w", "b" } : new[] { "x", "w" }, new[] { "y" }, attributes: new[]
        {
            OnnxAttribute.Ints("kernel_shape", 5, 5), OnnxAttribute.Ints("pads", 2, 2, 2, 2),
        });
        b.Node("Add", new[] { "c", "y" }, new[] { "s" });
        b.Node("Relu", new[] { "s" }, new[] { "z" });
        b.Output("z");
        string sources = CompareWithOrt(b, name, "(bias) + Relu");
        Assert.DoesNotContain("ONNX node Add", sources);
    }

    /// <summary>
    /// InstanceNormalization with the activation after it fused into its writing pass: inline per ISA (Relu, LeakyRelu,
    /// with a plane length that leaves a scalar tail) or as a second pass over the plane (Sigmoid); and alone.
    /// </summary>
    [Theory]
    [InlineData("Relu", "Relu in the writing pass")]
    [InlineData("LeakyRelu", "LeakyRelu in the writing pass")]
    [InlineData("Sigmoid", "Sigmoid in the writing pass")]
    [InlineData(null, "instance normalisation of 1x6 planes of 1147 elements, epsilon")]
    public void Instance_normalization_with_its_activation_matches_onnx_runtime(string? activation, string lowering)
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, 6, 37, 31);
        b.Initializer(OnnxTensor.RandomFloats("s", new long[] { 6 }, 21));
        b.Initializer(OnnxTensor.RandomFloats("b", new long[] { 6 }, 22));
        b.Node("InstanceNormalization", new[] { "x", "s", "b" }, new[] { activation is null ? "z" : "y" }, attributes: new[] { OnnxAttribute.Float("epsilon", 1e-3f) });
        if (activation is not null) b.Node(activation, new[] { "y" }, new[] { "z" });
        b.Output("z", 1, 6, 37, 31);
        CompareWithOrt(b, "instancenorm-" + (activation ?? "plain"), lowering);
    }

    [Fact]
    public void Concatenations_in_place_match_onnx_runtime() => CompareWithOrt(ConcatModel(), "concat-in-place", null);

    /// <summary>
    /// Slices read only by another slice are composed into its copy: a detector's space-to-depth stem (rows at step 2, then
    /// columns, four times, into an in-place concatenation), a chain of three (a negative step between two positive ones,
    /// on different axes), and a slice with a second reader, which is still computed.
    /// </summary>
    [Fact]
    public void Composed_slices_match_onnx_runtime()
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, 3, 18, 22);
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        void Slice(string input, string output, long start, long end, long axis, long step)
        {
            string p = output + "_";
            b.Initializer(OnnxTensor.Int64s(p + "s", new long[] { 1 }, new[] { start }));
            b.Initializer(OnnxTensor.Int64s(p + "e", new long[] { 1 }, new[] { end }));
            b.Initializer(OnnxTensor.Int64s(p + "a", new long[] { 1 }, new[] { axis }));
            b.Initializer(OnnxTensor.Int64s(p + "t", new long[] { 1 }, new[] { step }));
            b.Node("Slice", new[] { input, p + "s", p + "e", p + "a", p + "t" }, new[] { output });
        }
        var parts = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            Slice("xr", $"r{i}", i % 2, long.MaxValue, 2, 2);
            Slice($"r{i}", $"c{i}", i / 2, long.MaxValue, 3, 2);
            parts.Add($"c{i}");
        }
        b.Node("Concat", parts.ToArray(), new[] { "focus" }, attributes: OnnxAttribute.Int("axis", 1));
        b.Node("Sigmoid", new[] { "focus" }, new[] { "y1" });
        Slice("xr", "k0", 1, 17, 3, 1);
        Slice("k0", "k1", -2, 0, 2, -3);
        Slice("k1", "k2", 0, 3, 1, 2);
        b.Node("Sigmoid", new[] { "k2" }, new[] { "y2" });
        Slice("xr", "m0", 2, 20, 3, 3);
        Slice("m0", "m1", 1, 5, 3, 1);
        b.Node("Sigmoid", new[] { "m1" }, new[] { "y3" });
        b.Node("Tanh", new[] { "m0" }, new[] { "y4" });
        b.Output("y1", 1, 12, 9, 11);
        b.Output("y2", 1, 2, 6, 16);
        b.Output("y3", 1, 3, 18, 4);
        b.Output("y4", 1, 3, 18, 6);
        string sources = CompareWithOrt(b, "slices-composed", "composed with Slice");
        // Four stem slices and the three-slice chain's first two are composed; m0, with a second reader, is computed.
        Assert.Equal(4 + 1, Regex.Matches(sources, "composed with Slice").Count);
        Assert.Single(Regex.Matches(sources, "composed with Slice '[^']*', Slice '[^']*' "));
    }

    /// <summary>
    /// Data movement and element-wise layers large enough to split across the workers (profile ParallelMinElements): a
    /// strided slice (rows), a transpose (blocks of 64 rows, the last one partial), element-wise adds over one merged axis
    /// and with a per-channel operand (blocks of 4096, partial ones at the row ends), a concatenation copy along rows (input blocks).
    /// </summary>
    [Fact]
    public void Parallel_data_movement_matches_onnx_runtime()
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, 16, 128, 130);
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        string[] names = { "s", "e", "a", "t" };
        long[][] values = { new long[] { 0, 1 }, new long[] { long.MaxValue, long.MaxValue }, new long[] { 2, 3 }, new long[] { 2, 2 } };
        for (int i = 0; i < 4; i++) b.Initializer(OnnxTensor.Int64s("sl_" + names[i], new long[] { 2 }, values[i]));
        b.Node("Slice", new[] { "xr", "sl_s", "sl_e", "sl_a", "sl_t" }, new[] { "strided" });
        b.Node("Transpose", new[] { "xr" }, new[] { "transposed" }, attributes: OnnxAttribute.Ints("perm", 0, 1, 3, 2));
        b.Node("Sigmoid", new[] { "xr" }, new[] { "xs" });
        b.Node("Add", new[] { "xr", "xs" }, new[] { "sum" });
        b.Initializer(OnnxTensor.RandomFloats("bias", new long[] { 1, 16, 1, 1 }, 3));
        b.Node("Mul", new[] { "xs", "bias" }, new[] { "scaled" });
        b.Node("Concat", new[] { "x", "sum" }, new[] { "joined" }, attributes: OnnxAttribute.Int("axis", 2));
        b.Output("strided", 1, 16, 64, 65);
        b.Output("transposed", 1, 16, 130, 128);
        b.Output("scaled", 1, 16, 128, 130);
        b.Output("joined", 1, 16, 256, 130);
        string sources = CompareWithOrt(b, "parallel-data-movement", "workers: ");
        Assert.Contains("the last two axes transposed", sources);
        Assert.Equal(5, Regex.Matches(sources, "workers: ").Count);
    }

    /// <summary>
    /// Linear and cubic resizes of the last two axes of 4-D tensors (the scale-1 batch and channel axes are left alone, not
    /// interpolated): bilinear up- and downsampling by rows with three coordinate modes, and a cubic upsampling.
    /// </summary>
    [Fact]
    public void Bilinear_and_bicubic_resizes_match_onnx_runtime()
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, 24, 14, 18);
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        b.Initializer(OnnxTensor.Floats("roi", new long[] { 0 }, System.Array.Empty<float>()));
        void Resize(string output, string mode, string coordinates, params float[] scales)
        {
            b.Initializer(OnnxTensor.Floats(output + "_scales", new long[] { 4 }, scales));
            b.Node("Resize", new[] { "xr", "roi", output + "_scales" }, new[] { output }, attributes: new[]
            {
                OnnxAttribute.String("mode", mode), OnnxAttribute.String("coordinate_transformation_mode", coordinates),
            });
        }
        Resize("up", "linear", "half_pixel", 1, 1, 2, 3);
        Resize("corners", "linear", "align_corners", 1, 1, 2.5f, 1.5f);
        Resize("down", "linear", "pytorch_half_pixel", 1, 1, 0.5f, 0.5f);
        Resize("cubic", "cubic", "half_pixel", 1, 1, 2, 2);
        b.Output("up", 1, 24, 28, 54);
        b.Output("corners", 1, 24, 35, 27);
        b.Output("down", 1, 24, 7, 9);
        b.Output("cubic", 1, 24, 28, 36);
        string sources = CompareWithOrt(b, "resize-bilinear", "linear over the last two axes, by rows");
        Assert.Equal(3, Regex.Matches(sources, "linear over the last two axes, by rows").Count);
        Assert.Equal(3, Regex.Matches(sources, @"taps per axis \[0,0,2,2\]").Count);
        Assert.Single(Regex.Matches(sources, @"taps per axis \[0,0,4,4\]"));
    }

    /// <summary>
    /// Softmax over the channel axis (a segmentation head's classes per pixel): in vectors of neighbouring positions, with
    /// positions left over after the last whole vector, and over the last axis (one position per row: the scalar loop).
    /// </summary>
    [Fact]
    public void Softmax_over_channels_matches_onnx_runtime()
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, 21, 12, 13);
        b.Input("z", 1, 6, 3, 5);
        b.Node("Mul", new[] { "x", "x" }, new[] { "x2" });
        b.Node("Softmax", new[] { "x2" }, new[] { "classes" }, attributes: OnnxAttribute.Int("axis", 1));
        b.Node("Softmax", new[] { "z" }, new[] { "few" }, attributes: OnnxAttribute.Int("axis", 1));
        b.Node("Softmax", new[] { "z" }, new[] { "rows" }, attributes: OnnxAttribute.Int("axis", -1));
        b.Output("classes", 1, 21, 12, 13);
        b.Output("few", 1, 6, 3, 5);
        b.Output("rows", 1, 6, 3, 5);
        string sources = CompareWithOrt(b, "softmax-channels", "a vector of neighbouring positions at a time");
        Assert.Equal(2, Regex.Matches(sources, "a vector of neighbouring positions at a time").Count);
        Assert.Equal(3, Regex.Matches(sources, "lowering: Softmax over the middle axis").Count);
    }

    /// <summary>
    /// Reductions over the channel axis, whose kept pixels are contiguous (a segmentation head's ArgMax over its classes):
    /// in vectors of neighbouring pixels and one by one after the last whole vector; ArgMax with ties (first and last
    /// index), ArgMin, and the extremes, mean and L2 norm.
    /// </summary>
    [Fact]
    public void Reductions_over_channels_match_onnx_runtime()
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, 21, 12, 13);
        // Rounded to quarters, so that channels tie and the first-or-last index choice matters.
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        b.Initializer(OnnxTensor.Floats("four", new long[] { 1 }, new[] { 4f }));
        b.Node("Mul", new[] { "xr", "four" }, new[] { "x4" });
        b.Node("Floor", new[] { "x4" }, new[] { "xf" });
        b.Node("ArgMax", new[] { "xf" }, new[] { "i1" }, attributes: new[] { OnnxAttribute.Int("axis", 1) });
        b.Node("ArgMax", new[] { "xf" }, new[] { "i2" }, attributes: new[] { OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("select_last_index", 1) });
        b.Node("ArgMin", new[] { "x" }, new[] { "i3" }, attributes: new[] { OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0) });
        // The indices as floats (exact), for the float comparison with ONNX Runtime.
        b.Node("Cast", new[] { "i1" }, new[] { "first" }, attributes: new[] { OnnxAttribute.Int("to", 1) });
        b.Node("Cast", new[] { "i2" }, new[] { "lastIndex" }, attributes: new[] { OnnxAttribute.Int("to", 1) });
        b.Node("Cast", new[] { "i3" }, new[] { "least" }, attributes: new[] { OnnxAttribute.Int("to", 1) });
        b.Node("ReduceMax", new[] { "x" }, new[] { "max" }, attributes: new[] { OnnxAttribute.Ints("axes", 1) });
        b.Node("ReduceMean", new[] { "x" }, new[] { "mean" }, attributes: new[] { OnnxAttribute.Ints("axes", 1) });
        b.Node("ReduceL2", new[] { "x" }, new[] { "norm" }, attributes: new[] { OnnxAttribute.Ints("axes", 1) });
        b.Output("first", 1, 1, 12, 13);
        b.Output("lastIndex", 1, 1, 12, 13);
        b.Output("least", 1, 12, 13);
        b.Output("max", 1, 1, 12, 13);
        b.Output("mean", 1, 1, 12, 13);
        b.Output("norm", 1, 1, 12, 13);
        string sources = CompareWithOrt(b, "reduce-channels", "a vector of neighbouring kept positions at a time");
        Assert.Equal(6, Regex.Matches(sources, "a vector of neighbouring kept positions at a time").Count);
    }

    /// <summary>Nested in-place concatenations with graph outputs on both sides of the slicing.</summary>
    internal static OnnxBuilder ConcatModel()
    {
        // c1 = concat(conv a, conv b) is itself an input of c2 = concat(c1, pool) (nested slices); 'a' is also a graph
        // output (its slice is copied out), and c2 is a graph output (the producers write into the user's buffer); 'b'
        // feeds a second concatenation too (it cannot be a slice of both).
        var b = new OnnxBuilder();
        b.Input("x", 1, 6, 16, 16);
        b.Initializer(OnnxTensor.RandomFloats("wa", new long[] { 5, 6, 3, 3 }, 21));
        b.Initializer(OnnxTensor.RandomFloats("wb", new long[] { 7, 6, 1, 1 }, 22));
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        b.Node("Conv", new[] { "xr", "wa" }, new[] { "a" }, attributes: new[] { OnnxAttribute.Ints("pads", 1, 1, 1, 1) });
        b.Node("Conv", new[] { "xr", "wb" }, new[] { "bb" });
        b.Node("Concat", new[] { "a", "bb" }, new[] { "c1" }, attributes: OnnxAttribute.Int("axis", 1));
        b.Node("MaxPool", new[] { "xr" }, new[] { "p" }, attributes: new[] { OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("pads", 1, 1, 1, 1) });
        b.Node("Concat", new[] { "c1", "p" }, new[] { "c2" }, attributes: OnnxAttribute.Int("axis", 1));
        b.Node("Concat", new[] { "bb", "p" }, new[] { "c3" }, attributes: OnnxAttribute.Int("axis", -3));
        b.Node("Sigmoid", new[] { "c3" }, new[] { "s3" });
        b.Output("c2", 1, 18, 16, 16);
        b.Output("a", 1, 5, 16, 16);
        b.Output("s3", 1, 13, 16, 16);
        return b;
    }

    /// <summary>
    /// A 1x1 at the edge of a blocked region (NCHW in, blocked out, to a depthwise convolution and back): 18 KB of weights
    /// with a 692 KB pack (each pixel tile packed on its own, the weights read from L1 per tile), and 64 KB of weights with
    /// the same pack (every pixel tile packed first, past the small budget: the weights read once). With at most 64 output
    /// and 128 input channels the GEMM writes the blocked layout, through its scratch (48 channels: 3 blocks, each of two
    /// row tiles on AVX2; 2704 pixels: a last column tile of 16). With fewer output channels than a weight panel (32 < 48)
    /// no region starts there: the 1x1 is a GEMM into NCHW and the depthwise reads NCHW.
    /// </summary>
    [Theory]
    [InlineData("blocked-edge-tile-pack", 48, 96, 52, "Relu", "each pixel tile packed channel-major into scratch, weight blocks innermost", true)]
    [InlineData("blocked-edge-whole-pack", 256, 64, 26, "Silu", "all pixel tiles packed channel-major into scratch first", true)]
    [InlineData("blocked-edge-gemm", 64, 48, 52, "Silu", "output channel-blocked [C/16][H][W][16]: each column tile's rows into the worker's scratch, then transposed into Y", true)]
    [InlineData("blocked-edge-gemm-column-tail", 64, 64, 26, "Silu", "the last column tile's 4 columns as a GEMV, 8 rows in the vector lanes", true)]
    [InlineData("blocked-edge-partial-panel", 64, 32, 52, "Relu", "lowering (x64): GEMM M=32 N=2704 K=64", false)]
    public void Blocked_edge_pointwise_matches_onnx_runtime(string name, int c, int oc, int hw, string act, string lowering, bool blockedOut)
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, c, hw, hw);
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        b.Initializer(OnnxTensor.RandomFloats("w1", new long[] { oc, c, 1, 1 }, 61));
        b.Initializer(OnnxTensor.RandomFloats("b1", new long[] { oc }, 62));
        b.Node("Conv", new[] { "xr", "w1", "b1" }, new[] { "y1" });
        if (act == "Silu")
        {
            b.Node("Sigmoid", new[] { "y1" }, new[] { "s1" });
            b.Node("Mul", new[] { "y1", "s1" }, new[] { "a1" });
        }
        else
        {
            b.Node(act, new[] { "y1" }, new[] { "a1" });
        }
        b.Initializer(OnnxTensor.RandomFloats("w2", new long[] { oc, 1, 3, 3 }, 63));
        b.Node("Conv", new[] { "a1", "w2" }, new[] { "y2" }, attributes: new[] { OnnxAttribute.Ints("pads", 1, 1, 1, 1), OnnxAttribute.Int("group", oc) });
        b.Node("Relu", new[] { "y2" }, new[] { "a2" });
        b.Initializer(OnnxTensor.RandomFloats("w3", new long[] { 24, oc, 1, 1 }, 64));
        b.Node("Conv", new[] { "a2", "w3" }, new[] { "y" });
        b.Output("y", 1, 24, hw, hw);
        string sources = CompareWithOrt(b, name, lowering);
        Assert.Equal(blockedOut, sources.Contains("output channel-blocked [C/16][H][W][16]"));
    }

    /// <summary>
    /// The channel-blocked layout (Passes/BlockedLayout) across a chain of small-plane layers: a 1x1 from NCHW into blocked
    /// (13x13 = 169 pixels: partial pixel tiles), 1x1 and 3x3 depthwise blocked to blocked, a blocked residual, SiLU
    /// epilogues (1x1 and a 5x5 stride-2 depthwise with border columns on both sides), a squeeze-and-excitation gate (a
    /// blocked Mul by a per-channel scale), a 1x1 with more output channels than pixels (64 > 49: pixel tiles innermost, the
    /// next weight block prefetched), a blocked value read by a global average pool and by a 1x1 back into NCHW (40
    /// channels: not blockable), and tail blocks of one vector (32 channels).
    /// </summary>
    [Fact]
    public void Blocked_layout_chain_matches_onnx_runtime()
    {
        // Batch 2: every blocked kernel offsets its batches ([N][C/16][H][W][16]), the gate has one scale per image.
        var b = new OnnxBuilder();
        b.Input("x", 2, 24, 13, 13);
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        int seed = 30;
        void Conv(string input, string output, int c, int oc, int k, int stride, int group, string? act, string? residual = null) =>
            ConvNode(b, ref seed, input, output, c, oc, k, stride, group, act, residual);
        // The region starts at a whole panel (48 channels): a 1x1 from NCHW with fewer output channels stays NCHW.
        Conv("xr", "a0", 24, 48, 1, 1, 1, "Relu");
        Conv("a0", "a", 48, 32, 1, 1, 1, "Relu");
        Conv("a", "p", 32, 96, 1, 1, 1, "Relu");
        Conv("p", "q", 96, 96, 3, 1, 96, "Relu");
        Conv("q", "d", 96, 32, 1, 1, 1, null, residual: "a");
        Conv("d", "e", 32, 96, 1, 1, 1, "Silu");
        Conv("e", "f", 96, 96, 5, 2, 96, "Silu");
        // Squeeze-and-excitation: the blocked f pooled, two 1x1s on the 1x1 plane (NCHW), f scaled per channel (blocked).
        b.Node("GlobalAveragePool", new[] { "f" }, new[] { "se" });
        Conv("se", "se1", 96, 16, 1, 1, 1, "Relu");
        Conv("se1", "se2", 16, 96, 1, 1, 1, "Sigmoid");
        b.Node("Mul", new[] { "se2", "f" }, new[] { "fs" });
        Conv("fs", "g", 96, 64, 1, 1, 1, "Relu");
        b.Node("GlobalAveragePool", new[] { "g" }, new[] { "pool" });
        Conv("g", "h", 64, 40, 1, 1, 1, null);
        b.Output("pool", 2, 64, 1, 1);
        b.Output("h", 2, 40, 7, 7);
        string sources = CompareWithOrt(b, "blocked-chain", "input and output channel-blocked [C/16][H][W][16]");
        Assert.Contains("epilogue (output channel-blocked", sources);
        // The first 1x1 (24 -> 48 from NCHW, batch 2, 169 pixels: a last column tile of 1 on AVX2) is the GEMM into blocked.
        Assert.Contains("GEMM M=48 N=169 K=24 x batch 2; A packed [6][24][8]; B row-major (ldb 169); output channel-blocked", sources);
        Assert.Contains("input channel-blocked [C/16][H][W][16], read in place", sources);
        Assert.Contains("the next one prefetched over its pixel tiles", sources);
        Assert.Contains("over the channel-blocked input", sources);
        Assert.Contains("_BlockedX_BlockedY_Bias_Res_", sources);
        Assert.Contains("Mul over [12x49x16]", sources);
    }

    /// <summary>
    /// Blocked 1x1s on a 7x7 plane whose weight blocks are too large for L1 (528 input channels: 33 KB per AVX2 block of 16
    /// output channels, 99 KB per AVX-512 one of 48) accumulate over chunks of input channels (3 x 176 on AVX2; 64 on
    /// AVX-512), the partial sums of a group of pixel tiles on the worker's stack: one with a residual, into NCHW (the last
    /// chunk's transposed epilogue), one with SiLU into the blocked layout; 80 output channels take the profile's narrow
    /// panels on AVX2 (16 channels, no 8-channel block) and 49 pixels leave a 1-pixel tile (its input channels over several
    /// accumulator sets), batch 2 offsets every chunk's input; a last 80 -> 32 + SiLU into NCHW (unchunked). Reading the
    /// wrong chunk's weights or dropping the partial sums fails it; CompareWithOrt also runs 2 threads.
    /// </summary>
    [Fact]
    public void Blocked_pointwise_channel_chunks_match_onnx_runtime()
    {
        var b = new OnnxBuilder();
        b.Input("x", 2, 24, 7, 7);
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        int seed = 70;
        string Conv(string input, string output, int c, int oc, int k, int group, string? act, string? residual = null) =>
            ConvNode(b, ref seed, input, output, c, oc, k, 1, group, act, residual);
        string r = Conv("xr", "r", 24, 80, 1, 1, "Relu");
        string e = Conv(r, "e", 80, 528, 1, 1, "Silu");
        string d = Conv(e, "d", 528, 528, 3, 528, "Relu");
        // An Identity after the residual layer keeps its output NCHW (the layout pass stops at it): the transposed epilogue.
        string p = Conv(d, "p0", 528, 80, 1, 1, null, residual: r);
        b.Node("Identity", new[] { p }, new[] { "p" });
        p = "p";
        string e2 = Conv(p, "e2", 80, 528, 1, 1, "Relu");
        string d2 = Conv(e2, "d2", 528, 528, 3, 528, "Relu");
        string q = Conv(d2, "q", 528, 80, 1, 1, "Silu");
        Conv(q, "out", 80, 32, 1, 1, "Silu");
        b.Output("out", 2, 32, 7, 7);
        // 80 and 32 output channels take the profile's narrow panels on AVX2 (16 channels: 4 x 16 tiles, no 8-channel block).
        string sources = CompareWithOrt(b, "blocked-channel-chunks", "input channels accumulated in chunks of 64 (Avx512), 176 (Avx2)");
        Assert.Contains("F32ConvChannelsPointwise_4x16_BlockedX_Part_Bias_Res_Avx2", sources);
        Assert.Contains("F32ConvChannelsPointwise_4x16_BlockedX_BlockedY_Part_Bias_Silu_Avx2", sources);
        Assert.Contains("F32ConvChannelsPointwise_1x16k4_BlockedX_Part_Bias_Res_Avx2", sources);
        Assert.Contains("F32ConvChannelsPointwise_4x16_BlockedX_Bias_Silu_Avx2", sources);
    }

    /// <summary>
    /// A blocked input into 104 NCHW output channels (4 x 24 + 8: not a multiple of 16, so the 24-channel panels stay):
    /// the 8-channel block in 12-pixel tiles on AVX2, chunked over 400 input channels (the 1-pixel tile after the last
    /// whole one through the narrow kernels) and unchunked over 80, both with SiLU into NCHW; batch 2. CompareWithOrt also
    /// runs 2 threads.
    /// </summary>
    [Fact]
    public void Blocked_pointwise_wide_tail_tiles_match_onnx_runtime()
    {
        var b = new OnnxBuilder();
        b.Input("x", 2, 24, 7, 7);
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        int seed = 90;
        string Conv(string input, string output, int c, int oc, int k, int group, string? act, string? residual = null) =>
            ConvNode(b, ref seed, input, output, c, oc, k, 1, group, act, residual);
        string r = Conv("xr", "r", 24, 80, 1, 1, "Relu");
        string e = Conv(r, "e", 80, 400, 1, 1, "Silu");
        string d = Conv(e, "d", 400, 400, 3, 400, "Relu");
        Conv(d, "p", 400, 104, 1, 1, "Silu");
        Conv(r, "q", 80, 104, 1, 1, "Silu");
        b.Output("p", 2, 104, 7, 7);
        b.Output("q", 2, 104, 7, 7);
        string sources = CompareWithOrt(b, "blocked-wide-tail", "the last block's 8 channels in tiles of 12 pixels");
        Assert.Contains("F32ConvChannelsPointwise_12x8_BlockedX_Whole_Part_Bias_Silu_Avx2", sources);
        Assert.Contains("F32ConvChannelsPointwise_1x8k4_BlockedX_Part_Bias_Silu_Avx2", sources);
        Assert.Contains("F32ConvChannelsPointwise_12x8_BlockedX_Whole_Bias_Silu_Avx2", sources);
    }

    /// <summary>
    /// A 1x1 expansion whose large output (at least 2 MB) only a depthwise convolution reads is fused with it
    /// (Passes/RingFusion): its rows go band by band into a ring per channel that the depthwise rows read. Cases: stride
    /// 2 with Clip(0, 6) (MobileNetV2's first block); stride 1 with SiLU on both layers, no depthwise bias, and a height
    /// that leaves a partial last band and runs of rows that wrap around the ring; a 5x5 stride-2 window on odd sizes; and
    /// the same pair not fused when the expanded tensor has a second reader. The arena must then hold the expanded tensor,
    /// and must not when fused. CompareWithOrt also runs 2 threads (the channels split in two shares).
    /// </summary>
    [Theory]
    [InlineData("fused-expand-stride2-clip", 16, 112, 112, 96, 3, 2, "Clip", true, false)]
    [InlineData("fused-expand-stride1-silu", 8, 101, 77, 80, 3, 1, "Silu", false, false)]
    [InlineData("fused-expand-5x5-stride2", 12, 97, 90, 64, 5, 2, "Relu", true, false)]
    [InlineData("unfused-expand-two-readers", 8, 101, 77, 80, 3, 1, "Relu", true, true)]
    public void Expand_depthwise_fusion_matches_onnx_runtime(string name, int c, int h, int w, int m, int k, int stride, string act, bool dwBias, bool secondReader)
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, c, h, w);
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        void Activation(string y, string output)
        {
            switch (act)
            {
                case "Silu":
                    b.Node("Sigmoid", new[] { y }, new[] { output + "_sg" });
                    b.Node("Mul", new[] { y, output + "_sg" }, new[] { output });
                    break;
                case "Clip":
                    b.Node("Clip", new[] { y, output + "_lo", output + "_hi" }, new[] { output });
                    b.Initializer(OnnxTensor.Floats(output + "_lo", new long[0], new[] { 0f }));
                    b.Initializer(OnnxTensor.Floats(output + "_hi", new long[0], new[] { 6f }));
                    break;
                default:
                    b.Node(act, new[] { y }, new[] { output });
                    break;
            }
        }
        b.Initializer(OnnxTensor.RandomFloats("w1", new long[] { m, c, 1, 1 }, 71));
        b.Initializer(OnnxTensor.RandomFloats("b1", new long[] { m }, 72));
        b.Node("Conv", new[] { "xr", "w1", "b1" }, new[] { "y1" });
        Activation("y1", "e");
        b.Initializer(OnnxTensor.RandomFloats("w2", new long[] { m, 1, k, k }, 73));
        b.Initializer(OnnxTensor.RandomFloats("b2", new long[] { m }, 74));
        b.Node("Conv", dwBias ? new[] { "e", "w2", "b2" } : new[] { "e", "w2" }, new[] { "y2" }, attributes: new[]
        {
            OnnxAttribute.Ints("kernel_shape", k, k), OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", k / 2, k / 2, k / 2, k / 2), OnnxAttribute.Int("group", m),
        });
        Activation("y2", "d");
        int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1;
        b.Output("d", 1, m, oh, ow);
        if (secondReader)
        {
            b.Node("GlobalAveragePool", new[] { "e" }, new[] { "pool" });
            b.Output("pool", 1, m, 1, 1);
        }
        string sources = CompareWithOrt(b, name, secondReader ? "lowering: DepthwiseConv over" : "and the depthwise convolution fused");
        AssertRingFusion(sources, "and the depthwise convolution fused", (long)m * h * w * sizeof(float), !secondReader);
    }

    /// <summary>
    /// A row-mode direct convolution whose output (at least 2 MB) only a row-by-row max pool reads is fused with it
    /// (Passes/RingFusion): its rows go band by band into a ring per channel that the pool rows read. Cases: SqueezeNet's
    /// stem (3x3 stride 2, no padding, then a 3x3 stride-2 pool); ResNet-18's (7x7 stride 2, then a padded 3x3 pool); a
    /// 5x5 stride-1 convolution on odd sizes into a 2x2 pool without bias; and the same pair not fused when the
    /// convolution's output has a second reader. CompareWithOrt also runs 2 threads (the channels split in two shares).
    /// </summary>
    [Theory]
    [InlineData("fused-conv-pool-squeezenet", 3, 224, 224, 64, 3, 2, 0, 3, 0, true, false)]
    [InlineData("fused-conv-pool-resnet", 3, 224, 224, 64, 7, 2, 3, 3, 1, true, false)]
    [InlineData("fused-conv-pool-odd", 5, 131, 121, 48, 5, 1, 2, 2, 0, false, false)]
    [InlineData("unfused-conv-pool-two-readers", 3, 224, 224, 64, 3, 2, 0, 3, 0, true, true)]
    public void Conv_pool_fusion_matches_onnx_runtime(string name, int c, int h, int w, int m, int k, int stride, int pad, int pool, int poolPad, bool bias, bool secondReader)
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, c, h, w);
        b.Initializer(OnnxTensor.RandomFloats("w1", new long[] { m, c, k, k }, 81));
        b.Initializer(OnnxTensor.RandomFloats("b1", new long[] { m }, 82));
        b.Node("Conv", bias ? new[] { "x", "w1", "b1" } : new[] { "x", "w1" }, new[] { "y1" }, attributes: new[]
        {
            OnnxAttribute.Ints("kernel_shape", k, k), OnnxAttribute.Ints("strides", stride, stride), OnnxAttribute.Ints("pads", pad, pad, pad, pad),
        });
        b.Node("Relu", new[] { "y1" }, new[] { "r1" });
        b.Node("MaxPool", new[] { "r1" }, new[] { "p" }, attributes: new[]
        {
            OnnxAttribute.Ints("kernel_shape", pool, pool), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Ints("pads", poolPad, poolPad, poolPad, poolPad),
        });
        int ch = (h + 2 * pad - k) / stride + 1, cw = (w + 2 * pad - k) / stride + 1;
        int ph = (ch + 2 * poolPad - pool) / 2 + 1, pw = (cw + 2 * poolPad - pool) / 2 + 1;
        b.Output("p", 1, m, ph, pw);
        if (secondReader)
        {
            b.Node("GlobalAveragePool", new[] { "r1" }, new[] { "g" });
            b.Output("g", 1, m, 1, 1);
        }
        string sources = CompareWithOrt(b, name, secondReader ? "lowering: MaxPool" : "lowering: the direct convolution and the max pool fused");
        AssertRingFusion(sources, "and the max pool fused", (long)m * ch * cw * sizeof(float), !secondReader);
    }

    /// <summary>
    /// A ring-fused pair (its remark <paramref name="fusedRemark"/>) leaves the tensor between its layers
    /// (<paramref name="between"/> bytes) out of the arena; unfused, the remark is absent and the arena holds it.
    /// </summary>
    private static void AssertRingFusion(string sources, string fusedRemark, long between, bool fused)
    {
        long arena = long.Parse(System.Text.RegularExpressions.Regex.Match(sources, @"activation arena: (\d+) bytes").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        if (fused)
        {
            Assert.True(arena < between, $"arena {arena} bytes: the tensor between the fused layers ({between}) must not be in it");
        }
        else
        {
            Assert.DoesNotContain(fusedRemark, sources);
            Assert.True(arena >= between, $"arena {arena} bytes: the tensor between the layers ({between}) must be in it");
        }
    }

    /// <param name="lowering">Text the convolution layer's remarks must contain (the kernel family this case is meant to exercise).</param>
    /// <summary>
    /// ModelGenWinograd steers a layer the cost model lowers to F(4x4,3x3) (winograd4-bands-silu's shape) to F(2x2,3x3)
    /// with F2 and to the direct convolution with Off; each still matches ONNX Runtime.
    /// </summary>
    [Theory]
    [InlineData("F2", "lowering: Winograd F(2x2,3x3)", "Winograd F(4x4")]
    [InlineData("off", "lowering: direct convolution", "lowering: Winograd")]
    public void Winograd_option_restricts_the_algorithm(string option, string lowering, string absent)
    {
        string name = "winograd-option-" + option.ToLowerInvariant();
        string all = CompareWithOrt(ConvolutionModel(name, 64, 58, 58, 40, 3, 1, 1, 1, 1, false, "Silu"), name, lowering,
            new Dictionary<string, string> { ["ModelGenWinograd"] = option });
        Assert.DoesNotContain(absent, all);
    }

    /// <summary>
    /// Squeeze-and-excitation gates (x * sigmoid(1x1(silu(1x1(pool(x))))), as in EfficientNet) before a 1x1 projection
    /// with a residual: the Mul folds into the projection's weights, scaled per input channel at run time
    /// (Passes/FoldChannelScale), where x has more pixels than the projection has output channels: on 60x60 NCHW planes
    /// (the projection a GEMM, 40 -> 24: A panels of 8) and on 14x14 channel-blocked ones (channel-vectorised, 96 -> 80:
    /// weight panels of 24 or 48, the last one partial). At 7x7 with 64 output channels, and at batch 2 (one gate per
    /// image), the Mul stays. Scaling the weights by the wrong channel's gate or not at all fails it; CompareWithOrt also
    /// runs 2 threads.
    /// </summary>
    [Theory]
    [InlineData("se-fold-nchw", 1, 40, 60, 24, true)]
    [InlineData("se-fold-blocked", 1, 96, 14, 80, true)]
    [InlineData("se-kept-small-plane", 1, 96, 7, 64, false)]
    [InlineData("se-kept-batch", 2, 96, 14, 80, false)]
    public void Squeeze_excitation_gate_folds_into_the_projection(string name, int batch, int c, int hw, int oc, bool folded)
    {
        var b = new OnnxBuilder();
        b.Input("x", batch, 24, hw, hw);
        b.Node("Relu", new[] { "x" }, new[] { "xr" });
        int seed = 80;
        void Conv(string input, string output, int ci, int co, int k, int group, string? act, string? residual = null) =>
            ConvNode(b, ref seed, input, output, ci, co, k, 1, group, act, residual);
        Conv("xr", "e", 24, c, 1, 1, "Silu");
        Conv("e", "d", c, c, 3, c, "Silu");
        b.Node("GlobalAveragePool", new[] { "d" }, new[] { "p" });
        Conv("p", "s1", c, 8, 1, 1, "Silu");
        Conv("s1", "s2", 8, c, 1, 1, "Sigmoid");
        b.Node("Mul", new[] { "d", "s2" }, new[] { "g" });
        Conv("xr", "skip", 24, oc, 1, 1, null);
        Conv("g", "y", c, oc, 1, 1, null, residual: "skip");
        b.Output("y", batch, oc, hw, hw);
        string sources = CompareWithOrt(b, name, null);
        Assert.Equal(folded, sources.Contains("lowering: WeightTransforms.ScalePanelColumns at run time (the weights scaled per input channel by 's2'"));
        Assert.Equal(folded, !System.Text.RegularExpressions.Regex.IsMatch(sources, @"void L\d+_Mul_"));
        if (folded) Assert.Contains(hw > 56 ? "lowering (x64): GEMM M=24" : "input channel-blocked [C/16][H][W][16], read in place", sources);
    }

    /// <summary>
    /// A convolution node named <paramref name="output"/> with random weights and bias (seeds from <paramref name="seed"/>),
    /// "same" padding, then an optional residual Add and activation (Relu, Sigmoid, or Silu as Sigmoid * Mul).
    /// </summary>
    private static string ConvNode(OnnxBuilder b, ref int seed, string input, string output, int c, int oc, int k, int stride, int group, string? act, string? residual)
    {
        string w = output + "_w", bias = output + "_b", y = act is null && residual is null ? output : output + "_y";
        b.Initializer(OnnxTensor.RandomFloats(w, new long[] { oc, c / group, k, k }, seed++));
        b.Initializer(OnnxTensor.RandomFloats(bias, new long[] { oc }, seed++));
        b.Node("Conv", new[] { input, w, bias }, new[] { y }, attributes: new[]
        {
            OnnxAttribute.Ints("kernel_shape", k, k), OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", k / 2, k / 2, k / 2, k / 2), OnnxAttribute.Int("group", group),
        });
        if (residual is not null)
        {
            b.Node("Add", new[] { y, residual }, new[] { act is null ? output : output + "_s" });
            y = output + "_s";
        }
        if (act == "Silu")
        {
            b.Node("Sigmoid", new[] { y }, new[] { output + "_sg" });
            b.Node("Mul", new[] { y, output + "_sg" }, new[] { output });
        }
        else if (act is not null)
        {
            b.Node(act, new[] { y }, new[] { output });
        }
        return output;
    }

    private static string CompareWithOrt(OnnxBuilder builder, string name, string? lowering, IReadOnlyDictionary<string, string>? metadata = null)
    {
        string path = builder.Save(Path.Combine(Path.GetTempPath(), "modelgen-kernel-tests", name + ".onnx"));
        GeneratorRun run = GeneratorHarness.Run(path, metadata);
        Assert.Empty(run.Diagnostics.Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning));
        string sources = string.Concat(run.Sources.Select(s => s.Source));
        if (lowering is not null) Assert.Contains(lowering, sources);
        using LoadedAssembly asm = run.Load();
        string cls = "TestApp." + string.Concat(name.Split('-').Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1)));
        using ICompiledModel model = asm.Create(cls);
        using ICompiledModel parallel = asm.Create(cls, degreeOfParallelism: 2);
        string? error = OrtComparison.Compare(path, model, Tolerance, seed: 5);
        Assert.True(error is null, error);
        float[][] inputs = model.Inputs.Select((t, i) => OrtComparison.RandomInput(t.ElementCount, 50 + i)).ToArray();
        float[][] serial = OrtComparison.RunCompiled(model, inputs), split = OrtComparison.RunCompiled(parallel, inputs);
        for (int o = 0; o < serial.Length; o++) Assert.True(serial[o].AsSpan().SequenceEqual(split[o]), $"{name}: output {o} differs between 1 and 2 threads");
        return sources;
    }
}
