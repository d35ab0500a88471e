// Licensed under the MIT license.
// Pad — https://onnx.ai/onnx/operators/onnx__Pad.html (opsets 2, 11, 13, 18, 19, 21). Modes constant, reflect, edge and
// wrap (19+). pads is an attribute before 11 and a build-time input from 11 (with constant_value and, from 18, axes).
// Negative pads crop. Folded on constants, else one kernel with the interior copied row by row.

using System;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Pad : OpHandler
{
    public override string OpType => "Pad";

    public override int MinOpset => 2;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, node.Opset >= 18 ? 4 : node.Opset >= 11 ? 3 : 1);
        RequireOutputs(node, 1, 1);
        if (node.Opset >= 11) node.Attributes.RejectUnknown("mode");
        else node.Attributes.RejectUnknown("mode", "pads", "value");
        Value x = node.Inputs[0]!;
        (int[] begin, int[] output, string mode, _) = Plan(node, ShapeOf(x, "data"), ctx.Model, ctx);
        if (x.Type != OnnxDataType.Float && mode != "constant") throw new UnsupportedNodeException($"{mode} padding of {x.Type}");
        ctx.SetOutput(node, 0, x.Type, output);
    }

    private static (int[] Begin, int[] Output, string Mode, float Value) Plan(Node node, int[] s, byte[] model, InferContext? ctx)
    {
        string mode = node.Attributes.GetString("mode", "constant");
        if (mode is not ("constant" or "reflect" or "edge" or "wrap")) throw new InvalidNodeException($"mode '{mode}' is not constant, reflect, edge or wrap");
        if (mode == "wrap" && node.Opset < 19) throw new InvalidNodeException("mode 'wrap' needs opset 19");
        long[] pads;
        float value = 0;
        long[]? axes = null;
        if (node.Opset >= 11)
        {
            pads = Read(node, 1, "pads", model, ctx) ?? throw new InvalidNodeException("pads is required");
            if (node.Input(2) is not null)
            {
                Constant c = ctx is not null ? ctx.RequireConstant(node, 2, "constant_value") : node.Inputs[2]!.Constant!;
                if (c.ElementCount > 0) value = (float)c.ToDoubles(model)[0];
            }
            axes = Read(node, 3, "axes", model, ctx);
        }
        else
        {
            pads = node.Attributes.GetInts("pads") ?? throw new InvalidNodeException("pads is required");
            value = node.Attributes.GetFloat("value", 0);
        }
        int rank = s.Length;
        int[] ax = axes is null ? Enumerable.Range(0, rank).ToArray() : axes.Select(a => Shapes.NormalizeAxis(a, rank)).ToArray();
        if (ax.Any(a => a < 0)) throw new InvalidNodeException("an axis is out of range");
        if (pads.Length != 2 * ax.Length) throw new InvalidNodeException($"pads has {pads.Length} values for {ax.Length} axes");
        var begin = new int[rank];
        var output = (int[])s.Clone();
        for (int i = 0; i < ax.Length; i++)
        {
            long b = pads[i], e = pads[i + ax.Length];
            if (Math.Abs(b) > 1 << 24 || Math.Abs(e) > 1 << 24) throw new InvalidNodeException("pads are out of range");
            begin[ax[i]] = (int)b;
            long o = s[ax[i]] + b + e;
            if (o < 0) throw new InvalidNodeException($"axis {ax[i]} would have a negative size");
            if (mode != "constant" && (b > 0 || e > 0) && s[ax[i]] == 0) throw new InvalidNodeException($"{mode} padding of an empty axis");
            if (mode == "reflect" && (b >= s[ax[i]] || e >= s[ax[i]]) && (b > 0 || e > 0))
                throw new UnsupportedNodeException("reflect pads as large as the axis");
            output[ax[i]] = (int)o;
        }
        return (begin, output, mode, value);
    }

    private static long[]? Read(Node node, int index, string name, byte[] model, InferContext? ctx) =>
        node.Input(index) is null ? null : (ctx is not null ? ctx.RequireConstant(node, index, name) : node.Inputs[index]!.Constant!).ToLongs(model);

    /// <summary>The source coordinate for output coordinate o (after removing the begin pad), or -1 for the pad value.</summary>
    internal static int Source(string mode, int i, int n)
    {
        if (i >= 0 && i < n) return i;
        switch (mode)
        {
            case "constant":
                return -1;
            case "edge":
                return i < 0 ? 0 : n - 1;
            case "wrap":
                return ((i % n) + n) % n;
            default:
                // reflect without repeating the edge: period 2n - 2
                if (n == 1) return 0;
                int period = 2 * n - 2;
                int m = ((i % period) + period) % period;
                return m < n ? m : period - m;
        }
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Shared.Folding.CanFold(node)) return null;
        Constant x = node.Inputs[0]!.Constant!;
        (int[] begin, int[] output, string mode, float value) = Plan(node, x.Shape, ctx.Model, ctx);
        double[] v = x.ToDoubles(ctx.Model);
        long[] strides = Shapes.Strides(x.Shape);
        long count = Shapes.Product(output);
        var r = new double[count];
        var idx = new int[output.Length];
        for (long i = 0; i < count; i++)
        {
            long p = 0;
            bool pad = false;
            for (int d = 0; d < idx.Length; d++)
            {
                int src = Source(mode, idx[d] - begin[d], x.Shape[d]);
                if (src < 0) { pad = true; break; }
                p += src * strides[d];
            }
            r[i] = pad ? value : v[p];
            Shared.Folding.Increment(idx, output);
        }
        if (x.Type == OnnxDataType.Double) return new[] { Constant.FromDoubles(output, r) };
        if (Shared.Folding.IsFloat(x.Type)) return new[] { Constant.FromFloats(output, r.Select(d => (float)d).ToArray()) };
        return new[] { Constant.FromLongs(x.Type, output, r.Select(d => (long)d).ToArray()) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        if (x.Type != OnnxDataType.Float) throw new UnsupportedNodeException($"{x.Type} tensors computed at run time");
        (int[] begin, int[] output, string mode, float value) = Plan(node, x.Shape!, ctx.Model, null);
        if (Shapes.Product(output) == 0) throw new UnsupportedNodeException("an empty output");
        ctx.AddLayer(node, new PadSpec(mode, x.Shape!.ToEquatableArray(), begin.ToEquatableArray(), output.ToEquatableArray(), value),
            new[] { ctx.In("X", x), ctx.Out("Y", node.Outputs[0]) });
    }
}
