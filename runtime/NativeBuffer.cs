// Licensed under the MIT license.
// 64-byte aligned native memory for activation arenas and packed weights.

using System;
using System.Runtime.InteropServices;

namespace ModelGen.Runtime;

/// <summary>Allocates and frees 64-byte aligned, zeroed native memory.</summary>
public static unsafe class NativeBuffer
{
    /// <summary>Cache-line alignment of every buffer.</summary>
    public const int Alignment = 64;

    /// <summary>Allocates <paramref name="bytes"/> zeroed bytes aligned to <see cref="Alignment"/> (null for 0 bytes).</summary>
    /// <exception cref="OutOfMemoryException">The allocation failed.</exception>
    public static byte* Allocate(long bytes)
    {
        if (bytes <= 0) return null;
        void* p = NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
        NativeMemory.Clear(p, (nuint)bytes);
        return (byte*)p;
    }

    /// <summary>Frees memory from <see cref="Allocate"/> (null is ignored).</summary>
    public static void Free(byte* pointer)
    {
        if (pointer != null) NativeMemory.AlignedFree(pointer);
    }
}
