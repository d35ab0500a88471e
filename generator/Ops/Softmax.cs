// Licensed under the MIT license.
// Softmax, LogSoftmax and Hardmax — https://onnx.ai/onnx/operators/onnx__Softmax.html (opsets 1, 11, 13). Before 13
// the input is coerced to 2-D at `axis` (default 1) and normalised over the flattened tail; from 13 over the single
// `axis` (default -1). Hardmax: 1 at the first maximum, 0 elsewhere.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Softmax : OpHandler
{
    private readonly string _opType;

    public Softmax(string opType) => _opType = opType;

    public override string OpType => _opType;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("axis");
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "the input");
        View(node, s);
        ctx.SetOutput(node, 0, x.Type, s);
    }

    internal static (int Outer, int Axis, int Inner) View(Node node, int[] s)
    {
        long axisAttr = node.Attributes.GetInt("axis", node.Opset >= 13 ? -1 : 1);
        int rank = s.Length;
        long a = axisAttr < 0 ? axisAttr + rank : axisAttr;
        if (rank == 0 || a < 0 || a >= rank)
        {
            // Opset < 13 allows axis == rank (an empty tail); treat it like ONNX Runtime (softmax over 1 element).
            if (node.Opset < 13 && a == rank) return ((int)Shapes.Product(s), 1, 1);
            throw new InvalidNodeException($"axis {axisAttr} is out of range for rank {rank}");
        }
        int axis = (int)a;
        return node.Opset < 13
            ? ((int)Shapes.Product(s, 0, axis), (int)Shapes.Product(s, axis, rank), 1)
            : ((int)Shapes.Product(s, 0, axis), s[axis], (int)Shapes.Product(s, axis + 1, rank));
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        (int outer, int axis, int inner) = View(node, node.Inputs[0]!.Shape!);
        ctx.AddLayer(node, new SoftmaxSpec(outer, axis, inner, _opType),
            new[] { ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]) });
    }
}
