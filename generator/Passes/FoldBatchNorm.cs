// Licensed under the MIT license.
// Pass 5: BatchNormalization after a Conv with constant weights is folded into the Conv:
//   W'[o] = W[o] * gamma[o] / sqrt(var[o] + eps),  B'[o] = (B[o] - mean[o]) * gamma[o] / sqrt(var[o] + eps) + beta[o].
// The folded weights are construction-time recipes (computed once when the model is constructed, in double, then
// rounded), so nothing large is embedded into source.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;

namespace ModelGen.Generator.Passes;

internal static class FoldBatchNorm
{
    public static void Run(Graph graph)
    {
        foreach (Node bn in graph.Nodes.ToArray())
        {
            if (bn.OpType != "BatchNormalization" || bn.Domain.Length != 0 || bn.Outputs.Count != 1) continue;
            Value? x = bn.Input(0);
            if (x?.Producer is not Node conv || conv.OpType != "Conv" || conv.FusedActivation is not null) continue;
            if (x.Consumers.Count != 1 || x.IsGraphOutput) continue;
            Constant? w = conv.Input(1)?.Constant;
            Constant? b = conv.Input(2)?.Constant;
            if (w is null || (conv.Input(2) is not null && b is null)) continue;
            Constant? gamma = bn.Input(1)?.Constant, beta = bn.Input(2)?.Constant, mean = bn.Input(3)?.Constant, variance = bn.Input(4)?.Constant;
            if (gamma is null || beta is null || mean is null || variance is null) continue;
            int channels = w.Shape.Length > 0 ? w.Shape[0] : -1;
            if (gamma.ElementCount != channels || beta.ElementCount != channels || mean.ElementCount != channels || variance.ElementCount != channels) continue;
            double epsilon = bn.Attributes.Get("epsilon") is { } e ? e.F : 1e-5;

            var scale = Constant.FromRecipe(OnnxDataType.Float, new[] { channels }, new ConstantRecipe("BatchNormScale", new[] { gamma, variance }, new[] { epsilon }));
            var newW = Constant.FromRecipe(OnnxDataType.Float, w.Shape, new ConstantRecipe("ScaleRows", new[] { w, scale }, new double[0]));
            var biasOperands = b is null ? new[] { gamma, beta, mean, variance } : new[] { b, gamma, beta, mean, variance };
            var newB = Constant.FromRecipe(OnnxDataType.Float, new[] { channels }, new ConstantRecipe("BatchNormBias", biasOperands, new[] { epsilon }));

            SetInput(conv, 1, FloatConstant(graph, conv.Name + ":folded_W", newW));
            SetInput(conv, 2, FloatConstant(graph, conv.Name + ":folded_B", newB));
            Absorb(graph, conv, bn, $"BatchNormalization '{bn.Name}'");
        }
    }

    /// <summary>A new graph value holding a float constant (a folded weight or bias).</summary>
    internal static Value FloatConstant(Graph graph, string name, Constant c)
    {
        Value v = graph.NewValue(name);
        v.Constant = c; v.Type = OnnxDataType.Float; v.Shape = c.Shape;
        return v;
    }

    /// <summary>The Conv takes over the folded node's output; the node leaves the graph and is named in the Conv's remarks.</summary>
    internal static void Absorb(Graph graph, Node conv, Node folded, string label)
    {
        Value y = folded.Outputs[0];
        graph.RemoveNode(folded);
        conv.Outputs[0] = y;
        y.Producer = conv;
        conv.Absorbed(label, folded.Name);
    }

    internal static void SetInput(Node node, int index, Value value)
    {
        while (node.Inputs.Count <= index) node.Inputs.Add(null);
        node.Inputs[index]?.Consumers.Remove(node);
        node.Inputs[index] = value;
        value.Consumers.Add(node);
    }
}
