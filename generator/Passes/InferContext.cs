// Licensed under the MIT license.
// What op handlers see during shape inference and build-time folding.

using System;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;

namespace ModelGen.Generator.Passes;

/// <summary>A shape-determining input that is not known at build time (reported as MG0102).</summary>
internal sealed class RuntimeDependentShapeException : Exception
{
    public RuntimeDependentShapeException(string input) : base(input) => InputName = input;

    public string InputName { get; }
}

/// <summary>A tensor too large to compile (reported as MG0203).</summary>
internal sealed class TensorTooLargeException : Exception
{
    public TensorTooLargeException(string tensor, string elements) : base(tensor)
    {
        Tensor = tensor;
        Elements = elements;
    }

    public string Tensor { get; }
    public string Elements { get; }
}

internal sealed class InferContext
{
    /// <summary>Largest tensor folded at build time (elements); bigger results stay run-time layers.</summary>
    public const long MaxFoldElements = 1 << 16;

    public InferContext(Graph graph) => Graph = graph;

    public Graph Graph { get; }
    public byte[] Model => Graph.ModelBytes;

    /// <summary>The constant behind an input that must be known at build time (shape, axes, pads...).</summary>
    public Constant RequireConstant(Node node, int index, string name)
    {
        Value? v = node.Input(index);
        if (v is null) throw new InvalidNodeException($"input '{name}' is missing");
        if (v.Constant is null || !v.Constant.IsMaterializable) throw new RuntimeDependentShapeException(name == v.Name ? $"'{name}'" : $"'{name}' ('{v.Name}')");
        return v.Constant;
    }

    /// <summary>An optional build-time input: null when absent (empty name).</summary>
    public Constant? OptionalConstant(Node node, int index, string name)
    {
        Value? v = node.Input(index);
        return v is null ? null : RequireConstant(node, index, name);
    }

    /// <summary>Sets an output's type and static shape, checking that it fits in a span.</summary>
    public void SetOutput(Node node, int index, OnnxDataType type, int[] shape)
    {
        if (index >= node.Outputs.Count) return;
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new InvalidNodeException($"output {index} would have a negative dimension ({Shapes.Format(shape)})");
            count *= d;
            if (count > int.MaxValue) throw new TensorTooLargeException(node.Outputs[index].Name, "more than 2^31");
        }
        Value v = node.Outputs[index];
        v.Type = type;
        v.Shape = shape;
    }

    /// <summary>Converts int64 dims (from attributes or constants) to a checked int shape.</summary>
    public static int[] ToShape(long[] dims, string what)
    {
        var s = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0 || dims[i] > int.MaxValue) throw new InvalidNodeException($"{what} has an invalid dimension {dims[i]}");
            s[i] = (int)dims[i];
        }
        return s;
    }
}
