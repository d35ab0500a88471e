// Licensed under the MIT license.
// Vectorised exp, sigmoid and tanh for generated kernels (activation epilogues and element-wise layers), for every
// vector width, with the same algorithm in each so results do not depend on the ISA path taken.

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Runtime;

/// <summary>Element-wise transcendental functions on vectors.</summary>
/// <remarks>
/// exp(x) = 2^k * p(r): k = round(x * log2 e) (the 1.5 * 2^23 rounding trick), r = x - k ln 2 in two parts
/// (Cody-Waite), p a degree-6 Taylor/minimax polynomial; |r| &lt;= ln2 / 2 gives a relative error below 2e-7. x is
/// clamped to [-87.3, 88.7] (exp(-87.3) is the smallest normal float; results below flush toward 0).
/// sigmoid(x) = 1 / (1 + exp(-x)) and silu(x) = x / (1 + exp(-x)) use a leaner denominator on AVX-512 and AVX2 (see
/// LogisticDenominator: they are the fused epilogues of EfficientNet and YOLOX, where every instruction counts; 3e-6
/// relative there, 5e-7 on the other paths);
/// tanh(x) = sign(x) (1 - 2 / (exp(2|x|) + 1)) (absolute error below 3e-7). NaN inputs give NaN.
/// </remarks>
public static class VectorMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693145751953125f;
    private const float Ln2Lo = 1.42860682030941723212e-6f;
    private const float RoundMagic = 12582912f; // 1.5 * 2^23
    private const float MaxX = 88.7f, MinX = -87.3f;
    private const float Ln2 = 0.693147182464599609375f; // ln 2 rounded to float
    // Degree-4 minimax coefficients of e^r over |r| <= ln2 / 2 (relative error 2.6e-6, every coefficient free; the
    // logistic functions' accuracy, see LogisticDenominator).
    private const float P0 = 0.9999992847442627f, P1 = 0.9999634027481079f, P2 = 0.5000435709953308f, P3 = 0.16790907084941864f, P4 = 0.0414586067199707f;
    // 1.5 * 2^23 + 127: adding it to a float below 2^22 in magnitude rounds it to an integer k and leaves k + 127 in the
    // low mantissa bits, so shifting the sum's bits left by 23 gives 2^k (the upper bits shift out).
    private const float ExponentMagic = 12583039f;
    private const float C2 = 0.5f, C3 = 1.6666666e-1f, C4 = 4.1666418e-2f, C5 = 8.333452e-3f, C6 = 1.3980805e-3f, C7 = 1.9875691e-4f;

    /// <summary>e^x per lane.</summary>
    /// <param name="x">The exponents.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        if (Avx512F.IsSupported)
        {
            // One instruction per step: maxps/minps keep a NaN (they return their second operand when either is NaN),
            // vrndscaleps rounds to nearest, the polynomial is FMAs, vscalefps multiplies by 2^k without bit tricks.
            x = Avx512F.Min(Vector512.Create(MaxX), Avx512F.Max(Vector512.Create(MinX), x));
            Vector512<float> kf = Avx512F.RoundScale(x * Vector512.Create(Log2E), 0);
            Vector512<float> rf = Avx512F.FusedMultiplyAdd(kf, Vector512.Create(-Ln2Hi), x);
            rf = Avx512F.FusedMultiplyAdd(kf, Vector512.Create(-Ln2Lo), rf);
            Vector512<float> q = Avx512F.FusedMultiplyAdd(Vector512.Create(C7), rf, Vector512.Create(C6));
            q = Avx512F.FusedMultiplyAdd(q, rf, Vector512.Create(C5));
            q = Avx512F.FusedMultiplyAdd(q, rf, Vector512.Create(C4));
            q = Avx512F.FusedMultiplyAdd(q, rf, Vector512.Create(C3));
            q = Avx512F.FusedMultiplyAdd(q, rf, Vector512.Create(C2));
            q = Avx512F.FusedMultiplyAdd(q, rf, Vector512<float>.One);
            q = Avx512F.FusedMultiplyAdd(q, rf, Vector512<float>.One);
            return Avx512F.Scale(q, kf);
        }
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(MinX)), Vector512.Create(MaxX));
        Vector512<float> k = x * Vector512.Create(Log2E) + Vector512.Create(RoundMagic) - Vector512.Create(RoundMagic);
        Vector512<float> r = x - k * Vector512.Create(Ln2Hi) - k * Vector512.Create(Ln2Lo);
        Vector512<float> p = Vector512.Create(C7) * r + Vector512.Create(C6);
        p = p * r + Vector512.Create(C5);
        p = p * r + Vector512.Create(C4);
        p = p * r + Vector512.Create(C3);
        p = p * r + Vector512.Create(C2);
        p = p * r + Vector512<float>.One;
        p = p * r + Vector512<float>.One;
        Vector512<int> e = Vector512.ShiftLeft(Vector512.ConvertToInt32(k) + Vector512.Create(127), 23);
        return p * e.AsSingle();
    }

    /// <summary>e^x per lane.</summary>
    /// <param name="x">The exponents.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        if (Fma.IsSupported && Avx2.IsSupported)
        {
            x = Avx.Min(Vector256.Create(MaxX), Avx.Max(Vector256.Create(MinX), x));
            Vector256<float> kf = Avx.RoundToNearestInteger(x * Vector256.Create(Log2E));
            Vector256<float> rf = Fma.MultiplyAdd(kf, Vector256.Create(-Ln2Hi), x);
            rf = Fma.MultiplyAdd(kf, Vector256.Create(-Ln2Lo), rf);
            Vector256<float> q = Fma.MultiplyAdd(Vector256.Create(C7), rf, Vector256.Create(C6));
            q = Fma.MultiplyAdd(q, rf, Vector256.Create(C5));
            q = Fma.MultiplyAdd(q, rf, Vector256.Create(C4));
            q = Fma.MultiplyAdd(q, rf, Vector256.Create(C3));
            q = Fma.MultiplyAdd(q, rf, Vector256.Create(C2));
            q = Fma.MultiplyAdd(q, rf, Vector256<float>.One);
            q = Fma.MultiplyAdd(q, rf, Vector256<float>.One);
            // k is integral and within [-126, 128]: the exponent field of 2^k directly.
            Vector256<int> ef = Avx2.ShiftLeftLogical(Avx2.Add(Avx.ConvertToVector256Int32WithTruncation(kf), Vector256.Create(127)), 23);
            return q * ef.AsSingle();
        }
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(MinX)), Vector256.Create(MaxX));
        Vector256<float> k = x * Vector256.Create(Log2E) + Vector256.Create(RoundMagic) - Vector256.Create(RoundMagic);
        Vector256<float> r = x - k * Vector256.Create(Ln2Hi) - k * Vector256.Create(Ln2Lo);
        Vector256<float> p = Vector256.Create(C7) * r + Vector256.Create(C6);
        p = p * r + Vector256.Create(C5);
        p = p * r + Vector256.Create(C4);
        p = p * r + Vector256.Create(C3);
        p = p * r + Vector256.Create(C2);
        p = p * r + Vector256<float>.One;
        p = p * r + Vector256<float>.One;
        Vector256<int> e = Vector256.ShiftLeft(Vector256.ConvertToInt32(k) + Vector256.Create(127), 23);
        return p * e.AsSingle();
    }

    /// <summary>e^x per lane.</summary>
    /// <param name="x">The exponents.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(MinX)), Vector128.Create(MaxX));
        Vector128<float> k = x * Vector128.Create(Log2E) + Vector128.Create(RoundMagic) - Vector128.Create(RoundMagic);
        Vector128<float> r = x - k * Vector128.Create(Ln2Hi) - k * Vector128.Create(Ln2Lo);
        Vector128<float> p = Vector128.Create(C7) * r + Vector128.Create(C6);
        p = p * r + Vector128.Create(C5);
        p = p * r + Vector128.Create(C4);
        p = p * r + Vector128.Create(C3);
        p = p * r + Vector128.Create(C2);
        p = p * r + Vector128<float>.One;
        p = p * r + Vector128<float>.One;
        Vector128<int> e = Vector128.ShiftLeft(Vector128.ConvertToInt32(k) + Vector128.Create(127), 23);
        return p * e.AsSingle();
    }

    /// <summary>1 / (1 + e^-x) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) =>
        Avx512F.IsSupported ? Vector512<float>.One / LogisticDenominator(Avx512F.Max(Vector512.Create(LogisticFloor), x)) : Vector512<float>.One / (Vector512<float>.One + Exp(-x));

    /// <summary>1 / (1 + e^-x) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) =>
        Fma.IsSupported && Avx2.IsSupported ? Reciprocal(LogisticDenominator(Avx.Max(Vector256.Create(MinX), x))) : Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    /// <summary>1 / (1 + e^-x) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sigmoid(Vector128<float> x) => Vector128<float>.One / (Vector128<float>.One + Exp(-x));

    /// <summary>x * sigmoid(x) (SiLU / swish) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Silu(Vector512<float> x)
    {
        if (!Avx512F.IsSupported) return Vector512.Max(x, Vector512.Create(LogisticFloor)) / (Vector512<float>.One + Exp(-x));
        Vector512<float> xf = Avx512F.Max(Vector512.Create(LogisticFloor), x);
        return xf / LogisticDenominator(xf);
    }

    /// <summary>x * sigmoid(x) (SiLU / swish) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Silu(Vector256<float> x)
    {
        if (!(Fma.IsSupported && Avx2.IsSupported)) return Vector256.Max(x, Vector256.Create(LogisticFloor)) / (Vector256<float>.One + Exp(-x));
        // One floor for both: below -87.3 silu(x) is below 1e-36 in magnitude, and -87.3 / (1 + e^87.3) is that too.
        // A division, not Reciprocal: the rest of silu keeps the two FMA pipes busy, and vdivps runs on its own unit
        // (Zen 3, AVX2: 6.7 cycles per vector against 8.2 for x * Reciprocal(d), in L1; fused 1x1 layers 2-5% faster).
        Vector256<float> xf = Avx.Max(Vector256.Create(MinX), x);
        return xf / LogisticDenominator(xf);
    }

    /// <summary>
    /// 1 / d for the logistic denominators (1 &lt;= d &lt; 2^126, or NaN) on AVX2 + FMA: <c>vrcpps</c> (12 bits) and one
    /// Newton step r + r (1 - d r), within about 1.5e-7 relative: sigmoid's reciprocal. Divisions alone, the 256-bit
    /// division is slower on the AVX2-only machines this project runs on (Zen 3: 3.5 cycles per vector against 2.75 for
    /// this, with the loads and adds around them; an earlier VM: 4.1 against 1.85 ns); silu's x / d keeps the division,
    /// which runs beside its FMAs. The 512-bit paths keep the division, which is fast where AVX-512 is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Reciprocal(Vector256<float> d)
    {
        Vector256<float> r = Avx.Reciprocal(d);
        return Fma.MultiplyAdd(r, Fma.MultiplyAddNegated(d, r, Vector256<float>.One), r);
    }

    /// <summary>x * sigmoid(x) (SiLU / swish) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Silu(Vector128<float> x) =>
        (Sse.IsSupported ? Sse.Max(Vector128.Create(LogisticFloor), x) : Vector128.Max(x, Vector128.Create(LogisticFloor))) / (Vector128<float>.One + Exp(-x));

    /// <summary>
    /// The floor of the logistic functions' input: below -100 sigmoid(x) and silu(x) are 0 to float precision, and
    /// without it a huge |x| would reach the exp reduction (maxps keeps a NaN: it returns its second operand).
    /// </summary>
    private const float LogisticFloor = -100f;

    /// <summary>The cap of the logistic denominator's exponent: e^-87 is a normal float, and sigmoid(87) is 1.</summary>
    private const float LogisticCap = 87f;

    /// <summary>
    /// 1 + e^-x for x &gt;= -100 (NaN kept), the logistic denominator, in 10 instructions per vector: this machine runs
    /// about one 512-bit operation per cycle, so the instruction count is the cost (the Exp above costs 19). e^-x = 2^k p(s)
    /// with k = round(-x log2 e) and s = -(x + k ln 2) in one FMA (ln 2 rounded to float is off by 1.9e-9, so |k| &lt;= 127
    /// costs at most 2.4e-7 relative), p a degree-4 minimax polynomial (2.6e-6 relative over |s| &lt;= ln2 / 2): sigmoid and
    /// silu within 3e-6 relative, 30 times inside the 1e-4 the models are compared at, for one FMA less than degree 5
    /// (EfficientNet-B0 and YOLOX run a SiLU after nearly every convolution). x is capped at 87 (+inf and huge inputs
    /// would make s NaN, and above 87.3 e^-x is a denormal float: AMD takes a microcode assist on each, measured 20-27%
    /// slower depthwise layers in EfficientNet-B0); below -88.7 the result is +inf (vscalefps saturates), which the
    /// division turns into the right 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LogisticDenominator(Vector512<float> x)
    {
        Vector512<float> e = Avx512F.Min(Vector512.Create(LogisticCap), x);
        Vector512<float> kf = Avx512F.RoundScale(e * Vector512.Create(-Log2E), 0);
        Vector512<float> s = Avx512F.FusedMultiplyAdd(kf, Vector512.Create(Ln2), e);
        // p(-s) = P0 - P1 s + P2 s^2 - P3 s^3 + P4 s^4, Horner in s with the signs folded into the coefficients.
        Vector512<float> q = Avx512F.FusedMultiplyAdd(Vector512.Create(P4), s, Vector512.Create(-P3));
        q = Avx512F.FusedMultiplyAdd(q, s, Vector512.Create(P2));
        q = Avx512F.FusedMultiplyAdd(q, s, Vector512.Create(-P1));
        q = Avx512F.FusedMultiplyAdd(q, s, Vector512.Create(P0));
        return Avx512F.Scale(q, kf) + Vector512<float>.One;
    }

    /// <summary>
    /// 1 + e^-x for -87.3 &lt;= x (NaN kept) on AVX2 + FMA, in 10 instructions: the 512-bit algorithm with k rounded by
    /// adding <see cref="ExponentMagic"/> (which also leaves k + 127 in the sum's low bits, so 2^k is one shift: no round,
    /// convert and add), the caller's floor keeping 2^k a normal float.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> LogisticDenominator(Vector256<float> x)
    {
        Vector256<float> e = Avx.Min(Vector256.Create(LogisticCap), x);
        Vector256<float> t = Fma.MultiplyAdd(e, Vector256.Create(-Log2E), Vector256.Create(ExponentMagic));
        Vector256<float> kf = t - Vector256.Create(ExponentMagic);
        Vector256<float> s = Fma.MultiplyAdd(kf, Vector256.Create(Ln2), e);
        Vector256<float> q = Fma.MultiplyAdd(Vector256.Create(P4), s, Vector256.Create(-P3));
        q = Fma.MultiplyAdd(q, s, Vector256.Create(P2));
        q = Fma.MultiplyAdd(q, s, Vector256.Create(-P1));
        q = Fma.MultiplyAdd(q, s, Vector256.Create(P0));
        Vector256<float> pow2k = Avx2.ShiftLeftLogical(t.AsInt32(), 23).AsSingle();
        return Fma.MultiplyAdd(q, pow2k, Vector256<float>.One);
    }

    /// <summary>tanh(x) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        Vector512<float> a = Vector512.Abs(x);
        Vector512<float> t = Vector512<float>.One - Vector512.Create(2f) / (Exp(a + a) + Vector512<float>.One);
        return Vector512.ConditionalSelect(Vector512.Create(-0f), x, t);
    }

    /// <summary>tanh(x) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        Vector256<float> a = Vector256.Abs(x);
        Vector256<float> t = Vector256<float>.One - Vector256.Create(2f) / (Exp(a + a) + Vector256<float>.One);
        return Vector256.ConditionalSelect(Vector256.Create(-0f), x, t);
    }

    /// <summary>tanh(x) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Tanh(Vector128<float> x)
    {
        Vector128<float> a = Vector128.Abs(x);
        Vector128<float> t = Vector128<float>.One - Vector128.Create(2f) / (Exp(a + a) + Vector128<float>.One);
        return Vector128.ConditionalSelect(Vector128.Create(-0f), x, t);
    }

    /// <summary>Scalar twins (tails and the scalar path), computed with the .NET math library.</summary>
    /// <param name="x">The input.</param>
    public static float Sigmoid(float x) => 1f / (1f + System.MathF.Exp(-x));

    /// <summary>x * sigmoid(x).</summary>
    /// <param name="x">The input.</param>
    public static float Silu(float x)
    {
        x = System.MathF.Max(x, LogisticFloor); // -inf / inf would be NaN (the limit is 0); MathF.Max keeps a NaN
        return x / (1f + System.MathF.Exp(-x));
    }

    /// <summary>tanh(x).</summary>
    /// <param name="x">The input.</param>
    public static float Tanh(float x) => System.MathF.Tanh(x);

    /// <summary>e^x.</summary>
    /// <param name="x">The input.</param>
    public static float Exp(float x) => System.MathF.Exp(x);

    /// <summary>p[i] = sigmoid(p[i]) for i &lt; n, widest vectors first.</summary>
    /// <param name="p">The values, in place.</param>
    /// <param name="n">How many.</param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static unsafe void SigmoidInPlace(float* p, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated) for (; i <= n - 16; i += 16) Sigmoid(Vector512.Load(p + i)).Store(p + i);
        else if (Vector256.IsHardwareAccelerated) for (; i <= n - 8; i += 8) Sigmoid(Vector256.Load(p + i)).Store(p + i);
        for (; i < n; i++) p[i] = Sigmoid(p[i]);
    }

    /// <summary>p[i] = p[i] * sigmoid(p[i]) for i &lt; n.</summary>
    /// <param name="p">The values, in place.</param>
    /// <param name="n">How many.</param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static unsafe void SiluInPlace(float* p, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated) for (; i <= n - 16; i += 16) Silu(Vector512.Load(p + i)).Store(p + i);
        else if (Vector256.IsHardwareAccelerated) for (; i <= n - 8; i += 8) Silu(Vector256.Load(p + i)).Store(p + i);
        for (; i < n; i++) p[i] = Silu(p[i]);
    }

    /// <summary>p[i] = tanh(p[i]) for i &lt; n.</summary>
    /// <param name="p">The values, in place.</param>
    /// <param name="n">How many.</param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static unsafe void TanhInPlace(float* p, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated) for (; i <= n - 16; i += 16) Tanh(Vector512.Load(p + i)).Store(p + i);
        else if (Vector256.IsHardwareAccelerated) for (; i <= n - 8; i += 8) Tanh(Vector256.Load(p + i)).Store(p + i);
        for (; i < n; i++) p[i] = Tanh(p[i]);
    }
}
