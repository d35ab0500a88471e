// Licensed under the MIT license.
// Lane interleaving for generated kernels that compute two output columns per lane (the Winograd output transform):
// ZipLow/ZipHigh(a, b) = a0 b0 a1 b1 ... of the lower/upper halves, spelled with the intrinsics .NET 8 and 9 have.

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Runtime;

/// <summary>Interleaves the lanes of two vectors (callers guard with the ISA's IsSupported).</summary>
public static class Interleave
{
    /// <summary>a0 b0 a1 b1 … a7 b7 (AVX-512F).</summary>
    /// <param name="a">Even lanes of the result.</param>
    /// <param name="b">Odd lanes of the result.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ZipLow(Vector512<float> a, Vector512<float> b) =>
        Avx512F.PermuteVar16x32x2(a, Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);

    /// <summary>a8 b8 a9 b9 … a15 b15 (AVX-512F).</summary>
    /// <param name="a">Even lanes of the result.</param>
    /// <param name="b">Odd lanes of the result.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ZipHigh(Vector512<float> a, Vector512<float> b) =>
        Avx512F.PermuteVar16x32x2(a, Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b);

    /// <summary>a0 b0 a1 b1 a2 b2 a3 b3 (AVX).</summary>
    /// <param name="a">Even lanes of the result.</param>
    /// <param name="b">Odd lanes of the result.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ZipLow(Vector256<float> a, Vector256<float> b) =>
        Avx.Permute2x128(Avx.UnpackLow(a, b), Avx.UnpackHigh(a, b), 0x20);

    /// <summary>a4 b4 a5 b5 a6 b6 a7 b7 (AVX).</summary>
    /// <param name="a">Even lanes of the result.</param>
    /// <param name="b">Odd lanes of the result.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ZipHigh(Vector256<float> a, Vector256<float> b) =>
        Avx.Permute2x128(Avx.UnpackLow(a, b), Avx.UnpackHigh(a, b), 0x31);
}
