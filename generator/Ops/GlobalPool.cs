// Licensed under the MIT license.
// GlobalAveragePool and GlobalMaxPool — https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html (opsets 1, 22):
// [N, C, spatial...] -> [N, C, 1, ...], a vectorised reduction over each plane.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class GlobalPool : OpHandler
{
    private readonly string _opType;

    public GlobalPool(string opType) => _opType = opType;

    public override string OpType => _opType;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown();
        Value x = node.Inputs[0]!;
        int[] s = SpatialShapeOf(x, "the input");
        RequireFloat(x);
        var o = new int[s.Length];
        o[0] = s[0];
        o[1] = s[1];
        for (int i = 2; i < s.Length; i++) o[i] = 1;
        ctx.SetOutput(node, 0, x.Type, o);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        int[] s = node.Inputs[0]!.Shape!;
        PoolKind kind = _opType == "GlobalMaxPool" ? PoolKind.Max : PoolKind.Average;
        ctx.AddLayer(node, new GlobalPoolSpec(kind, s[0] * s[1], (int)Shapes.Product(s, 2, s.Length), 2) { BlockedChannels = node.Inputs[0]!.Blocked ? s[1] : 0 },
            new[] { ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]) });
    }
}
