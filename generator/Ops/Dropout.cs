// Licensed under the MIT license.
// Dropout — https://onnx.ai/onnx/operators/onnx__Dropout.html (opsets 7, 10, 12, 13, 22). Inference only: the output is
// the input (no scaling); a used mask output or training_mode=true is not supported.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Dropout : OpHandler
{
    public override string OpType => "Dropout";

    public override int MinOpset => 7;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 3);
        RequireOutputs(node, 1, 2);
        node.Attributes.RejectUnknown("ratio", "seed", "is_test");
        if (node.Input(2) is { } training)
        {
            Constant t = ctx.RequireConstant(node, 2, "training_mode");
            if (t.ElementCount != 1 || t.ToLongs(ctx.Model)[0] != 0) throw new UnsupportedNodeException("training_mode=true");
        }
        Value x = node.Inputs[0]!;
        ctx.SetOutput(node, 0, x.Type, ShapeOf(x, "the input"));
        if (node.Outputs.Count > 1) ctx.SetOutput(node, 1, Onnx.OnnxDataType.Bool, x.Shape!);
    }

    public override Constant[]? Fold(Node node, InferContext ctx) =>
        node.Inputs[0]!.Constant is { } c ? (node.Outputs.Count == 1 ? new[] { c } : new[] { c, Mask(node) }) : null;

    /// <summary>In inference the mask is all true.</summary>
    private static Constant Mask(Node node)
    {
        int[] shape = node.Outputs[0].Shape!;
        long count = Shapes.Product(shape);
        if (count > InferContext.MaxFoldElements) throw new UnsupportedNodeException($"a mask output of {count} elements");
        var ones = new long[count];
        for (long i = 0; i < count; i++) ones[i] = 1;
        return Constant.FromLongs(Onnx.OnnxDataType.Bool, shape, ones);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        ctx.Alias(node.Outputs[0], node.Inputs[0]!);
        if (node.Outputs.Count > 1 && node.Outputs[1].Consumers.Count + node.Outputs[1].GraphOutputIndices.Count > 0)
            node.Outputs[1].Constant = Mask(node);
    }
}
