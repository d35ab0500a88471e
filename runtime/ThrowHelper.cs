// Licensed under the MIT license.
// Exceptions thrown by generated code (kept out of the hot methods so they stay small).

using System;
using System.Diagnostics.CodeAnalysis;

namespace ModelGen.Runtime;

/// <summary>Throw helpers used by generated model classes.</summary>
public static class ThrowHelper
{
    /// <summary>Throws <see cref="ArgumentException"/> for a buffer of the wrong length.</summary>
    /// <param name="tensor">The ONNX tensor name.</param>
    /// <param name="parameter">The parameter name.</param>
    /// <param name="expected">The required element count.</param>
    /// <param name="actual">The element count passed.</param>
    [DoesNotReturn]
    public static void BufferLength(string tensor, string parameter, int expected, int actual) =>
        throw new ArgumentException(
            $"Buffer for tensor '{tensor}' has {actual} elements; the model needs exactly {expected}.", parameter);

    /// <summary>Throws <see cref="ArgumentException"/> for the wrong number of buffers.</summary>
    [DoesNotReturn]
    public static void BufferCount(string parameter, int expected, int actual) =>
        throw new ArgumentException($"Expected {expected} buffers, got {actual}.", parameter);

    /// <summary>Throws <see cref="NotSupportedException"/> for the float overload of a model with non-float tensors.</summary>
    [DoesNotReturn]
    public static void NotFloat(string model, string tensor, string type) =>
        throw new NotSupportedException(
            $"{model}: tensor '{tensor}' is {type}, not float; use Run(ReadOnlySpan<ReadOnlyMemory<byte>>, ReadOnlySpan<Memory<byte>>) or the typed Run.");

    /// <summary>Throws <see cref="InvalidOperationException"/> when one instance is run from two threads at once.</summary>
    [DoesNotReturn]
    public static void ConcurrentRun(string model) =>
        throw new InvalidOperationException(
            $"{model}.Run was called while another Run on the same instance is in progress; use one instance per thread.");

    /// <summary>Throws <see cref="ObjectDisposedException"/>.</summary>
    [DoesNotReturn]
    public static void Disposed(string model) => throw new ObjectDisposedException(model);
}
