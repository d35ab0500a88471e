// Licensed under the MIT license.
// Shape-changing kernels with build-time index tables: Pad and Resize. Tables are emitted as static RVA data
// (no allocation), one per padded or resized axis.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Ops;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Emit;

internal static class TensorEmitter
{
    public static IEnumerable<string> Remarks(PadSpec p)
    {
        yield return $"lowering: {p.Mode} pad [{string.Join("x", p.InShape)}] -> [{string.Join("x", p.OutShape)}], begin [{string.Join(",", p.Begin)}]" +
            (p.Mode == "constant" ? $", value {p.Value}" : "") + "; interior rows copied, borders from build-time index tables";
    }

    /// <summary>Static index tables go before the layer method (they are members of the partial class).</summary>
    public static void EmitPadTables(string method, PadSpec p, SourceWriter w)
    {
        for (int d = 0; d < p.InShape.Count; d++)
        {
            if (p.Begin[d] == 0 && p.InShape[d] == p.OutShape[d]) continue;
            var table = Enumerable.Range(0, p.OutShape[d]).Select(o => Pad.Source(p.Mode, o - p.Begin[d], p.InShape[d]));
            w.WriteLine($"private static global::System.ReadOnlySpan<int> {method}_Source{d} => new int[] {{ {string.Join(", ", table)} }};");
        }
    }

    public static void EmitPad(string method, PadSpec p, string x, string y, SourceWriter w)
    {
        int rank = p.InShape.Count;
        long[] inStrides = Ir.Shapes.Strides(p.InShape.ToArray());
        string value = LoweringContext.FloatLiteral(p.Value);
        bool Padded(int d) => !(p.Begin[d] == 0 && p.InShape[d] == p.OutShape[d]);
        var srcTerms = new List<string>();
        var padTests = new List<string>();
        for (int d = 0; d < rank - 1; d++)
        {
            w.OpenBlock($"for (int i{d} = 0; i{d} < {p.OutShape[d]}; i{d}++)");
            if (Padded(d))
            {
                w.WriteLine($"int s{d} = {method}_Source{d}[i{d}];");
                if (p.Mode == "constant") padTests.Add($"s{d} < 0");
            }
            else
            {
                w.WriteLine($"int s{d} = i{d};");
            }
            if (inStrides[d] != 0) srcTerms.Add($"s{d} * {EmitContext.Long(inStrides[d])}L");
        }
        long outRow = p.OutShape[rank - 1];
        var dstTerms = new List<string>();
        long acc = outRow;
        for (int d = rank - 2; d >= 0; d--)
        {
            dstTerms.Add($"i{d} * {EmitContext.Long(acc)}L");
            acc *= p.OutShape[d];
        }
        w.WriteLine($"float* yr = {y}{(dstTerms.Count == 0 ? "" : " + " + string.Join(" + ", dstTerms))};");
        if (padTests.Count > 0)
        {
            w.OpenBlock($"if ({string.Join(" || ", padTests)})");
            w.WriteLine($"new global::System.Span<float>(yr, {outRow}).Fill({value});");
            w.WriteLine(rank > 1 ? "continue;" : "return;");
            w.CloseBlock();
        }
        w.WriteLine($"float* xr = {x}{(srcTerms.Count == 0 ? "" : " + " + string.Join(" + ", srcTerms))};");
        int last = rank - 1, inW = p.InShape[last], b = p.Begin[last];
        // Interior: output columns whose source column is in range copy straight through.
        int lo = System.Math.Max(0, b), hi = System.Math.Min(p.OutShape[last], b + inW);
        if (hi > lo)
        {
            w.WriteLine($"global::System.Buffer.MemoryCopy(xr + {lo - b}, yr + {lo}, {EmitContext.Long((long)(hi - lo) * 4)}L, {EmitContext.Long((long)(hi - lo) * 4)}L);");
        }
        if (lo > 0 || hi < p.OutShape[last])
        {
            string src = Padded(last) ? $"{method}_Source{last}[j]" : "j";
            string elem = p.Mode == "constant" ? value : $"xr[{src}]";
            if (lo > 0) w.WriteLine($"for (int j = 0; j < {lo}; j++) yr[j] = {elem};");
            if (hi < p.OutShape[last]) w.WriteLine($"for (int j = {System.Math.Max(hi, 0)}; j < {p.OutShape[last]}; j++) yr[j] = {elem};");
        }
        for (int d = 0; d < rank - 1; d++) w.CloseBlock();
    }

    public static IEnumerable<string> Remarks(ResizeSpec r)
    {
        yield return $"lowering: resize [{string.Join("x", r.InShape)}] -> [{string.Join("x", r.OutShape)}], taps per axis [{string.Join(",", r.Taps)}] " +
            "(0 = unchanged axis); source indices and weights precomputed at build time";
        if (IsNearestRows(r))
        {
            string fill = r.Taps[r.Taps.Count - 1] == 0 ? "copied" : IsRepeat2(r) ? "each element twice (vectorised)" : "gathered through the index table";
            yield return $"nearest, by rows of the last axis: a row with the previous row's source is a copy of that output row; other rows {fill}";
        }
        if (IsLinearRows(r)) yield return "linear over the last two axes, by rows: each output row blends two source rows, 4 taps per element";
    }

    /// <summary>Linear over the last two axes only (the others unchanged), without extrapolation: a bilinear up- or downsampling.</summary>
    private static bool IsLinearRows(ResizeSpec r)
    {
        int rank = r.Taps.Count;
        return rank >= 2 && r.Taps[rank - 1] == 2 && r.Taps[rank - 2] == 2 && r.Taps.Take(rank - 2).All(t => t == 0)
            && r.Weights[rank - 1].Count > 0 && r.Weights[rank - 2].Count > 0 && r.Indices.All(t => t.All(i => i >= 0));
    }

    /// <summary>
    /// <see cref="IsLinearRows"/>: per plane and output row, its two source rows and weights once, then per element its two
    /// columns: the general path's sum in its order (acc += wH * wW * x, the rows outer), so the results are the same.
    /// </summary>
    private static void EmitLinearRows(string method, ResizeSpec r, string x, string y, SourceWriter w)
    {
        int rank = r.InShape.Count, hAxis = rank - 2, wAxis = rank - 1;
        int inH = r.InShape[hAxis], inW = r.InShape[wAxis], outH = r.OutShape[hAxis], outW = r.OutShape[wAxis];
        long planes = 1;
        for (int d = 0; d < hAxis; d++) planes *= r.InShape[d];
        string L(long v) => EmitContext.Long(v);
        w.WriteLine($"global::System.ReadOnlySpan<int> rowIndex = {method}_Index{hAxis}, columnIndex = {method}_Index{wAxis};");
        w.WriteLine($"global::System.ReadOnlySpan<float> rowWeight = {method}_Weight{hAxis}, columnWeight = {method}_Weight{wAxis};");
        w.OpenBlock($"for (long p = 0; p < {L(planes)}L; p++)");
        w.WriteLine($"float* xp = {x} + p * {L((long)inH * inW)}L;");
        w.WriteLine($"float* yr = {y} + p * {L((long)outH * outW)}L;");
        w.OpenBlock($"for (int oh = 0; oh < {outH}; oh++, yr += {outW})");
        w.WriteLine($"float* r0 = xp + rowIndex[oh * 2] * {L(inW)}L, r1 = xp + rowIndex[oh * 2 + 1] * {L(inW)}L;");
        w.WriteLine("float a0 = rowWeight[oh * 2], a1 = rowWeight[oh * 2 + 1];");
        w.OpenBlock($"for (int ow = 0; ow < {outW}; ow++)");
        w.WriteLine("int c0 = columnIndex[ow * 2], c1 = columnIndex[ow * 2 + 1];");
        w.WriteLine("float b0 = columnWeight[ow * 2], b1 = columnWeight[ow * 2 + 1];");
        w.WriteLine("float acc = 0f;");
        w.WriteLine("acc += a0 * b0 * r0[c0];");
        w.WriteLine("acc += a0 * b1 * r0[c1];");
        w.WriteLine("acc += a1 * b0 * r1[c0];");
        w.WriteLine("acc += a1 * b1 * r1[c1];");
        w.WriteLine("yr[ow] = acc;");
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
    }

    /// <summary>Nearest mode without extrapolation: one source element per output element, so whole rows can be reused.</summary>
    private static bool IsNearestRows(ResizeSpec r) =>
        r.Taps.All(t => t <= 1) && r.Weights.All(ws => ws.Count == 0) && r.Indices.All(t => t.All(i => i >= 0));

    /// <summary>The last axis upsampled 2x by nearest (source index j / 2).</summary>
    private static bool IsRepeat2(ResizeSpec r)
    {
        int last = r.Taps.Count - 1;
        return IsNearestRows(r) && r.Taps[last] == 1 && r.OutShape[last] == 2 * r.InShape[last]
            && r.Indices[last].Select((i, j) => i == j / 2).All(b => b);
    }

    public static void EmitResizeTables(string method, ResizeSpec r, SourceWriter w)
    {
        for (int d = 0; d < r.Taps.Count; d++)
        {
            if (r.Taps[d] == 0 || (d == r.Taps.Count - 1 && IsRepeat2(r))) continue;
            w.WriteLine($"private static global::System.ReadOnlySpan<int> {method}_Index{d} => new int[] {{ {string.Join(", ", r.Indices[d])} }};");
            if (r.Weights[d].Count > 0)
                w.WriteLine($"private static global::System.ReadOnlySpan<float> {method}_Weight{d} => new float[] {{ {string.Join(", ", r.Weights[d])} }};");
        }
    }

    public static void EmitResize(string method, ResizeSpec r, string x, string y, SourceWriter w)
    {
        if (IsNearestRows(r))
        {
            EmitNearestRows(method, r, x, y, w);
            return;
        }
        if (IsLinearRows(r))
        {
            EmitLinearRows(method, r, x, y, w);
            return;
        }
        int rank = r.InShape.Count;
        long[] inStrides = Ir.Shapes.Strides(r.InShape.ToArray());
        bool extrapolate = r.Indices.Any(t => t.Any(i => i < 0));
        w.WriteLine("long o = 0;");
        for (int d = 0; d < rank; d++) w.OpenBlock($"for (int o{d} = 0; o{d} < {r.OutShape[d]}; o{d}++)");
        // Nested tap loops over the resized axes; unchanged axes index directly.
        w.WriteLine("float acc = 0f;");
        if (extrapolate) w.WriteLine("bool outside = false;");
        var offsets = new List<string>();
        var factors = new List<string>();
        int opened = 0;
        for (int d = 0; d < rank; d++)
        {
            if (r.Taps[d] == 0)
            {
                offsets.Add($"o{d} * {EmitContext.Long(inStrides[d])}L");
                continue;
            }
            int t = r.Taps[d];
            if (t == 1)
            {
                w.WriteLine($"int i{d} = {method}_Index{d}[o{d}];");
            }
            else
            {
                w.OpenBlock($"for (int t{d} = 0; t{d} < {t}; t{d}++)");
                opened++;
                w.WriteLine($"int i{d} = {method}_Index{d}[o{d} * {t} + t{d}];");
            }
            if (extrapolate) w.WriteLine($"if (i{d} < 0) {{ outside = true; i{d} = 0; }}");
            offsets.Add($"i{d} * {EmitContext.Long(inStrides[d])}L");
            if (r.Weights[d].Count > 0) factors.Add(t == 1 ? $"{method}_Weight{d}[o{d}]" : $"{method}_Weight{d}[o{d} * {t} + t{d}]");
        }
        string value = $"{x}[{string.Join(" + ", offsets)}]";
        w.WriteLine(factors.Count == 0 ? $"acc += {value};" : $"acc += {string.Join(" * ", factors)} * {value};");
        for (int i = 0; i < opened; i++) w.CloseBlock();
        w.WriteLine(extrapolate ? $"{y}[o++] = outside ? {LoweringContext.FloatLiteral(r.Extrapolation)} : acc;" : $"{y}[o++] = acc;");
        for (int d = 0; d < rank; d++) w.CloseBlock();
    }

    /// <summary>
    /// Nearest mode by rows of the last axis: an output row reads one source row, and consecutive output rows with the
    /// same source row (upsampling along the other axes) are copies of the row before; a row is its source copied (last
    /// axis unchanged), each source element twice (2x), or gathered through the index table.
    /// </summary>
    private static void EmitNearestRows(string method, ResizeSpec r, string x, string y, SourceWriter w)
    {
        int rank = r.InShape.Count, last = rank - 1;
        long[] inStrides = Ir.Shapes.Strides(r.InShape.ToArray());
        int wIn = r.InShape[last], wOut = r.OutShape[last];
        long rowBytes = (long)wOut * 4;
        w.WriteLine("long previous = -1;");
        w.WriteLine($"float* row = {y};");
        var offsets = new List<string>();
        for (int d = 0; d < last; d++)
        {
            w.OpenBlock($"for (int o{d} = 0; o{d} < {r.OutShape[d]}; o{d}++)");
            if (r.Taps[d] == 0)
            {
                offsets.Add($"o{d} * {EmitContext.Long(inStrides[d])}L");
                continue;
            }
            w.WriteLine($"int i{d} = {method}_Index{d}[o{d}];");
            offsets.Add($"i{d} * {EmitContext.Long(inStrides[d])}L");
        }
        w.WriteLine($"long source = {(offsets.Count == 0 ? "0L" : string.Join(" + ", offsets))};");
        string bytes = EmitContext.Long(rowBytes) + "L";
        w.OpenBlock("if (source == previous)");
        w.WriteLine($"global::System.Buffer.MemoryCopy(row - {wOut}, row, {bytes}, {bytes});");
        w.CloseBlock();
        w.OpenBlock("else");
        if (r.Taps[last] == 0)
        {
            w.WriteLine($"global::System.Buffer.MemoryCopy({x} + source, row, {bytes}, {bytes});");
        }
        else if (IsRepeat2(r))
        {
            w.WriteLine($"{EmitContext.RuntimeNs}.StridedCopy.Repeat2({x} + source, row, {wIn});");
        }
        else
        {
            w.WriteLine($"float* xs = {x} + source;");
            w.WriteLine($"for (int j = 0; j < {wOut}; j++) row[j] = xs[{method}_Index{last}[j]];");
        }
        w.CloseBlock();
        w.WriteLine("previous = source;");
        w.WriteLine($"row += {wOut};");
        for (int d = 0; d < last; d++) w.CloseBlock();
    }
}
