// Licensed under the MIT license.
// Masked vector loads and stores for the partial tiles of generated kernels: only the selected lanes are read or
// written, so a tile's last vector never touches memory past the row it belongs to.

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Runtime;

/// <summary>Lane-masked loads and stores (a lane is selected when its mask element has the sign bit set).</summary>
/// <remarks>
/// 512-bit vectors go through two AVX <c>vmaskmovps</c> halves: .NET 8 and 9 have no masked 512-bit float store (nor
/// <c>Vector512&lt;T&gt;.Indices</c>), and these are only used for the one partial vector at the end of a tile row.
/// </remarks>
public static unsafe class MaskedMemory
{
    /// <summary>The first <paramref name="count"/> lanes selected.</summary>
    /// <param name="count">Lanes to select (0..16).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FirstLanes512(int count) => Vector512.LessThan(Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(count)).AsSingle();

    /// <summary>The first <paramref name="count"/> lanes selected.</summary>
    /// <param name="count">Lanes to select (0..8).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FirstLanes256(int count) => Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(count)).AsSingle();

    /// <summary>Lanes <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive) selected.</summary>
    /// <param name="from">First selected lane.</param>
    /// <param name="to">One past the last selected lane.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Lanes512(int from, int to)
    {
        Vector512<int> i = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        return (Vector512.GreaterThanOrEqual(i, Vector512.Create(from)) & Vector512.LessThan(i, Vector512.Create(to))).AsSingle();
    }

    /// <summary>Lanes <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive) selected.</summary>
    /// <param name="from">First selected lane.</param>
    /// <param name="to">One past the last selected lane.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Lanes256(int from, int to)
    {
        Vector256<int> i = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        return (Vector256.GreaterThanOrEqual(i, Vector256.Create(from)) & Vector256.LessThan(i, Vector256.Create(to))).AsSingle();
    }

    /// <summary>Stores the selected lanes of <paramref name="value"/> at <paramref name="address"/>.</summary>
    /// <param name="address">Destination.</param>
    /// <param name="mask">Lane mask.</param>
    /// <param name="value">Values.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* address, Vector512<float> mask, Vector512<float> value)
    {
        Avx.MaskStore(address, mask.GetLower(), value.GetLower());
        Avx.MaskStore(address + 8, mask.GetUpper(), value.GetUpper());
    }

    /// <summary>Stores the selected lanes of <paramref name="value"/> at <paramref name="address"/>.</summary>
    /// <param name="address">Destination.</param>
    /// <param name="mask">Lane mask.</param>
    /// <param name="value">Values.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* address, Vector256<float> mask, Vector256<float> value) => Avx.MaskStore(address, mask, value);

    /// <summary>Loads the selected lanes at <paramref name="address"/> (zero in the others, which are not read).</summary>
    /// <param name="address">Source.</param>
    /// <param name="mask">Lane mask.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* address, Vector512<float> mask) =>
        Vector512.Create(Avx.MaskLoad(address, mask.GetLower()), Avx.MaskLoad(address + 8, mask.GetUpper()));

    /// <summary>Loads the selected lanes at <paramref name="address"/> (zero in the others, which are not read).</summary>
    /// <param name="address">Source.</param>
    /// <param name="mask">Lane mask.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* address, Vector256<float> mask) => Avx.MaskLoad(address, mask);
}
