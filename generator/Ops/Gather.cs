// Licensed under the MIT license.
// Gather — https://onnx.ai/onnx/operators/onnx__Gather.html (opsets 1, 11, 13). Output shape data[:axis] + indices +
// data[axis+1:]; negative indices count from the end (11+). Indices must be build-time constants; folded when the data
// is constant too (shape subgraphs), else a block copy per index.

using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Gather : OpHandler
{
    public override string OpType => "Gather";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 2, 2);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("axis");
        Value data = node.Inputs[0]!;
        int[] ds = ShapeOf(data, "data"), idx = ShapeOf(node.Inputs[1], "indices");
        int axis = Axis(node, ds.Length);
        Indices(node, ctx, ds[axis]);
        var output = ds.Take(axis).Concat(idx).Concat(ds.Skip(axis + 1)).ToArray();
        ctx.SetOutput(node, 0, data.Type, output);
    }

    private static int Axis(Node node, int rank)
    {
        long a = node.Attributes.GetInt("axis", 0);
        int axis = Shapes.NormalizeAxis(a, rank);
        if (axis < 0) throw new InvalidNodeException($"axis {a} is out of range for rank {rank}");
        return axis;
    }

    private static int[] Indices(Node node, InferContext ctx, int axisLength)
    {
        long[] raw = ctx.RequireConstant(node, 1, "indices").ToLongs(ctx.Model);
        var indices = new int[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            long v = raw[i] < 0 ? raw[i] + axisLength : raw[i];
            if (v < 0 || v >= axisLength) throw new InvalidNodeException($"index {raw[i]} is out of range for an axis of {axisLength}");
            indices[i] = (int)v;
        }
        return indices;
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        Constant data = node.Inputs[0]!.Constant!;
        int axis = Axis(node, data.Shape.Length);
        int[] indices = Indices(node, ctx, data.Shape[axis]);
        long outer = Shapes.Product(data.Shape, 0, axis), inner = Shapes.Product(data.Shape, axis + 1, data.Shape.Length);
        // Express as a remap over [outer, indices, inner].
        long count = outer * indices.Length * inner;
        var positions = new long[count];
        long n = 0;
        for (long o = 0; o < outer; o++)
            foreach (int j in indices)
                for (long e = 0; e < inner; e++) positions[n++] = (o * data.Shape[axis] + j) * inner + e;
        return new[] { Pick(data, positions, node.Outputs[0].Shape!, ctx.Model) };
    }

    private static Constant Pick(Constant data, long[] positions, int[] shape, byte[] model)
    {
        if (data.Type == OnnxDataType.Double) { double[] v = data.ToDoubles(model); return Constant.FromDoubles(shape, positions.Select(p => v[p]).ToArray()); }
        if (Folding.IsFloat(data.Type)) { float[] v = data.ToFloats(model); return Constant.FromFloats(shape, positions.Select(p => v[p]).ToArray()); }
        long[] l = data.ToLongs(model);
        return Constant.FromLongs(data.Type, shape, positions.Select(p => l[p]).ToArray());
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value data = node.Inputs[0]!;
        if (data.Type != OnnxDataType.Float) throw new UnsupportedNodeException($"{data.Type} data computed at run time");
        int[] ds = data.Shape!;
        int axis = Axis(node, ds.Length);
        long[] raw = node.Inputs[1]!.Constant!.ToLongs(ctx.Model);
        int[] indices = raw.Select(v => (int)(v < 0 ? v + ds[axis] : v)).ToArray();
        ctx.AddLayer(node, new GatherSpec(Shapes.Product(ds, 0, axis), ds[axis], indices.ToEquatableArray(), Shapes.Product(ds, axis + 1, ds.Length)),
            new[] { ctx.In("X", data), ctx.Out("Y", node.Outputs[0]) });
    }
}
