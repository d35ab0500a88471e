// Licensed under the MIT license.
// Construction-time weight preparation called by generated constructors: packing into the layouts the generated
// kernels read, BatchNormalization folding, and conversions. Each function has a plain scalar body: it runs once.

using System;

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
        for (int i = 0; i < n; i++) dst[i] = src[i] * scale;
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
    /// in double and packed as n² matrices [n²][ceil(m/mr)][channels][mr] (zero-padded rows), n = tile + 2, matrix
    /// ξ = n i + j holding U[i][j].
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
        double* t = stackalloc double[3 * 6];
        double* u = stackalloc double[36];
        for (int p = 0; p < panels; p++)
        {
            // Per panel, channel by channel: each of the n² destination matrices is written in order.
            float* panel = dst + (long)p * mr * channels;
            int rows = Math.Min(mr, m - p * mr);
            for (int c = 0; c < channels; c++)
            {
                for (int i = 0; i < rows; i++)
                {
                    int r = p * mr + i;
                    double scale = rowScale == null ? 1.0 : rowScale[r];
                    float* g = src + ((long)r * channels + c) * 9;
                    // t = G g (n x 3, column j from g's column j), then u = t Gᵀ (row a from t's row a).
                    for (int j = 0; j < 3; j++) ApplyG(tile, g[j], g[3 + j], g[6 + j], t + j, 3);
                    for (int a = 0; a < n; a++) ApplyG(tile, t[3 * a], t[3 * a + 1], t[3 * a + 2], u + n * a, 1);
                    float* d = panel + (long)c * mr + i;
                    for (int xi = 0; xi < xis; xi++) d[xi * matrix] = (float)(u[xi] * scale);
                }
            }
        }
    }

    /// <summary>The n = tile + 2 values G (x0, x1, x2)ᵀ, written <paramref name="stride"/> apart (straight-line: construction time counts).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void ApplyG(int tile, double x0, double x1, double x2, double* o, int stride)
    {
        if (tile == 2)
        {
            o[0] = x0;
            o[stride] = 0.5 * (x0 + x1 + x2);
            o[2 * stride] = 0.5 * (x0 - x1 + x2);
            o[3 * stride] = x2;
            return;
        }
        // Multiplications by the reciprocals (double: within an ulp of the quotients, far below float's).
        const double Sixth = 1.0 / 6, Twelfth = 1.0 / 12, TwentyFourth = 1.0 / 24;
        double even = x0 * TwentyFourth + x2 * Sixth, odd = x1 * Twelfth;
        o[0] = x0 * 0.25;
        o[stride] = -(x0 + x1 + x2) * Sixth;
        o[2 * stride] = -(x0 - x1 + x2) * Sixth;
        o[3 * stride] = even + odd;
        o[4 * stride] = even - odd;
        o[5 * stride] = x2;
    }
}
