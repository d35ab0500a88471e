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

    /// <summary>Runs one inference on raw little-endian buffers: for models with non-float inputs or outputs.</summary>
    /// <param name="inputs">One buffer per input, each exactly <see cref="TensorInfo.ByteCount"/> bytes of <see cref="TensorInfo.ElementType"/>.</param>
    /// <param name="outputs">One buffer per output, each exactly <see cref="TensorInfo.ByteCount"/> bytes.</param>
    /// <exception cref="ArgumentException">A buffer count or length does not match.</exception>
    void Run(ReadOnlySpan<ReadOnlyMemory<byte>> inputs, ReadOnlySpan<Memory<byte>> outputs);
}

/// <summary>Name and static shape of a graph input or output.</summary>
public sealed class TensorInfo
{
    /// <summary>Creates the description of a tensor.</summary>
    /// <param name="name">The ONNX name.</param>
    /// <param name="shape">The static shape (row-major).</param>
    public TensorInfo(string name, int[] shape)
        : this(name, shape, typeof(float))
    {
    }

    /// <summary>Creates the description of a tensor of the given element type.</summary>
    /// <param name="name">The ONNX name.</param>
    /// <param name="shape">The static shape (row-major).</param>
    /// <param name="elementType">The element type (float, double, long, int, short, ushort, sbyte, byte or bool).</param>
    public TensorInfo(string name, int[] shape, Type elementType)
    {
        Name = name;
        ElementType = elementType;
        ElementSize = SizeOf(elementType);
        Shape = Array.AsReadOnly((int[])shape.Clone());
        long count = 1;
        foreach (int d in shape) count *= d;
        ElementCount = checked((int)count);
    }

    private static int SizeOf(Type t)
    {
        if (t == typeof(float) || t == typeof(int) || t == typeof(uint)) return 4;
        if (t == typeof(double) || t == typeof(long) || t == typeof(ulong)) return 8;
        if (t == typeof(short) || t == typeof(ushort) || t == typeof(Half)) return 2;
        if (t == typeof(byte) || t == typeof(sbyte) || t == typeof(bool)) return 1;
        throw new ArgumentException($"Unsupported element type {t}.", nameof(t));
    }

    /// <summary>The ONNX tensor name.</summary>
    public string Name { get; }

    /// <summary>The static shape.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The number of elements (the product of <see cref="Shape"/>).</summary>
    public int ElementCount { get; }

    /// <summary>The element type (<c>typeof(float)</c> for image tensors).</summary>
    public Type ElementType { get; }

    /// <summary>Bytes per element.</summary>
    public int ElementSize { get; }

    /// <summary>Bytes of the whole tensor.</summary>
    public long ByteCount => (long)ElementCount * ElementSize;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {ElementType.Name}[{string.Join("x", Shape)}]";
}

/// <summary>Per-layer timing of a compiled model (for profiling; not allocation-free).</summary>
public interface IProfiledModel : ICompiledModel
{
    /// <summary>The generated layer methods, in execution order (each names its ONNX node).</summary>
    IReadOnlyList<string> LayerNames { get; }

    /// <summary>Multiply-accumulates of each layer (0 for layers that only move data or are element-wise).</summary>
    IReadOnlyList<long> LayerMacs { get; }

    /// <summary>The ONNX nodes each layer computes (its node, then the ones fused into it: activations, residual Add, BatchNormalization).</summary>
    IReadOnlyList<IReadOnlyList<string>> LayerNodes { get; }

    /// <summary>Runs one inference, recording each layer's duration in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    /// <param name="inputs">As for <see cref="ICompiledModel.Run(ReadOnlySpan{ReadOnlyMemory{float}}, ReadOnlySpan{Memory{float}})"/>.</param>
    /// <param name="outputs">As for <see cref="ICompiledModel.Run(ReadOnlySpan{ReadOnlyMemory{float}}, ReadOnlySpan{Memory{float}})"/>.</param>
    /// <param name="layerTicks">One element per layer, receives the ticks spent in it.</param>
    void RunProfiled(ReadOnlySpan<ReadOnlyMemory<byte>> inputs, ReadOnlySpan<Memory<byte>> outputs, Span<long> layerTicks);
}
