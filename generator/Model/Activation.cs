// Licensed under the MIT license.
// An element-wise activation applied in a kernel's epilogue (fused) or as its own layer.

namespace ModelGen.Generator.Model;

internal enum ActivationKind
{
    None,
    Relu,
    /// <summary>min(max(x, Alpha), Beta).</summary>
    Clip,
    /// <summary>x >= 0 ? x : Alpha * x.</summary>
    LeakyRelu,
    Sigmoid,
    /// <summary>max(0, min(1, Alpha * x + Beta)).</summary>
    HardSigmoid,
    /// <summary>x * max(0, min(1, x / 6 + 1 / 2)).</summary>
    HardSwish,
    /// <summary>x * sigmoid(x) (Sigmoid followed by Mul, fused).</summary>
    Silu,
    Tanh,
}

/// <summary>Activation kind and its parameters.</summary>
/// <remarks>Cacheability contract: an enum and two floats.</remarks>
internal sealed record Activation(ActivationKind Kind, float Alpha = 0, float Beta = 0)
{
    public static readonly Activation None = new(ActivationKind.None);

    public override string ToString() => Kind switch
    {
        ActivationKind.None => "none",
        ActivationKind.Clip => $"Clip(min={Alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, max={Beta.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})",
        ActivationKind.LeakyRelu => $"LeakyRelu(alpha={Alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})",
        ActivationKind.HardSigmoid => $"HardSigmoid(alpha={Alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, beta={Beta.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})",
        _ => Kind.ToString(),
    };
}
