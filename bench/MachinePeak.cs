// Licensed under the MIT license.
// The fp32 FMA peak of one core of the machine the benchmark runs on, measured at start-up: independent FMA chains on
// the widest vector ISA the generated code uses here (AVX-512 or AVX2 + FMA), as a C loop would run them.

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Bench;

public static class MachinePeak
{
    private static readonly Lazy<(double Gmac, string Isa, double SiluSeconds)> Measured = new(Measure);

    /// <summary>
    /// Multiply-accumulates per second per core, in billions: the best of several timed runs of 24 (AVX-512) or 12 (AVX2)
    /// independent FMA chains, enough to cover the FMA latency times the FMA units. The machines this project runs on
    /// differ: an AVX-512 one measured 58.5 GMAC/s (one 512-bit FMA per cycle at ~3.66 GHz), an AVX2-only one 18.7-19.4
    /// (one 256-bit FMA per cycle at ~2.4 GHz).
    /// </summary>
    public static double GmacPerCore => Measured.Value.Gmac;

    /// <summary>The vector ISA the peak was measured with.</summary>
    public static string Isa => Measured.Value.Isa;

    private static (double, string, double) Measure()
    {
        double best = 0;
        string isa = Avx512F.IsSupported ? "AVX-512" : Fma.IsSupported ? "AVX2 + FMA" : "scalar";
        for (int i = 0; i < 7; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            long macs = Avx512F.IsSupported ? Chains512(4_000_000) : Fma.IsSupported ? Chains256(8_000_000) : 0;
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (i > 0 && macs > 0) best = Math.Max(best, macs / s / 1e9);
        }
        // The epilogue's price right after the peak, in the same machine state.
        return (best, isa, SiluSecondsPerOutput());
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Chains512(int n)
    {
        Vector512<float> b = Vector512.Create(1.0000001f), c = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(0f), a1 = Vector512.Create(1f), a2 = Vector512.Create(2f), a3 = Vector512.Create(3f);
        Vector512<float> a4 = Vector512.Create(4f), a5 = Vector512.Create(5f), a6 = Vector512.Create(6f), a7 = Vector512.Create(7f);
        Vector512<float> a8 = Vector512.Create(8f), a9 = Vector512.Create(9f), a10 = Vector512.Create(10f), a11 = Vector512.Create(11f);
        Vector512<float> a12 = a0, a13 = a1, a14 = a2, a15 = a3, a16 = a4, a17 = a5, a18 = a6, a19 = a7, a20 = a8, a21 = a9, a22 = a10, a23 = a11;
        for (int i = 0; i < n; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, b, c); a1 = Avx512F.FusedMultiplyAdd(a1, b, c); a2 = Avx512F.FusedMultiplyAdd(a2, b, c);
            a3 = Avx512F.FusedMultiplyAdd(a3, b, c); a4 = Avx512F.FusedMultiplyAdd(a4, b, c); a5 = Avx512F.FusedMultiplyAdd(a5, b, c);
            a6 = Avx512F.FusedMultiplyAdd(a6, b, c); a7 = Avx512F.FusedMultiplyAdd(a7, b, c); a8 = Avx512F.FusedMultiplyAdd(a8, b, c);
            a9 = Avx512F.FusedMultiplyAdd(a9, b, c); a10 = Avx512F.FusedMultiplyAdd(a10, b, c); a11 = Avx512F.FusedMultiplyAdd(a11, b, c);
            a12 = Avx512F.FusedMultiplyAdd(a12, b, c); a13 = Avx512F.FusedMultiplyAdd(a13, b, c); a14 = Avx512F.FusedMultiplyAdd(a14, b, c);
            a15 = Avx512F.FusedMultiplyAdd(a15, b, c); a16 = Avx512F.FusedMultiplyAdd(a16, b, c); a17 = Avx512F.FusedMultiplyAdd(a17, b, c);
            a18 = Avx512F.FusedMultiplyAdd(a18, b, c); a19 = Avx512F.FusedMultiplyAdd(a19, b, c); a20 = Avx512F.FusedMultiplyAdd(a20, b, c);
            a21 = Avx512F.FusedMultiplyAdd(a21, b, c); a22 = Avx512F.FusedMultiplyAdd(a22, b, c); a23 = Avx512F.FusedMultiplyAdd(a23, b, c);
        }
        Sink = (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 + a16 + a17 + a18 + a19 + a20 + a21 + a22 + a23).ToScalar();
        return (long)n * 24 * 16;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Chains256(int n)
    {
        Vector256<float> b = Vector256.Create(1.0000001f), c = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(0f), a1 = Vector256.Create(1f), a2 = Vector256.Create(2f), a3 = Vector256.Create(3f);
        Vector256<float> a4 = Vector256.Create(4f), a5 = Vector256.Create(5f), a6 = Vector256.Create(6f), a7 = Vector256.Create(7f);
        Vector256<float> a8 = Vector256.Create(8f), a9 = Vector256.Create(9f), a10 = Vector256.Create(10f), a11 = Vector256.Create(11f);
        for (int i = 0; i < n; i++)
        {
            a0 = Fma.MultiplyAdd(a0, b, c); a1 = Fma.MultiplyAdd(a1, b, c); a2 = Fma.MultiplyAdd(a2, b, c); a3 = Fma.MultiplyAdd(a3, b, c);
            a4 = Fma.MultiplyAdd(a4, b, c); a5 = Fma.MultiplyAdd(a5, b, c); a6 = Fma.MultiplyAdd(a6, b, c); a7 = Fma.MultiplyAdd(a7, b, c);
            a8 = Fma.MultiplyAdd(a8, b, c); a9 = Fma.MultiplyAdd(a9, b, c); a10 = Fma.MultiplyAdd(a10, b, c); a11 = Fma.MultiplyAdd(a11, b, c);
        }
        Sink = (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).ToScalar();
        return (long)n * 12 * 8;
    }

    /// <summary>
    /// The multiply-accumulates one core runs at <see cref="GmacPerCore"/> in the time <c>VectorMath.Silu</c>
    /// (the function the generated SiLU epilogues call, on the same ISA as the peak) takes per output over L1-resident data:
    /// the price of a sigmoid or SiLU epilogue in MACs. A convolution with K multiply-accumulates per output and such an
    /// epilogue reaches at most K / (K + this) of the peak unless the core overlaps the two (see LayerReport.WriteTargets).
    /// Measured at start-up with the peak.
    /// </summary>
    public static double LogisticMacs => Measured.Value.SiluSeconds * GmacPerCore * 1e9;

    private static unsafe double SiluSecondsPerOutput()
    {
        const int n = 2048, passes = 200;
        float* src = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(n * sizeof(float), 64);
        float* dst = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(n * sizeof(float), 64);
        try
        {
            // Convolution outputs of either sign, none near the clamps: every lane takes the exp's full path.
            for (int i = 0; i < n; i++) src[i] = (i * 37 % 1601 - 800) / 100f;
            double best = double.MaxValue;
            for (int r = 0; r < 8; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int p = 0; p < passes; p++) Silu(src, dst, n);
                double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                if (r > 0) best = Math.Min(best, s);
            }
            Sink = dst[n / 2];
            return best / ((double)passes * n);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(src);
            System.Runtime.InteropServices.NativeMemory.AlignedFree(dst);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Silu(float* src, float* dst, int n)
    {
        if (Avx512F.IsSupported)
        {
            for (int i = 0; i < n; i += 16) ModelGen.Runtime.VectorMath.Silu(Vector512.Load(src + i)).Store(dst + i);
        }
        else if (Fma.IsSupported)
        {
            for (int i = 0; i < n; i += 8) ModelGen.Runtime.VectorMath.Silu(Vector256.Load(src + i)).Store(dst + i);
        }
        else
        {
            for (int i = 0; i < n; i++) dst[i] = ModelGen.Runtime.VectorMath.Silu(src[i]);
        }
    }

    /// <summary>Keeps the chains' results alive.</summary>
    public static float Sink;
}
