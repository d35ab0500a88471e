// Licensed under the MIT license.
// Build-time memory plan: every arena tensor gets a fixed byte offset in one per-instance arena. Tensors whose
// lifetimes (first write .. last read, in layer order) overlap never share bytes; others reuse them.

using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Passes;

internal static class MemoryPlanner
{
    /// <summary>Alignment of every tensor (a cache line; lets kernels use full-vector loads from any tensor start).</summary>
    public const long Alignment = 64;

    /// <summary>
    /// Bytes after the last tensor: GEMM kernels read a row-major B operand a full tile wide, so the last row of a tensor
    /// may be over-read by up to one tile (64 floats) into this padding; those lanes are never stored.
    /// </summary>
    public const long TailPadding = 512;

    /// <summary>Assigns arena offsets; returns the arena size in bytes.</summary>
    public static long Plan(LoweringContext ctx)
    {
        int n = ctx.Tensors.Count;
        var first = new int[n];
        var last = new int[n];
        for (int i = 0; i < n; i++)
        {
            first[i] = int.MaxValue;
            last[i] = -1;
        }
        foreach (LayerSpec layer in ctx.Layers)
        {
            foreach (Operand op in layer.Operands)
            {
                if (op.Kind != OperandKind.Tensor) continue;
                first[op.Id] = Math.Min(first[op.Id], layer.Index);
                last[op.Id] = Math.Max(last[op.Id], layer.Index);
            }
        }

        // Slices (inputs of in-place concatenations) live inside their root tensor: the root spans their lifetimes.
        for (int i = 0; i < n; i++)
        {
            if (ctx.Tensors[i].ViewOf < 0 || last[i] < 0) continue;
            int root = Root(ctx, i, out _);
            first[root] = Math.Min(first[root], first[i]);
            last[root] = Math.Max(last[root], last[i]);
        }

        var arena = ctx.Tensors
            .Where(t => t.Location == TensorLocation.Arena && t.ViewOf < 0 && last[t.Id] >= 0)
            .OrderByDescending(t => SizeOf(t))
            .ThenBy(t => first[t.Id])
            .ThenBy(t => t.Id)
            .ToList();
        var placed = new List<(long Start, long End, int First, int Last)>();
        long total = 0;
        foreach (LoweringContext.TensorBuilder t in arena)
        {
            long size = Align(SizeOf(t));
            // Lowest offset that does not overlap any placed tensor whose lifetime intersects this one.
            var conflicts = placed
                .Where(p => p.First <= last[t.Id] && first[t.Id] <= p.Last)
                .OrderBy(p => p.Start)
                .ToList();
            long offset = 0;
            foreach (var p in conflicts)
            {
                if (offset + size <= p.Start) break;
                offset = Math.Max(offset, p.End);
            }
            t.Offset = offset;
            placed.Add((offset, offset + size, first[t.Id], last[t.Id]));
            total = Math.Max(total, offset + size);
        }
        // Slices take their root's place (an arena offset, or a graph output buffer) plus their element offset.
        foreach (LoweringContext.TensorBuilder t in ctx.Tensors)
        {
            if (t.ViewOf < 0) continue;
            LoweringContext.TensorBuilder root = ctx.Tensors[Root(ctx, t.Id, out long elements)];
            t.Location = root.Location;
            t.IoIndex = root.IoIndex;
            t.Offset = (root.Location == TensorLocation.Arena ? root.Offset : 0) + elements * Math.Max(1, Constant.ElementSize(t.Type));
        }
        return total + TailPadding;
    }

    /// <summary>The tensor a slice ultimately lives in, and the slice's element offset in it.</summary>
    private static int Root(LoweringContext ctx, int id, out long elements)
    {
        elements = 0;
        while (ctx.Tensors[id].ViewOf >= 0)
        {
            elements += ctx.Tensors[id].ViewElementOffset;
            id = ctx.Tensors[id].ViewOf;
        }
        return id;
    }

    public static long SizeOf(LoweringContext.TensorBuilder t) =>
        Math.Max(1, Shapes.Product(t.Shape)) * Math.Max(1, Constant.ElementSize(t.Type));

    private static long Align(long bytes) => (bytes + Alignment - 1) / Alignment * Alignment;
}
