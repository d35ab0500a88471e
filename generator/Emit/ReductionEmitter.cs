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
        yield return $"lowering: {s.Op} over the middle axis of [{s.Outer}x{s.Axis}x{s.Inner}]" + (s.Op == "Hardmax" ? "" : " (max-subtracted)") +
            (VectorSoftmax(s) ? "; a vector of neighbouring positions at a time (exp by VectorMath), the positions left over one by one" : "");
    }

    /// <summary>A Softmax whose positions (the axis after the softmax one) fill at least an AVX2 vector runs in vectors.</summary>
    private static bool VectorSoftmax(SoftmaxSpec s) => s.Op == "Softmax" && s.Inner >= 8;

    public static void EmitSoftmax(SoftmaxSpec s, string x, string y, SourceWriter w, EmitContext ctx)
    {
        string M = EmitContext.MathF;
        w.OpenBlock($"for (int o = 0; o < {s.Outer}; o++)");
        bool vectors = VectorSoftmax(s);
        if (vectors)
        {
            // Softmax over a middle axis (a segmentation head's classes, each pixel's scores a plane apart): a vector of
            // neighbouring positions at a time, the three passes over the axis in vectors; the positions left over below.
            w.WriteLine("int i = 0;");
            ctx.PerIsa(w, (isa, _) =>
            {
                if (isa.IsScalar || s.Inner < isa.Width) return;
                string V = isa.VectorType;
                w.OpenBlock($"for (; i <= {s.Inner - isa.Width}; i += {isa.Width})");
                w.WriteLine($"float* xp = {x} + (long)o * {(long)s.Axis * s.Inner}L + i;");
                w.WriteLine($"float* yp = {y} + (long)o * {(long)s.Axis * s.Inner}L + i;");
                w.WriteLine($"{V} max = {isa.Load("xp")};");
                w.WriteLine($"for (int a = 1; a < {s.Axis}; a++) max = {isa.Max("max", isa.Load($"xp + (long)a * {s.Inner}"))};");
                w.WriteLine($"{V} sum = {isa.Zero};");
                w.WriteLine($"for (int a = 0; a < {s.Axis}; a++) {{ {V} e = {EmitContext.RuntimeNs}.VectorMath.Exp({isa.Load($"xp + (long)a * {s.Inner}")} - max); {isa.Store("e", $"yp + (long)a * {s.Inner}")} sum += e; }}");
                w.WriteLine($"{V} inv = {isa.Broadcast("1f")} / sum;");
                w.WriteLine($"for (int a = 0; a < {s.Axis}; a++) {isa.Store($"{isa.Load($"yp + (long)a * {s.Inner}")} * inv", $"yp + (long)a * {s.Inner}")}");
                w.CloseBlock();
            });
            w.OpenBlock($"for (; i < {s.Inner}; i++)");
        }
        else
        {
            w.OpenBlock($"for (int i = 0; i < {s.Inner}; i++)");
        }
        w.WriteLine($"float* xp = {x} + (long)o * {(long)s.Axis * s.Inner}L + i;");
        w.WriteLine($"float* yp = {y} + (long)o * {(long)s.Axis * s.Inner}L + i;");
        if (s.Op != "Hardmax")
        {
            w.WriteLine("float max = float.NegativeInfinity;");
            w.WriteLine($"for (int a = 0; a < {s.Axis}; a++) max = {M}.Max(max, xp[(long)a * {s.Inner}]);");
            w.WriteLine("float sum = 0f;");
        }
        if (s.Op == "Hardmax")
        {
            w.WriteLine("int best = 0;");
            w.WriteLine($"for (int a = 1; a < {s.Axis}; a++) if (xp[(long)a * {s.Inner}] > xp[(long)best * {s.Inner}]) best = a;");
            w.WriteLine($"for (int a = 0; a < {s.Axis}; a++) yp[(long)a * {s.Inner}] = a == best ? 1f : 0f;");
        }
        else if (s.Op == "LogSoftmax")
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

    public static IEnumerable<string> Remarks(ReduceSpec r)
    {
        yield return $"lowering: {r.Op} over reduced [{string.Join("x", r.Reduced)}] (strides {string.Join(",", r.ReducedStrides)}) " +
            $"for each of [{string.Join("x", r.Kept)}] (strides {string.Join(",", r.KeptStrides)})";
    }

    public static void EmitReduce(ReduceSpec r, string x, string y, string type, SourceWriter w, EmitContext ctx)
    {
        // float32 reductions use MathF and the vector paths; double ones (rare) run as plain loops in double.
        string T = type;
        long count = 1;
        foreach (int d in r.Reduced) count *= d;
        // Kept loops, with a running output index.
        w.WriteLine("long o = 0;");
        if (KeptVectors(r, type, count))
        {
            // The innermost kept axis is contiguous (a reduction over channels, e.g. a segmentation head's ArgMax over its
            // classes): a vector of neighbouring kept positions at a time, each lane the scalar loop's sum in its order;
            // the positions after the last whole vector one by one below.
            int last = r.Kept.Count - 1, extent = r.Kept[last];
            w.WriteLine("// The innermost kept axis is contiguous: a vector of neighbouring kept positions at a time, the rest one by one.");
            OpenKeptLoops(r, last, x, "float", "xb", w);
            w.WriteLine($"int k{last} = 0;");
            ctx.PerIsa(w, (isa, _) =>
            {
                if (isa.IsScalar || extent < isa.Width) return;
                w.OpenBlock($"for (; k{last} <= {extent - isa.Width}; k{last} += {isa.Width}, o += {isa.Width})");
                w.WriteLine($"float* xp = xb + k{last};");
                EmitKeptVector(r, isa, count, y, w);
                w.CloseBlock();
            });
            w.OpenBlock($"for (; k{last} < {extent}; k{last}++)");
            w.WriteLine($"float* xp = xb + k{last};");
            EmitReduceBody(r, y, type, w, ctx, count);
            w.CloseBlock();
            for (int i = 0; i < last; i++) w.CloseBlock();
            return;
        }
        OpenKeptLoops(r, r.Kept.Count, x, T, "xp", w);
        EmitReduceBody(r, y, type, w, ctx, count);
        for (int i = 0; i < r.Kept.Count; i++) w.CloseBlock();
    }

    /// <summary>
    /// Loops over the first <paramref name="axes"/> kept axes (closed by the caller) and, inside, <paramref name="pointer"/>:
    /// the input at that kept index.
    /// </summary>
    private static void OpenKeptLoops(ReduceSpec r, int axes, string x, string type, string pointer, SourceWriter w)
    {
        var terms = new List<string>();
        for (int i = 0; i < axes; i++)
        {
            w.OpenBlock($"for (int k{i} = 0; k{i} < {r.Kept[i]}; k{i}++)");
            if (r.KeptStrides[i] != 0) terms.Add($"k{i} * {EmitContext.Long(r.KeptStrides[i])}L");
        }
        w.WriteLine($"{type}* {pointer} = {x}{(terms.Count == 0 ? "" : " + " + string.Join(" + ", terms))};");
    }

    /// <summary>
    /// float32 reductions whose innermost kept axis is contiguous and at least an AVX2 vector long, and whose reduced
    /// elements are not (the contiguous ones have their own vector loop): the sums, extremes and norms without a logarithm
    /// or exp, and ArgMax/ArgMin over one axis (the index kept exactly in a float lane).
    /// </summary>
    private static bool KeptVectors(ReduceSpec r, string type, long count) =>
        type == "float" && r.Kept.Count > 0 && r.KeptStrides[r.Kept.Count - 1] == 1 && r.Kept[r.Kept.Count - 1] >= 8 &&
        System.Linq.Enumerable.All(r.ReducedStrides, stride => stride != 1) &&
        (r.Op is "ReduceSum" or "ReduceMean" or "ReduceMax" or "ReduceMin" or "ReduceL1" or "ReduceL2" or "ReduceSumSquare" ||
         r.Op is "ArgMax" or "ArgMin" && r.Reduced.Count == 1 && count < (1 << 24));

    /// <summary>One vector of kept positions at <c>xp</c> into <c>y + o</c> (<see cref="KeptVectors"/>).</summary>
    private static void EmitKeptVector(ReduceSpec r, Targets.Isa isa, long count, string y, SourceWriter w)
    {
        string V = isa.VectorType, S = isa.StaticType;
        if (r.Op is "ArgMax" or "ArgMin")
        {
            string cmp = r.Op == "ArgMax" ? (r.SelectLastIndex ? "GreaterThanOrEqual" : "GreaterThan") : (r.SelectLastIndex ? "LessThanOrEqual" : "LessThan");
            w.WriteLine($"{V} best = {isa.Load("xp")}, index = {isa.Zero};");
            w.OpenBlock($"for (int t = 1; t < {count}; t++)");
            w.WriteLine($"{V} v = {isa.Load($"xp + (long)t * {EmitContext.Long(r.ReducedStrides[0])}L")};");
            w.WriteLine($"{V} take = {S}.{cmp}(v, best);");
            w.WriteLine($"best = {S}.ConditionalSelect(take, v, best);");
            w.WriteLine($"index = {S}.ConditionalSelect(take, {isa.Broadcast("(float)t")}, index);");
            w.CloseBlock();
            w.WriteLine($"for (int l = 0; l < {isa.Width}; l++) {y}[o + l] = (long){isa.GetElement("index", "l")};");
            return;
        }
        (string init, System.Func<string, string> step, string finish) = r.Op switch
        {
            "ReduceSum" => ("0f", (System.Func<string, string>)(v => $"acc += {v};"), "acc"),
            "ReduceMean" => ("0f", v => $"acc += {v};", $"acc / {isa.Broadcast($"{count}f")}"),
            "ReduceMax" => ("float.NegativeInfinity", v => $"acc = {S}.Max(acc, {v});", "acc"),
            "ReduceMin" => ("float.PositiveInfinity", v => $"acc = {S}.Min(acc, {v});", "acc"),
            "ReduceL1" => ("0f", v => $"acc += {S}.Abs({v});", "acc"),
            "ReduceL2" => ("0f", v => $"{{ {V} t = {v}; acc += t * t; }}", $"{S}.Sqrt(acc)"),
            "ReduceSumSquare" => ("0f", v => $"{{ {V} t = {v}; acc += t * t; }}", "acc"),
            _ => throw new System.InvalidOperationException(r.Op),
        };
        w.WriteLine($"{V} acc = {isa.Broadcast(init)};");
        EmitReducedLoops(r, w, step, offset => isa.Load($"xp + {offset}"));
        w.WriteLine(isa.Store(finish, $"{y} + o"));
    }

    /// <summary>The scalar reduction of the kept position at <c>xp</c> into <c>y[o++]</c>.</summary>
    private static void EmitReduceBody(ReduceSpec r, string y, string type, SourceWriter w, EmitContext ctx, long count)
    {
        bool isFloat = type == "float";
        string M = isFloat ? EmitContext.MathF : EmitContext.Math;
        string T = type;
        string Lit(string f) => isFloat ? f : f.Replace("float.", "double.").TrimEnd('f');
        bool arg = r.Op is "ArgMax" or "ArgMin";
        bool contiguous = isFloat && r.Reduced.Count == 1 && r.ReducedStrides[0] == 1;
        if (r.Op == "ReduceLogSumExp")
        {
            // Max-subtracted, as ONNX Runtime computes it (stable for large inputs).
            w.WriteLine($"{T} m = {Lit("float.NegativeInfinity")};");
            EmitReducedLoops(r, w, v => $"m = {M}.Max(m, {v});");
            w.WriteLine($"{T} acc = 0;");
            EmitReducedLoops(r, w, v => $"acc += {M}.Exp({v} - m);");
            w.WriteLine($"{y}[o++] = {T}.IsNegativeInfinity(m) ? m : {M}.Log(acc) + m;");
        }
        else if (arg)
        {
            bool max = r.Op == "ArgMax";
            string cmp = max ? (r.SelectLastIndex ? ">=" : ">") : (r.SelectLastIndex ? "<=" : "<");
            w.WriteLine($"{T} best = xp[0]; long index = 0;");
            w.OpenBlock($"for (long t = 1; t < {EmitContext.Long(count)}L; t++)");
            w.WriteLine($"{T} v = xp[t * {EmitContext.Long(r.ReducedStrides[0])}L];");
            w.WriteLine($"if (v {cmp} best) {{ best = v; index = t; }}");
            w.CloseBlock();
            w.WriteLine($"{y}[o++] = index;");
        }
        else
        {
            (string init, System.Func<string, string> step, System.Func<string, string> finish) = r.Op switch
            {
                "ReduceSum" => ("0f", (System.Func<string, string>)(v => $"acc += {v};"), (System.Func<string, string>)(a => a)),
                "ReduceMean" => ("0f", v => $"acc += {v};", a => $"{a} / {EmitContext.Long(count)}"),
                "ReduceMax" => ("float.NegativeInfinity", v => $"acc = {M}.Max(acc, {v});", a => a),
                "ReduceMin" => ("float.PositiveInfinity", v => $"acc = {M}.Min(acc, {v});", a => a),
                "ReduceProd" => ("1f", v => $"acc *= {v};", a => a),
                "ReduceL1" => ("0f", v => $"acc += {M}.Abs({v});", a => a),
                "ReduceL2" => ("0f", v => $"{{ {T} t = {v}; acc += t * t; }}", a => $"{M}.Sqrt({a})"),
                "ReduceLogSum" => ("0f", v => $"acc += {v};", a => $"{M}.Log({a})"),
                "ReduceSumSquare" => ("0f", v => $"{{ {T} t = {v}; acc += t * t; }}", a => a),
                _ => throw new System.InvalidOperationException(r.Op),
            };
            w.WriteLine($"{T} acc = {Lit(init)};");
            bool vectorSum = contiguous && r.Op is "ReduceSum" or "ReduceMean" or "ReduceSumSquare" or "ReduceL2" or "ReduceL1" or "ReduceLogSum";
            bool vectorMinMax = contiguous && r.Op is "ReduceMax" or "ReduceMin";
            if (vectorSum || vectorMinMax)
            {
                int len = r.Reduced[0];
                w.WriteLine("int t0 = 0;");
                ctx.PerIsa(w, (isa, _) =>
                {
                    if (isa.IsScalar || len < 2 * isa.Width) return;
                    bool sq = r.Op is "ReduceSumSquare" or "ReduceL2";
                    bool abs = r.Op == "ReduceL1";
                    if (vectorMinMax)
                    {
                        bool max = r.Op == "ReduceMax";
                        w.WriteLine($"var va = {isa.Load("xp")};");
                        w.WriteLine($"for (t0 = {isa.Width}; t0 <= {len - isa.Width}; t0 += {isa.Width}) va = {(max ? isa.Max("va", isa.Load("xp + t0")) : isa.Min("va", isa.Load("xp + t0")))};");
                        w.WriteLine($"for (int l = 0; l < {isa.Width}; l++) acc = {M}.{(max ? "Max" : "Min")}(acc, {isa.GetElement("va", "l")});");
                    }
                    else
                    {
                        string load = isa.Load("xp + t0");
                        string term = sq ? $"{{ var t = {load}; va = {isa.Fma("t", "t", "va")}; }}" : abs ? $"va += {isa.StaticType}.Abs({load});" : $"va += {load};";
                        w.WriteLine($"var va = {isa.Zero};");
                        w.WriteLine($"for (; t0 <= {len - isa.Width}; t0 += {isa.Width}) {term}");
                        w.WriteLine($"acc = {isa.StaticType}.Sum(va);");
                    }
                });
                w.WriteLine($"for (; t0 < {len}; t0++) {step("xp[t0]")}");
            }
            else
            {
                EmitReducedLoops(r, w, step);
            }
            w.WriteLine($"{y}[o++] = {finish("acc")};");
        }
    }

    /// <param name="element">The value at an offset from <c>xp</c> (default <c>xp[offset]</c>).</param>
    private static void EmitReducedLoops(ReduceSpec r, SourceWriter w, System.Func<string, string> step, System.Func<string, string>? element = null)
    {
        var terms = new List<string>();
        for (int i = 0; i < r.Reduced.Count; i++)
        {
            w.OpenBlock($"for (int r{i} = 0; r{i} < {r.Reduced[i]}; r{i}++)");
            if (r.ReducedStrides[i] != 0) terms.Add($"r{i} * {EmitContext.Long(r.ReducedStrides[i])}L");
        }
        string offset = terms.Count == 0 ? "0" : string.Join(" + ", terms);
        w.WriteLine(step(element is null ? $"xp[{offset}]" : element(offset)));
        for (int i = 0; i < r.Reduced.Count; i++) w.CloseBlock();
    }
}
