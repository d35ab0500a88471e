// Licensed under the MIT license.
// Scalar special functions generated code needs and .NET does not provide (erf), computed in double and rounded once.

using System;

namespace ModelGen.Runtime;

/// <summary>Special functions for generated kernels.</summary>
public static class ScalarMath
{
    /// <summary>The error function erf(x), correctly rounded to float in practice (double evaluation).</summary>
    /// <remarks>
    /// |x| &lt; 3: the Maclaurin series (terms below 2^-60 relative; cancellation costs at most ~4 of double's 16 digits).
    /// |x| &gt;= 3: 1 - erfc(x) with erfc from its continued fraction (Lentz), accurate far beyond float there.
    /// NaN propagates; erf(+-inf) = +-1.
    /// </remarks>
    /// <param name="x">The argument.</param>
    public static float Erf(float x) => (float)Erf((double)x);

    /// <summary>erf in double (see <see cref="Erf(float)"/>).</summary>
    /// <param name="x">The argument.</param>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x);
        if (a >= 6) return Math.Sign(x);
        double r;
        if (a < 3)
        {
            double term = a, sum = a, x2 = a * a;
            for (int n = 1; n < 200; n++)
            {
                term *= -x2 / n;
                double t = term / (2 * n + 1);
                sum += t;
                if (Math.Abs(t) < 1e-17 * Math.Abs(sum)) break;
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + ...))))) via modified Lentz.
            const double tiny = 1e-300;
            double f = a, c = a, d = 0;
            for (int n = 1; n < 300; n++)
            {
                double an = n / 2.0;
                d = a + an * d;
                d = Math.Abs(d) < tiny ? 1 / tiny : 1 / d;
                c = a + an / c;
                if (Math.Abs(c) < tiny) c = tiny;
                double delta = c * d;
                f *= delta;
                if (Math.Abs(delta - 1) < 1e-16) break;
            }
            r = 1 - Math.Exp(-a * a) / Math.Sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }

    /// <summary>Gelu(x) = 0.5 x (1 + erf(x / sqrt 2)) (ONNX Gelu, approximate="none").</summary>
    /// <param name="x">The argument.</param>
    public static float Gelu(float x) => (float)(0.5 * x * (1 + Erf(x / Math.Sqrt(2))));

    /// <summary>Gelu with the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).</summary>
    /// <param name="x">The argument.</param>
    public static float GeluTanh(float x)
    {
        double d = x;
        return (float)(0.5 * d * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (d + 0.044715 * d * d * d))));
    }
}
