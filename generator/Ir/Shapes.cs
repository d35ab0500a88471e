// Licensed under the MIT license.
// Static shape arithmetic helpers (products, strides, broadcasting, formatting).

using System;
using System.Collections.Generic;
using System.Text;

namespace ModelGen.Generator.Ir;

internal static class Shapes
{
    public static long Product(IReadOnlyList<int> shape)
    {
        long p = 1;
        foreach (int d in shape) p *= d;
        return p;
    }

    public static long Product(IReadOnlyList<int> shape, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }

    /// <summary>Row-major strides in elements.</summary>
    public static long[] Strides(IReadOnlyList<int> shape)
    {
        var s = new long[shape.Count];
        long acc = 1;
        for (int i = shape.Count - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    public static string Format(IReadOnlyList<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Count; i++)
        {
            if (i > 0) sb.Append('x');
            sb.Append(shape[i]);
        }
        return sb.Append(']').ToString();
    }

    /// <summary>Multidirectional (numpy) broadcasting. Returns null when the shapes are incompatible.</summary>
    public static int[]? Broadcast(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int rank = Math.Max(a.Count, b.Count);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Count) >= 0 ? a[i - (rank - a.Count)] : 1;
            int db = i - (rank - b.Count) >= 0 ? b[i - (rank - b.Count)] : 1;
            if (da == db || db == 1) r[i] = da;
            else if (da == 1) r[i] = db;
            else return null;
        }
        return r;
    }

    /// <summary>Strides (in elements) of <paramref name="shape"/> read as broadcast to <paramref name="outShape"/> (0 on broadcast axes).</summary>
    public static long[] BroadcastStrides(IReadOnlyList<int> shape, IReadOnlyList<int> outShape)
    {
        var strides = new long[outShape.Count];
        long[] own = Strides(shape);
        int offset = outShape.Count - shape.Count;
        for (int i = 0; i < outShape.Count; i++)
        {
            int j = i - offset;
            strides[i] = j < 0 || shape[j] == 1 ? 0 : own[j];
        }
        return strides;
    }

    public static bool SameShape(IReadOnlyList<int>? a, IReadOnlyList<int>? b)
    {
        if (a is null || b is null || a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] != b[i]) return false;
        }
        return true;
    }

    /// <summary>Normalises a possibly negative axis; returns -1 when out of range.</summary>
    public static int NormalizeAxis(long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        return a < 0 || a >= rank ? -1 : (int)a;
    }
}
