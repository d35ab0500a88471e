// Licensed under the MIT license.
// Element-wise kernels: unary functions, broadcasting binary operations (loops over merged axes, innermost axis
// vectorised when both inputs are contiguous or broadcast along it), and per-channel affine (BatchNormalization).

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Passes;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class ElementwiseEmitter
{
    public static IEnumerable<string> Remarks(BroadcastSpec b)
    {
        yield return $"lowering: {b.Op} over [{string.Join("x", b.Shape)}] (axes merged), input strides " +
            string.Join(" ", b.Strides.Select(s => "[" + string.Join(",", s) + "]")) +
            (b.Activation.Kind != ActivationKind.None ? $", then {b.Activation}" : "");
    }

    /// <summary>The scalar formula of an N-ary element-wise op over operand expressions of C# type <paramref name="type"/>.</summary>
    private static string ScalarOp(string op, IReadOnlyList<string> v, string type)
    {
        string M = type == "float" ? EmitContext.MathF : EmitContext.Math;
        return op switch
        {
            "Add" => $"{v[0]} + {v[1]}",
            "Sub" => $"{v[0]} - {v[1]}",
            "Mul" => $"{v[0]} * {v[1]}",
            "Div" => $"{v[0]} / {v[1]}",
            "Pow" => type == "float" ? $"{M}.Pow({v[0]}, (float){v[1]})" : $"{M}.Pow({v[0]}, (double){v[1]})",
            "Clip" => $"{M}.Min({M}.Max({v[0]}, {v[1]}), {v[2]})",
            "Axpy" => $"{v[0]} + {v[2]} * {v[1]}",
            "Max" => v.Skip(1).Aggregate(v[0], (acc, x) => $"{M}.Max({acc}, {x})"),
            "Min" => v.Skip(1).Aggregate(v[0], (acc, x) => $"{M}.Min({acc}, {x})"),
            "Sum" => string.Join(" + ", v),
            "Mean" => $"({string.Join(" + ", v)}) / {v.Count}f",
            "PRelu" => $"({v[0]} < 0f ? {v[0]} * {v[1]} : {v[0]})",
            "Equal" => $"{v[0]} == {v[1]}",
            "Less" => $"{v[0]} < {v[1]}",
            "Greater" => $"{v[0]} > {v[1]}",
            "LessOrEqual" => $"{v[0]} <= {v[1]}",
            "GreaterOrEqual" => $"{v[0]} >= {v[1]}",
            "Where" => $"({v[0]} ? {v[1]} : {v[2]})",
            "And" => $"{v[0]} & {v[1]}",
            "Or" => $"{v[0]} | {v[1]}",
            "Xor" => $"{v[0]} ^ {v[1]}",
            "Not" => $"!{v[0]}",
            _ => throw new System.InvalidOperationException("element-wise op " + op),
        };
    }

    /// <summary>The vector formula, or null when the op has none (comparisons, Where, Pow run scalar).</summary>
    private static string? VectorOp(string op, Isa isa, IReadOnlyList<string> v) => op switch
    {
        "Add" => $"{v[0]} + {v[1]}",
        "Sub" => $"{v[0]} - {v[1]}",
        "Mul" => $"{v[0]} * {v[1]}",
        "Div" => $"{v[0]} / {v[1]}",
        "Max" => v.Skip(1).Aggregate(v[0], (acc, x) => isa.Max(acc, x)),
        "Min" => v.Skip(1).Aggregate(v[0], (acc, x) => isa.Min(acc, x)),
        "Sum" => string.Join(" + ", v),
        "Mean" => $"({string.Join(" + ", v)}) / {isa.Broadcast(v.Count + "f")}",
        "PRelu" => $"({isa.Max(v[0], isa.Zero)} + {isa.Min(v[0], isa.Zero)} * {v[1]})",
        "Clip" => isa.Min(isa.Max(v[0], v[1]), v[2]),
        "Axpy" => isa.Fma(v[1], v[2], v[0]),
        _ => null,
    };

    /// <summary>Elements of the innermost axis per part of a parallel element-wise layer (a multiple of every vector width).</summary>
    internal const int InnerBlock = 4096;

    /// <summary>The parts of a parallel element-wise layer's innermost axis of <paramref name="inner"/> elements.</summary>
    internal static long InnerBlocks(int inner) => (inner + InnerBlock - 1) / InnerBlock;

    public static void EmitBroadcast(BroadcastSpec b, IReadOnlyList<string> inputs, IReadOnlyList<string> inputTypes, string y, string outputType,
        SourceWriter w, EmitContext ctx)
    {
        int rank = b.Shape.Count;
        int inner = b.Shape[rank - 1];
        if (ctx.InParallelLayer)
        {
            // A part runs one block of InnerBlock elements of one row (the outer axes flattened).
            long blocks = InnerBlocks(inner);
            ctx.ParallelFor(w, DataMovementEmitter.Parts(b).Parts, pw =>
            {
                pw.OpenBlock("for (long t = pb; t < pe; t++)");
                DataMovementEmitter.EmitOuterIndices(b.Shape, rank - 1, blocks == 1 ? "t" : $"t / {blocks}", pw);
                EmitBroadcastRow(b, inputs, inputTypes, y, outputType, pw, ctx, blocks == 1 ? null : $"(int)(t % {blocks}) * {InnerBlock}");
                pw.CloseBlock();
            });
            return;
        }
        for (int i = 0; i < rank - 1; i++) w.OpenBlock($"for (int i{i} = 0; i{i} < {b.Shape[i]}; i{i}++)");
        EmitBroadcastRow(b, inputs, inputTypes, y, outputType, w, ctx, null);
        for (int i = 0; i < rank - 1; i++) w.CloseBlock();
    }

    /// <summary>
    /// One row of an element-wise layer (the innermost axis at the outer index <c>i0</c>..): all of it, or from
    /// <paramref name="blockStart"/> the <see cref="InnerBlock"/> elements of one block.
    /// </summary>
    private static void EmitBroadcastRow(BroadcastSpec b, IReadOnlyList<string> inputs, IReadOnlyList<string> inputTypes, string y, string outputType,
        SourceWriter w, EmitContext ctx, string? blockStart)
    {
        int rank = b.Shape.Count;
        int inner = b.Shape[rank - 1];
        int n = inputs.Count;
        var outStrides = new long[rank];
        long acc = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            outStrides[i] = acc;
            acc *= b.Shape[i];
        }
        string Offset(IReadOnlyList<long> s)
        {
            var parts = new List<string>();
            for (int i = 0; i < rank - 1; i++) if (s[i] != 0) parts.Add($"i{i} * {EmitContext.Long(s[i])}L");
            return parts.Count == 0 ? "" : " + " + string.Join(" + ", parts);
        }
        for (int k = 0; k < n; k++) w.WriteLine($"{inputTypes[k]}* p{k} = {inputs[k]}{Offset(b.Strides[k])};");
        w.WriteLine($"{outputType}* py = {y}{Offset(outStrides)};");
        if (blockStart is null)
        {
            w.WriteLine("int j = 0;");
        }
        else
        {
            w.WriteLine($"int j = {blockStart};");
            w.WriteLine($"int end = {EmitContext.Math}.Min({inner}, j + {InnerBlock});");
        }
        string vectorEnd(int width) => blockStart is null ? $"{inner - width}" : $"end - {width}";
        string scalarEnd = blockStart is null ? $"{inner}" : "end";
        var innerStrides = b.Strides.Select(s => s[rank - 1]).ToList();
        bool allFloat = inputTypes.All(t => t == "float") && outputType == "float";
        bool vectorizable = allFloat && VectorOp(b.Op, Isa.Scalar, b.Op == "Axpy" ? inputs.Concat(new[] { "a" }).ToList() : inputs) is not null
            && innerStrides.All(s => s is 0 or 1) && innerStrides.Any(s => s == 1);
        if (vectorizable)
        {
            ctx.PerIsa(w, (isa, _) =>
            {
                if (isa.IsScalar || inner < isa.Width) return;
                string? pro = ActivationEmitter.Prologue(b.Activation, isa);
                if (pro is not null) w.WriteLine(pro);
                var operands = new List<string>();
                for (int k = 0; k < n; k++)
                {
                    if (innerStrides[k] == 0)
                    {
                        w.WriteLine($"var v{k} = {isa.Broadcast($"p{k}[0]")};");
                        operands.Add($"v{k}");
                    }
                    else
                    {
                        operands.Add(isa.Load($"p{k} + j"));
                    }
                }
                if (b.Op == "Axpy") operands.Add(isa.Broadcast(LoweringContext.FloatLiteral(b.Alpha)));
                string expr = ActivationEmitter.Apply(b.Activation, isa, "(" + VectorOp(b.Op, isa, operands) + ")");
                w.WriteLine($"for (; j <= {vectorEnd(isa.Width)}; j += {isa.Width}) {isa.Store(expr, "py + j")}");
            });
        }
        var scalars = innerStrides.Select((s, k) => s == 0 ? $"p{k}[0]" : s == 1 ? $"p{k}[j]" : $"p{k}[j * {EmitContext.Long(s)}L]").ToList();
        // A constant condition arrives as float weights (0 or 1).
        if (b.Op == "Where" && inputTypes[0] != "bool") scalars[0] = $"({scalars[0]} != 0f)";
        // The arithmetic type: the data inputs' type (Where's condition and Pow's exponent excluded).
        string dataType = b.Op == "Where" ? inputTypes[1] : inputTypes[0];
        if (b.Op == "Axpy") scalars.Add(LoweringContext.FloatLiteral(b.Alpha));
        string scalar = ScalarOp(b.Op, scalars, dataType);
        if (allFloat) scalar = ActivationEmitter.ApplyScalar(b.Activation, "(" + scalar + ")");
        else if (outputType != "bool") scalar = $"({outputType})({scalar})";
        w.WriteLine($"for (; j < {scalarEnd}; j++) py[j] = {scalar};");
    }

    public static IEnumerable<string> Remarks(UnarySpec u)
    {
        yield return $"lowering: element-wise {u.Op} over {u.Count} elements";
    }

    public static void EmitUnary(UnarySpec u, string x, string y, string type, SourceWriter w, EmitContext ctx)
    {
        if (type != "float")
        {
            // Integer and double inputs (Neg, Abs, Sign, Relu): exact typed scalar loop.
            string expr = u.Op switch
            {
                "Neg" => "-v",
                "Abs" => "global::System.Math.Abs(v)",
                "Sign" => "global::System.Math.Sign(v)",
                _ => $"global::System.Math.Max(v, ({type})0)",
            };
            w.WriteLine($"for (long i = 0; i < {EmitContext.Long(u.Count)}L; i++) {{ var v = {x}[i]; {y}[i] = ({type})({expr}); }}");
            return;
        }
        Activation? act = u.Op switch
        {
            "Relu" => new Activation(ActivationKind.Relu),
            "Clip" => new Activation(ActivationKind.Clip, u.Alpha, u.Beta),
            "LeakyRelu" => new Activation(ActivationKind.LeakyRelu, u.Alpha),
            "Sigmoid" => new Activation(ActivationKind.Sigmoid),
            "Tanh" => new Activation(ActivationKind.Tanh),
            "HardSigmoid" => new Activation(ActivationKind.HardSigmoid, u.Alpha, u.Beta),
            "HardSwish" => new Activation(ActivationKind.HardSwish),
            _ => null,
        };
        w.WriteLine("long i = 0;");
        if (act is not null)
        {
            ctx.PerIsa(w, (isa, _) =>
            {
                if (isa.IsScalar || u.Count < isa.Width) return;
                string? pro = ActivationEmitter.Prologue(act, isa);
                if (pro is not null) w.WriteLine(pro);
                w.WriteLine($"for (; i <= {EmitContext.Long(u.Count - isa.Width)}L; i += {isa.Width}) {isa.Store(ActivationEmitter.Apply(act, isa, isa.Load($"{x} + i")), $"{y} + i")}");
            });
            w.WriteLine($"for (; i < {EmitContext.Long(u.Count)}L; i++) {y}[i] = {ActivationEmitter.ApplyScalar(act, $"{x}[i]")};");
            return;
        }
        w.WriteLine($"for (; i < {EmitContext.Long(u.Count)}L; i++) {{ float v = {x}[i]; {y}[i] = {ScalarUnary(u, "v")}; }}");
    }

    /// <summary>Scalar formula of each unary op (float32 math, as ONNX Runtime computes it).</summary>
    internal static string ScalarUnary(UnarySpec u, string v)
    {
        string M = EmitContext.MathF;
        string a = LoweringContext.FloatLiteral(u.Alpha), b = LoweringContext.FloatLiteral(u.Beta);
        return u.Op switch
        {
            "Abs" => $"{M}.Abs({v})",
            "Neg" => $"-{v}",
            "Exp" => $"{M}.Exp({v})",
            "Log" => $"{M}.Log({v})",
            "Sqrt" => $"{M}.Sqrt({v})",
            "Reciprocal" => $"1f / {v}",
            "Floor" => $"{M}.Floor({v})",
            "Ceil" => $"{M}.Ceiling({v})",
            "Round" => $"{M}.Round({v}, global::System.MidpointRounding.ToEven)",
            "Sign" => $"({v} > 0f ? 1f : {v} < 0f ? -1f : {v})",
            "Sigmoid" => $"1f / (1f + {M}.Exp(-{v}))",
            "Tanh" => $"{M}.Tanh({v})",
            "Softplus" => $"({v} > 0f ? {v} + {M}.Log(1f + {M}.Exp(-{v})) : {M}.Log(1f + {M}.Exp({v})))",
            "Softsign" => $"{v} / (1f + {M}.Abs({v}))",
            "Elu" => $"({v} >= 0f ? {v} : {a} * ({M}.Exp({v}) - 1f))",
            "Selu" => $"({v} > 0f ? {b} * {v} : {b} * ({a} * {M}.Exp({v}) - {a}))",
            "Celu" => $"({M}.Max(0f, {v}) + {M}.Min(0f, {a} * ({M}.Exp({v} / {a}) - 1f)))",
            "HardSigmoid" => $"{M}.Max(0f, {M}.Min(1f, {a} * {v} + {b}))",
            "HardSwish" => $"{v} * {M}.Max(0f, {M}.Min(1f, {v} / 6f + 0.5f))",
            "Erf" => $"{EmitContext.RuntimeNs}.ScalarMath.Erf({v})",
            "Gelu" => $"{EmitContext.RuntimeNs}.ScalarMath.Gelu({v})",
            "GeluTanh" => $"{EmitContext.RuntimeNs}.ScalarMath.GeluTanh({v})",
            "Mish" => $"{v} * {M}.Tanh({v} > 20f ? {v} : {M}.Log(1f + {M}.Exp({v})))",
            "Identity" => v,
            "ThresholdedRelu" => $"({v} > {a} ? {v} : 0f)",
            "Shrink" => $"({v} < -{b} ? {v} + {a} : {v} > {b} ? {v} - {a} : 0f)", // a = bias, b = lambd
            "Scale" => $"{v} * {a}",
            "Affine" => $"{a} * {v} + {b}",
            _ => throw new System.InvalidOperationException("unary op " + u.Op),
        };
    }

    public static IEnumerable<string> Remarks(ChannelAffineSpec s)
    {
        yield return $"lowering: per-channel y = x * scale[c] + shift[c] over [{s.Outer}x{s.Channels}x{s.Inner}]" +
            (s.Activation.Kind != ActivationKind.None ? $", then {s.Activation}" : "");
    }

    public static void EmitChannelAffine(ChannelAffineSpec s, string x, string scale, string shift, string y, SourceWriter w, EmitContext ctx)
    {
        w.OpenBlock($"for (int o = 0; o < {s.Outer}; o++)");
        w.OpenBlock($"for (int ch = 0; ch < {s.Channels}; ch++)");
        w.WriteLine($"long off = ((long)o * {s.Channels} + ch) * {s.Inner};");
        w.WriteLine($"float* xp = {x} + off; float* yp = {y} + off;");
        if (s.FromStatistics)
        {
            // BatchNormalization with statistics computed at run time.
            w.WriteLine($"float sc = (float)({scale}[ch] / global::System.Math.Sqrt(Var[ch] + {LoweringContext.FloatLiteral(s.Epsilon)}));");
            w.WriteLine($"float sh = {shift}[ch] - Mean[ch] * sc;");
        }
        else
        {
            w.WriteLine($"float sc = {scale}[ch], sh = {shift}[ch];");
        }
        w.WriteLine("int i = 0;");
        ctx.PerIsa(w, (isa, _) =>
        {
            if (isa.IsScalar || s.Inner < isa.Width) return;
            string? pro = ActivationEmitter.Prologue(s.Activation, isa);
            if (pro is not null) w.WriteLine(pro);
            w.WriteLine($"var vs = {isa.Broadcast("sc")}; var vh = {isa.Broadcast("sh")};");
            w.WriteLine($"for (; i <= {s.Inner - isa.Width}; i += {isa.Width}) {isa.Store(ActivationEmitter.Apply(s.Activation, isa, isa.Fma(isa.Load("xp + i"), "vs", "vh")), "yp + i")}");
        });
        w.WriteLine($"for (; i < {s.Inner}; i++) yp[i] = {ActivationEmitter.ApplyScalar(s.Activation, "(xp[i] * sc + sh)")};");
        w.CloseBlock();
        w.CloseBlock();
    }
}
