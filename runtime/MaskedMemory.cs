// Licensed under the MIT license.
// Masked vector loads and stores for the partial tiles of generated kernels: only the selected lanes are read or
// written, so a tile's last vector never touches memory past the row it belongs to.

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Runtime;

/// <summary>Lane-masked loads and stores (a lane is selected when its mask element has the sign bit set).</summary>
/// <remarks>
/// On .NET 10 with AVX-512 these are single masked moves (<c>vmovups {k}</c>). .NET 8 and 9 expose no AVX-512 masked
/// float loads or stores: loads go through two AVX <c>vmaskmovps</c> halves (cheap), and stores of a prefix mask (the
/// partial vector at the end of a row, the only kind generated code stores) through plain stores of decreasing width,
/// because the <c>vmaskmovps</c> store is microcoded on AMD (measured here: 10 ns per 512-bit store against 0.6 ns).
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
#if NET10_0_OR_GREATER
        if (Avx512F.IsSupported)
        {
            Avx512F.MaskStore(address, mask, value);
            return;
        }
#endif
        if (PrefixLength((uint)mask.ExtractMostSignificantBits()) is int count and >= 0)
        {
            StoreFirst(address, count, value);
            return;
        }
        Avx.MaskStore(address, mask.GetLower(), value.GetLower());
        Avx.MaskStore(address + 8, mask.GetUpper(), value.GetUpper());
    }

    /// <summary>Stores the selected lanes of <paramref name="value"/> at <paramref name="address"/>.</summary>
    /// <param name="address">Destination.</param>
    /// <param name="mask">Lane mask.</param>
    /// <param name="value">Values.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* address, Vector256<float> mask, Vector256<float> value)
    {
#if NET10_0_OR_GREATER
        if (Avx512F.VL.IsSupported)
        {
            Avx512F.VL.MaskStore(address, mask, value);
            return;
        }
#endif
        if (PrefixLength((uint)mask.ExtractMostSignificantBits()) is int count and >= 0)
        {
            StoreFirst(address, count, value);
            return;
        }
        Avx.MaskStore(address, mask, value);
    }

    /// <summary>The number of selected lanes when the mask's lane bits select a prefix (lanes 0..n-1), else -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PrefixLength(uint bits) => (bits & (bits + 1)) == 0 ? BitOperations.PopCount(bits) : -1;

    /// <summary>Stores the first <paramref name="count"/> (0..16) lanes of <paramref name="value"/> by whole, half, quarter, pair and single stores.</summary>
    /// <param name="address">Destination.</param>
    /// <param name="count">Lanes to store.</param>
    /// <param name="value">Values.</param>
    /// <remarks>
    /// The fallback for a prefix mask without AVX-512 masked stores (.NET 8 and 9 do not expose them): AMD's
    /// <c>vmaskmovps</c> store is microcoded, about 20 cycles per 256 bits on Zen 5, against a few plain stores.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreFirst(float* address, int count, Vector512<float> value)
    {
        Vector256<float> half = value.GetLower();
        if (count >= 8)
        {
            half.Store(address);
            address += 8;
            count -= 8;
            half = value.GetUpper();
        }
        StoreFirst(address, count, half);
    }

    /// <summary>Stores the first <paramref name="count"/> (0..8) lanes of <paramref name="value"/>.</summary>
    /// <param name="address">Destination.</param>
    /// <param name="count">Lanes to store.</param>
    /// <param name="value">Values.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreFirst(float* address, int count, Vector256<float> value)
    {
        if (count == 8)
        {
            value.Store(address);
            return;
        }
        Vector128<float> quarter = value.GetLower();
        if (count >= 4)
        {
            quarter.Store(address);
            address += 4;
            count -= 4;
            quarter = value.GetUpper();
        }
        if (count >= 2)
        {
            Sse.StoreLow(address, quarter);
            address += 2;
            count -= 2;
            quarter = Sse.MoveHighToLow(quarter, quarter);
        }
        if (count != 0) Sse.StoreScalar(address, quarter);
    }

    /// <summary>Loads the selected lanes at <paramref name="address"/> (zero in the others, which are not read).</summary>
    /// <param name="address">Source.</param>
    /// <param name="mask">Lane mask.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* address, Vector512<float> mask)
    {
#if NET10_0_OR_GREATER
        if (Avx512F.IsSupported) return Avx512F.MaskLoad(address, mask, Vector512<float>.Zero);
#endif
        return Vector512.Create(Load(address, mask.GetLower()), Load(address + 8, mask.GetUpper()));
    }

    /// <summary>Loads the selected lanes at <paramref name="address"/> (zero in the others, which are not read).</summary>
    /// <param name="address">Source.</param>
    /// <param name="mask">Lane mask.</param>
    /// <remarks>
    /// Without AVX-512 a plain load blended with zero whenever its 32 bytes lie within one 4 KiB page (a load that
    /// does not cross a page cannot fault, and the unselected lanes it reads are discarded); <c>vmaskmovps</c> only
    /// for a load that crosses a page. The AVX <c>vmaskmovps</c> load is slow on some cores: measured on this
    /// project's AVX2-only CI machines (AMD, no AVX-512) 4.5-7.4 ns per load against 0.7-0.8 ns for a plain one.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* address, Vector256<float> mask)
    {
#if NET10_0_OR_GREATER
        if (Avx512F.VL.IsSupported) return Avx512F.VL.MaskLoad(address, mask, Vector256<float>.Zero);
#endif
        if (((nuint)address & 4095) <= 4096 - 32) return Avx.BlendVariable(Vector256<float>.Zero, Avx.LoadVector256(address), mask);
        return Avx.MaskLoad(address, mask);
    }
}
