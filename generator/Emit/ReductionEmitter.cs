// Licensed under the MIT license.
// Reductions along an axis: Softmax and LogSoftmax (max-subtracted, as ONNX Runtime computes them).

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

internal static class ReductionEmitter
{
    public static IEnumerable<string> Remarks(SoftmaxSpec s)
    {
        yield return $"lowering: {(s.Log ? "LogSoftmax" : "Softmax")} over the middle axis of [{s.Outer}x{s.Axis}x{s.Inner}] (max-subtracted)";
    }

    public static void EmitSoftmax(SoftmaxSpec s, string x, string y, SourceWriter w)
    {
        string M = EmitContext.MathF;
        w.OpenBlock($"for (int o = 0; o < {s.Outer}; o++)");
        w.OpenBlock($"for (int i = 0; i < {s.Inner}; i++)");
        w.WriteLine($"float* xp = {x} + (long)o * {(long)s.Axis * s.Inner}L + i;");
        w.WriteLine($"float* yp = {y} + (long)o * {(long)s.Axis * s.Inner}L + i;");
        w.WriteLine("float max = float.NegativeInfinity;");
        w.WriteLine($"for (int a = 0; a < {s.Axis}; a++) max = {M}.Max(max, xp[(long)a * {s.Inner}]);");
        w.WriteLine("float sum = 0f;");
        if (s.Log)
        {
            w.WriteLine($"for (int a = 0; a < {s.Axis}; a++) sum += {M}.Exp(xp[(long)a * {s.Inner}] - max);");
            w.WriteLine($"float logSum = {M}.Log(sum);");
            w.WriteLine($"for (int a = 0; a < {s.Axis}; a++) yp[(long)a * {s.Inner}] = xp[(long)a * {s.Inner}] - max - logSum;");
        }
        else
        {
            w.WriteLine($"for (int a = 0; a < {s.Axis}; a++) {{ float e = {M}.Exp(xp[(long)a * {s.Inner}] - max); yp[(long)a * {s.Inner}] = e; sum += e; }}");
            w.WriteLine("float inv = 1f / sum;");
            w.WriteLine($"for (int a = 0; a < {s.Axis}; a++) yp[(long)a * {s.Inner}] *= inv;");
        }
        w.CloseBlock();
        w.CloseBlock();
    }
}
