// Licensed under the MIT license.
// The lowered, equatable description of one compiled model: everything the emitter needs, nothing it does not.

using ModelGen.Generator.Common;

namespace ModelGen.Generator.Model;

/// <summary>One model compiled for one profile.</summary>
/// <remarks>
/// Cacheability contract: only strings, numbers, records and <see cref="EquatableArray{T}"/>; no Roslyn symbols, no
/// compilation, no weight bytes (weights appear as file offsets and content hashes). Two runs over the same model and
/// options give equal specs, so the emitter step is skipped when nothing relevant changed. A reflection test enforces it.
/// </remarks>
internal sealed record ModelSpec
{
    public required string ClassName { get; init; }
    public required string Namespace { get; init; }
    public required string Profile { get; init; }
    public required string ModelFileName { get; init; }
    public required string ResourceName { get; init; }
    public required long ModelFileLength { get; init; }
    public required string ModelHash { get; init; }
    public required string Producer { get; init; }
    public required string Opsets { get; init; }
    public required EquatableArray<IoSpec> Inputs { get; init; }
    public required EquatableArray<IoSpec> Outputs { get; init; }
    public required EquatableArray<TensorSpec> Tensors { get; init; }
    public required EquatableArray<WeightSpec> Weights { get; init; }
    public required EquatableArray<LayerSpec> Layers { get; init; }
    public required long ArenaBytes { get; init; }
    public required long PackedWeightBytes { get; init; }
    /// <summary>Nodes that could not be compiled; when non-empty Run throws NotSupportedException.</summary>
    public required EquatableArray<string> UnsupportedNodes { get; init; }
}

/// <summary>A graph input or output of the public API.</summary>
/// <remarks>Cacheability contract: strings and ints only.</remarks>
internal sealed record IoSpec(string Name, string Identifier, string ConstPrefix, EquatableArray<int> Shape, int TensorId, string ElementType)
{
    public long ElementCount
    {
        get
        {
            long p = 1;
            foreach (int d in Shape) p *= d;
            return p;
        }
    }
}

internal enum TensorLocation
{
    Arena,
    Input,
    Output,
}

/// <summary>A storage unit for activations: a slice of the arena, or a user input/output buffer.</summary>
/// <remarks>Cacheability contract: strings and numbers only.</remarks>
internal sealed record TensorSpec(int Id, string Name, string ElementType, EquatableArray<int> Shape, TensorLocation Location, long Offset, int IoIndex)
{
    public long ElementCount
    {
        get
        {
            long p = 1;
            foreach (int d in Shape) p *= d;
            return p;
        }
    }
}

/// <summary>Where a weight's bytes come from at construction time.</summary>
internal enum WeightSourceKind
{
    /// <summary>float32 slice of the embedded model file, used in place (zero copy).</summary>
    File,
    /// <summary>A small array emitted into the source (folded constants).</summary>
    Literal,
    /// <summary>Computed at construction into the packed-weight block (packing, BatchNorm folding, conversions).</summary>
    Transform,
}

/// <summary>A constant operand of the kernels.</summary>
/// <remarks>
/// Cacheability contract: numbers and strings; literal values are stored as their round-trip text. For
/// <see cref="WeightSourceKind.Transform"/>, <see cref="Transform"/> names a function of the runtime's
/// <c>WeightTransforms</c> class and <see cref="Operands"/> the weights it reads.
/// </remarks>
internal sealed record WeightSpec
{
    public required int Id { get; init; }
    public required string Name { get; init; }
    public required WeightSourceKind Kind { get; init; }
    public required long ElementCount { get; init; }
    public required string ContentHash { get; init; }
    /// <summary>File: byte offset in the model file. Transform: byte offset in the packed block.</summary>
    public long Offset { get; init; }
    public EquatableArray<string> Literal { get; init; } = EquatableArray<string>.Empty;
    public string Transform { get; init; } = "";
    public EquatableArray<int> Operands { get; init; } = EquatableArray<int>.Empty;
    public EquatableArray<string> Parameters { get; init; } = EquatableArray<string>.Empty;
    public EquatableArray<int> Shape { get; init; } = EquatableArray<int>.Empty;
    /// <summary>ONNX element type name of the weight's data (Float unless an integer or bool literal).</summary>
    public string ElementType { get; init; } = "Float";
}

internal enum OperandKind
{
    /// <summary>An activation tensor (arena slice or user buffer).</summary>
    Tensor,
    /// <summary>A constant (model file slice or packed-weight block).</summary>
    Weight,
}

/// <summary>A pointer argument of a layer method (<c>float* {Parameter}</c>).</summary>
/// <remarks>Cacheability contract: strings, enums and numbers.</remarks>
internal sealed record Operand(string Parameter, OperandKind Kind, int Id, bool Writes = false, long ElementOffset = 0);

/// <summary>One generated layer method (one ONNX node, or a fused group).</summary>
/// <remarks>Cacheability contract: records and strings only; <see cref="Kernel"/> subtypes are records of numbers.</remarks>
internal sealed record LayerSpec
{
    public required int Index { get; init; }
    public required string MethodName { get; init; }
    /// <summary>The ONNX node(s), op, attributes and shapes, for the generated remarks.</summary>
    public required EquatableArray<string> Remarks { get; init; }
    /// <summary>The ONNX nodes this layer computes: its node, then the ones fused into it.</summary>
    public EquatableArray<string> Nodes { get; init; } = EquatableArray<string>.Empty;
    public required EquatableArray<Operand> Operands { get; init; }
    public required KernelSpec Kernel { get; init; }
    /// <summary>Multiply-accumulates the layer performs (for the per-layer performance report).</summary>
    public long Macs { get; init; }
}

/// <summary>Base of the per-family kernel specs (Emit/ has one emitter per family).</summary>
internal abstract record KernelSpec;
