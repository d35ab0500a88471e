// Licensed under the MIT license.
// The runtime's masked loads and stores: exactly the selected lanes are read or written (neighbours untouched, unselected
// lanes of a load zero), for every prefix and for ranges, through the masked-move path this framework has and through the
// plain-store fallback of .NET 8 and 9 (StoreFirst), on both vector widths.

using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelGen.Runtime;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed class MaskedMemoryTests
{
    private const float Sentinel = -7.25f;

    /// <summary>Runs <paramref name="store"/> into the middle of a sentinel-filled buffer and checks lanes [0, count) hold 1..count and nothing else moved.</summary>
    private static unsafe void CheckStore(int width, int count, Action<IntPtr> store)
    {
        float[] buffer = Enumerable.Repeat(Sentinel, 3 * width).ToArray();
        fixed (float* p = buffer) store((IntPtr)(p + width));
        for (int i = 0; i < buffer.Length; i++)
        {
            int lane = i - width;
            float expected = lane >= 0 && lane < count ? lane + 1 : Sentinel;
            Assert.True(expected == buffer[i], $"width {width}, count {count}: element {lane} is {buffer[i]}, expected {expected}");
        }
    }

    [Fact]
    public unsafe void Stores_write_exactly_the_first_lanes()
    {
        if (!Avx.IsSupported) return; // no masked path to test (the generated code then has none either)
        Vector256<float> v8 = Vector256.Create(1f, 2, 3, 4, 5, 6, 7, 8);
        for (int count = 0; count <= 8; count++)
        {
            int n = count;
            CheckStore(8, n, p => MaskedMemory.Store((float*)p, MaskedMemory.FirstLanes256(n), v8));
            CheckStore(8, n, p => MaskedMemory.StoreFirst((float*)p, n, v8));
        }
        if (!Avx512F.IsSupported) return;
        Vector512<float> v16 = Vector512.Create(1f, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
        for (int count = 0; count <= 16; count++)
        {
            int n = count;
            CheckStore(16, n, p => MaskedMemory.Store((float*)p, MaskedMemory.FirstLanes512(n), v16));
            CheckStore(16, n, p => MaskedMemory.StoreFirst((float*)p, n, v16));
        }
    }

    [Fact]
    public unsafe void Loads_read_exactly_the_selected_lanes()
    {
        if (!Avx.IsSupported) return; // no masked path to test (the generated code then has none either)
        float[] data = Enumerable.Range(1, 16).Select(i => (float)i).ToArray();
        fixed (float* p = data)
        {
            for (int from = 0; from <= 8; from++)
            {
                for (int to = from; to <= 8; to++)
                {
                    Vector256<float> v = MaskedMemory.Load(p, MaskedMemory.Lanes256(from, to));
                    for (int i = 0; i < 8; i++) Assert.Equal(i >= from && i < to ? i + 1 : 0f, v.GetElement(i));
                }
            }
            if (!Avx512F.IsSupported) return;
            for (int from = 0; from <= 16; from++)
            {
                for (int to = from; to <= 16; to++)
                {
                    Vector512<float> v = MaskedMemory.Load(p, MaskedMemory.Lanes512(from, to));
                    for (int i = 0; i < 16; i++) Assert.Equal(i >= from && i < to ? i + 1 : 0f, v.GetElement(i));
                }
            }
        }
    }
}
