// Licensed under the MIT license.
// The runtime's vectorised transcendental functions against double-precision references over the whole float range
// (including the overflow region of exp and non-finite inputs), on every vector width the machine has.

using System.Runtime.Intrinsics;
using ModelGen.Runtime;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed class VectorMathTests
{
    /// <summary>Inputs: a dense grid over [-120, 120], large magnitudes and the non-finite values.</summary>
    private static float[] Inputs()
    {
        var xs = new List<float>();
        for (int i = -12000; i <= 12000; i++) xs.Add(i * 0.01f);
        xs.AddRange(new[] { -1e30f, -1000f, -89f, -88.8f, -88.5f, -87.5f, 87.5f, 88.5f, 88.8f, 89f, 1000f, 1e30f, float.MinValue, float.MaxValue, float.NegativeInfinity, float.PositiveInfinity, float.NaN, 0f, -0f });
        return xs.ToArray();
    }

    public static TheoryData<string> Functions => new() { "Sigmoid", "Silu", "Tanh" };

    [Theory]
    [MemberData(nameof(Functions))]
    public unsafe void In_place_helpers_match_double_precision_on_every_width(string function)
    {
        float[] xs = Inputs();
        Func<double, double> reference = function switch
        {
            "Sigmoid" => x => 1 / (1 + Math.Exp(-x)),
            "Silu" => x => x == double.NegativeInfinity ? 0 : x / (1 + Math.Exp(-x)), // the limit at -inf
            _ => Math.Tanh,
        };
        // The in-place helpers take the widest path; the explicit 256-bit and 128-bit overloads cover the others.
        float[] wide = (float[])xs.Clone();
        fixed (float* p = wide)
        {
            if (function == "Sigmoid") VectorMath.SigmoidInPlace(p, wide.Length);
            else if (function == "Silu") VectorMath.SiluInPlace(p, wide.Length);
            else VectorMath.TanhInPlace(p, wide.Length);
        }
        float[] v256 = Map(xs, 8, v => function switch
        {
            "Sigmoid" => Arr(VectorMath.Sigmoid(Vector256.Create(v))),
            "Silu" => Arr(VectorMath.Silu(Vector256.Create(v))),
            _ => Arr(VectorMath.Tanh(Vector256.Create(v))),
        });
        float[] v128 = Map(xs, 4, v => function switch
        {
            "Sigmoid" => Arr(VectorMath.Sigmoid(Vector128.Create(v))),
            "Silu" => Arr(VectorMath.Silu(Vector128.Create(v))),
            _ => Arr(VectorMath.Tanh(Vector128.Create(v))),
        });
        foreach ((string name, float[] actual) in new[] { ("widest", wide), ("Vector256", v256), ("Vector128", v128) })
        {
            for (int i = 0; i < xs.Length; i++)
            {
                double r = reference(xs[i]);
                float a = actual[i];
                if (double.IsNaN(r)) { Assert.True(float.IsNaN(a), $"{function} {name}({xs[i]}) = {a}, expected NaN"); continue; }
                if (double.IsInfinity(r)) { Assert.True(a == r, $"{function} {name}({xs[i]}) = {a}, expected {r}"); continue; }
                // Relative: 5e-7 (a few float ulps) for tanh and the 128-bit paths, 3e-6 for the logistic functions on
                // AVX2 and AVX-512 (their degree-4 denominator, VectorMath.LogisticDenominator); absolute: 1e-34 for the
                // logistic functions, whose tails stop at 2^-126 instead of underflowing, 1e-7 for tanh near 0
                // (1 - 2 / (e^2x + 1) cancels).
                double atol = function == "Tanh" ? 1e-7 : 1e-34;
                double rtol = function == "Tanh" || name == "Vector128" ? 5e-7 : 3e-6;
                Assert.True(Math.Abs(a - r) <= atol + rtol * Math.Abs(r), $"{function} {name}({xs[i]:R}) = {a:R}, expected {r:R}");
            }
        }
    }

    private static float[] Arr(Vector256<float> v) { var a = new float[8]; v.CopyTo(a); return a; }

    private static float[] Arr(Vector128<float> v) { var a = new float[4]; v.CopyTo(a); return a; }

    private static float[] Map(float[] xs, int width, Func<float[], float[]> f)
    {
        var result = new float[xs.Length];
        for (int i = 0; i < xs.Length; i += width)
        {
            var lane = new float[width];
            Array.Copy(xs, i, lane, 0, Math.Min(width, xs.Length - i));
            float[] y = f(lane);
            Array.Copy(y, 0, result, i, Math.Min(width, xs.Length - i));
        }
        return result;
    }
}
