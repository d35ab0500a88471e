// Licensed under the MIT license.
// Moves a block of planes between the planar layout (one row of pixels per channel) and channel vectors (one vector of
// channels per pixel) for the depthwise kernels of small planes: 16 (AVX-512) or 8 (AVX2) channels per vector, at most
// that many pixels per call, transposed in registers (unpack, shuffle, 128-bit lane shuffles).

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Runtime;

/// <summary>In-register transposes between planar rows and channel vectors (callers guard with the ISA's IsSupported).</summary>
public static unsafe class ChannelTranspose
{
    /// <summary>
    /// Reads <paramref name="count"/> (1..16) pixels of 16 planes (plane i at <paramref name="src"/> + i *
    /// <paramref name="stride"/>; nothing past the count is read) and writes them as <paramref name="count"/> vectors of
    /// 16 channels, one per pixel, at <paramref name="dst"/> + 16 * pixel (AVX-512F).
    /// </summary>
    /// <param name="src">First pixel of the first plane.</param>
    /// <param name="stride">Floats between planes.</param>
    /// <param name="count">Pixels.</param>
    /// <param name="dst">Destination vectors.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToLanes16(float* src, nint stride, int count, float* dst)
    {
        Vector512<float> mask = MaskedMemory.FirstLanes512(count);
        Vector512<float> r0 = MaskedMemory.Load(src, mask), r1 = MaskedMemory.Load(src + stride, mask);
        Vector512<float> r2 = MaskedMemory.Load(src + 2 * stride, mask), r3 = MaskedMemory.Load(src + 3 * stride, mask);
        Vector512<float> r4 = MaskedMemory.Load(src + 4 * stride, mask), r5 = MaskedMemory.Load(src + 5 * stride, mask);
        Vector512<float> r6 = MaskedMemory.Load(src + 6 * stride, mask), r7 = MaskedMemory.Load(src + 7 * stride, mask);
        Vector512<float> r8 = MaskedMemory.Load(src + 8 * stride, mask), r9 = MaskedMemory.Load(src + 9 * stride, mask);
        Vector512<float> r10 = MaskedMemory.Load(src + 10 * stride, mask), r11 = MaskedMemory.Load(src + 11 * stride, mask);
        Vector512<float> r12 = MaskedMemory.Load(src + 12 * stride, mask), r13 = MaskedMemory.Load(src + 13 * stride, mask);
        Vector512<float> r14 = MaskedMemory.Load(src + 14 * stride, mask), r15 = MaskedMemory.Load(src + 15 * stride, mask);
        Transpose16(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7, ref r8, ref r9, ref r10, ref r11, ref r12, ref r13, ref r14, ref r15);
        r0.Store(dst);
        if (count > 1) r1.Store(dst + 16);
        if (count > 2) r2.Store(dst + 32);
        if (count > 3) r3.Store(dst + 48);
        if (count > 4) r4.Store(dst + 64);
        if (count > 5) r5.Store(dst + 80);
        if (count > 6) r6.Store(dst + 96);
        if (count > 7) r7.Store(dst + 112);
        if (count > 8) r8.Store(dst + 128);
        if (count > 9) r9.Store(dst + 144);
        if (count > 10) r10.Store(dst + 160);
        if (count > 11) r11.Store(dst + 176);
        if (count > 12) r12.Store(dst + 192);
        if (count > 13) r13.Store(dst + 208);
        if (count > 14) r14.Store(dst + 224);
        if (count > 15) r15.Store(dst + 240);
    }

    /// <summary>
    /// The inverse of <see cref="ToLanes16"/>: reads <paramref name="count"/> (1..16) vectors of 16 channels at
    /// <paramref name="src"/> + 16 * pixel and writes <paramref name="count"/> pixels of each of the 16 planes (plane i
    /// at <paramref name="dst"/> + i * <paramref name="stride"/>; nothing past the count is written) (AVX-512F).
    /// </summary>
    /// <param name="src">Source vectors.</param>
    /// <param name="count">Pixels.</param>
    /// <param name="dst">First pixel of the first plane.</param>
    /// <param name="stride">Floats between planes.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromLanes16(float* src, int count, float* dst, nint stride)
    {
        Vector512<float> z = Vector512<float>.Zero;
        Vector512<float> r0 = Vector512.Load(src), r1 = count > 1 ? Vector512.Load(src + 16) : z;
        Vector512<float> r2 = count > 2 ? Vector512.Load(src + 32) : z, r3 = count > 3 ? Vector512.Load(src + 48) : z;
        Vector512<float> r4 = count > 4 ? Vector512.Load(src + 64) : z, r5 = count > 5 ? Vector512.Load(src + 80) : z;
        Vector512<float> r6 = count > 6 ? Vector512.Load(src + 96) : z, r7 = count > 7 ? Vector512.Load(src + 112) : z;
        Vector512<float> r8 = count > 8 ? Vector512.Load(src + 128) : z, r9 = count > 9 ? Vector512.Load(src + 144) : z;
        Vector512<float> r10 = count > 10 ? Vector512.Load(src + 160) : z, r11 = count > 11 ? Vector512.Load(src + 176) : z;
        Vector512<float> r12 = count > 12 ? Vector512.Load(src + 192) : z, r13 = count > 13 ? Vector512.Load(src + 208) : z;
        Vector512<float> r14 = count > 14 ? Vector512.Load(src + 224) : z, r15 = count > 15 ? Vector512.Load(src + 240) : z;
        Transpose16(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7, ref r8, ref r9, ref r10, ref r11, ref r12, ref r13, ref r14, ref r15);
        if (count == 16)
        {
            r0.Store(dst); r1.Store(dst + stride); r2.Store(dst + 2 * stride); r3.Store(dst + 3 * stride);
            r4.Store(dst + 4 * stride); r5.Store(dst + 5 * stride); r6.Store(dst + 6 * stride); r7.Store(dst + 7 * stride);
            r8.Store(dst + 8 * stride); r9.Store(dst + 9 * stride); r10.Store(dst + 10 * stride); r11.Store(dst + 11 * stride);
            r12.Store(dst + 12 * stride); r13.Store(dst + 13 * stride); r14.Store(dst + 14 * stride); r15.Store(dst + 15 * stride);
            return;
        }
        Vector512<float> mask = MaskedMemory.FirstLanes512(count);
        MaskedMemory.Store(dst, mask, r0); MaskedMemory.Store(dst + stride, mask, r1);
        MaskedMemory.Store(dst + 2 * stride, mask, r2); MaskedMemory.Store(dst + 3 * stride, mask, r3);
        MaskedMemory.Store(dst + 4 * stride, mask, r4); MaskedMemory.Store(dst + 5 * stride, mask, r5);
        MaskedMemory.Store(dst + 6 * stride, mask, r6); MaskedMemory.Store(dst + 7 * stride, mask, r7);
        MaskedMemory.Store(dst + 8 * stride, mask, r8); MaskedMemory.Store(dst + 9 * stride, mask, r9);
        MaskedMemory.Store(dst + 10 * stride, mask, r10); MaskedMemory.Store(dst + 11 * stride, mask, r11);
        MaskedMemory.Store(dst + 12 * stride, mask, r12); MaskedMemory.Store(dst + 13 * stride, mask, r13);
        MaskedMemory.Store(dst + 14 * stride, mask, r14); MaskedMemory.Store(dst + 15 * stride, mask, r15);
    }

    /// <summary>8-channel <see cref="ToLanes16"/>: <paramref name="count"/> (1..8) pixels of 8 planes (AVX2).</summary>
    /// <param name="src">First pixel of the first plane.</param>
    /// <param name="stride">Floats between planes.</param>
    /// <param name="count">Pixels.</param>
    /// <param name="dst">Destination vectors.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToLanes8(float* src, nint stride, int count, float* dst) => ToLanes8(src, stride, count, dst, 8);

    /// <summary>
    /// <see cref="ToLanes8(float*, nint, int, float*)"/> with the pixels' vectors <paramref name="pixelStride"/> floats
    /// apart: 16 writes half of a channel-blocked [C/16][H][W][16] block's pixels (AVX2).
    /// </summary>
    /// <param name="src">First pixel of the first plane.</param>
    /// <param name="stride">Floats between planes.</param>
    /// <param name="count">Pixels.</param>
    /// <param name="dst">Destination vector of the first pixel.</param>
    /// <param name="pixelStride">Floats between the pixels' vectors.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToLanes8(float* src, nint stride, int count, float* dst, nint pixelStride)
    {
        Vector256<float> mask = MaskedMemory.FirstLanes256(count);
        Vector256<float> r0 = MaskedMemory.Load(src, mask), r1 = MaskedMemory.Load(src + stride, mask);
        Vector256<float> r2 = MaskedMemory.Load(src + 2 * stride, mask), r3 = MaskedMemory.Load(src + 3 * stride, mask);
        Vector256<float> r4 = MaskedMemory.Load(src + 4 * stride, mask), r5 = MaskedMemory.Load(src + 5 * stride, mask);
        Vector256<float> r6 = MaskedMemory.Load(src + 6 * stride, mask), r7 = MaskedMemory.Load(src + 7 * stride, mask);
        Transpose8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        r0.Store(dst);
        if (count > 1) r1.Store(dst + pixelStride);
        if (count > 2) r2.Store(dst + 2 * pixelStride);
        if (count > 3) r3.Store(dst + 3 * pixelStride);
        if (count > 4) r4.Store(dst + 4 * pixelStride);
        if (count > 5) r5.Store(dst + 5 * pixelStride);
        if (count > 6) r6.Store(dst + 6 * pixelStride);
        if (count > 7) r7.Store(dst + 7 * pixelStride);
    }

    /// <summary>8-channel <see cref="FromLanes16"/>: <paramref name="count"/> (1..8) pixels into 8 planes (AVX2).</summary>
    /// <param name="src">Source vectors.</param>
    /// <param name="count">Pixels.</param>
    /// <param name="dst">First pixel of the first plane.</param>
    /// <param name="stride">Floats between planes.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromLanes8(float* src, int count, float* dst, nint stride)
    {
        Vector256<float> z = Vector256<float>.Zero;
        Vector256<float> r0 = Vector256.Load(src), r1 = count > 1 ? Vector256.Load(src + 8) : z;
        Vector256<float> r2 = count > 2 ? Vector256.Load(src + 16) : z, r3 = count > 3 ? Vector256.Load(src + 24) : z;
        Vector256<float> r4 = count > 4 ? Vector256.Load(src + 32) : z, r5 = count > 5 ? Vector256.Load(src + 40) : z;
        Vector256<float> r6 = count > 6 ? Vector256.Load(src + 48) : z, r7 = count > 7 ? Vector256.Load(src + 56) : z;
        Transpose8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        MaskedMemory.StoreFirst(dst, count, r0); MaskedMemory.StoreFirst(dst + stride, count, r1);
        MaskedMemory.StoreFirst(dst + 2 * stride, count, r2); MaskedMemory.StoreFirst(dst + 3 * stride, count, r3);
        MaskedMemory.StoreFirst(dst + 4 * stride, count, r4); MaskedMemory.StoreFirst(dst + 5 * stride, count, r5);
        MaskedMemory.StoreFirst(dst + 6 * stride, count, r6); MaskedMemory.StoreFirst(dst + 7 * stride, count, r7);
    }

    /// <summary>Transposes the 16x16 matrix whose rows are r0..r15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(
        ref Vector512<float> r0, ref Vector512<float> r1, ref Vector512<float> r2, ref Vector512<float> r3,
        ref Vector512<float> r4, ref Vector512<float> r5, ref Vector512<float> r6, ref Vector512<float> r7,
        ref Vector512<float> r8, ref Vector512<float> r9, ref Vector512<float> r10, ref Vector512<float> r11,
        ref Vector512<float> r12, ref Vector512<float> r13, ref Vector512<float> r14, ref Vector512<float> r15)
    {
        // Within each 128-bit lane L, after the two steps u[4g + j] holds column 4L + j of rows 4g..4g+3.
        Quad(r0, r1, r2, r3, out Vector512<float> u0, out Vector512<float> u1, out Vector512<float> u2, out Vector512<float> u3);
        Quad(r4, r5, r6, r7, out Vector512<float> u4, out Vector512<float> u5, out Vector512<float> u6, out Vector512<float> u7);
        Quad(r8, r9, r10, r11, out Vector512<float> u8, out Vector512<float> u9, out Vector512<float> u10, out Vector512<float> u11);
        Quad(r12, r13, r14, r15, out Vector512<float> u12, out Vector512<float> u13, out Vector512<float> u14, out Vector512<float> u15);
        // Column 4L + j gathers lane L of u[j], u[4 + j], u[8 + j], u[12 + j].
        Lanes(u0, u4, u8, u12, out r0, out r4, out r8, out r12);
        Lanes(u1, u5, u9, u13, out r1, out r5, out r9, out r13);
        Lanes(u2, u6, u10, u14, out r2, out r6, out r10, out r14);
        Lanes(u3, u7, u11, u15, out r3, out r7, out r11, out r15);
    }

    /// <summary>4x4 transposes within each 128-bit lane of the rows a, b, c, d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quad(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d,
        out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3)
    {
        Vector512<float> t0 = Avx512F.UnpackLow(a, b), t1 = Avx512F.UnpackHigh(a, b);
        Vector512<float> t2 = Avx512F.UnpackLow(c, d), t3 = Avx512F.UnpackHigh(c, d);
        o0 = Avx512F.Shuffle(t0, t2, 0x44);
        o1 = Avx512F.Shuffle(t0, t2, 0xEE);
        o2 = Avx512F.Shuffle(t1, t3, 0x44);
        o3 = Avx512F.Shuffle(t1, t3, 0xEE);
    }

    /// <summary>Regroups 128-bit lanes: o_L = lane L of a, b, c, d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lanes(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d,
        out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3)
    {
        Vector512<float> ab01 = Avx512F.Shuffle4x128(a, b, 0x44), ab23 = Avx512F.Shuffle4x128(a, b, 0xEE);
        Vector512<float> cd01 = Avx512F.Shuffle4x128(c, d, 0x44), cd23 = Avx512F.Shuffle4x128(c, d, 0xEE);
        o0 = Avx512F.Shuffle4x128(ab01, cd01, 0x88);
        o1 = Avx512F.Shuffle4x128(ab01, cd01, 0xDD);
        o2 = Avx512F.Shuffle4x128(ab23, cd23, 0x88);
        o3 = Avx512F.Shuffle4x128(ab23, cd23, 0xDD);
    }

    /// <summary>Transposes the 8x8 matrix whose rows are r0..r7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8(
        ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(u0, u4, 0x20); r1 = Avx.Permute2x128(u1, u5, 0x20); r2 = Avx.Permute2x128(u2, u6, 0x20); r3 = Avx.Permute2x128(u3, u7, 0x20);
        r4 = Avx.Permute2x128(u0, u4, 0x31); r5 = Avx.Permute2x128(u1, u5, 0x31); r6 = Avx.Permute2x128(u2, u6, 0x31); r7 = Avx.Permute2x128(u3, u7, 0x31);
    }
}
