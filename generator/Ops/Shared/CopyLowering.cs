// Licensed under the MIT license.
// Lowers data-movement ops (Transpose, Slice, Expand, ...) to one strided copy with merged axes.

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops.Shared;

internal static class CopyLowering
{
    /// <summary>Adds a layer computing y[i] = x[offset + sum(i_d * strides[d])] over <paramref name="outShape"/>.</summary>
    public static void StridedCopy(Node node, LoweringContext ctx, Value x, Value y, int[] outShape, long[] strides, long offset, IEnumerable<string>? remarks = null)
    {
        if (x.Type != OnnxDataType.Float) throw new UnsupportedNodeException($"{x.Type} tensors computed at run time");
        if (Shapes.Product(outShape) == 0) throw new UnsupportedNodeException("an empty output");
        var dims = new List<int>();
        var st = new List<long>();
        for (int i = 0; i < outShape.Length; i++)
        {
            if (outShape[i] == 1) continue;
            int last = dims.Count - 1;
            if (last >= 0 && st[last] == strides[i] * outShape[i])
            {
                dims[last] *= outShape[i];
                st[last] = strides[i];
                continue;
            }
            dims.Add(outShape[i]);
            st.Add(strides[i]);
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            st.Add(1);
        }
        ctx.AddLayer(node, new StridedCopySpec(dims.ToEquatableArray(), st.ToEquatableArray(), offset),
            new[] { ctx.In("X", x), ctx.Out("Y", y) }, remarks);
    }

    /// <summary>
    /// A reshape of x to <paramref name="view"/> followed by a transpose by <paramref name="perm"/> (DepthToSpace,
    /// SpaceToDepth): returns the output shape (in permuted order) and the input strides of each output axis.
    /// </summary>
    public static (int[] Shape, long[] Strides) PermutedView(int[] view, int[] perm)
    {
        long[] strides = Shapes.Strides(view);
        var shape = new int[perm.Length];
        var st = new long[perm.Length];
        for (int i = 0; i < perm.Length; i++)
        {
            shape[i] = view[perm[i]];
            st[i] = strides[perm[i]];
        }
        return (shape, st);
    }
}
