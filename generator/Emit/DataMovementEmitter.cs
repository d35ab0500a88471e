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
        yield return $"lowering: copy of {c.Bytes} bytes";
    }

    public static void EmitCopy(CopySpec c, string x, string y, SourceWriter w)
    {
        w.WriteLine($"{MemoryCopy}({x}, {y}, {EmitContext.Long(c.Bytes)}L, {EmitContext.Long(c.Bytes)}L);");
    }

    public static IEnumerable<string> Remarks(CastSpec c)
    {
        yield return $"lowering: element-wise conversion of {c.Count} elements";
    }

    public static void EmitCast(CastSpec c, string x, string inType, string y, string outType, SourceWriter w)
    {
        string v = $"{x}[i]";
        string expr = (inType, outType) switch
        {
            (_, "bool") when inType != "bool" => $"{v} != 0",
            ("bool", _) when outType != "bool" => $"({outType})({v} ? 1 : 0)",
            _ => $"({outType}){v}",
        };
        w.WriteLine($"for (long i = 0; i < {EmitContext.Long(c.Count)}L; i++) {y}[i] = {expr};");
    }

    public static IEnumerable<string> Remarks(ConcatSpec c)
    {
        yield return $"lowering: concatenation of {c.InnerSizes.Count} inputs, {c.Outer} blocks of [{string.Join(", ", c.InnerSizes)}] elements";
    }

    /// <summary>Rows of a transpose per part of a parallel layer (a multiple of its 8 x 8 blocks).</summary>
    private const int TransposeRows = 64;

    /// <summary>
    /// The output elements of a data-movement or element-wise layer, and the parts a parallel layer splits it into (rows of
    /// a strided copy, blocks of a transpose's rows, one input's block of a concatenation, blocks of an element-wise
    /// operation's rows; 0: it does not split): what decides that it splits and its remark, and its parallel loop's range.
    /// </summary>
    public static (long Elements, long Parts) Parts(KernelSpec kernel)
    {
        switch (kernel)
        {
            case StridedCopySpec c:
            {
                int rank = c.Shape.Count;
                long elements = Product(c.Shape, 0, rank);
                return IsTranspose(c)
                    ? (elements, Product(c.Shape, 0, rank - 2) * ((c.Shape[rank - 2] + TransposeRows - 1) / TransposeRows))
                    : (elements, Product(c.Shape, 0, rank - 1));
            }
            case ConcatSpec c:
                return (c.Outer * c.OutInner, c.Outer * c.InnerSizes.Count);
            case BroadcastSpec b:
            {
                int rank = b.Shape.Count;
                return (Product(b.Shape, 0, rank), Product(b.Shape, 0, rank - 1) * ElementwiseEmitter.InnerBlocks(b.Shape[rank - 1]));
            }
            default:
                return (0, 0);
        }
    }

    /// <summary>The product of <paramref name="shape"/>[<paramref name="from"/>..<paramref name="to"/>).</summary>
    internal static long Product(IReadOnlyList<int> shape, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }

    /// <summary>
    /// In a parallel layer's part: the indices <c>i0</c>..<c>i{axes - 1}</c> of the flat outer index <paramref name="flat"/>
    /// over the first <paramref name="axes"/> axes of <paramref name="shape"/> (row-major).
    /// </summary>
    internal static void EmitOuterIndices(IReadOnlyList<int> shape, int axes, string flat, SourceWriter w)
    {
        if (axes == 0) return;
        w.WriteLine($"long rest = {flat};");
        for (int i = axes - 1; i > 0; i--)
        {
            w.WriteLine($"int i{i} = (int)(rest % {shape[i]});");
            w.WriteLine($"rest /= {shape[i]};");
        }
        w.WriteLine("int i0 = (int)rest;");
    }

    public static void EmitConcat(ConcatSpec c, IReadOnlyList<string> inputs, string y, SourceWriter w, EmitContext ctx)
    {
        if (ctx.InParallelLayer)
        {
            // A part copies one input's block of one outer index.
            ctx.ParallelFor(w, Parts(c).Parts, b =>
            {
                b.OpenBlock("for (long t = pb; t < pe; t++)");
                b.WriteLine($"long o = t / {inputs.Count};");
                b.OpenBlock($"switch ((int)(t % {inputs.Count}))");
                long at = 0;
                for (int j = 0; j < inputs.Count; j++)
                {
                    long inner = c.InnerSizes[j], bytes = inner * 4;
                    b.WriteLine($"case {j}: {MemoryCopy}({inputs[j]} + o * {EmitContext.Long(inner)}L, {y} + o * {EmitContext.Long(c.OutInner)}L + {EmitContext.Long(at)}L, {EmitContext.Long(bytes)}L, {EmitContext.Long(bytes)}L); break;");
                    at += inner;
                }
                b.CloseBlock();
                b.CloseBlock();
            });
            return;
        }
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

    public static IEnumerable<string> Remarks(StridedCopySpec c)
    {
        yield return $"lowering: strided copy over [{string.Join("x", c.Shape)}], input strides [{string.Join(",", c.InStrides)}], offset {c.Offset}" +
            (IsTranspose(c) ? "; the last two axes transposed in 8x8 blocks" : "");
    }

    /// <summary>Whether the copy transposes its last two axes (the input's unit stride on the second-last), both at least 8 long.</summary>
    private static bool IsTranspose(StridedCopySpec c)
    {
        int rank = c.Shape.Count;
        return rank >= 2 && c.InStrides[rank - 2] == 1 && c.InStrides[rank - 1] > 1 && c.InStrides[rank - 1] <= int.MaxValue && c.Shape[rank - 2] >= 8 && c.Shape[rank - 1] >= 8;
    }

    public static void EmitStridedCopy(StridedCopySpec c, string x, string y, SourceWriter w, EmitContext ctx)
    {
        int rank = c.Shape.Count;
        if (IsTranspose(c))
        {
            EmitTranspose(c, x, y, w, ctx);
            return;
        }
        if (ctx.InParallelLayer)
        {
            // A part copies one row (the outer axes flattened).
            ctx.ParallelFor(w, Parts(c).Parts, b =>
            {
                b.OpenBlock("for (long t = pb; t < pe; t++)");
                EmitOuterIndices(c.Shape, rank - 1, "t", b);
                OuterPointers(c, rank - 1, c.Shape[rank - 1], x, y, b);
                EmitRow(c, b);
                b.CloseBlock();
            });
            return;
        }
        OpenOuterLoops(c, rank - 1, c.Shape[rank - 1], x, y, w);
        EmitRow(c, w);
        for (int i = 0; i < rank - 1; i++) w.CloseBlock();
    }

    /// <summary>The copy of one output row (the last axis) from <c>xs</c> to <c>yd</c>.</summary>
    private static void EmitRow(StridedCopySpec c, SourceWriter w)
    {
        int rank = c.Shape.Count;
        int inner = c.Shape[rank - 1];
        long innerStride = c.InStrides[rank - 1];
        if (innerStride == 1)
        {
            w.WriteLine($"{MemoryCopy}(xs, yd, {EmitContext.Long((long)inner * 4)}L, {EmitContext.Long((long)inner * 4)}L);");
        }
        else
        {
            // Vectorised for stride 2 (a Slice with steps, a strided 1x1 convolution's input), a scalar loop otherwise.
            w.WriteLine(innerStride is >= int.MinValue and <= int.MaxValue
                ? $"{EmitContext.RuntimeNs}.StridedCopy.Strided(xs, yd, {inner}, {innerStride});"
                : $"for (int j = 0; j < {inner}; j++) yd[j] = xs[j * {EmitContext.Long(innerStride)}L];");
        }
    }

    /// <summary>
    /// The last two axes transposed (the input's unit stride on the second-last): blocks through StridedCopy.Transpose, per
    /// outer index; in a parallel layer, per block of <see cref="TransposeRows"/> output rows.
    /// </summary>
    private static void EmitTranspose(StridedCopySpec c, string x, string y, SourceWriter w, EmitContext ctx)
    {
        int rank = c.Shape.Count;
        int rows = c.Shape[rank - 2], cols = c.Shape[rank - 1];
        if (ctx.InParallelLayer)
        {
            int blocks = (rows + TransposeRows - 1) / TransposeRows;
            ctx.ParallelFor(w, Parts(c).Parts, b =>
            {
                b.OpenBlock("for (long t = pb; t < pe; t++)");
                EmitOuterIndices(c.Shape, rank - 2, $"t / {blocks}", b);
                OuterPointers(c, rank - 2, (long)rows * cols, x, y, b);
                b.WriteLine($"int r0 = (int)(t % {blocks}) * {TransposeRows};");
                b.WriteLine($"{EmitContext.RuntimeNs}.StridedCopy.Transpose(xs + r0, {EmitContext.Long(c.InStrides[rank - 1])}L, yd + (long)r0 * {cols}, {cols}L, {EmitContext.Math}.Min({TransposeRows}, {rows} - r0), {cols});");
                b.CloseBlock();
            });
            return;
        }
        OpenOuterLoops(c, rank - 2, (long)rows * cols, x, y, w);
        w.WriteLine($"{EmitContext.RuntimeNs}.StridedCopy.Transpose(xs, {EmitContext.Long(c.InStrides[rank - 1])}L, yd, {cols}L, {rows}, {cols});");
        for (int i = 0; i < rank - 2; i++) w.CloseBlock();
    }

    /// <summary>
    /// Loops over the first <paramref name="outer"/> axes (closed by the caller) and, inside, <c>xs</c> and <c>yd</c>: the
    /// input and output at that outer index (the output's inner part <paramref name="innerElements"/> long).
    /// </summary>
    private static void OpenOuterLoops(StridedCopySpec c, int outer, long innerElements, string x, string y, SourceWriter w)
    {
        for (int i = 0; i < outer; i++) w.OpenBlock($"for (int i{i} = 0; i{i} < {c.Shape[i]}; i{i}++)");
        OuterPointers(c, outer, innerElements, x, y, w);
    }

    /// <summary><c>xs</c> and <c>yd</c>: the input and output at the outer index <c>i0</c>..<c>i{outer - 1}</c>.</summary>
    private static void OuterPointers(StridedCopySpec c, int outer, long innerElements, string x, string y, SourceWriter w)
    {
        var src = new List<string> { EmitContext.Long(c.Offset) + "L" };
        var dst = new List<string>();
        long outStride = innerElements;
        for (int i = outer - 1; i >= 0; i--)
        {
            if (c.InStrides[i] != 0) src.Add($"i{i} * {EmitContext.Long(c.InStrides[i])}L");
            dst.Add($"i{i} * {EmitContext.Long(outStride)}L");
            outStride *= c.Shape[i];
        }
        w.WriteLine($"float* xs = {x} + {string.Join(" + ", src)};");
        w.WriteLine($"float* yd = {y}{(dst.Count == 0 ? "" : " + " + string.Join(" + ", dst))};");
    }

    public static IEnumerable<string> Remarks(GatherSpec g)
    {
        yield return $"lowering: gather of {g.Indices.Count} slices of {g.Inner} elements from an axis of {g.AxisLength}, {g.Outer} outer blocks";
    }

    public static void EmitGather(GatherSpec g, string x, string y, SourceWriter w)
    {
        w.WriteLine($"int* indices = stackalloc int[{g.Indices.Count}] {{ {string.Join(", ", g.Indices)} }};");
        w.OpenBlock($"for (long o = 0; o < {EmitContext.Long(g.Outer)}L; o++)");
        w.OpenBlock($"for (int j = 0; j < {g.Indices.Count}; j++)");
        w.WriteLine($"float* xs = {x} + (o * {g.AxisLength} + indices[j]) * {EmitContext.Long(g.Inner)}L;");
        w.WriteLine($"float* yd = {y} + (o * {g.Indices.Count} + j) * {EmitContext.Long(g.Inner)}L;");
        w.WriteLine($"{MemoryCopy}(xs, yd, {EmitContext.Long(g.Inner * 4)}L, {EmitContext.Long(g.Inner * 4)}L);");
        w.CloseBlock();
        w.CloseBlock();
    }
}
