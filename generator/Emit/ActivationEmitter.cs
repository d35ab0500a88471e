// Licensed under the MIT license.
// Activation functions as C# expressions, in vector form per ISA and in scalar form (tails, scalar path).

using ModelGen.Generator.Model;
using ModelGen.Generator.Passes;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class ActivationEmitter
{
    /// <summary>Statements declaring the broadcast constants an activation needs (before a loop).</summary>
    public static string? Prologue(Activation act, Isa isa, string prefix = "act")
    {
        switch (act.Kind)
        {
            case ActivationKind.Relu:
                return $"var {prefix}Zero = {isa.Zero};";
            case ActivationKind.Clip:
                return $"var {prefix}Lo = {isa.Broadcast(LoweringContext.FloatLiteral(act.Alpha))}; var {prefix}Hi = {isa.Broadcast(LoweringContext.FloatLiteral(act.Beta))};";
            case ActivationKind.LeakyRelu:
                return $"var {prefix}Zero = {isa.Zero}; var {prefix}Alpha = {isa.Broadcast(LoweringContext.FloatLiteral(act.Alpha))};";
            default:
                return null;
        }
    }

    /// <summary>An expression applying the activation to vector (or scalar, for the scalar ISA) <paramref name="v"/>.</summary>
    public static string Apply(Activation act, Isa isa, string v, string prefix = "act")
    {
        switch (act.Kind)
        {
            case ActivationKind.None:
                return v;
            case ActivationKind.Relu:
                return isa.Max(v, prefix + "Zero");
            case ActivationKind.Clip:
                return isa.Min(isa.Max(v, prefix + "Lo"), prefix + "Hi");
            case ActivationKind.LeakyRelu:
                // max(v, 0) + alpha * min(v, 0): branch-free, exact for both signs.
                return $"({isa.Max(v, prefix + "Zero")} + {isa.Min(v, prefix + "Zero")} * {prefix}Alpha)";
            default:
                return isa.IsScalar
                    ? $"{EmitContext.RuntimeNs}.Activations.{act.Kind}({v}{Params(act)})"
                    : $"{EmitContext.RuntimeNs}.Activations.{act.Kind}({v}{Params(act)})";
        }
    }

    /// <summary>The scalar form (used in partial-tile epilogues of every ISA).</summary>
    public static string ApplyScalar(Activation act, string v) => act.Kind switch
    {
        ActivationKind.None => v,
        ActivationKind.Relu => $"{EmitContext.MathF}.Max({v}, 0f)",
        ActivationKind.Clip => $"{EmitContext.MathF}.Min({EmitContext.MathF}.Max({v}, {LoweringContext.FloatLiteral(act.Alpha)}), {LoweringContext.FloatLiteral(act.Beta)})",
        ActivationKind.LeakyRelu => $"({v} >= 0f ? {v} : {v} * {LoweringContext.FloatLiteral(act.Alpha)})",
        _ => $"{EmitContext.RuntimeNs}.Activations.{act.Kind}({v}{Params(act)})",
    };

    private static string Params(Activation act) => act.Kind switch
    {
        ActivationKind.LeakyRelu => ", " + LoweringContext.FloatLiteral(act.Alpha),
        ActivationKind.HardSigmoid => ", " + LoweringContext.FloatLiteral(act.Alpha) + ", " + LoweringContext.FloatLiteral(act.Beta),
        _ => "",
    };

    public static string Name(Activation act) => act.Kind == ActivationKind.None ? "" : "_" + act.Kind;
}
