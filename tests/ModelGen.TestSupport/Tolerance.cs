// Licensed under the MIT license.
// Element-wise comparison |a - r| <= atol + rtol * |r|, with a report of the worst elements on failure.

using System.Globalization;
using System.Text;

namespace ModelGen.TestSupport;

/// <summary>An absolute plus relative tolerance.</summary>
public readonly record struct Tolerance(double Atol, double Rtol)
{
    /// <summary>Compares element-wise; returns null when every element passes, else a report of the failures.</summary>
    public string? Compare(ReadOnlySpan<float> actual, ReadOnlySpan<float> reference, string what)
    {
        if (actual.Length != reference.Length) return $"{what}: length {actual.Length}, reference {reference.Length}";
        int failures = 0;
        var worst = new List<(int Index, float A, float R, double Excess)>();
        double maxAbs = 0, maxRel = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            float a = actual[i], r = reference[i];
            double diff = Math.Abs((double)a - r);
            bool bothNaN = float.IsNaN(a) && float.IsNaN(r);
            bool sameInf = float.IsInfinity(r) && a == r;
            if (bothNaN || sameInf) continue;
            double allowed = Atol + Rtol * Math.Abs((double)r);
            maxAbs = Math.Max(maxAbs, double.IsNaN(diff) ? double.PositiveInfinity : diff);
            if (r != 0) maxRel = Math.Max(maxRel, diff / Math.Abs((double)r));
            if (!(diff <= allowed))
            {
                failures++;
                worst.Add((i, a, r, double.IsNaN(diff) ? double.PositiveInfinity : diff - allowed));
            }
        }
        if (failures == 0) return null;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{what}: {failures} of {actual.Length} elements outside |a-r| <= {Atol} + {Rtol}*|r| (max abs error {maxAbs:G4}, max rel error {maxRel:G4}); worst:");
        foreach (var w in worst.OrderByDescending(w => w.Excess).Take(8))
        {
            sb.Append(CultureInfo.InvariantCulture, $" [{w.Index}] {w.A:R} vs {w.R:R};");
        }
        return sb.ToString();
    }

    /// <summary>Largest |a - r| (for reports).</summary>
    public static double MaxAbsError(ReadOnlySpan<float> a, ReadOnlySpan<float> r)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs((double)a[i] - r[i]));
        return m;
    }
}
