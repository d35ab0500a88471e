// Licensed under the MIT license.
// Construction-time weight preparation called by generated constructors: packing into the layouts the generated
// kernels read, BatchNormalization folding, and conversions. Each function has a plain scalar body: it runs once.

using System;
using System.Runtime.Intrinsics;

namespace ModelGen.Runtime;

/// <summary>Weight packing and folding for generated model constructors.</summary>
/// <remarks>Every destination is zeroed memory from <see cref="NativeBuffer"/>; padding stays zero.</remarks>
public static unsafe class WeightTransforms
{
    /// <summary>
    /// Packs row-major A [groups*m][k] into per-group panels [ceil(m/mr)][k][mr] (zero-padded rows), optionally
    /// multiplying row r by <paramref name="rowScale"/>[r] (BatchNormalization folded into a convolution).
    /// </summary>
    /// <param name="dst">Destination, groups*ceil(m/mr)*mr*k floats.</param>
    /// <param name="src">Source rows (a convolution weight [OC][IC/g*KH*KW]).</param>
    /// <param name="rowScale">Per-row multiplier, or null.</param>
    /// <param name="groups">Number of groups (row blocks of <paramref name="m"/>).</param>
    /// <param name="m">Rows per group.</param>
    /// <param name="k">Columns.</param>
    /// <param name="mr">Panel height.</param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void PackA(float* dst, float* src, float* rowScale, int groups, int m, int k, int mr)
    {
        int panels = (m + mr - 1) / mr;
        for (int g = 0; g < groups; g++)
        {
            for (int p = 0; p < panels; p++)
            {
                // Destination written in order (one panel row of mr values per column); the mr source rows are read
                // as mr sequential streams.
                float* d = dst + ((long)g * panels + p) * mr * k;
                int rows = Math.Min(mr, m - p * mr);
                for (int c = 0; c < k; c++)
                {
                    for (int i = 0; i < rows; i++)
                    {
                        long row = (long)g * m + p * mr + i;
                        d[(long)c * mr + i] = src[row * k + c] * (rowScale == null ? 1f : rowScale[row]);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs the transpose of each group's [k][m] block (a ConvTranspose weight [C_in][C_out/g * KH * KW]) into panels
    /// [ceil(m/mr)][k][mr], so the GEMM computes W^T x X.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void PackATransposed(float* dst, float* src, int groups, int m, int k, int mr)
    {
        int panels = (m + mr - 1) / mr;
        for (int g = 0; g < groups; g++)
        {
            float* gs = src + (long)g * k * m;
            float* gd = dst + (long)g * panels * mr * k;
            for (int r = 0; r < m; r++)
            {
                float* d = gd + (long)(r / mr) * mr * k + (r % mr);
                for (int c = 0; c < k; c++) d[(long)c * mr] = gs[(long)c * m + r];
            }
        }
    }

    /// <summary>
    /// Packs B [batch][k][n] (or [batch][n][k] when <paramref name="transposed"/>) into [batch][ceil(n/nr)][k][nr] column
    /// panels (zero-padded columns), multiplied by <paramref name="alpha"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void PackB(float* dst, float* src, int batch, int k, int n, int nr, int transposed, float alpha)
    {
        int panels = (n + nr - 1) / nr;
        for (int b = 0; b < batch; b++)
        {
            float* sb = src + (long)b * k * n;
            float* db = dst + (long)b * panels * k * nr;
            for (int kk = 0; kk < k; kk++)
            {
                for (int j = 0; j < n; j++)
                {
                    float v = transposed != 0 ? sb[(long)j * k + kk] : sb[(long)kk * n + j];
                    db[(long)(j / nr) * k * nr + (long)kk * nr + (j % nr)] = v * alpha;
                }
            }
        }
    }

    /// <summary>dst[r][c] = src[r][c] * scale[r] (a convolution weight with BatchNormalization folded in).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void ScaleRows(float* dst, float* src, float* scale, int rows, long cols)
    {
        for (int r = 0; r < rows; r++)
        {
            for (long c = 0; c < cols; c++) dst[r * cols + c] = src[r * cols + c] * scale[r];
        }
    }

    /// <summary>
    /// Packed panels [ceil(m/mr)][k][mr] (<see cref="PackA"/>'s layout) with column c (an input channel) multiplied by
    /// <paramref name="scale"/>[c]: a convolution's weights with a per-input-channel scale of its input folded in, once per
    /// inference (a squeeze-and-excitation gate).
    /// </summary>
    /// <param name="dst">Destination panels.</param>
    /// <param name="src">Source panels.</param>
    /// <param name="scale">k per-column multipliers.</param>
    /// <param name="m">Rows (output channels).</param>
    /// <param name="k">Columns (input channels).</param>
    /// <param name="mr">Panel height.</param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void ScalePanelColumns(float* dst, float* src, float* scale, int m, int k, int mr)
    {
        long panels = (m + mr - 1) / mr;
        for (long p = 0; p < panels; p++)
        {
            for (int c = 0; c < k; c++)
            {
                long at = (p * k + c) * mr;
                Scale(dst + at, src + at, mr, scale[c]);
            }
        }
    }

    /// <summary>
    /// dst[i] = src[i % count] * scale for i &lt; length: a Gemm C of 1 or N elements broadcast along the output row and
    /// scaled by beta (the destination's padding stays zero).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void BroadcastScaled(float* dst, float* src, long count, long length, float scale)
    {
        for (long i = 0; i < length; i++) dst[i] = src[i % count] * scale;
    }

    /// <summary>Copies <paramref name="n"/> values scaled by <paramref name="scale"/> (the rest of the destination stays zero).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Scale(float* dst, float* src, int n, float scale)
    {
        int i = 0;
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            var sv = System.Runtime.Intrinsics.Vector256.Create(scale);
            for (; i <= n - 8; i += 8) System.Runtime.Intrinsics.Vector256.Store(System.Runtime.Intrinsics.Vector256.Load(src + i) * sv, dst + i);
        }
        for (; i < n; i++) dst[i] = src[i] * scale;
    }

    /// <summary>scale[c] = gamma[c] / sqrt(var[c] + epsilon) (computed in double, rounded once).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormScale(float* dst, float* gamma, float* variance, int channels, double epsilon)
    {
        for (int c = 0; c < channels; c++) dst[c] = (float)(gamma[c] / Math.Sqrt(variance[c] + epsilon));
    }

    /// <summary>shift[c] = (bias[c] - mean[c]) * gamma[c] / sqrt(var[c] + epsilon) + beta[c]; a null bias counts as 0.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormBias(float* dst, float* bias, float* gamma, float* beta, float* mean, float* variance, int channels, double epsilon)
    {
        for (int c = 0; c < channels; c++)
        {
            double scale = gamma[c] / Math.Sqrt(variance[c] + epsilon);
            double b = bias == null ? 0 : bias[c];
            dst[c] = (float)((b - mean[c]) * scale + beta[c]);
        }
    }

    /// <summary>dst[c] = bias[c] + add[c % count] (a constant Add after a Conv folded into its bias); a null bias counts as 0.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void AddBias(float* dst, float* bias, float* add, int channels, int count)
    {
        for (int c = 0; c < channels; c++) dst[c] = (bias == null ? 0f : bias[c]) + add[c % count];
    }

    /// <summary>Converts IEEE half-precision values (little-endian) to float32.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void ConvertFromHalf(float* dst, byte* src, long count)
    {
        for (long i = 0; i < count; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf((ushort)(src[2 * i] | (src[2 * i + 1] << 8)));
    }

    /// <summary>Converts little-endian doubles to float32.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void ConvertFromDouble(float* dst, byte* src, long count)
    {
        for (long i = 0; i < count; i++) dst[i] = (float)BitConverter.Int64BitsToDouble(*(long*)(src + 8 * i));
    }

    /// <summary>Copies literal values (constants folded at build time).</summary>
    public static void CopyLiteral<T>(T* dst, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        for (int i = 0; i < values.Length; i++) dst[i] = values[i];
    }

    /// <summary>
    /// Winograd F(2x2, 3x3) or F(4x4, 3x3) weight transform: U = G g Gᵀ for every 3x3 kernel g of a weight
    /// [m][channels][3][3] (optionally multiplied by <paramref name="rowScale"/>[r], BatchNormalization folded in), computed
    /// in float, eight kernels per vector, and packed as n² matrices [n²][ceil(m/mr)][channels][mr] (zero-padded rows),
    /// n = tile + 2, matrix ξ = n i + j holding U[i][j]. A few ulps of U (F(4x4)'s ⅙, 1/12, 1/24 rounded to float) are
    /// far below the rounding of the transforms at run time; ResNet-18 constructs in ~25 ms with its 512x512 F(2x2)
    /// weights (3-4 ms each).
    /// </summary>
    /// <remarks>
    /// F(2x2, 3x3): G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]. F(4x4, 3x3) (points 0, ±1, ±2, ∞): G = [[¼, 0, 0],
    /// [−⅙, −⅙, −⅙], [−⅙, ⅙, −⅙], [1/24, 1/12, ⅙], [1/24, −1/12, ⅙], [0, 0, 1]].
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void WinogradPackA(float* dst, float* src, float* rowScale, int m, int channels, int mr, int tile)
    {
        if (tile != 2 && tile != 4) throw new ArgumentOutOfRangeException(nameof(tile), tile, "Winograd tiles are 2 or 4 outputs wide.");
        int n = tile + 2, xis = n * n;
        int panels = (m + mr - 1) / mr;
        long matrix = (long)panels * mr * channels;
        // Eight kernels (consecutive rows of a panel, one channel) at a time, one per lane (the same operations in every
        // lane whatever the vector hardware: Vector256 is emulated where it is not native).
        var g = stackalloc Vector256<float>[9];
        var t = stackalloc Vector256<float>[3 * 6];
        var u = stackalloc Vector256<float>[36];
        // A block of channels is staged [ξ][channel][row] (rows padded to whole 8s), then each ξ's part is copied out
        // in one contiguous run: the n² matrices lie a multiple of 4 KiB apart, and writing 32 bytes into each of them
        // in turn thrashed one cache set.
        int stride = (mr + 7) / 8 * 8, block = Math.Max(1, Math.Min(channels, 65536 / (xis * stride)));
        float* staged = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(xis * block * stride) * sizeof(float), 64);
        try
        {
            long rs = (long)channels * 9;
            for (int p = 0; p < panels; p++)
            {
                float* panel = dst + (long)p * mr * channels;
                int rows = Math.Min(mr, m - p * mr);
                for (int c0 = 0; c0 < channels; c0 += block)
                {
                    int cn = Math.Min(block, channels - c0);
                    for (int i0 = 0; i0 < rows; i0 += 8)
                    {
                        for (int c = c0; c < c0 + cn; c++)
                        {
                            int count = Math.Min(8, rows - i0);
                            // The 9 taps of the 8 kernels (rows past the panel's last are zero kernels), scaled per row.
                            float* k0 = src + ((long)(p * mr + i0) * channels + c) * 9;
                            Vector256<float> scale = Vector256<float>.One;
                            if (rowScale != null)
                            {
                                float* r = rowScale + p * mr + i0;
                                scale = Vector256.Create(r[0], count > 1 ? r[1] : 0f, count > 2 ? r[2] : 0f, count > 3 ? r[3] : 0f,
                                    count > 4 ? r[4] : 0f, count > 5 ? r[5] : 0f, count > 6 ? r[6] : 0f, count > 7 ? r[7] : 0f);
                            }
                            if (count == 8 && System.Runtime.Intrinsics.X86.Avx.IsSupported)
                            {
                                // Taps 0-7 of the 8 kernels by 8 loads and one 8x8 transpose, tap 8 gathered: the values of
                                // the per-tap gather below in a fraction of its instructions.
                                Vector256<float> r0 = Vector256.Load(k0), r1 = Vector256.Load(k0 + rs), r2 = Vector256.Load(k0 + 2 * rs), r3 = Vector256.Load(k0 + 3 * rs);
                                Vector256<float> r4 = Vector256.Load(k0 + 4 * rs), r5 = Vector256.Load(k0 + 5 * rs), r6 = Vector256.Load(k0 + 6 * rs), r7 = Vector256.Load(k0 + 7 * rs);
                                ChannelTranspose.Transpose8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
                                g[0] = r0 * scale; g[1] = r1 * scale; g[2] = r2 * scale; g[3] = r3 * scale;
                                g[4] = r4 * scale; g[5] = r5 * scale; g[6] = r6 * scale; g[7] = r7 * scale;
                                float* k8 = k0 + 8;
                                g[8] = Vector256.Create(k8[0], k8[rs], k8[2 * rs], k8[3 * rs], k8[4 * rs], k8[5 * rs], k8[6 * rs], k8[7 * rs]) * scale;
                            }
                            else for (int e = 0; e < 9; e++)
                            {
                                // Built in registers (lanes written to memory and reloaded as a vector stall store forwarding).
                                float* k = k0 + e;
                                Vector256<float> taps = count == 8
                                    ? Vector256.Create(k[0], k[rs], k[2 * rs], k[3 * rs], k[4 * rs], k[5 * rs], k[6 * rs], k[7 * rs])
                                    : Vector256.Create(k[0], count > 1 ? k[rs] : 0f, count > 2 ? k[2 * rs] : 0f, count > 3 ? k[3 * rs] : 0f,
                                        count > 4 ? k[4 * rs] : 0f, count > 5 ? k[5 * rs] : 0f, count > 6 ? k[6 * rs] : 0f, 0f);
                                g[e] = taps * scale;
                            }
                            // t = G g (n x 3, column j from g's column j), then u = t Gᵀ (row a from t's row a).
                            for (int j = 0; j < 3; j++) ApplyG(tile, g[j], g[3 + j], g[6 + j], t + j, 3);
                            for (int a = 0; a < n; a++) ApplyG(tile, t[3 * a], t[3 * a + 1], t[3 * a + 2], u + n * a, 1);
                            float* st = staged + (long)(c - c0) * stride + i0;
                            for (int xi = 0; xi < xis; xi++) u[xi].Store(st + (long)xi * block * stride);
                        }
                    }
                    for (int xi = 0; xi < xis; xi++)
                    {
                        float* d = panel + xi * matrix + (long)c0 * mr;
                        // Panels of whole 8s (the channel layout's 48, AltGemm's 8) are staged at their own stride: one copy
                        // per ξ (a 48-float copy per channel took ~1.3 ms of a 512x512 layer's transform in call overhead).
                        if (stride == mr) new ReadOnlySpan<float>(staged + (long)xi * block * stride, cn * mr).CopyTo(new Span<float>(d, cn * mr));
                        else for (int c = 0; c < cn; c++) new ReadOnlySpan<float>(staged + ((long)xi * block + c) * stride, mr).CopyTo(new Span<float>(d + (long)c * mr, mr));
                    }
                }
            }
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(staged);
        }
    }

    /// <summary>The n = tile + 2 vectors G (x0, x1, x2)ᵀ, written <paramref name="stride"/> apart (straight-line: construction time counts).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void ApplyG(int tile, Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float>* o, int stride)
    {
        if (tile == 2)
        {
            o[0] = x0;
            o[stride] = Vector256.Create(0.5f) * (x0 + x1 + x2);
            o[2 * stride] = Vector256.Create(0.5f) * (x0 - x1 + x2);
            o[3 * stride] = x2;
            return;
        }
        // Multiplications by the reciprocals rounded to float (a few ulps of U, far below the transform's own rounding).
        Vector256<float> sixth = Vector256.Create(1f / 6), twelfth = Vector256.Create(1f / 12), twentyFourth = Vector256.Create(1f / 24);
        Vector256<float> even = x0 * twentyFourth + x2 * sixth, odd = x1 * twelfth;
        o[0] = x0 * Vector256.Create(0.25f);
        o[stride] = -(x0 + x1 + x2) * sixth;
        o[2 * stride] = -(x0 - x1 + x2) * sixth;
        o[3 * stride] = even + odd;
        o[4 * stride] = even - odd;
        o[5 * stride] = x2;
    }

}
