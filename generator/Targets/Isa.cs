// Licensed under the MIT license.
// How one instruction-set path spells vector operations in generated C#. Profiles list these in dispatch order.

using ModelGen.Generator.Emit;

namespace ModelGen.Generator.Targets;

/// <summary>A vector ISA as C# text: the generated code has one branch per ISA, guarded by <see cref="Guard"/>.</summary>
internal sealed class Isa
{
    private Isa(string name, string guard, string vectorType, int width, string staticType, string fma, string maxMin, string? maskClass = null, string? prefetch = null)
    {
        PrefetchFormat = prefetch;
        MaskClass = maskClass;
        MaxMinClass = maxMin;
        Name = name;
        Guard = guard;
        VectorType = vectorType;
        Width = width;
        StaticType = staticType;
        FmaFormat = fma;
    }

    /// <summary>Suffix used in kernel names (e.g. <c>Avx512</c>).</summary>
    public string Name { get; }
    /// <summary>A constant-folded condition (the JIT and NativeAOT remove the other branches).</summary>
    public string Guard { get; }
    public string VectorType { get; }
    public int Width { get; }
    public string StaticType { get; }
    private string FmaFormat { get; }
    /// <summary>The intrinsic class whose Max/Min compile to one instruction (maxps semantics; .NET 9's Vector Max adds NaN fix-ups).</summary>
    private string MaxMinClass { get; }
    public bool IsScalar => Width == 1;
    /// <summary>The intrinsic class with masked loads and stores of this width (null: none).</summary>
    private string? MaskClass { get; }
    public bool HasMaskedMemory => MaskClass is not null;
    private string? PrefetchFormat { get; }

    private const string X86 = "global::System.Runtime.Intrinsics.X86.";
    private const string Ri = "global::System.Runtime.Intrinsics.";

    public static readonly Isa Avx512 = new(
        "Avx512", X86 + "Avx512F.IsSupported", Ri + "Vector512<float>", 16, Ri + "Vector512",
        X86 + "Avx512F.FusedMultiplyAdd({0}, {1}, {2})", X86 + "Avx512F", X86 + "Avx512F", X86 + "Sse.Prefetch0({0});");

    public static readonly Isa Avx2 = new(
        "Avx2", X86 + "Fma.IsSupported && " + X86 + "Avx2.IsSupported", Ri + "Vector256<float>", 8, Ri + "Vector256",
        X86 + "Fma.MultiplyAdd({0}, {1}, {2})", X86 + "Avx", X86 + "Avx", X86 + "Sse.Prefetch0({0});");

    public static readonly Isa Neon = new(
        "Neon", "global::System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported", Ri + "Vector128<float>", 4, Ri + "Vector128",
        "global::System.Runtime.Intrinsics.Arm.AdvSimd.FusedMultiplyAdd({2}, {0}, {1})", "global::System.Runtime.Intrinsics.Arm.AdvSimd");

    public static readonly Isa Scalar = new("Scalar", "true", "float", 1, "", "{0} * {1} + {2}", "global::System.MathF");

    public string Load(string pointer) => IsScalar ? $"*({pointer})" : $"{StaticType}.Load({pointer})";

    public string Store(string value, string pointer) => IsScalar ? $"*({pointer}) = {value};" : $"{StaticType}.Store({value}, {pointer});";

    public string Broadcast(string scalar) => IsScalar ? scalar : $"{StaticType}.Create({scalar})";

    public string Zero => IsScalar ? "0f" : $"{VectorType}.Zero";

    /// <summary>a * b + c.</summary>
    public string Fma(string a, string b, string c) => string.Format(FmaFormat, a, b, c);

    public string Max(string a, string b) => $"{MaxMinClass}.Max({a}, {b})";

    public string Min(string a, string b) => $"{MaxMinClass}.Min({a}, {b})";

    /// <summary>A float mask whose first <paramref name="count"/> lanes are set (runtime MaskedMemory: the APIs exist on .NET 8).</summary>
    public string TailMask(string count) => $"{EmitContext.RuntimeNs}.MaskedMemory.FirstLanes{Width * 32}({count})";

    /// <summary>A mask selecting lanes [from, to).</summary>
    public string LaneMask(int from, int to) => $"{EmitContext.RuntimeNs}.MaskedMemory.Lanes{Width * 32}({from}, {to})";

    /// <summary>Stores the lanes of <paramref name="value"/> selected by <paramref name="mask"/> (no access to the others).</summary>
    public string MaskStore(string value, string pointer, string mask) => $"{EmitContext.RuntimeNs}.MaskedMemory.Store({pointer}, {mask}, {value});";

    /// <summary>Loads the lanes selected by <paramref name="mask"/> (zero elsewhere; no access to the others).</summary>
    public string MaskLoad(string pointer, string mask) => $"{EmitContext.RuntimeNs}.MaskedMemory.Load({pointer}, {mask})";

    /// <summary>A statement prefetching the cache line at <paramref name="pointer"/> into all levels (null: this ISA has none).</summary>
    public string? Prefetch(string pointer) => PrefetchFormat is null ? null : string.Format(PrefetchFormat, pointer);

    public string GetElement(string v, string i) => IsScalar ? v : $"{StaticType}.GetElement({v}, {i})";
}
