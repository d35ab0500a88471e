// Licensed under the MIT license.
// Element-wise kernels: unary functions, broadcasting binary operations (loops over merged axes, innermost axis
// vectorised when both inputs are contiguous or broadcast along it), and per-channel affine (BatchNormalization).

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Passes;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class ElementwiseEmitter
{
    public static IEnumerable<string> Remarks(BinarySpec b)
    {
        yield return $"lowering: {b.Op} over [{string.Join("x", b.Shape)}] (axes merged), strides A [{string.Join(",", b.AStrides)}] B [{string.Join(",", b.BStrides)}]" +
            (b.Activation.Kind != ActivationKind.None ? $", then {b.Activation}" : "");
    }

    private static string ScalarOp(string op, string a, string b) => op switch
    {
        "Add" => $"{a} + {b}",
        "Sub" => $"{a} - {b}",
        "Mul" => $"{a} * {b}",
        "Div" => $"{a} / {b}",
        "Max" => $"{EmitContext.MathF}.Max({a}, {b})",
        "Min" => $"{EmitContext.MathF}.Min({a}, {b})",
        "Pow" => $"{EmitContext.MathF}.Pow({a}, {b})",
        _ => throw new System.InvalidOperationException("binary op " + op),
    };

    private static string? VectorOp(string op, Isa isa, string a, string b) => op switch
    {
        "Add" => $"{a} + {b}",
        "Sub" => $"{a} - {b}",
        "Mul" => $"{a} * {b}",
        "Div" => $"{a} / {b}",
        "Max" => isa.Max(a, b),
        "Min" => isa.Min(a, b),
        _ => null,
    };

    public static void EmitBinary(BinarySpec b, string a, string bb, string c, SourceWriter w, EmitContext ctx)
    {
        int rank = b.Shape.Count;
        int inner = b.Shape[rank - 1];
        long sa = b.AStrides[rank - 1], sb = b.BStrides[rank - 1];
        var cStrides = new long[rank];
        long acc = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            cStrides[i] = acc;
            acc *= b.Shape[i];
        }
        // Outer loops over all but the innermost axis.
        string pa = a, pb = bb, pc = c;
        for (int i = 0; i < rank - 1; i++)
        {
            w.OpenBlock($"for (int i{i} = 0; i{i} < {b.Shape[i]}; i{i}++)");
        }
        if (rank > 1)
        {
            string Offset(EquatableArray<long> s)
            {
                var parts = new List<string>();
                for (int i = 0; i < rank - 1; i++) if (s[i] != 0) parts.Add($"i{i} * {EmitContext.Long(s[i])}L");
                return parts.Count == 0 ? "" : " + " + string.Join(" + ", parts);
            }
            w.WriteLine($"float* pa = {a}{Offset(b.AStrides)};");
            w.WriteLine($"float* pb = {bb}{Offset(b.BStrides)};");
            w.WriteLine($"float* pc = {c}{Offset(new EquatableArray<long>(cStrides))};");
            pa = "pa"; pb = "pb"; pc = "pc";
        }
        string ea = sa == 0 ? $"{pa}[0]" : $"{pa}[j]";
        string eb = sb == 0 ? $"{pb}[0]" : $"{pb}[j]";
        w.WriteLine("int j = 0;");
        bool vectorizable = VectorOp(b.Op, Isa.Scalar, "x", "y") is not null && (sa is 0 or 1) && (sb is 0 or 1) && !(sa == 0 && sb == 0);
        if (vectorizable)
        {
            ctx.PerIsa(w, (isa, _) =>
            {
                if (isa.IsScalar || inner < isa.Width) return;
                string? pro = ActivationEmitter.Prologue(b.Activation, isa);
                if (pro is not null) w.WriteLine(pro);
                if (sa == 0) w.WriteLine($"var va = {isa.Broadcast(ea)};");
                if (sb == 0) w.WriteLine($"var vb = {isa.Broadcast(eb)};");
                string la = sa == 0 ? "va" : isa.Load($"{pa} + j");
                string lb = sb == 0 ? "vb" : isa.Load($"{pb} + j");
                w.WriteLine($"for (; j <= {inner - isa.Width}; j += {isa.Width}) {isa.Store(ActivationEmitter.Apply(b.Activation, isa, "(" + VectorOp(b.Op, isa, la, lb) + ")"), $"{pc} + j")}");
            });
        }
        string scalar = ActivationEmitter.ApplyScalar(b.Activation, "(" + ScalarOp(b.Op, sa <= 1 ? ea : $"{pa}[j * {sa}]", sb <= 1 ? eb : $"{pb}[j * {sb}]") + ")");
        w.WriteLine($"for (; j < {inner}; j++) {pc}[j] = {scalar};");
        for (int i = 0; i < rank - 1; i++) w.CloseBlock();
    }

    public static IEnumerable<string> Remarks(UnarySpec u)
    {
        yield return $"lowering: element-wise {u.Op} over {u.Count} elements";
    }

    public static void EmitUnary(UnarySpec u, string x, string y, SourceWriter w, EmitContext ctx)
    {
        Activation? act = u.Op switch
        {
            "Relu" => new Activation(ActivationKind.Relu),
            "Clip" => new Activation(ActivationKind.Clip, u.Alpha, u.Beta),
            "LeakyRelu" => new Activation(ActivationKind.LeakyRelu, u.Alpha),
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
            "Shrink" => $"({v} < -{b} ? {v} + {a} : {v} > {b} ? {v} - {a} : 0f)",
            "Scale" => $"{v} * {a}",
            "ImageScaler" => $"{v} * {a}",
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
        w.WriteLine($"float sc = {scale}[ch], sh = {shift}[ch];");
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
