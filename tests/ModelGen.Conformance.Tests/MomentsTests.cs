// Licensed under the MIT license.
// The runtime's one-pass plane statistics (InstanceNormalization, LayerNormalization) against a two-pass
// double-precision reference: long planes, a large mean over a small spread, a ramp, tails shorter than a vector, a
// constant plane; and the affine pass. Run on every vector path the machine has (CI: AVX-512; by hand with
// DOTNET_EnableAVX512F=0 and DOTNET_EnableAVX2=0).

using ModelGen.Runtime;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed unsafe class MomentsTests
{
    public static TheoryData<string, int> Planes => new()
    {
        { "normal", 640_000 }, { "offset", 640_000 }, { "ramp", 1_000_003 }, { "normal", 1 }, { "normal", 3 }, { "offset", 17 },
        { "normal", 1025 }, { "constant", 5000 },
    };

    [Theory]
    [MemberData(nameof(Planes))]
    public void Mean_and_inverse_deviation_match_a_double_two_pass_reference(string kind, int n)
    {
        var rnd = new System.Random(n);
        float[] x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double z = System.Math.Sqrt(-2 * System.Math.Log(1 - rnd.NextDouble())) * System.Math.Cos(2 * System.Math.PI * rnd.NextDouble());
            x[i] = kind switch
            {
                "offset" => (float)(1e4 + 0.05 * z), // mean 2e5 standard deviations away from zero
                "ramp" => (float)(i * 1e-3),
                "constant" => 3.25f,
                _ => (float)z,
            };
        }
        double mean = 0;
        foreach (float v in x) mean += v;
        mean /= n;
        double var = 0;
        foreach (float v in x) var += (v - mean) * (v - mean);
        var /= n;
        const double eps = 1e-5;
        double inv = 1 / System.Math.Sqrt(var + eps);
        fixed (float* p = x)
        {
            Moments.MeanInvStdDev(p, n, eps, out double m, out double i);
            Assert.True(System.Math.Abs(m - mean) <= 1e-6 * System.Math.Max(1, System.Math.Abs(mean)), $"mean {m} against {mean}");
            Assert.True(System.Math.Abs(i - inv) <= 1e-5 * inv, $"1/sqrt(var + eps) {i} against {inv}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(1000)]
    public void Affine_maps_every_element_and_nothing_past_the_end(int n)
    {
        float[] x = new float[n + 1], y = new float[n + 1];
        for (int i = 0; i <= n; i++) x[i] = i - 7.5f;
        y[n] = 42f;
        fixed (float* px = x, py = y) Moments.Affine(px, py, n, 0.5f, 2f);
        for (int i = 0; i < n; i++) Assert.Equal(x[i] * 0.5f + 2f, y[i], 6);
        Assert.Equal(42f, y[n]);
    }
}
