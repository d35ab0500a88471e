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
        // calloc hands out large blocks as fresh zero pages (no memset, no page touched until used): packing then
        // touches each page once. The block is over-allocated to align it; the original pointer sits just before.
        // Blocks of 8 MB or more (packed weights of large models) are aligned to 2 MB and, on Linux, advised to use
        // transparent huge pages: a few hundred page faults and TLB entries instead of thousands.
        bool huge = bytes >= HugeThreshold && OperatingSystem.IsLinux();
        nuint alignment = huge ? HugePage : Alignment;
        byte* raw = (byte*)NativeMemory.AllocZeroed((nuint)bytes + alignment + (nuint)sizeof(void*));
        byte* aligned = (byte*)(((nuint)raw + (nuint)sizeof(void*) + alignment - 1) & ~(alignment - 1));
        ((void**)aligned)[-1] = raw;
        if (huge) AdviseHugePages(aligned, (nuint)bytes);
        return aligned;
    }

    private const long HugeThreshold = 8L << 20;
    private const nuint HugePage = 2u << 20;
    private static bool s_noMadvise;

    private static void AdviseHugePages(byte* p, nuint bytes)
    {
        if (s_noMadvise) return;
        try
        {
            _ = madvise(p, bytes, 14); // MADV_HUGEPAGE; a refusal only means small pages
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_noMadvise = true;
        }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int madvise(void* address, nuint length, int advice);

    /// <summary>Frees memory from <see cref="Allocate"/> (null is ignored).</summary>
    /// <param name="pointer">A pointer <see cref="Allocate"/> returned, or null.</param>
    public static void Free(byte* pointer)
    {
        if (pointer != null) NativeMemory.Free(((void**)pointer)[-1]);
    }
}
