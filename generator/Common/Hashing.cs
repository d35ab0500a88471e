// Licensed under the MIT license.
// Content hashes (FNV-1a 64) used to key specs on weight contents without holding the bytes.

namespace ModelGen.Generator.Common;

internal static class Hashing
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>FNV-1a 64 over a byte range; stable across platforms and runs (used in generated constants).</summary>
    public static ulong Fnv1a64(byte[] data, int offset, int count)
    {
        ulong h = FnvOffset;
        int end = offset + count;
        for (int i = offset; i < end; i++)
        {
            h ^= data[i];
            h *= FnvPrime;
        }
        return h;
    }

    public static ulong Combine(ulong h, ulong v)
    {
        for (int i = 0; i < 8; i++)
        {
            h ^= (byte)(v >> (i * 8));
            h *= FnvPrime;
        }
        return h;
    }

    public static ulong Combine(ulong h, string s)
    {
        foreach (char c in s)
        {
            h ^= c;
            h *= FnvPrime;
        }
        return Combine(h, (ulong)s.Length);
    }

    public static ulong Start => FnvOffset;
}
