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
/// clamped to [-87.3, 88.7] (exp(-87.3) is the smallest normal float; results below flush toward 0, which is what
/// sigmoid needs). sigmoid(x) = 1 / (1 + exp(-x)); tanh(x) = sign(x) (1 - 2 / (exp(2|x|) + 1)) (absolute error
/// below 3e-7). NaN inputs give NaN.
/// </remarks>
public static class VectorMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693145751953125f;
    private const float Ln2Lo = 1.42860682030941723212e-6f;
    private const float RoundMagic = 12582912f; // 1.5 * 2^23
    private const float MaxX = 88.7f, MinX = -87.3f;
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
    public static Vector512<float> Sigmoid(Vector512<float> x) => Reciprocal(Vector512<float>.One + Exp(-x));

    /// <summary>1 / (1 + e^-x) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => Reciprocal(Vector256<float>.One + Exp(-x));

    /// <summary>1 / (1 + e^-x) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sigmoid(Vector128<float> x) => Vector128<float>.One / (Vector128<float>.One + Exp(-x));

    /// <summary>x * sigmoid(x) (SiLU / swish) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Silu(Vector512<float> x) => FloorForSilu(x) * Reciprocal(Vector512<float>.One + Exp(-x));

    /// <summary>x * sigmoid(x) (SiLU / swish) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Silu(Vector256<float> x) => FloorForSilu(x) * Reciprocal(Vector256<float>.One + Exp(-x));

    /// <summary>x * sigmoid(x) (SiLU / swish) per lane.</summary>
    /// <param name="x">The inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Silu(Vector128<float> x) =>
        (System.Runtime.Intrinsics.X86.Sse.IsSupported ? System.Runtime.Intrinsics.X86.Sse.Max(Vector128.Create(-100f), x) : Vector128.Max(x, Vector128.Create(-100f))) / (Vector128<float>.One + Exp(-x));

    /// <summary>
    /// max(x, -100), NaN kept: below -100 silu(x) is 0 to float precision, and the clamped reciprocal of the logistic
    /// denominator (2^-126) times a huge |x| would not be.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> FloorForSilu(Vector512<float> x) =>
        System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? System.Runtime.Intrinsics.X86.Avx512F.Max(Vector512.Create(-100f), x) : Vector512.Max(x, Vector512.Create(-100f));

    /// <summary>max(x, -100), NaN kept (see the 512-bit overload).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> FloorForSilu(Vector256<float> x) =>
        System.Runtime.Intrinsics.X86.Avx.IsSupported ? System.Runtime.Intrinsics.X86.Avx.Max(Vector256.Create(-100f), x) : Vector256.Max(x, Vector256.Create(-100f));

    /// <summary>
    /// 1 / d for d &gt;= 1 (sigmoid denominators): the hardware estimate refined by Newton-Raphson (AVX-512: 14-bit estimate,
    /// one step, about 2^-27 relative), cheaper than a vector division; plain division otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Reciprocal(Vector512<float> d)
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return Vector512<float>.One / d;
        // exp(-x) overflows to +inf for x < -88.7: clamp to 2^126 (1/d stays a normal float) so the Newton step does not compute 0 * inf (NaN keeps NaN).
        d = System.Runtime.Intrinsics.X86.Avx512F.Min(Vector512.Create(8.507059e37f), d);
        Vector512<float> r = System.Runtime.Intrinsics.X86.Avx512F.Reciprocal14(d);
        return r * (Vector512.Create(2f) - d * r);
    }

    /// <summary>1 / d for d &gt;= 1 (AVX: 12-bit estimate and two Newton-Raphson steps, about 2^-23 relative).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Reciprocal(Vector256<float> d)
    {
        if (!System.Runtime.Intrinsics.X86.Avx.IsSupported) return Vector256<float>.One / d;
        d = System.Runtime.Intrinsics.X86.Avx.Min(Vector256.Create(8.507059e37f), d);
        Vector256<float> r = System.Runtime.Intrinsics.X86.Avx.Reciprocal(d);
        r = r * (Vector256.Create(2f) - d * r);
        return r * (Vector256.Create(2f) - d * r);
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
    public static float Silu(float x) => x / (1f + System.MathF.Exp(-x));

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
