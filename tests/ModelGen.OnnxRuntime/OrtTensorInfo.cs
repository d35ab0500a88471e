// Describes one graph input or output of an OrtSession.

namespace ModelGen.OnnxRuntime;

/// <summary>The declared type and shape of a graph input or output.</summary>
/// <param name="Name">The input or output name in the graph.</param>
/// <param name="ElementType">The tensor element type.</param>
/// <param name="Shape">The dimensions; -1 for a symbolic or unknown dimension.</param>
/// <param name="SymbolicDimensions">
/// Per dimension, its symbolic name (e.g. <c>"batch"</c>), or null for a fixed dimension or an
/// unnamed unknown one.
/// </param>
public sealed record OrtTensorInfo(string Name, OrtElementType ElementType, long[] Shape, string?[] SymbolicDimensions)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: {ElementType}[{string.Join("x", Shape.Select((d, i) => d >= 0 ? d.ToString() : SymbolicDimensions[i] ?? "?"))}]";
}
