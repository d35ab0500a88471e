// Licensed under the MIT license.
// The contract every generated model class implements.

using System;
using System.Collections.Generic;

namespace ModelGen.Runtime;

/// <summary>A model compiled to C# by ModelGen. One inference at a time per instance; use one instance per thread.</summary>
public interface ICompiledModel : IDisposable
{
    /// <summary>The graph inputs, in graph order.</summary>
    IReadOnlyList<TensorInfo> Inputs { get; }

    /// <summary>The graph outputs, in graph order.</summary>
    IReadOnlyList<TensorInfo> Outputs { get; }

    /// <summary>Runs one inference.</summary>
    /// <param name="inputs">One buffer per input, in graph order, each exactly <see cref="TensorInfo.ElementCount"/> long (row-major).</param>
    /// <param name="outputs">One buffer per output, in graph order, each exactly <see cref="TensorInfo.ElementCount"/> long.</param>
    /// <exception cref="ArgumentException">A buffer count or length does not match.</exception>
    /// <exception cref="ObjectDisposedException">The instance was disposed.</exception>
    /// <exception cref="InvalidOperationException">The instance is already running on another thread.</exception>
    /// <exception cref="NotSupportedException">The model contains nodes ModelGen could not compile.</exception>
    void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, ReadOnlySpan<Memory<float>> outputs);
}

/// <summary>Name and static shape of a graph input or output.</summary>
public sealed class TensorInfo
{
    /// <summary>Creates the description of a tensor.</summary>
    /// <param name="name">The ONNX name.</param>
    /// <param name="shape">The static shape (row-major).</param>
    public TensorInfo(string name, int[] shape)
    {
        Name = name;
        Shape = Array.AsReadOnly((int[])shape.Clone());
        long count = 1;
        foreach (int d in shape) count *= d;
        ElementCount = checked((int)count);
    }

    /// <summary>The ONNX tensor name.</summary>
    public string Name { get; }

    /// <summary>The static shape.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The number of elements (the product of <see cref="Shape"/>).</summary>
    public int ElementCount { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join("x", Shape)}]";
}
