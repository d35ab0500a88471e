// Licensed under the MIT license.
// Flatten — https://onnx.ai/onnx/operators/onnx__Flatten.html (opsets 1, 9, 11, 13, 21). [d0..dn] -> [prod(d0..axis-1),
// prod(axis..dn)]; negative axis from opset 11. The output aliases the input.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Flatten : OpHandler
{
    public override string OpType => "Flatten";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("axis");
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "the input");
        long axis = node.Attributes.GetInt("axis", 1);
        if (axis < 0) axis += s.Length;
        if (axis < 0 || axis > s.Length) throw new InvalidNodeException($"axis {node.Attributes.GetInt("axis", 1)} is out of range for rank {s.Length}");
        ctx.SetOutput(node, 0, x.Type, new[] { (int)Shapes.Product(s, 0, (int)axis), (int)Shapes.Product(s, (int)axis, s.Length) });
    }

    public override Constant[]? Fold(Node node, InferContext ctx) =>
        node.Inputs[0]!.Constant is { } c ? new[] { c.WithShape(node.Outputs[0].Shape!) } : null;

    public override void Lower(Node node, LoweringContext ctx) => ctx.Alias(node.Outputs[0], node.Inputs[0]!);
}
