// Licensed under the MIT license.
// Expand — https://onnx.ai/onnx/operators/onnx__Expand.html (opsets 8, 13). Bidirectional broadcast of the input to a
// build-time shape; folded on constants, else a strided copy with zero strides on broadcast axes.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Expand : OpHandler
{
    public override string OpType => "Expand";

    public override int MinOpset => 8;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 2, 2);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown();
        Value x = node.Inputs[0]!;
        int[] target = InferContext.ToShape(ctx.RequireConstant(node, 1, "shape").ToLongs(ctx.Model), "shape");
        int[] shape = Shapes.Broadcast(ShapeOf(x, "the input"), target)
            ?? throw new InvalidNodeException($"{Shapes.Format(x.Shape!)} does not broadcast to {Shapes.Format(target)}");
        ctx.SetOutput(node, 0, x.Type, shape);
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        Constant x = node.Inputs[0]!.Constant!;
        int[] shape = node.Outputs[0].Shape!;
        return new[] { Folding.Remap(x, shape, Shapes.BroadcastStrides(x.Shape, shape), 0, ctx.Model) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        int[] shape = node.Outputs[0].Shape!;
        CopyLowering.StridedCopy(node, ctx, x, node.Outputs[0], shape, Shapes.BroadcastStrides(x.Shape!, shape), 0);
    }
}
