// Licensed under the MIT license.
// LpPool — https://onnx.ai/onnx/operators/onnx__LpPool.html (opsets 1, 2, 11, 18, 22; ceil_mode and dilations from 18)
// and GlobalLpPool (opsets 1, 2, 22): (sum |x|^p)^(1/p) over each window or plane.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class LpPool : PoolBase
{
    public override string OpType => "LpPool";

    public override int MinOpset => 2;

    protected override PoolKind Kind => PoolKind.Lp;

    protected override string[] KnownAttributes(Node node) => node.Opset >= 18
        ? new[] { "auto_pad", "ceil_mode", "dilations", "kernel_shape", "p", "pads", "strides" }
        : new[] { "auto_pad", "kernel_shape", "p", "pads", "strides" };

    protected override int P(Node node) => (int)node.Attributes.GetInt("p", 2);
}

internal sealed class GlobalLpPool : OpHandler
{
    public override string OpType => "GlobalLpPool";

    public override int MinOpset => 2;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("p");
        Value x = node.Inputs[0]!;
        int[] s = SpatialShapeOf(x, "the input");
        RequireFloat(x);
        var o = (int[])s.Clone();
        for (int i = 2; i < o.Length; i++) o[i] = 1;
        ctx.SetOutput(node, 0, x.Type, o);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        int[] s = node.Inputs[0]!.Shape!;
        ctx.AddLayer(node, new GlobalPoolSpec(PoolKind.Lp, s[0] * s[1], (int)Shapes.Product(s, 2, s.Length), (int)node.Attributes.GetInt("p", 2)),
            new[] { ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]) });
    }
}
