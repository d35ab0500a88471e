// Licensed under the MIT license.
// The runtime's planar <-> channel-vector transposes (depthwise kernels of small planes): every pixel count, both vector
// widths the machine has, and no read or write outside the pixels asked for.

using System.Runtime.Intrinsics.X86;
using ModelGen.Runtime;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed unsafe class ChannelTransposeTests
{
    private const int Stride = 37; // floats between planes, more than 16 and odd

    [Theory]
    [InlineData(16)]
    [InlineData(8)]
    public void Round_trip_moves_exactly_the_requested_pixels(int lanes)
    {
        if (lanes == 16 && !Avx512F.IsSupported) return;
        if (lanes == 8 && !Avx2.IsSupported) return;
        for (int count = 1; count <= lanes; count++)
        {
            float[] planes = new float[lanes * Stride], vectors = new float[(lanes + 1) * lanes], back = new float[lanes * Stride];
            for (int i = 0; i < planes.Length; i++) planes[i] = i + 1;
            System.Array.Fill(vectors, -1f);
            System.Array.Fill(back, -2f);
            fixed (float* p = planes, v = vectors, b = back)
            {
                // Offset 3 into each plane: the pixels read are 3..3+count-1 of every plane.
                if (lanes == 16) ChannelTranspose.ToLanes16(p + 3, Stride, count, v);
                else ChannelTranspose.ToLanes8(p + 3, Stride, count, v);
                for (int px = 0; px < count; px++)
                    for (int c = 0; c < lanes; c++) Assert.Equal(planes[c * Stride + 3 + px], vectors[px * lanes + c]);
                for (int i = count * lanes; i < vectors.Length; i++) Assert.Equal(-1f, vectors[i]); // nothing written past the count
                if (lanes == 16) ChannelTranspose.FromLanes16(v, count, b + 3, Stride);
                else ChannelTranspose.FromLanes8(v, count, b + 3, Stride);
            }
            for (int c = 0; c < lanes; c++)
            {
                for (int i = 0; i < Stride; i++)
                {
                    float expected = i >= 3 && i < 3 + count ? planes[c * Stride + i] : -2f;
                    Assert.Equal(expected, back[c * Stride + i]);
                }
            }
        }
    }
}
