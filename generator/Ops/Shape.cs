// Licensed under the MIT license.
// Shape — https://onnx.ai/onnx/operators/onnx__Shape.html (opsets 1, 13, 15, 19, 21) and Size (opsets 1, 13, 19, 21).
// Always folded: every shape is static. `start`/`end` (from 15) select a range of axes.

using System;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class ShapeOp : OpHandler
{
    private readonly bool _size;

    public ShapeOp(bool size) => _size = size;

    public override string OpType => _size ? "Size" : "Shape";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        if (_size) node.Attributes.RejectUnknown();
        else node.Attributes.RejectUnknown("start", "end");
        Constant c = Evaluate(node);
        ctx.SetOutput(node, 0, OnnxDataType.Int64, c.Shape);
    }

    private Constant Evaluate(Node node)
    {
        int[] s = ShapeOf(node.Inputs[0], "the input");
        if (_size) return Constant.FromLongs(OnnxDataType.Int64, new int[0], new[] { Shapes.Product(s) });
        int rank = s.Length;
        long start = node.Attributes.GetInt("start", 0), end = node.Attributes.GetInt("end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = Math.Max(0, Math.Min(rank, start));
        end = Math.Max(start, Math.Min(rank, end));
        var dims = new long[end - start];
        for (long i = start; i < end; i++) dims[i - start] = s[i];
        return Constant.FromLongs(OnnxDataType.Int64, new[] { dims.Length }, dims);
    }

    public override Constant[]? Fold(Node node, InferContext ctx) => new[] { Evaluate(node) };

    public override void Lower(Node node, LoweringContext ctx) { }
}
