// Licensed under the MIT license.
// The runtime's strided row copies and padded row splits (phase planes of strided convolutions and Winograd), row repeats (nearest 2x upsampling) and
// scatter-adds (col2im of transposed convolutions): every count from 1 to a few vectors, so the whole vectors, the masked last vector and a count below one
// vector are all covered, with nothing written past the row.
// Run on every vector path the machine has (CI: AVX-512; by hand with DOTNET_EnableAVX512F=0 and DOTNET_EnableAVX2=0).

using ModelGen.Runtime;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed unsafe class StridedCopyTests
{
    private const float Sentinel = -7.25f;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Copies_every_stride_th_element_and_nothing_past_the_row(int stride)
    {
        for (int count = 1; count <= 70; count++)
        {
            // The source holds exactly the elements the copy may read: src[0 .. stride (count - 1)].
            float[] src = Enumerable.Range(0, stride * (count - 1) + 1).Select(i => i * 0.5f + 1f).ToArray();
            float[] dst = Enumerable.Repeat(Sentinel, count + 20).ToArray();
            fixed (float* s = src, d = dst) StridedCopy.Strided(s, d, count, stride);
            for (int j = 0; j < dst.Length; j++)
            {
                float expected = j < count ? src[j * stride] : Sentinel;
                Assert.True(expected == dst[j], $"stride {stride}, count {count}: dst[{j}] = {dst[j]}, expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Splits_a_padded_row_into_its_phases_in_whole_vectors(int phases)
    {
        const float pad = -3.5f;
        for (int padLeft = 0; padLeft <= 3; padLeft++)
        {
            for (int width = 1; width <= 45; width += 4)
            {
                for (int count = 1; count <= 20; count++)
                {
                    // padded[x] = src[x - padLeft] inside the row, else the pad; each phase gets count rounded up to 8.
                    float[] src = Enumerable.Range(0, width).Select(i => i * 0.5f + 1f).ToArray();
                    int whole = (count + 7) / 8 * 8;
                    float[][] dst = Enumerable.Range(0, phases).Select(_ => Enumerable.Repeat(Sentinel, whole + 20).ToArray()).ToArray();
                    fixed (float* s = src, d0 = dst[0], d1 = dst[1], d2 = dst[phases - 2], d3 = dst[phases - 1])
                    {
                        if (phases == 2) StridedCopy.SplitRow2(s, width, padLeft, pad, d0, d1, count);
                        else StridedCopy.SplitRow4(s, width, padLeft, pad, d0, d1, d2, d3, count);
                    }
                    for (int r = 0; r < phases; r++)
                    {
                        for (int j = 0; j < dst[r].Length; j++)
                        {
                            int x = phases * j + r - padLeft;
                            float expected = j >= whole ? Sentinel : x >= 0 && x < width ? src[x] : pad;
                            Assert.True(expected == dst[r][j], $"{phases} phases, pad {padLeft}, width {width}, count {count}: phase {r}[{j}] = {dst[r][j]}, expected {expected}");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Repeats_every_element_twice_and_writes_nothing_past_the_row()
    {
        for (int count = 1; count <= 40; count++)
        {
            float[] src = Enumerable.Range(0, count).Select(i => i * 0.5f + 1f).ToArray();
            float[] dst = Enumerable.Repeat(Sentinel, 2 * count + 20).ToArray();
            fixed (float* s = src, d = dst) StridedCopy.Repeat2(s, d, count);
            for (int j = 0; j < dst.Length; j++)
            {
                float expected = j < 2 * count ? src[j / 2] : Sentinel;
                Assert.True(expected == dst[j], $"count {count}: dst[{j}] = {dst[j]}, expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Scatter_adds_into_every_stride_th_element_and_nothing_else(int stride)
    {
        for (int count = 1; count <= 70; count++)
        {
            float[] src = Enumerable.Range(0, count).Select(i => i * 0.25f + 1f).ToArray();
            // The row holds exactly the elements the scatter may touch, dst[0 .. stride (count - 1)], between sentinels.
            int row = stride * (count - 1) + 1;
            float[] dst = Enumerable.Range(0, row + 40).Select(i => i >= 20 && i < 20 + row ? i * 0.5f : Sentinel).ToArray();
            float[] before = (float[])dst.Clone();
            fixed (float* s = src, d = dst) StridedCopy.ScatterAdd(s, d + 20, count, stride);
            for (int i = 0; i < dst.Length; i++)
            {
                int e = i - 20;
                float expected = e >= 0 && e % stride == 0 && e / stride < count ? before[i] + src[e / stride] : before[i];
                Assert.True(expected == dst[i], $"stride {stride}, count {count}: dst[{e}] = {dst[i]}, expected {expected}");
            }
        }
    }
}
