// Licensed under the MIT license.
// Multidirectional broadcasting for N inputs: output shape, per-input strides, and axis merging for the kernels.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Ir;

namespace ModelGen.Generator.Ops.Shared;

internal static class Broadcasting
{
    /// <summary>The broadcast shape of all inputs, or null when they do not broadcast.</summary>
    public static int[]? Shape(IEnumerable<int[]> shapes)
    {
        int[]? result = null;
        foreach (int[] s in shapes)
        {
            result = result is null ? s : Shapes.Broadcast(result, s);
            if (result is null) return null;
        }
        return result;
    }

    /// <summary>Merges adjacent axes that are contiguous (or broadcast) for every input; drops size-1 axes.</summary>
    public static (int[] Shape, long[][] Strides) Merge(int[] shape, long[][] strides)
    {
        var dims = new List<int>();
        var st = strides.Select(_ => new List<long>()).ToArray();
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            int last = dims.Count - 1;
            bool mergeable = last >= 0;
            for (int k = 0; mergeable && k < strides.Length; k++) mergeable = st[k][last] == strides[k][i] * shape[i];
            if (mergeable)
            {
                dims[last] *= shape[i];
                for (int k = 0; k < strides.Length; k++) st[k][last] = strides[k][i];
                continue;
            }
            dims.Add(shape[i]);
            for (int k = 0; k < strides.Length; k++) st[k].Add(strides[k][i]);
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            foreach (var s in st) s.Add(0);
        }
        return (dims.ToArray(), st.Select(s => s.ToArray()).ToArray());
    }
}
