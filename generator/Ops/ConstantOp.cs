// Licensed under the MIT license.
// Constant — https://onnx.ai/onnx/operators/onnx__Constant.html (opsets 1, 9, 11, 12, 13, 19, 21). Always folded.

using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class ConstantOp : OpHandler
{
    public override string OpType => "Constant";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 0, 0);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("value", "value_float", "value_floats", "value_int", "value_ints");
        if (node.Attributes.Names.Count() != 1) throw new InvalidNodeException("exactly one value attribute must be set");
        Constant c = Evaluate(node, ctx);
        ctx.SetOutput(node, 0, c.Type, c.Shape);
    }

    public override Constant[]? Fold(Node node, InferContext ctx) => new[] { Evaluate(node, ctx) };

    private static Constant Evaluate(Node node, InferContext ctx)
    {
        if (node.Attributes.GetTensor("value") is { } t)
        {
            if (t.ExternalData) throw new UnsupportedNodeException("external data in a Constant");
            return Constant.FromTensorProto(t, ctx.Model, $"Constant '{node.Name}'");
        }
        if (node.Attributes.Has("value_float")) return Constant.FromFloats(new int[0], new[] { node.Attributes.GetFloat("value_float", 0) });
        if (node.Attributes.GetFloats("value_floats") is { } fs) return Constant.FromFloats(new[] { fs.Length }, fs);
        if (node.Attributes.Has("value_int")) return Constant.FromLongs(OnnxDataType.Int64, new int[0], new[] { node.Attributes.GetInt("value_int", 0) });
        if (node.Attributes.GetInts("value_ints") is { } ls) return Constant.FromLongs(OnnxDataType.Int64, new[] { ls.Length }, ls);
        throw new InvalidNodeException("no value attribute");
    }

    public override void Lower(Node node, LoweringContext ctx) { }
}
