// Licensed under the MIT license.
// Kernels that only move data: copies into graph outputs and concatenation.

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

internal static class DataMovementEmitter
{
    private const string MemoryCopy = "global::System.Buffer.MemoryCopy";

    public static IEnumerable<string> Remarks(CopySpec c)
    {
        yield return $"lowering: copy of {c.Count} elements";
    }

    public static void EmitCopy(CopySpec c, string x, string y, SourceWriter w)
    {
        long bytes = c.Count * 4;
        w.WriteLine($"{MemoryCopy}({x}, {y}, {EmitContext.Long(bytes)}L, {EmitContext.Long(bytes)}L);");
    }

    public static IEnumerable<string> Remarks(ConcatSpec c)
    {
        yield return $"lowering: concatenation of {c.InnerSizes.Count} inputs, {c.Outer} blocks of [{string.Join(", ", c.InnerSizes)}] elements";
    }

    public static void EmitConcat(ConcatSpec c, IReadOnlyList<string> inputs, string y, SourceWriter w)
    {
        if (c.Outer > 1) w.OpenBlock($"for (long o = 0; o < {EmitContext.Long(c.Outer)}L; o++)");
        string o = c.Outer > 1 ? "o" : "0";
        long offset = 0;
        for (int j = 0; j < inputs.Count; j++)
        {
            long inner = c.InnerSizes[j];
            long bytes = inner * 4;
            string src = c.Outer > 1 ? $"{inputs[j]} + {o} * {EmitContext.Long(inner)}L" : inputs[j];
            string dst = c.Outer > 1 ? $"{y} + {o} * {EmitContext.Long(c.OutInner)}L + {EmitContext.Long(offset)}L" : $"{y} + {EmitContext.Long(offset)}L";
            w.WriteLine($"{MemoryCopy}({src}, {dst}, {EmitContext.Long(bytes)}L, {EmitContext.Long(bytes)}L);");
            offset += inner;
        }
        if (c.Outer > 1) w.CloseBlock();
    }
}
