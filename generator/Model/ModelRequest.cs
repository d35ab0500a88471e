// Licensed under the MIT license.
// The options of one model, read from its AdditionalFiles item metadata and the project's properties.

namespace ModelGen.Generator.Model;

/// <summary>Per-model options (all strings; empty means "use the default").</summary>
/// <remarks>Cacheability contract: strings and a bool only.</remarks>
internal sealed record ModelRequest
{
    public required string Path { get; init; }
    public string ClassName { get; init; } = "";
    public string Namespace { get; init; } = "";
    public string RootNamespace { get; init; } = "";
    public string Profile { get; init; } = "";
    public string InputShape { get; init; } = "";
    /// <summary>Graph inputs frozen to build-time values: "name=1,2,3;other=0.5".</summary>
    public string ConstantInputs { get; init; } = "";
    public string ResourceName { get; init; } = "";
    /// <summary>Winograd tiles allowed: "F4" (the default: F(2x2,3x3) and F(4x4,3x3) by cost), "F2" or "Off".</summary>
    public string Winograd { get; init; } = "";
    /// <summary>Runs the simplification passes (BatchNorm folding, activation fusion); tests switch it off to compare.</summary>
    public bool Simplify { get; init; } = true;

    public string FileName => System.IO.Path.GetFileName(Path);
}

/// <summary>What compiling one model produced: the spec (null on errors) and the diagnostics.</summary>
/// <remarks>Cacheability contract: a spec and equatable diagnostic infos.</remarks>
internal sealed record ModelResult(
    string Path, string FullClassName, ModelSpec? Spec, Common.EquatableArray<Diagnostics.DiagnosticInfo> Diagnostics);
