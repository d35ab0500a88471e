// Licensed under the MIT license.
// Lane (de)interleaving for generated kernels, spelled with the intrinsics .NET 8 and 9 have: ZipLow/ZipHigh(a, b) =
// a0 b0 a1 b1 ... (the Winograd output transform's two columns per lane); EvenLanes/OddLanes, the inverse (stride-2
// pooling rows).

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Runtime;

/// <summary>Interleaves and deinterleaves the lanes of two vectors (callers guard with the ISA's IsSupported).</summary>
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
    public static Vector256<float> ZipLow(Vector256<float> a, Vector256<float> b) => Zip(a, b, 0x20);

    /// <summary>a4 b4 a5 b5 a6 b6 a7 b7 (AVX).</summary>
    /// <param name="a">Even lanes of the result.</param>
    /// <param name="b">Odd lanes of the result.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ZipHigh(Vector256<float> a, Vector256<float> b) => Zip(a, b, 0x31);

    /// <summary>The in-lane interleaves of a and b; <paramref name="halves"/> 0x20 keeps the lower outputs, 0x31 the upper.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Zip(Vector256<float> a, Vector256<float> b, [System.Diagnostics.CodeAnalysis.ConstantExpected] byte halves) =>
        Avx.Permute2x128(Avx.UnpackLow(a, b), Avx.UnpackHigh(a, b), halves);

    /// <summary>a0 a2 … a14 b0 b2 … b14: the even lanes of the 32 floats a, b (AVX-512F).</summary>
    /// <param name="a">Lanes 0-15.</param>
    /// <param name="b">Lanes 16-31.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> EvenLanes(Vector512<float> a, Vector512<float> b) =>
        Avx512F.PermuteVar16x32x2(a, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);

    /// <summary>a1 a3 … a15 b1 b3 … b15: the odd lanes of the 32 floats a, b (AVX-512F).</summary>
    /// <param name="a">Lanes 0-15.</param>
    /// <param name="b">Lanes 16-31.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> OddLanes(Vector512<float> a, Vector512<float> b) =>
        Avx512F.PermuteVar16x32x2(a, Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);

    /// <summary>The even lanes of the 16 floats a, b (AVX2).</summary>
    /// <param name="a">Lanes 0-7.</param>
    /// <param name="b">Lanes 8-15.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> EvenLanes(Vector256<float> a, Vector256<float> b) => Split(a, b, 0x20);

    /// <summary>The odd lanes of the 16 floats a, b (AVX2).</summary>
    /// <param name="a">Lanes 0-7.</param>
    /// <param name="b">Lanes 8-15.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> OddLanes(Vector256<float> a, Vector256<float> b) => Split(a, b, 0x31);

    /// <summary>
    /// The even lanes of the 16 floats a, b in the in-lane order a0 a2 b0 b2 a4 a6 b4 b6 (one <c>vshufps</c>; AVX): outputs
    /// 0, 1, 4, 5, 2, 3, 6, 7 of a stride-2 row. Kernels whose every tap comes in this order accumulate in it and restore
    /// the output order once per vector with <see cref="FromInLanePairs"/>, instead of two cross-lane permutes per tap.
    /// </summary>
    /// <param name="a">Lanes 0-7.</param>
    /// <param name="b">Lanes 8-15.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> EvenLanesInLane(Vector256<float> a, Vector256<float> b) => Avx.Shuffle(a, b, 0x88);

    /// <summary>The odd lanes of the 16 floats a, b in the in-lane order of <see cref="EvenLanesInLane"/> (AVX).</summary>
    /// <param name="a">Lanes 0-7.</param>
    /// <param name="b">Lanes 8-15.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> OddLanesInLane(Vector256<float> a, Vector256<float> b) => Avx.Shuffle(a, b, 0xDD);

    /// <summary>Lanes 0, 1, 4, 5, 2, 3, 6, 7 of <paramref name="v"/>: the output order of a vector accumulated from <see cref="EvenLanesInLane"/> taps (AVX2).</summary>
    /// <param name="v">A vector in the in-lane order.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FromInLanePairs(Vector256<float> v) => Avx2.Permute4x64(v.AsDouble(), 0xD8).AsSingle();

    /// <summary>Each input's evens then odds within its halves; <paramref name="halves"/> 0x20 keeps the evens, 0x31 the odds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Split(Vector256<float> a, Vector256<float> b, [System.Diagnostics.CodeAnalysis.ConstantExpected] byte halves)
    {
        Vector256<int> split = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        return Avx.Permute2x128(Avx2.PermuteVar8x32(a, split), Avx2.PermuteVar8x32(b, split), halves);
    }
}
