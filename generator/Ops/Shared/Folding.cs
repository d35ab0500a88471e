// Licensed under the MIT license.
// Build-time evaluation helpers shared by the ops' Fold methods (small tensors only: shape arithmetic and constants).

using System;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops.Shared;

internal static class Folding
{
    /// <summary>True when every present input is a readable constant and every output is small enough to fold.</summary>
    public static bool CanFold(Node node, int inputs = int.MaxValue)
    {
        for (int i = 0; i < node.Inputs.Count && i < inputs; i++)
        {
            Value? v = node.Inputs[i];
            if (v is not null && (v.Constant is null || !v.Constant.IsMaterializable)) return false;
        }
        foreach (Value o in node.Outputs)
        {
            if (o.Shape is null || Shapes.Product(o.Shape) > InferContext.MaxFoldElements) return false;
        }
        return true;
    }

    public static bool IsFloat(OnnxDataType t) => t is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16;

    /// <summary>y[i] = x[offset + sum_d(i_d * strides[d])] at build time (Transpose, Slice, Expand, Gather folding).</summary>
    public static Constant Remap(Constant x, int[] outShape, long[] strides, long offset, byte[] model)
    {
        long count = Shapes.Product(outShape);
        var idx = new int[outShape.Length];
        var positions = new long[count];
        for (long i = 0; i < count; i++)
        {
            long p = offset;
            for (int d = 0; d < idx.Length; d++) p += idx[d] * strides[d];
            positions[i] = p;
            Increment(idx, outShape);
        }
        if (x.Type == OnnxDataType.Double)
        {
            double[] v = x.ToDoubles(model);
            return Constant.FromDoubles(outShape, Array.ConvertAll(positions, p => v[p]));
        }
        if (IsFloat(x.Type))
        {
            float[] v = x.ToFloats(model);
            return Constant.FromFloats(outShape, Array.ConvertAll(positions, p => v[p]));
        }
        long[] l = x.ToLongs(model);
        return Constant.FromLongs(x.Type, outShape, Array.ConvertAll(positions, p => l[p]));
    }

    public static void Increment(int[] idx, int[] shape)
    {
        for (int d = idx.Length - 1; d >= 0; d--)
        {
            if (++idx[d] < shape[d]) return;
            idx[d] = 0;
        }
    }
}
