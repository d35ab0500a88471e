// Licensed under the MIT license.
// Reshape — https://onnx.ai/onnx/operators/onnx__Reshape.html (opsets 5, 13, 14, 19, 21). The target shape must be
// known at build time (a constant or a folded shape subgraph); 0 copies a dimension unless allowzero=1, -1 is
// inferred. No data moves: the output aliases the input.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Reshape : OpHandler
{
    public override string OpType => "Reshape";

    public override int MinOpset => 5;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 2, 2);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("allowzero");
        Value x = node.Inputs[0]!;
        int[] input = ShapeOf(x, "the data input");
        long[] target = ctx.RequireConstant(node, 1, "shape").ToLongs(ctx.Model);
        bool allowZero = node.Attributes.GetInt("allowzero", 0) != 0;
        ctx.SetOutput(node, 0, x.Type, Resolve(input, target, allowZero));
    }

    internal static int[] Resolve(int[] input, long[] target, bool allowZero)
    {
        var shape = new int[target.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            if (d == 0 && !allowZero)
            {
                if (i >= input.Length) throw new InvalidNodeException($"shape[{i}] = 0 copies a dimension the input does not have");
                d = input[i];
            }
            if (d == -1)
            {
                if (inferred >= 0) throw new InvalidNodeException("more than one -1 in shape");
                inferred = i;
                continue;
            }
            if (d < 0 || d > int.MaxValue) throw new InvalidNodeException($"shape[{i}] = {d} is invalid");
            shape[i] = (int)d;
            known *= d;
        }
        long total = Shapes.Product(input);
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0) throw new InvalidNodeException($"cannot reshape {Shapes.Format(input)} to [{string.Join(",", target)}]");
            shape[inferred] = (int)(total / known);
        }
        else if (known != total)
        {
            throw new InvalidNodeException($"cannot reshape {Shapes.Format(input)} ({total} elements) to {Shapes.Format(shape)} ({known} elements)");
        }
        return shape;
    }

    public override Constant[]? Fold(Node node, InferContext ctx) =>
        node.Inputs[0]!.Constant is { } c ? new[] { c.WithShape(node.Outputs[0].Shape!) } : null;

    public override void Lower(Node node, LoweringContext ctx) => ctx.Alias(node.Outputs[0], node.Inputs[0]!);
}
