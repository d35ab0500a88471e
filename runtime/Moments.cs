// Licensed under the MIT license.
// Mean and variance of a plane or row for the normalisation kernels (InstanceNormalization, LayerNormalization) in one
// vectorised pass: blocks of 1024 floats summed about their first element in float vectors (sum and sum of squares),
// each block's mean and squared deviations combined into the running ones in double (Chan et al.'s pairwise update),
// so neither a large mean nor a long plane costs precision. Then y = a x + b in a second pass.

using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Runtime;

/// <summary>Vectorised statistics and affine maps over contiguous floats.</summary>
public static unsafe class Moments
{
    private const int Block = 1024;

    /// <summary>The mean of <paramref name="n"/> floats and 1 / sqrt(variance + <paramref name="epsilon"/>) (population variance).</summary>
    /// <param name="x">The values.</param>
    /// <param name="n">How many (at least 1).</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="mean">The mean.</param>
    /// <param name="invStdDev">1 / sqrt(variance + epsilon).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MeanInvStdDev(float* x, long n, double epsilon, out double mean, out double invStdDev)
    {
        double m = 0, m2 = 0;
        long count = 0;
        for (long i = 0; i < n; i += Block)
        {
            int nb = (int)Math.Min(Block, n - i);
            float pivot = x[i];
            BlockSums(x + i, nb, pivot, out float s1, out float s2);
            double mb = pivot + (double)s1 / nb;
            double m2b = Math.Max(0.0, s2 - (double)s1 * s1 / nb);
            long total = count + nb;
            double delta = mb - m;
            m += delta * nb / total;
            m2 += m2b + delta * delta * ((double)count * nb / total);
            count = total;
        }
        mean = m;
        invStdDev = 1.0 / Math.Sqrt(m2 / n + epsilon);
    }

    /// <summary>Sum of (x - pivot) and of its squares over one block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BlockSums(float* x, int n, float pivot, out float s1, out float s2)
    {
        int i = 0;
        float a = 0f, b = 0f;
        if (Avx512F.IsSupported && n >= 32)
        {
            Vector512<float> k = Vector512.Create(pivot);
            Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, q0 = a0, q1 = a0;
            for (; i <= n - 32; i += 32)
            {
                Vector512<float> d0 = Vector512.Load(x + i) - k, d1 = Vector512.Load(x + i + 16) - k;
                a0 += d0;
                a1 += d1;
                q0 = Avx512F.FusedMultiplyAdd(d0, d0, q0);
                q1 = Avx512F.FusedMultiplyAdd(d1, d1, q1);
            }
            a = Vector512.Sum(a0 + a1);
            b = Vector512.Sum(q0 + q1);
        }
        else if (Fma.IsSupported && n >= 16)
        {
            Vector256<float> k = Vector256.Create(pivot);
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, q0 = a0, q1 = a0;
            for (; i <= n - 16; i += 16)
            {
                Vector256<float> d0 = Vector256.Load(x + i) - k, d1 = Vector256.Load(x + i + 8) - k;
                a0 += d0;
                a1 += d1;
                q0 = Fma.MultiplyAdd(d0, d0, q0);
                q1 = Fma.MultiplyAdd(d1, d1, q1);
            }
            a = Vector256.Sum(a0 + a1);
            b = Vector256.Sum(q0 + q1);
        }
        for (; i < n; i++)
        {
            float d = x[i] - pivot;
            a += d;
            b += d * d;
        }
        s1 = a;
        s2 = b;
    }

    /// <summary>y[i] = x[i] * a + b for <paramref name="n"/> floats (y may be x).</summary>
    /// <param name="x">Source.</param>
    /// <param name="y">Destination.</param>
    /// <param name="n">How many.</param>
    /// <param name="a">Scale.</param>
    /// <param name="b">Offset.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Affine(float* x, float* y, long n, float a, float b)
    {
        long i = 0;
        if (Avx512F.IsSupported)
        {
            Vector512<float> va = Vector512.Create(a), vb = Vector512.Create(b);
            for (; i <= n - 16; i += 16) Avx512F.FusedMultiplyAdd(Vector512.Load(x + i), va, vb).Store(y + i);
        }
        else if (Fma.IsSupported)
        {
            Vector256<float> va = Vector256.Create(a), vb = Vector256.Create(b);
            for (; i <= n - 8; i += 8) Fma.MultiplyAdd(Vector256.Load(x + i), va, vb).Store(y + i);
        }
        for (; i < n; i++) y[i] = x[i] * a + b;
    }
}
