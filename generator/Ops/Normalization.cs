// Licensed under the MIT license.
// Normalisations other than BatchNormalization:
//   InstanceNormalization (opsets 1, 6, 22): per (n, c) plane, y = scale[c] (x - mean) / sqrt(var + eps) + B[c].
//   LayerNormalization (opset 17): over axes [axis..) with Scale and optional B broadcast to that shape; the optional
//     Mean and InvStdDev outputs are not supported when used.
//   LRN (opsets 1, 13): y = x / (bias + alpha / size * sum of x^2 over size neighbouring channels)^beta.
// Statistics are accumulated in double.

using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class InstanceNormalization : OpHandler
{
    public override string OpType => "InstanceNormalization";

    public override int MinOpset => 6;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 3, 3);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("epsilon");
        Value x = node.Inputs[0]!;
        int[] s = SpatialShapeOf(x, "input");
        for (int i = 1; i <= 2; i++)
        {
            if (Shapes.Product(ShapeOf(node.Inputs[i], $"input {i}")) != s[1]) throw new InvalidNodeException($"input {i} must have {s[1]} elements");
        }
        RequireFloat(x);
        ctx.SetOutput(node, 0, x.Type, s);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        int[] s = node.Inputs[0]!.Shape!;
        ctx.AddLayer(node, new InstanceNormSpec(s[0], s[1], (int)Shapes.Product(s, 2, s.Length), node.Attributes.GetFloat("epsilon", 1e-5f),
            node.FusedActivation ?? Activation.None),
            new[] { ctx.In("X", node.Inputs[0]!), ctx.In("Scale", node.Inputs[1]!), ctx.In("B", node.Inputs[2]!), ctx.Out("Y", node.Outputs[0]) });
    }
}

internal sealed class LayerNormalization : OpHandler
{
    public override string OpType => "LayerNormalization";

    public override int MinOpset => 17;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 2, 3);
        RequireOutputs(node, 1, 3);
        node.Attributes.RejectUnknown("axis", "epsilon", "stash_type");
        Value x = node.Inputs[0]!;
        int[] s = ShapeOf(x, "X");
        int axis = Axis(node, s.Length);
        int[] inner = s.Skip(axis).ToArray();
        for (int i = 1; i < node.Inputs.Count; i++)
        {
            if (node.Inputs[i] is null) continue;
            int[]? b = Shapes.Broadcast(ShapeOf(node.Inputs[i], $"input {i}"), inner);
            if (b is null || !Shapes.SameShape(b, inner)) throw new InvalidNodeException($"input {i} does not broadcast to {Shapes.Format(inner)}");
        }
        RequireFloat(x);
        ctx.SetOutput(node, 0, x.Type, s);
        var stat = s.Select((d, i) => i < axis ? d : 1).ToArray();
        for (int i = 1; i < node.Outputs.Count; i++) ctx.SetOutput(node, i, OnnxDataType.Float, stat);
    }

    private static int Axis(Node node, int rank)
    {
        long a = node.Attributes.GetInt("axis", -1);
        int axis = Shapes.NormalizeAxis(a, rank);
        if (axis < 0) throw new InvalidNodeException($"axis {a} is out of range for rank {rank}");
        return axis;
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        int[] s = x.Shape!;
        int axis = Axis(node, s.Length);
        int[] inner = s.Skip(axis).ToArray();
        long innerCount = Shapes.Product(inner);
        var operands = new System.Collections.Generic.List<Operand> { ctx.In("X", x), Expanded(node, ctx, 1, inner, "Scale") };
        bool hasBias = node.Input(2) is not null;
        if (hasBias) operands.Add(Expanded(node, ctx, 2, inner, "B"));
        operands.Add(ctx.Out("Y", node.Outputs[0]));
        // The optional statistics outputs (one value per normalised row).
        bool Used(int i) => node.Outputs.Count > i && node.Outputs[i].Consumers.Count + node.Outputs[i].GraphOutputIndices.Count > 0;
        if (Used(1)) operands.Add(ctx.Out("Mean", node.Outputs[1]));
        if (Used(2)) operands.Add(ctx.Out("InvStdDev", node.Outputs[2]));
        ctx.AddLayer(node, new LayerNormSpec((int)Shapes.Product(s, 0, axis), (int)innerCount, node.Attributes.GetFloat("epsilon", 1e-5f), hasBias, Used(1), Used(2)), operands);
    }

    /// <summary>Scale/B as a dense vector of the normalised shape (broadcast constants are expanded at build time).</summary>
    private static Operand Expanded(Node node, LoweringContext ctx, int index, int[] inner, string parameter)
    {
        Value v = node.Inputs[index]!;
        if (Shapes.Product(v.Shape!) == Shapes.Product(inner)) return ctx.In(parameter, v);
        if (v.Constant is null) throw new UnsupportedNodeException($"a broadcast {parameter} computed at run time");
        if (Shapes.Product(inner) > InferContext.MaxFoldElements) throw new UnsupportedNodeException($"a broadcast {parameter} of {Shapes.Product(inner)} elements");
        Constant expanded = Folding.Remap(v.Constant, inner, Shapes.BroadcastStrides(v.Constant.Shape, inner), 0, ctx.Model);
        return new Operand(parameter, OperandKind.Weight, ctx.RawWeight(expanded, v.Name + ":expanded"));
    }
}

internal sealed class Lrn : OpHandler
{
    public override string OpType => "LRN";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("alpha", "beta", "bias", "size");
        if (!node.Attributes.Has("size")) throw new InvalidNodeException("attribute 'size' is required");
        if (node.Attributes.GetInt("size", 1) <= 0) throw new InvalidNodeException("size must be positive");
        Value x = node.Inputs[0]!;
        int[] s = SpatialShapeOf(x, "X");
        RequireFloat(x);
        ctx.SetOutput(node, 0, x.Type, s);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        int[] s = node.Inputs[0]!.Shape!;
        var spec = new LrnSpec(s[0], s[1], (int)Shapes.Product(s, 2, s.Length), (int)node.Attributes.GetInt("size", 1),
            node.Attributes.GetFloat("alpha", 1e-4f), node.Attributes.GetFloat("beta", 0.75f), node.Attributes.GetFloat("bias", 1f));
        ctx.AddLayer(node, spec, new[] { ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]) });
    }
}
