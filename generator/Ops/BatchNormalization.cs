// Licensed under the MIT license.
// BatchNormalization (inference) — https://onnx.ai/onnx/operators/onnx__BatchNormalization.html (opsets 6, 7, 9, 14, 15).
// y = (x - mean) / sqrt(var + eps) * scale + B per channel (axis 1). After a Conv it is folded into the Conv's weights
// (Passes/FoldBatchNorm); standalone it becomes a per-channel affine layer with construction-time scale and shift.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class BatchNormalization : OpHandler
{
    public override string OpType => "BatchNormalization";

    public override int MinOpset => 6;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 5, 5);
        RequireOutputs(node, 1, 5);
        node.Attributes.RejectUnknown("epsilon", "momentum", "spatial", "training_mode", "is_test");
        if (node.Opset < 7 && node.Attributes.GetInt("is_test", 0) == 0 && node.Outputs.Count > 1) throw new UnsupportedNodeException("is_test=0 (training)");
        if (node.Attributes.GetInt("training_mode", 0) != 0) throw new UnsupportedNodeException("training_mode=1");
        if (node.Opset < 9 && node.Attributes.GetInt("spatial", 1) != 1) throw new UnsupportedNodeException("spatial=0");
        for (int i = 1; i < node.Outputs.Count; i++)
        {
            if (node.Outputs[i].Consumers.Count + node.Outputs[i].GraphOutputIndices.Count > 0) throw new UnsupportedNodeException("training outputs (running mean/var) are used");
        }
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "the input");
        if (s.Length < 2) throw new InvalidNodeException("the input must have at least 2 dimensions");
        for (int i = 1; i < 5; i++)
        {
            Value p = node.Inputs[i]!;
            if (p.Shape is null || Shapes.Product(p.Shape) != s[1]) throw new InvalidNodeException($"input {i} must have {s[1]} elements (one per channel)");
        }
        RequireFloat(x);
        ctx.SetOutput(node, 0, x.Type, s);
        for (int i = 1; i < node.Outputs.Count; i++) ctx.SetOutput(node, i, x.Type, new[] { s[1] });
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        Constant? gamma = node.Inputs[1]!.Constant, beta = node.Inputs[2]!.Constant, mean = node.Inputs[3]!.Constant, variance = node.Inputs[4]!.Constant;
        int[] s = x.Shape!;
        double epsilon = node.Attributes.GetFloat("epsilon", 1e-5f);
        if (gamma is null || beta is null || mean is null || variance is null)
        {
            // Statistics computed at run time: the kernel derives scale and shift per channel on every run.
            var runtime = new ChannelAffineSpec(s[0], s[1], (int)Shapes.Product(s, 2, s.Length), node.FusedActivation ?? Activation.None)
            {
                FromStatistics = true,
                Epsilon = (float)epsilon,
            };
            ctx.AddLayer(node, runtime, new[]
            {
                ctx.In("X", x), ctx.In("Scale", node.Inputs[1]!), ctx.In("Shift", node.Inputs[2]!),
                ctx.In("Mean", node.Inputs[3]!), ctx.In("Var", node.Inputs[4]!), ctx.Out("Y", node.Outputs[0]),
            });
            return;
        }
        int channels = s[1];
        int scale = ctx.Transform("BatchNormScale", node.Name + ":scale",
            new[] { ctx.RawWeight(gamma, node.Inputs[1]!.Name), ctx.RawWeight(variance, node.Inputs[4]!.Name) },
            new[] { LoweringContext.Lit.Int(channels), LoweringContext.Lit.Double(epsilon) }, channels);
        int shift = ctx.Transform("BatchNormBias", node.Name + ":shift",
            new[] { -1, ctx.RawWeight(gamma, node.Inputs[1]!.Name), ctx.RawWeight(beta, node.Inputs[2]!.Name),
                ctx.RawWeight(mean, node.Inputs[3]!.Name), ctx.RawWeight(variance, node.Inputs[4]!.Name) },
            new[] { LoweringContext.Lit.Int(channels), LoweringContext.Lit.Double(epsilon) }, channels);
        var spec = new ChannelAffineSpec(s[0], channels, (int)Shapes.Product(s, 2, s.Length), node.FusedActivation ?? Activation.None);
        ctx.AddLayer(node, spec, new[]
        {
            ctx.In("X", x),
            new Operand("Scale", OperandKind.Weight, scale),
            new Operand("Shift", OperandKind.Weight, shift),
            ctx.Out("Y", node.Outputs[0]),
        });
    }
}
