// Licensed under the MIT license.
// The runtime's implicit im2col panel packing against a direct reading of its definition: the contiguous 1x1 fast path
// (whole and partial column tiles, every vector width's tail) and the general path (padding on every side, unit and
// larger strides, dilation, runs that wrap to the next output row).

using ModelGen.Runtime;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed unsafe class Im2ColTests
{
    [Theory]
    // channels, inH, inW, kh, kw, stride, dilation, pad, nr
    [InlineData(5, 13, 13, 1, 1, 1, 1, 0, 16)]
    [InlineData(3, 7, 9, 1, 1, 1, 1, 0, 64)]
    [InlineData(2, 9, 11, 3, 3, 1, 1, 1, 16)]
    [InlineData(2, 10, 9, 3, 3, 2, 1, 1, 8)]
    [InlineData(3, 12, 12, 3, 3, 1, 2, 2, 24)]
    [InlineData(1, 6, 5, 5, 5, 1, 1, 2, 32)]
    public void Packs_every_column_tile_as_defined(int channels, int inH, int inW, int kh, int kw, int stride, int dilation, int pad, int nr)
    {
        int outH = (inH + 2 * pad - dilation * (kh - 1) - 1) / stride + 1, outW = (inW + 2 * pad - dilation * (kw - 1) - 1) / stride + 1;
        int n = outH * outW, k = channels * kh * kw;
        float[] x = Enumerable.Range(0, channels * inH * inW).Select(i => i * 0.25f + 1f).ToArray();
        for (int n0 = 0; n0 < n; n0 += nr)
        {
            int count = Math.Min(nr, n - n0);
            float[] panel = Enumerable.Repeat(-7.25f, k * nr + 16).ToArray();
            fixed (float* px = x, pp = panel)
                Im2Col.PackPanel(px, pp, channels, inH, inW, kh, kw, stride, stride, dilation, dilation, pad, pad, outW, n0, count, nr);
            for (int r = 0; r < k; r++)
            {
                int c = r / (kh * kw), ky = r / kw % kh, kx = r % kw;
                for (int j = 0; j < nr; j++)
                {
                    float expected = 0f;
                    if (j < count)
                    {
                        int p = n0 + j, iy = p / outW * stride - pad + ky * dilation, ix = p % outW * stride - pad + kx * dilation;
                        if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) expected = x[(c * inH + iy) * inW + ix];
                    }
                    Assert.True(expected == panel[r * nr + j], $"n0 {n0}: panel[{r}][{j}] = {panel[r * nr + j]}, expected {expected}");
                }
            }
            Assert.All(panel.Skip(k * nr), v => Assert.Equal(-7.25f, v));
        }
    }
}
