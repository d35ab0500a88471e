// Licensed under the MIT license.
// Implicit im2col: packs one column panel (K x NR) of a convolution's virtual im2col matrix, straight from NCHW input.

using System.Runtime.Intrinsics;

namespace ModelGen.Runtime;

/// <summary>Panel packing for convolution as GEMM.</summary>
/// <remarks>
/// Cost model: a panel is K x NR floats (K = C*KH*KW), written once and then read by every row tile of the weights,
/// so it stays in L1/L2 while the micro-kernel streams it. Only one panel exists at a time (scratch = K*NR floats),
/// instead of a full K x (OH*OW) im2col matrix.
/// </remarks>
public static unsafe class Im2Col
{
    /// <summary>
    /// Writes panel[k][j] = x[c][oy*sh - padTop + ky*dh][ox*sw - padLeft + kx*dw] (0 outside the input) for
    /// k = (c*kh + ky)*kw + kx and output pixels p = n0 + j (j &lt; nCount); columns nCount..nr are zeroed.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void PackPanel(
        float* x, float* panel, int channels, int inH, int inW, int kh, int kw, int sh, int sw, int dh, int dw,
        int padTop, int padLeft, int outW, int n0, int nCount, int nr)
    {
        int k = channels * kh * kw;
        if (nCount < nr)
        {
            for (int r = 0; r < k; r++)
            {
                float* d = panel + (long)r * nr;
                for (int j = nCount; j < nr; j++) d[j] = 0f;
            }
        }
        if (kh == 1 && kw == 1 && sh == 1 && sw == 1 && padTop == 0 && padLeft == 0 && outW == inW)
        {
            // A 1x1 stride-1 unpadded window (the rows of a 1x1 convolution's B): panel row c is channel c's pixels
            // n0 .. n0 + nCount, one contiguous run. Whole vectors, no per-row call (the general path below took 24 us for a
            // 256 x 169 input in 11 panels of 16, L2-warm; this 6).
            long plane = (long)inH * inW;
            float* src = x + n0;
            for (int c = 0; c < channels; c++, src += plane) CopyRun(src, panel + (long)c * nr, nCount);
            return;
        }
        int col = 0, p = n0;
        while (col < nCount)
        {
            // One run of consecutive output pixels on the same output row.
            int oy = p / outW, ox = p - oy * outW;
            int len = System.Math.Min(outW - ox, nCount - col);
            int row = 0;
            for (int c = 0; c < channels; c++)
            {
                float* plane = x + (long)c * inH * inW;
                for (int ky = 0; ky < kh; ky++)
                {
                    int iy = oy * sh - padTop + ky * dh;
                    for (int kx = 0; kx < kw; kx++, row++)
                    {
                        float* d = panel + (long)row * nr + col;
                        if ((uint)iy >= (uint)inH)
                        {
                            for (int t = 0; t < len; t++) d[t] = 0f;
                            continue;
                        }
                        float* line = plane + (long)iy * inW;
                        int ix = ox * sw - padLeft + kx * dw;
                        // Columns t with 0 <= ix + t*sw < inW form one run: zeros, a (strided) copy, zeros.
                        int tlo = ix >= 0 ? 0 : System.Math.Min(len, (-ix + sw - 1) / sw);
                        int thi = inW - 1 - ix < 0 ? 0 : System.Math.Min(len, (inW - 1 - ix) / sw + 1);
                        if (thi < tlo) thi = tlo;
                        for (int t = 0; t < tlo; t++) d[t] = 0f;
                        if (thi > tlo)
                        {
                            if (sw == 1) CopyRun(line + ix + tlo, d + tlo, thi - tlo);
                            else StridedCopy.Strided(line + ix + tlo * sw, d + tlo, thi - tlo, sw);
                        }
                        for (int t = thi; t < len; t++) d[t] = 0f;
                    }
                }
            }
            col += len;
            p += len;
        }
    }

    /// <summary>
    /// dst[j] = src[j] for j &lt; <paramref name="count"/>, inlined: runs are 4-64 floats, and a call per run costs more than
    /// the copy (Buffer.MemoryCopy per channel, as StridedCopy.Strided does at stride 1: 13.6 us for the 11 panels above, this 6.8).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(float* src, float* dst, int count)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 16 <= count; j += 16) Vector512.Load(src + j).Store(dst + j);
        if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= count; j += 8) Vector256.Load(src + j).Store(dst + j);
        if (Vector128.IsHardwareAccelerated)
            for (; j + 4 <= count; j += 4) Vector128.Load(src + j).Store(dst + j);
        for (; j < count; j++) dst[j] = src[j];
    }
}
