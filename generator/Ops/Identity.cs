// Licensed under the MIT license.
// Identity — https://onnx.ai/onnx/operators/onnx__Identity.html (opsets 1, 13, 14, 16, 19, 21). No-op: the output
// shares the input's storage (or constant).

using ModelGen.Generator.Ir;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Identity : OpHandler
{
    public override string OpType => "Identity";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown();
        Value x = node.Inputs[0]!;
        ctx.SetOutput(node, 0, x.Type, ShapeOf(x, "the input"));
    }

    public override Constant[]? Fold(Node node, InferContext ctx) =>
        node.Inputs[0]!.Constant is { } c ? new[] { c } : null;

    public override void Lower(Node node, LoweringContext ctx) => ctx.Alias(node.Outputs[0], node.Inputs[0]!);
}
