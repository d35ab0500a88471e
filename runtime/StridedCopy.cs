// Licensed under the MIT license.
// Vectorised strided gathers used by generated kernels to split stride-2 rows into phases (pooling, depthwise
// convolution, im2col of strided convolutions), transposes, the row repeat of a nearest 2x upsampling, and the strided
// scatter-add of a transposed convolution's col2im.

using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Runtime;

/// <summary>Strided row copies and scatter-adds.</summary>
public static unsafe class StridedCopy
{
    /// <summary>dst[j] = src[2 j] for j &lt; <paramref name="count"/> (reads src[0 .. 2 count - 1)).</summary>
    /// <remarks>
    /// AVX-512: two loads and one two-source permute per 16 outputs; AVX2: two in-lane permutes and a cross-lane blend per
    /// 8; otherwise scalar. The last (partial) vector goes through masked loads and a masked store, so nothing is read
    /// past src[2 count - 2] or written past dst[count - 1] (phase-plane rows are 7-112 floats: a scalar tail copied up to
    /// 15 of every row, 12 of 28 in ResNet-18's 28-wide downsample rows, all 14 of its 14-wide ones).
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Stride2(float* src, float* dst, int count)
    {
        int j = 0;
        if (Avx512F.IsSupported)
        {
            Vector512<int> evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            // Each step reads 32 floats, the last of which (index 31) is only needed when 2j + 31 <= 2 count - 2.
            for (; j + 16 < count; j += 16)
            {
                Vector512<float> lo = Vector512.Load(src + 2 * j), hi = Vector512.Load(src + 2 * j + 16);
                Avx512F.PermuteVar16x32x2(lo, evens, hi).Store(dst + j);
            }
            if (j < count)
            {
                // 1-16 outputs left, from the 2 r - 1 floats src[2 j .. 2 count - 2].
                int r = count - j, read = 2 * r - 1;
                Vector512<float> lo = read >= 16 ? Vector512.Load(src + 2 * j) : MaskedMemory.Load(src + 2 * j, MaskedMemory.FirstLanes512(read));
                Vector512<float> hi = read > 16 ? MaskedMemory.Load(src + 2 * j + 16, MaskedMemory.FirstLanes512(read - 16)) : Vector512<float>.Zero;
                MaskedMemory.Store(dst + j, MaskedMemory.FirstLanes512(r), Avx512F.PermuteVar16x32x2(lo, evens, hi));
            }
            return;
        }
        else if (Avx2.IsSupported)
        {
            Vector256<int> split = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
            for (; j + 8 < count; j += 8)
            {
                Vector256<float> a = Avx2.PermuteVar8x32(Vector256.Load(src + 2 * j), split);
                Vector256<float> b = Avx2.PermuteVar8x32(Vector256.Load(src + 2 * j + 8), split);
                Avx.Permute2x128(a, b, 0x20).Store(dst + j);
            }
            if (j < count)
            {
                // 1-8 outputs left, from the 2 r - 1 floats src[2 j .. 2 count - 2].
                int r = count - j, read = 2 * r - 1;
                Vector256<float> lo = read >= 8 ? Vector256.Load(src + 2 * j) : MaskedMemory.Load(src + 2 * j, MaskedMemory.FirstLanes256(read));
                Vector256<float> hi = read > 8 ? MaskedMemory.Load(src + 2 * j + 8, MaskedMemory.FirstLanes256(read - 8)) : Vector256<float>.Zero;
                Vector256<float> a = Avx2.PermuteVar8x32(lo, split), b = Avx2.PermuteVar8x32(hi, split);
                MaskedMemory.Store(dst + j, MaskedMemory.FirstLanes256(r), Avx.Permute2x128(a, b, 0x20));
            }
            return;
        }
        for (; j < count; j++) dst[j] = src[2 * j];
    }

    /// <summary>
    /// One input row into its two column phases with the padding: d<sub>r</sub>[j] = padded[2 j + r], where padded[x] =
    /// line[x - <paramref name="padLeft"/>] for 0 &lt;= x - padLeft &lt; <paramref name="width"/>, else
    /// <paramref name="pad"/>, for j &lt; <paramref name="count"/> rounded up to a multiple of 8.
    /// </summary>
    /// <remarks>
    /// Every column, border or not, goes through the same whole-vector deinterleave (two loads, two in-lane shuffles, two
    /// 64-bit permutes and two stores per 16 floats on AVX2): the vectors a border cuts load only their lanes inside the row (<see cref="MaskedMemory.Load(float*, Vector256{float})"/>)
    /// and take the pad in the others, and the up to 7 floats past <paramref name="count"/> land where the caller writes
    /// later (the next row of the phase, or the sub-plane's tail). Reads only line[0 .. width).
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void SplitRow2(float* line, int width, int padLeft, float pad, float* d0, float* d1, int count)
    {
        int whole = (count + 7) & ~7;
        float* p = line - padLeft;
        if (Avx2.IsSupported)
        {
            Vector256<float> padding = Vector256.Create(pad);
            for (int j = 0; j < whole; j += 8)
            {
                int x = 2 * j;
                bool inside = x >= padLeft && x + 16 <= padLeft + width;
                Vector256<float> a = inside ? Vector256.Load(p + x) : Padded(p, x, padLeft, width, padding);
                Vector256<float> b = inside ? Vector256.Load(p + x + 8) : Padded(p, x + 8, padLeft, width, padding);
                Deinterleave2Vectors(a, b, d0 + j, d1 + j);
            }
            return;
        }
        for (int j = 0; j < whole; j++)
        {
            d0[j] = At(line, 2 * j - padLeft, width, pad);
            d1[j] = At(line, 2 * j + 1 - padLeft, width, pad);
        }
    }

    /// <summary>
    /// One input row into its four column phases with the padding (the input split of Winograd F(4x4, 3x3), whose 6x6
    /// windows step by 4): d<sub>r</sub>[j] = padded[4 j + r] for j &lt; <paramref name="count"/> rounded up to a
    /// multiple of 8; see <see cref="SplitRow2"/>.
    /// </summary>
    /// <remarks>
    /// AVX2: per 32 floats a 4 x 4 transpose in each 128-bit lane and one permute per phase vector. It replaces a scalar
    /// gather per phase (stride 4), which read each line four times one float at a time and filled the borders in calls
    /// of their own: YOLOX-nano's 12 -> 16 stem at 208x208 spent 0.8 of its 2.3 ms splitting its input that way.
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void SplitRow4(float* line, int width, int padLeft, float pad, float* d0, float* d1, float* d2, float* d3, int count)
    {
        int whole = (count + 7) & ~7;
        float* p = line - padLeft;
        if (Avx2.IsSupported)
        {
            Vector256<float> padding = Vector256.Create(pad);
            for (int j = 0; j < whole; j += 8)
            {
                int x = 4 * j;
                bool inside = x >= padLeft && x + 32 <= padLeft + width;
                Vector256<float> a = inside ? Vector256.Load(p + x) : Padded(p, x, padLeft, width, padding);
                Vector256<float> b = inside ? Vector256.Load(p + x + 8) : Padded(p, x + 8, padLeft, width, padding);
                Vector256<float> c = inside ? Vector256.Load(p + x + 16) : Padded(p, x + 16, padLeft, width, padding);
                Vector256<float> d = inside ? Vector256.Load(p + x + 24) : Padded(p, x + 24, padLeft, width, padding);
                Deinterleave4Vectors(a, b, c, d, d0 + j, d1 + j, d2 + j, d3 + j);
            }
            return;
        }
        for (int j = 0; j < whole; j++)
        {
            d0[j] = At(line, 4 * j - padLeft, width, pad);
            d1[j] = At(line, 4 * j + 1 - padLeft, width, pad);
            d2[j] = At(line, 4 * j + 2 - padLeft, width, pad);
            d3[j] = At(line, 4 * j + 3 - padLeft, width, pad);
        }
    }

    /// <summary>line[x], or the pad outside [0, width).</summary>
    private static float At(float* line, int x, int width, float pad) => (uint)x < (uint)width ? line[x] : pad;

    /// <summary>The 8 floats of the padded row from padded coordinate x (p = line - padLeft): the row's lanes loaded, the pad elsewhere.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Padded(float* p, int x, int padLeft, int width, Vector256<float> padding)
    {
        Vector256<int> column = Vector256.Create(x - padLeft) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        Vector256<float> valid = (Vector256.GreaterThanOrEqual(column, Vector256<int>.Zero) & Vector256.LessThan(column, Vector256.Create(width))).AsSingle();
        if (valid == Vector256<float>.Zero) return padding;
        return Avx.BlendVariable(padding, MaskedMemory.Load(p + x, valid), valid);
    }

    /// <summary>Even lanes of [a b] to d0, odd lanes to d1 (8 each).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave2Vectors(Vector256<float> a, Vector256<float> b, float* d0, float* d1)
    {
        // [a0 a2 b0 b2 | a4 a6 b4 b6] -> 64-bit pairs 0, 2, 1, 3: [a0 a2 a4 a6 b0 b2 b4 b6].
        Avx2.Permute4x64(Avx.Shuffle(a, b, 0x88).AsDouble(), 0xD8).AsSingle().Store(d0);
        Avx2.Permute4x64(Avx.Shuffle(a, b, 0xDD).AsDouble(), 0xD8).AsSingle().Store(d1);
    }

    /// <summary>Lane r of each group of 4 in [a b c d] to d<sub>r</sub> (8 each).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave4Vectors(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d, float* d0, float* d1, float* d2, float* d3)
    {
        // Lane 0 of a, b, c, d holds groups 0, 2, 4, 6 of 4 floats, lane 1 groups 1, 3, 5, 7: a 4 x 4 transpose in each
        // 128-bit lane gives phase r as [g0 g2 g4 g6 | g1 g3 g5 g7], which one permute puts in group order.
        Vector256<int> order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        Vector256<float> t0 = Avx.UnpackLow(a, b), t1 = Avx.UnpackHigh(a, b), t2 = Avx.UnpackLow(c, d), t3 = Avx.UnpackHigh(c, d);
        Avx2.PermuteVar8x32(Avx.Shuffle(t0, t2, 0x44), order).Store(d0);
        Avx2.PermuteVar8x32(Avx.Shuffle(t0, t2, 0xEE), order).Store(d1);
        Avx2.PermuteVar8x32(Avx.Shuffle(t1, t3, 0x44), order).Store(d2);
        Avx2.PermuteVar8x32(Avx.Shuffle(t1, t3, 0xEE), order).Store(d3);
    }

    /// <summary>dst[j] = src[j * stride] for j &lt; <paramref name="count"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Strided(float* src, float* dst, int count, int stride)
    {
        if (stride == 1)
        {
            System.Buffer.MemoryCopy(src, dst, (long)count * 4, (long)count * 4);
            return;
        }
        if (stride == 2)
        {
            Stride2(src, dst, count);
            return;
        }
        for (int j = 0; j < count; j++) dst[j] = src[(long)j * stride];
    }

    /// <summary>
    /// dst[r * <paramref name="dstStride"/> + c] = src[c * <paramref name="srcStride"/> + r] for r &lt; <paramref name="rows"/>,
    /// c &lt; <paramref name="cols"/>: a 2-D transpose (a Transpose node, e.g. a detector's [85 x 3549] head output).
    /// </summary>
    /// <remarks>
    /// AVX: 8 x 8 blocks, 8 row loads and 8 row stores through unpack/shuffle/permute (24 shuffles per 64 floats), the
    /// edges scalar; otherwise scalar, column by column. A scalar gather reads each float from a different line at the
    /// source stride (YOLOX-nano's output: 0.2 ms for 300K floats).
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(float* src, long srcStride, float* dst, long dstStride, int rows, int cols)
    {
        int r0 = 0;
        if (Avx.IsSupported)
        {
            for (; r0 + 8 <= rows; r0 += 8)
            {
                int c0 = 0;
                for (; c0 + 8 <= cols; c0 += 8)
                {
                    float* s = src + c0 * srcStride + r0;
                    // Input rows are output columns c0..c0+7, each 8 consecutive output rows r0..r0+7.
                    Vector256<float> q0 = Vector256.Load(s), q1 = Vector256.Load(s + srcStride), q2 = Vector256.Load(s + 2 * srcStride), q3 = Vector256.Load(s + 3 * srcStride);
                    Vector256<float> q4 = Vector256.Load(s + 4 * srcStride), q5 = Vector256.Load(s + 5 * srcStride), q6 = Vector256.Load(s + 6 * srcStride), q7 = Vector256.Load(s + 7 * srcStride);
                    Vector256<float> t0 = Avx.UnpackLow(q0, q1), t1 = Avx.UnpackHigh(q0, q1), t2 = Avx.UnpackLow(q2, q3), t3 = Avx.UnpackHigh(q2, q3);
                    Vector256<float> t4 = Avx.UnpackLow(q4, q5), t5 = Avx.UnpackHigh(q4, q5), t6 = Avx.UnpackLow(q6, q7), t7 = Avx.UnpackHigh(q6, q7);
                    Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
                    Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
                    float* d = dst + r0 * dstStride + c0;
                    Avx.Permute2x128(u0, u4, 0x20).Store(d);
                    Avx.Permute2x128(u1, u5, 0x20).Store(d + dstStride);
                    Avx.Permute2x128(u2, u6, 0x20).Store(d + 2 * dstStride);
                    Avx.Permute2x128(u3, u7, 0x20).Store(d + 3 * dstStride);
                    Avx.Permute2x128(u0, u4, 0x31).Store(d + 4 * dstStride);
                    Avx.Permute2x128(u1, u5, 0x31).Store(d + 5 * dstStride);
                    Avx.Permute2x128(u2, u6, 0x31).Store(d + 6 * dstStride);
                    Avx.Permute2x128(u3, u7, 0x31).Store(d + 7 * dstStride);
                }
                for (int r = r0; r < r0 + 8; r++)
                {
                    for (int c = c0; c < cols; c++) dst[r * dstStride + c] = src[c * srcStride + r];
                }
            }
        }
        for (int c = 0; c < cols; c++)
        {
            for (int r = r0; r < rows; r++) dst[r * dstStride + c] = src[c * srcStride + r];
        }
    }

    /// <summary>dst[j * stride] += src[j] for j &lt; <paramref name="count"/> (a transposed convolution's col2im row).</summary>
    /// <remarks>
    /// Stride 1: vector adds; stride 2: each vector of src interleaved with zeros (AVX-512: 16 floats into 32, AVX2: 8
    /// into 16) and added over the destination span, whose odd elements gain 0. The last vector is masked: nothing past
    /// dst[stride (count - 1)] is read or written (the next row may belong to another thread). Other strides: scalar.
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void ScatterAdd(float* src, float* dst, int count, int stride)
    {
        int j = 0;
        if (stride == 1)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j + 16 <= count; j += 16) (Vector512.Load(dst + j) + Vector512.Load(src + j)).Store(dst + j);
                if (j < count)
                {
                    Vector512<float> m = MaskedMemory.FirstLanes512(count - j);
                    MaskedMemory.Store(dst + j, m, MaskedMemory.Load(dst + j, m) + MaskedMemory.Load(src + j, m));
                }
                return;
            }
            if (Avx.IsSupported)
            {
                for (; j + 8 <= count; j += 8) (Vector256.Load(dst + j) + Vector256.Load(src + j)).Store(dst + j);
                if (j < count)
                {
                    Vector256<float> m = MaskedMemory.FirstLanes256(count - j);
                    MaskedMemory.Store(dst + j, m, MaskedMemory.Load(dst + j, m) + MaskedMemory.Load(src + j, m));
                }
                return;
            }
        }
        else if (stride == 2)
        {
            if (Avx512F.IsSupported)
            {
                // A full step touches dst[2 j .. 2 j + 31]; the last element it must reach is dst[2 count - 2].
                for (; j + 16 < count; j += 16)
                {
                    Vector512<float> v = Vector512.Load(src + j);
                    (Vector512.Load(dst + 2 * j) + Interleave.ZipLow(v, Vector512<float>.Zero)).Store(dst + 2 * j);
                    (Vector512.Load(dst + 2 * j + 16) + Interleave.ZipHigh(v, Vector512<float>.Zero)).Store(dst + 2 * j + 16);
                }
                if (j < count)
                {
                    int r = count - j, span = 2 * r - 1;
                    Vector512<float> v = MaskedMemory.Load(src + j, MaskedMemory.FirstLanes512(r));
                    Vector512<float> lo = MaskedMemory.FirstLanes512(System.Math.Min(span, 16));
                    MaskedMemory.Store(dst + 2 * j, lo, MaskedMemory.Load(dst + 2 * j, lo) + Interleave.ZipLow(v, Vector512<float>.Zero));
                    if (span > 16)
                    {
                        Vector512<float> hi = MaskedMemory.FirstLanes512(span - 16);
                        MaskedMemory.Store(dst + 2 * j + 16, hi, MaskedMemory.Load(dst + 2 * j + 16, hi) + Interleave.ZipHigh(v, Vector512<float>.Zero));
                    }
                }
                return;
            }
            if (Avx.IsSupported)
            {
                for (; j + 8 < count; j += 8)
                {
                    Vector256<float> v = Vector256.Load(src + j);
                    (Vector256.Load(dst + 2 * j) + Interleave.ZipLow(v, Vector256<float>.Zero)).Store(dst + 2 * j);
                    (Vector256.Load(dst + 2 * j + 8) + Interleave.ZipHigh(v, Vector256<float>.Zero)).Store(dst + 2 * j + 8);
                }
                if (j < count)
                {
                    int r = count - j, span = 2 * r - 1;
                    Vector256<float> v = MaskedMemory.Load(src + j, MaskedMemory.FirstLanes256(r));
                    Vector256<float> lo = MaskedMemory.FirstLanes256(System.Math.Min(span, 8));
                    MaskedMemory.Store(dst + 2 * j, lo, MaskedMemory.Load(dst + 2 * j, lo) + Interleave.ZipLow(v, Vector256<float>.Zero));
                    if (span > 8)
                    {
                        Vector256<float> hi = MaskedMemory.FirstLanes256(span - 8);
                        MaskedMemory.Store(dst + 2 * j + 8, hi, MaskedMemory.Load(dst + 2 * j + 8, hi) + Interleave.ZipHigh(v, Vector256<float>.Zero));
                    }
                }
                return;
            }
        }
        for (; j < count; j++) dst[(long)j * stride] += src[j];
    }

    /// <summary>dst[j] = src[j / 2] for j &lt; 2 <paramref name="count"/>: each element twice (nearest 2x upsampling of a row).</summary>
    /// <remarks>AVX2: one load, two in-lane duplicates and a cross-lane shuffle per 16 outputs; SSE: two unpacks per 8.</remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Repeat2(float* src, float* dst, int count)
    {
        int j = 0;
        if (Avx2.IsSupported)
        {
            for (; j + 8 <= count; j += 8)
            {
                Vector256<float> v = Vector256.Load(src + j);
                Vector256<float> lo = Avx.UnpackLow(v, v), hi = Avx.UnpackHigh(v, v);
                Avx.Permute2x128(lo, hi, 0x20).Store(dst + 2 * j);
                Avx.Permute2x128(lo, hi, 0x31).Store(dst + 2 * j + 8);
            }
        }
        if (Sse.IsSupported)
        {
            for (; j + 4 <= count; j += 4)
            {
                Vector128<float> v = Vector128.Load(src + j);
                Sse.UnpackLow(v, v).Store(dst + 2 * j);
                Sse.UnpackHigh(v, v).Store(dst + 2 * j + 4);
            }
        }
        for (; j < count; j++) dst[2 * j] = dst[2 * j + 1] = src[j];
    }
}
