// Licensed under the MIT license.
// Kernel specs: the per-family, shape-specialised parameters a layer is emitted from (one emitter per family in Emit/).
// Cacheability contract for every record here: numbers, enums, strings, nested records and EquatableArray only.

using ModelGen.Generator.Common;

namespace ModelGen.Generator.Model;

/// <summary>How GEMM operand A (M x K) is laid out.</summary>
internal enum GemmALayout
{
    /// <summary>Weights packed at construction as [ceil(M/MR)][K][MR], zero-padded rows (conv weights).</summary>
    Packed,
    /// <summary>Row-major a[m * lda + k] (activations; rows past M are clamped, never read).</summary>
    RowMajor,
}

/// <summary>How GEMM operand B (K x N) is read.</summary>
internal enum GemmBLayout
{
    /// <summary>Row-major b[k * ldb + n] read in place (an arena tensor; tail columns over-read into the arena's padding).</summary>
    RowMajor,
    /// <summary>Weights packed at construction as [ceil(N/NRp)][K][NRp], zero-padded columns.</summary>
    Packed,
    /// <summary>Panels of K x NR packed per column tile from a convolution input (implicit im2col) into scratch.</summary>
    Im2ColPanel,
}

internal enum GemmBias
{
    None,
    /// <summary>bias[m] (convolution output channels).</summary>
    PerRow,
    /// <summary>bias[n] (fully connected outputs), zero-padded to the packed width.</summary>
    PerColumn,
}

/// <summary>2-D convolution geometry for the implicit im2col packer (per group).</summary>
internal sealed record ConvGeometry(
    int Channels, int InH, int InW, int KernelH, int KernelW, int StrideH, int StrideW,
    int DilationH, int DilationW, int PadTop, int PadLeft, int OutH, int OutW)
{
    /// <summary>K rows of N floats as a 1 x N image with K channels and a 1x1 window: the im2col packer then copies K x NR panels.</summary>
    public static ConvGeometry Rows(int k, int n) => new(k, 1, n, 1, 1, 1, 1, 1, 1, 0, 0, 1, n);

    /// <summary>Whether this is a <see cref="Rows"/> geometry (the packer copies, no window).</summary>
    public bool IsRows => InH == 1 && OutH == 1 && KernelH == 1 && KernelW == 1 && StrideW == 1 && PadLeft == 0 && OutW == InW;

    /// <summary>Output rows [Lo, Hi) whose window lies inside the input vertically (see <see cref="InteriorColumns"/>).</summary>
    public (int Lo, int Hi) InteriorRows() => Interior(OutH, InH, KernelH, StrideH, DilationH, PadTop);

    /// <summary>
    /// Output columns [Lo, Hi) whose window lies inside the input row (every tap reads a pixel); when there are none, an
    /// empty range where the left border ends.
    /// </summary>
    public (int Lo, int Hi) InteriorColumns() => Interior(OutW, InW, KernelW, StrideW, DilationW, PadLeft);

    private static (int Lo, int Hi) Interior(int outSize, int inSize, int kernel, int stride, int dilation, int padBegin)
    {
        int lo = (padBegin + stride - 1) / stride;
        int last = inSize - 1 - (kernel - 1) * dilation + padBegin; // the largest o * stride whose window fits
        int hi = last < 0 ? 0 : System.Math.Min(outSize, last / stride + 1);
        if (hi < lo) hi = lo = System.Math.Min(lo, outSize);
        return (lo, hi);
    }
}

/// <summary>
/// C[g,b] = act(A[g] x B[g,b] + bias + R) for every group g and batch b: M x K times K x N.
/// Operands: A, B, C, optional Bias, optional R (residual), optional S (scratch for B panels).
/// </summary>
internal sealed record GemmSpec : KernelSpec
{
    /// <summary>Layer parameter names of the operands (ONNX spec names: X/W/B/Y for Conv, A/B/C/Y for Gemm).</summary>
    public required string AName { get; init; }
    public required string BName { get; init; }
    public required string YName { get; init; }
    public string? BiasName { get; init; }
    public string? RName { get; init; }
    public string? ScratchName { get; init; }
    public required int M { get; init; }
    public required int N { get; init; }
    public required int K { get; init; }
    public required GemmALayout ALayout { get; init; }
    public long Lda { get; init; }
    public required GemmBLayout BLayout { get; init; }
    public long Ldb { get; init; }
    /// <summary>Column width of packed B panels (Packed layout).</summary>
    public int PackedNR { get; init; }
    public required long Ldc { get; init; }
    public GemmBias Bias { get; init; }
    public bool Residual { get; init; }
    public long Ldr { get; init; }
    public required Activation Activation { get; init; }
    public required int MR { get; init; }
    /// <summary>Tiles prefetch the lines of C they will store (a large output: see TargetProfile.OutputPrefetchBytes).</summary>
    public bool PrefetchC { get; init; }
    public int Groups { get; init; } = 1;
    public long AGroupStride { get; init; }
    public long BGroupStride { get; init; }
    public long CGroupStride { get; init; }
    public long BiasGroupStride { get; init; }
    public int Batch { get; init; } = 1;
    public long ABatchStride { get; init; }
    public long BBatchStride { get; init; }
    public long CBatchStride { get; init; }
    public ConvGeometry? Conv { get; init; }
    /// <summary>
    /// C stored channel-blocked, [Batch][M/16][N][16] (Passes/BlockedLayout; M a multiple of 16, one group, no residual):
    /// each column tile's M x NR outputs go through the worker's scratch, then transposed into Y.
    /// </summary>
    public bool YBlocked { get; init; }
}

internal enum PoolKind
{
    Max,
    Average,
    Lp,
}

/// <summary>2-D pooling over NCHW planes (1-D and 3-D pools are mapped onto it where possible).</summary>
internal sealed record PoolSpec(
    PoolKind Kind, int Planes, ConvGeometry Geometry, int PadBottom, int PadRight, bool CountIncludePad, int P) : KernelSpec
{
    /// <summary>MaxPool's Indices output is written (flat indices into the input; column-major planes when StorageOrder = 1).</summary>
    public bool Indices { get; init; }
    public int StorageOrder { get; init; }
}

/// <summary>Reduction over the inner spatial extent of [Outer, Inner] (GlobalAveragePool/GlobalMaxPool).</summary>
internal sealed record GlobalPoolSpec(PoolKind Kind, int Outer, int Inner, int P) : KernelSpec
{
    /// <summary>X channel-blocked, [N][C/16][Inner][16] (Passes/BlockedLayout), with this many channels C per batch (0: NCHW).</summary>
    public int BlockedChannels { get; init; }
}

/// <summary>Element-wise unary operation (activation functions and math).</summary>
internal sealed record UnarySpec(string Op, long Count, float Alpha, float Beta) : KernelSpec;

/// <summary>
/// Element-wise N-ary operation with multidirectional broadcasting (Add, Mul, Pow, Sum, PRelu, Equal, Where...), as
/// loops over the output shape (contiguous axes merged) with per-input strides (0 on broadcast axes). Operands X0..Xn, Y.
/// </summary>
internal sealed record BroadcastSpec(
    string Op, EquatableArray<int> Shape, EquatableArray<EquatableArray<long>> Strides, Activation Activation) : KernelSpec
{
    /// <summary>Scalar parameter of the op (Axpy: y = x0 + Alpha * x1).</summary>
    public float Alpha { get; init; }
}

/// <summary>A weight packing done at run time (weights that are graph inputs): WeightTransforms.{Transform}(Y, operands..., parameters...).</summary>
internal sealed record RuntimeTransformSpec(string Transform, EquatableArray<string> Parameters) : KernelSpec
{
    /// <summary>Why the transform runs at run time (the layer's remark).</summary>
    public string Why { get; init; } = "the weights are a graph input";
}

/// <summary>y = x * scale[c] + shift[c] over [Outer, Channels, Inner] (BatchNormalization not folded into a Conv).</summary>
internal sealed record ChannelAffineSpec(int Outer, int Channels, int Inner, Activation Activation) : KernelSpec
{
    /// <summary>Scale/Shift are computed per channel at run time from operands Scale (gamma), Shift (beta), Mean and Var.</summary>
    public bool FromStatistics { get; init; }
    public float Epsilon { get; init; }
}

/// <summary>Softmax, LogSoftmax or Hardmax (Op) over the middle axis of a [Outer, Axis, Inner] view.</summary>
internal sealed record SoftmaxSpec(int Outer, int Axis, int Inner, string Op) : KernelSpec;

/// <summary>Copies Bytes contiguous bytes (graph outputs that alias inputs or constants).</summary>
internal sealed record CopySpec(long Bytes) : KernelSpec;

/// <summary>Element-wise type conversion of Count elements (types from the operands): Cast at run time.</summary>
internal sealed record CastSpec(long Count) : KernelSpec;

/// <summary>Concatenation: Outer blocks; block i of input j has InnerSizes[j] elements; output block size OutInner.</summary>
internal sealed record ConcatSpec(long Outer, EquatableArray<long> InnerSizes, long OutInner) : KernelSpec;

/// <summary>Throws NotSupportedException (models with unsupported nodes still compile).</summary>
internal sealed record UnsupportedSpec(string Message) : KernelSpec;

/// <summary>
/// y[i] = x[Offset + sum_d(i_d * InStrides[d])] over the output Shape (axes merged where contiguous): Transpose, Slice,
/// Expand, Gather of one index, DepthToSpace... Strides may be 0 (broadcast) or negative (reversed slices).
/// </summary>
internal sealed record StridedCopySpec(EquatableArray<int> Shape, EquatableArray<long> InStrides, long Offset) : KernelSpec;

/// <summary>Gather along an axis with build-time indices: Outer blocks, each of Indices.Count slices of Inner elements.</summary>
internal sealed record GatherSpec(long Outer, int AxisLength, EquatableArray<int> Indices, long Inner) : KernelSpec;

/// <summary>
/// Reduction over the Reduced axes for every position of the Kept axes (both merged, with input strides): ReduceSum,
/// ReduceMean, ReduceMax..., ArgMax/ArgMin (int64 output). Output is dense in kept order.
/// </summary>
internal sealed record ReduceSpec(
    string Op, EquatableArray<int> Kept, EquatableArray<long> KeptStrides, EquatableArray<int> Reduced, EquatableArray<long> ReducedStrides,
    bool SelectLastIndex) : KernelSpec;

/// <summary>Pad of an N-d tensor (constant, reflect, edge, wrap); pads may be negative (crop).</summary>
internal sealed record PadSpec(string Mode, EquatableArray<int> InShape, EquatableArray<int> Begin, EquatableArray<int> OutShape, float Value) : KernelSpec;

/// <summary>InstanceNormalization: per (n, c) plane of Spatial elements, y = act(scale[c] * (x - mean) / sqrt(var + eps) + b[c]).</summary>
internal sealed record InstanceNormSpec(int Batch, int Channels, int Spatial, float Epsilon, Activation Activation) : KernelSpec;

/// <summary>LayerNormalization over the Inner elements of each of Outer rows, with Scale and optional B of Inner elements.</summary>
internal sealed record LayerNormSpec(int Outer, int Inner, float Epsilon, bool HasBias, bool WritesMean, bool WritesInvStdDev) : KernelSpec;

/// <summary>Local response normalisation across channels.</summary>
internal sealed record LrnSpec(int Batch, int Channels, int Spatial, int Size, float Alpha, float Beta, float Bias) : KernelSpec;

/// <summary>
/// ConvTranspose's scatter step: Y[n, g*Mg + m, oy, ox] = bias + sum over (kh, kw) of Col[(m, kh, kw), iy * W + ix] where
/// oy = iy * sh - padTop + kh * dh (and likewise for x). Col holds the GEMM W^T x X per group.
/// </summary>
internal sealed record Col2ImSpec(int Batch, int Groups, int OutChannelsPerGroup, ConvGeometry Geometry, bool HasBias) : KernelSpec;

/// <summary>
/// Resize of an N-d tensor from build-time tap tables: for every output coordinate along each axis, Taps source indices
/// and weights (index -1 = outside the input for tf_crop_and_resize: the element takes the extrapolation value).
/// </summary>
internal sealed record ResizeSpec(
    EquatableArray<int> InShape, EquatableArray<int> OutShape, EquatableArray<int> Taps,
    EquatableArray<EquatableArray<int>> Indices, EquatableArray<EquatableArray<string>> Weights, float Extrapolation) : KernelSpec;

/// <summary>
/// A per-plane spatial filter (depthwise convolution, max/average/Lp pooling) computed on a padded, phase-split copy of
/// each input plane: every tap becomes a contiguous, bounds-check-free vector read at a build-time offset. Operands X,
/// W and B (depthwise), Y, S (scratch).
/// </summary>
internal sealed record PlaneFilterSpec(
    string Op, int Batch, int Channels, int Multiplier, ConvGeometry Geometry, int PadBottom, int PadRight,
    bool HasBias, Activation Activation, bool CountIncludePad, int P) : KernelSpec
{
    /// <summary>Depthwise with the channels in the vector lanes (Emit/DepthwiseChannelsEmitter; W packed [C/16][taps][16]).</summary>
    public bool ChannelVectors { get; init; }
    /// <summary>X and Y channel-blocked, [N][C/16][H][W][16] (Passes/BlockedLayout): read and written in place (ChannelVectors).</summary>
    public bool Blocked { get; init; }
    public int StrideY => Geometry.StrideH;
    public int StrideX => Geometry.StrideW;
}

/// <summary>
/// Convolution computed directly on padded, phase-split copies of the input planes (Emit/PhasePlanes): a GEMM whose B
/// row for (input channel c, tap t) is the channel's sub-planes at a build-time offset, so no im2col matrix is packed.
/// Results land in a flat buffer (rows of Wq) and are compacted into Y with the residual and activation. Operands X,
/// W (packed [group][M/MR][C*T][MR]), B, R, Y, S (scratch: split planes, tap offsets, flat output).
/// </summary>
internal sealed record DirectConvSpec(
    int Batch, int Groups, int InChannels, int OutChannels, ConvGeometry Geometry, bool HasBias, bool Residual,
    Activation Activation, int MR) : KernelSpec
{
    /// <summary>Row-mode tiles prefetch the output lines they will store (a large output: see TargetProfile.OutputPrefetchBytes).</summary>
    public bool PrefetchOutput { get; init; }

    /// <summary>
    /// 0: the whole input is split into phase planes first, then every tile runs. Else row mode in bands of this many
    /// output rows: a worker splits the input rows one band reads into its own scratch and runs the band's tiles from it
    /// (see Emit/DirectConvEmitter.PlanBand).
    /// </summary>
    public int BandRows { get; init; }
}

/// <summary>
/// A 3x3, stride-1 convolution by Winograd F(Tile x Tile, 3x3), Tile 2 or 4 (Emit/WinogradEmitter): per band of BandRows
/// rows of output tiles, n² input-transformed matrices V (C x tiles, n = Tile + 2), n² GEMMs M = U x V with the
/// transformed weights U (K x C, packed at construction), and the output transform with bias, residual and activation
/// stored into Y. Operands X, W (packed [n²][K/MR][C][MR]), B, R, Y, S (scratch: phase-split planes, V, M). CostRatio: the cost model's estimate against the
/// direct convolution (for the remarks). Panel &gt; 0: the channel layout (small planes, one band): the GEMMs put the
/// output channels in the vector lanes and the tiles in broadcast rows (the channel-vectorised convolution's kernels),
/// weights packed [n²][K/Panel][C][Panel], M stored tile-compact. Panel is the first ISA's (the lowering is decided for it);
/// the weights are packed in the panels of the ISA the machine has (TargetProfile.ChannelPanels) and each ISA's code reads those.
/// </summary>
internal sealed record WinogradConvSpec(
    int Batch, int InChannels, int OutChannels, ConvGeometry Geometry, bool HasBias, bool Residual, Activation Activation,
    int MR, int Tile, int BandRows, double CostRatio, int Panel = 0) : KernelSpec;

/// <summary>
/// A convolution with the output channels in the vector lanes (Emit/ChannelVectorConvEmitter), for small output planes
/// where pixel-vectorised tiles waste lanes (a 7x7 plane fills 49 of 64): tiles of MR pixels x a panel of output
/// channels; the input is read in place (Pointwise: 1x1, stride 1, unpadded) or from phase-split planes. Operands X,
/// W (packed [OC/Panel][C*KH*KW][Panel]), B (zero-padded to whole panels), R, Y, S (scratch: split planes). Panel is the first
/// ISA's; the weights are packed in the panels of the ISA the machine has (TargetProfile.ChannelPanels), each ISA's code reads those.
/// </summary>
internal sealed record ChannelVectorConvSpec(
    int Batch, int InChannels, int OutChannels, ConvGeometry Geometry, bool Pointwise, bool HasBias, bool Residual,
    Activation Activation, int Panel) : KernelSpec
{
    /// <summary>X channel-blocked, [N][C/16][H][W][16] (Passes/BlockedLayout): the tiles read it in place, no pack.</summary>
    public bool XBlocked { get; init; }
    /// <summary>Y (and R) channel-blocked: the tiles store their channel vectors as they are, no transposes.</summary>
    public bool YBlocked { get; init; }
    /// <summary>The profile's narrow panels and tiles (TargetProfile.NarrowsChannelPanels): emitted for TargetProfile.WithChannelPanels(true).</summary>
    public bool Narrow { get; init; }
}

/// <summary>
/// A 1x1 convolution (a GEMM over NCHW planes) fused with the depthwise convolution that alone reads its output
/// (Passes/RingFusion): bands of the expansion's rows go into a ring of rows per channel (Emit/RingBands)
/// (each worker's scratch), and the depthwise rows read them there, so the expanded tensor never reaches memory.
/// Operands X (the expansion's input), A (its packed weights), C (its bias), W and B (the depthwise weights and bias), Y,
/// S (ring, then the zero row). <paramref name="BandRows"/> output rows per band.
/// </summary>
internal sealed record ExpandDepthwiseSpec(GemmSpec Expand, PlaneFilterSpec Depthwise, int BandRows) : KernelSpec;

/// <summary>
/// A row-mode direct convolution fused with the max pool that alone reads its output (Passes/RingFusion): the input is
/// split into phase planes once (S, shared), then per band of pool output rows the convolution rows the band needs and
/// no earlier band computed go into a ring of rows per channel (Emit/RingBands; T, each worker's own, then the
/// pool's row buffer), and the pool rows read them there. Operands X, W (packed), B, Y (the pool's output), S, T.
/// </summary>
internal sealed record ConvPoolSpec(DirectConvSpec Conv, PlaneFilterSpec Pool, int BandRows) : KernelSpec;
