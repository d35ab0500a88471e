// Licensed under the MIT license.
// Maps a model embedded as a manifest resource: a pointer into the loaded assembly image, no copy.

using System;
using System.IO;
using System.Reflection;

namespace ModelGen.Runtime;

/// <summary>Access to the .onnx file the ModelGen build targets embed into the assembly.</summary>
public static unsafe class ModelResource
{
    /// <summary>Returns a pointer to the embedded resource's bytes (valid while the assembly is loaded).</summary>
    /// <param name="assembly">The assembly holding the resource (the one with the generated class).</param>
    /// <param name="name">The manifest resource name (the build targets use <c>ModelGen.&lt;file name&gt;</c>).</param>
    /// <param name="expectedLength">The model file's length at build time.</param>
    /// <exception cref="InvalidOperationException">The resource is missing or its length differs from the build-time model.</exception>
    public static byte* Map(Assembly assembly, string name, long expectedLength)
    {
        Stream? stream = assembly.GetManifestResourceStream(name);
        if (stream is null)
        {
            throw new InvalidOperationException(
                $"The model resource '{name}' is not embedded in '{assembly.GetName().Name}'. The ModelGen package's build " +
                "targets embed each .onnx AdditionalFiles item; check that the package (or its build/ModelGen.targets) is imported.");
        }
        if (stream is not UnmanagedMemoryStream ums)
        {
            stream.Dispose();
            throw new InvalidOperationException($"The model resource '{name}' is not memory-mapped.");
        }
        if (ums.Length != expectedLength)
        {
            long actual = ums.Length;
            ums.Dispose();
            throw new InvalidOperationException(
                $"The model resource '{name}' has {actual} bytes but the generated code was built for {expectedLength}; rebuild the project.");
        }
        // The stream does not own the memory (it is the assembly image), so disposing it keeps the pointer valid.
        byte* pointer = ums.PositionPointer;
        ums.Dispose();
        return pointer;
    }
}
