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
            case ActivationKind.HardSigmoid:
                return $"var {prefix}Zero = {isa.Zero}; var {prefix}One = {isa.Broadcast("1f")}; var {prefix}Alpha = {isa.Broadcast(LoweringContext.FloatLiteral(act.Alpha))}; var {prefix}Beta = {isa.Broadcast(LoweringContext.FloatLiteral(act.Beta))};";
            case ActivationKind.HardSwish:
                return $"var {prefix}Zero = {isa.Zero}; var {prefix}One = {isa.Broadcast("1f")}; var {prefix}Alpha = {isa.Broadcast("0.16666667f")}; var {prefix}Beta = {isa.Broadcast("0.5f")};";
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
            case ActivationKind.HardSigmoid:
                return isa.Min(isa.Max(isa.Fma(v, prefix + "Alpha", prefix + "Beta"), prefix + "Zero"), prefix + "One");
            case ActivationKind.HardSwish:
                return $"({v} * {isa.Min(isa.Max(isa.Fma(v, prefix + "Alpha", prefix + "Beta"), prefix + "Zero"), prefix + "One")})";
            default:
                // Sigmoid, Tanh, Silu: ModelGen.Runtime.VectorMath has one overload per vector width and a scalar one.
                return $"{EmitContext.RuntimeNs}.VectorMath.{act.Kind}({v})";
        }
    }

    /// <summary>The scalar form (used in partial-tile epilogues of every ISA).</summary>
    public static string ApplyScalar(Activation act, string v) => act.Kind switch
    {
        ActivationKind.None => v,
        ActivationKind.Relu => $"{EmitContext.MathF}.Max({v}, 0f)",
        ActivationKind.Clip => $"{EmitContext.MathF}.Min({EmitContext.MathF}.Max({v}, {LoweringContext.FloatLiteral(act.Alpha)}), {LoweringContext.FloatLiteral(act.Beta)})",
        ActivationKind.LeakyRelu => $"({v} >= 0f ? {v} : {v} * {LoweringContext.FloatLiteral(act.Alpha)})",
        ActivationKind.HardSigmoid => $"{EmitContext.MathF}.Max(0f, {EmitContext.MathF}.Min(1f, {LoweringContext.FloatLiteral(act.Alpha)} * {v} + {LoweringContext.FloatLiteral(act.Beta)}))",
        ActivationKind.HardSwish => $"({v} * {EmitContext.MathF}.Max(0f, {EmitContext.MathF}.Min(1f, {v} / 6f + 0.5f)))",
        _ => $"{EmitContext.RuntimeNs}.VectorMath.{act.Kind}({v})",
    };

    public static string Name(Activation act) => act.Kind == ActivationKind.None ? "" : "_" + act.Kind;

    /// <summary>
    /// Activations that call into VectorMath (exp-based). A register-blocked tile must not apply them per accumulator:
    /// every call clobbers the caller-saved vector registers holding the other accumulators. Tiles store first and then
    /// run <see cref="InPlace"/> over each stored row.
    /// </summary>
    public static bool IsHeavy(Activation act) => act.Kind is ActivationKind.Sigmoid or ActivationKind.Tanh or ActivationKind.Silu;

    /// <summary>A statement applying a heavy activation to n floats at p, in place.</summary>
    public static string InPlace(Activation act, string p, string n) => $"{EmitContext.RuntimeNs}.VectorMath.{act.Kind}InPlace({p}, {n});";
}
