// Licensed under the MIT license.
// Pass 6: fuses element-wise epilogues into the producing kernel: a residual Add into a Conv (y = conv(x) + r), SiLU
// (y * sigmoid(y)), then an activation (Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish) into Conv, Gemm,
// MatMul, BatchNormalization or an element-wise Add/Sub/Mul/Div. Only when the intermediate tensor has no other reader and is not a graph output.

using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Passes;

internal static class FuseActivations
{
    public static void Run(Graph graph)
    {
        FuseResidualAdds(graph);
        FuseSilu(graph);
        foreach (Node act in graph.Nodes.ToArray())
        {
            if (act.Domain.Length != 0 || act.Outputs.Count != 1) continue;
            Value? x = act.Input(0);
            if (x?.Producer is not Node producer || !CanTakeEpilogue(producer) || producer.FusedActivation is not null) continue;
            if (!IsSoleUse(x, act)) continue;
            Activation? a = ActivationOf(act, graph.ModelBytes);
            if (a is null) continue;
            producer.FusedActivation = a;
            Value y = act.Outputs[0];
            graph.RemoveNode(act);
            producer.Outputs[producer.Outputs.IndexOf(x)] = y;
            y.Producer = producer;
            producer.Absorbed($"{act.OpType} '{act.Name}'", act.Name);
        }
    }

    /// <summary>Conv -> Add(conv, r) becomes a Conv with residual input r (kernel epilogue), placed where the Add was.</summary>
    private static void FuseResidualAdds(Graph graph)
    {
        foreach (Node add in graph.Nodes.ToArray())
        {
            if (add.OpType != "Add" || add.Domain.Length != 0 || add.Inputs.Count != 2 || add.Outputs.Count != 1) continue;
            for (int side = 0; side < 2; side++)
            {
                Value? x = add.Inputs[side], r = add.Inputs[1 - side];
                if (x is null || r is null || x == r || r.Constant is not null) continue;
                if (x.Producer is not Node conv || conv.OpType != "Conv" || conv.FusedActivation is not null) continue;
                if (conv.Inputs.Count > 3 || !IsSoleUse(x, add) || !Shapes.SameShape(x.Shape, r.Shape) || !Shapes.SameShape(x.Shape, add.Outputs[0].Shape)) continue;
                // The Conv moves to the Add's position so that r is computed before it runs.
                Value y = add.Outputs[0];
                int at = graph.Nodes.IndexOf(add);
                graph.RemoveNode(add);
                graph.Nodes.Remove(conv);
                graph.Nodes.Insert(at - 1 < 0 ? 0 : at - 1, conv);
                while (conv.Inputs.Count < 3) conv.Inputs.Add(null);
                conv.Inputs.Add(r);
                r.Consumers.Add(conv);
                conv.Outputs[0] = y;
                y.Producer = conv;
                conv.Absorbed($"Add '{add.Name}' (residual)", add.Name);
                break;
            }
        }
    }

    /// <summary>x * sigmoid(x) (EfficientNet, YOLOX): Mul(y, Sigmoid(y)) after a producer becomes its SiLU epilogue.</summary>
    private static void FuseSilu(Graph graph)
    {
        foreach (Node mul in graph.Nodes.ToArray())
        {
            if (mul.OpType != "Mul" || mul.Domain.Length != 0 || mul.Inputs.Count != 2 || mul.Outputs.Count != 1) continue;
            for (int side = 0; side < 2; side++)
            {
                Value? y = mul.Inputs[side], s = mul.Inputs[1 - side];
                if (y is null || s?.Producer is not Node sigmoid || sigmoid.OpType != "Sigmoid" || sigmoid.Domain.Length != 0 || sigmoid.Input(0) != y) continue;
                if (y.Producer is not Node producer || !CanTakeEpilogue(producer) || producer.FusedActivation is not null) continue;
                if (y.IsGraphOutput || s.IsGraphOutput || y.Consumers.Any(c => c != sigmoid && c != mul) || s.Consumers.Any(c => c != mul)) continue;
                if (!Shapes.SameShape(y.Shape, mul.Outputs[0].Shape)) continue;
                producer.FusedActivation = new Activation(ActivationKind.Silu);
                Value z = mul.Outputs[0];
                graph.RemoveNode(sigmoid);
                graph.RemoveNode(mul);
                producer.Outputs[producer.Outputs.IndexOf(y)] = z;
                z.Producer = producer;
                producer.Absorbed($"Sigmoid '{sigmoid.Name}' * Mul '{mul.Name}' (SiLU)", sigmoid.Name, mul.Name);
                break;
            }
        }
    }

    private static bool CanTakeEpilogue(Node n) =>
        n.Domain.Length == 0 && n.OpType is "Conv" or "Gemm" or "MatMul" or "BatchNormalization" or "InstanceNormalization" or "Add" or "Sub" or "Mul" or "Div";

    private static bool IsSoleUse(Value x, Node consumer) =>
        !x.IsGraphOutput && x.Consumers.All(c => c == consumer);

    private static Activation? ActivationOf(Node n, byte[] model)
    {
        switch (n.OpType)
        {
            case "Relu":
                return new Activation(ActivationKind.Relu);
            case "LeakyRelu":
                return new Activation(ActivationKind.LeakyRelu, n.Attributes.Get("alpha") is { } a ? a.F : 0.01f);
            case "Sigmoid":
                return new Activation(ActivationKind.Sigmoid);
            case "Tanh":
                return new Activation(ActivationKind.Tanh);
            case "HardSigmoid":
                return new Activation(ActivationKind.HardSigmoid,
                    n.Attributes.Get("alpha") is { } ha ? ha.F : 0.2f, n.Attributes.Get("beta") is { } hb ? hb.F : 0.5f);
            case "HardSwish":
                return new Activation(ActivationKind.HardSwish);
            case "Clip":
            {
                float lo = float.NegativeInfinity, hi = float.PositiveInfinity;
                if (n.Opset < 11)
                {
                    if (n.Attributes.Get("min") is { } mn) lo = mn.F;
                    if (n.Attributes.Get("max") is { } mx) hi = mx.F;
                }
                else
                {
                    if (n.Input(1) is { } minV)
                    {
                        if (minV.Constant is not { IsMaterializable: true } c || c.ElementCount != 1) return null;
                        lo = c.ToFloats(model)[0];
                    }
                    if (n.Input(2) is { } maxV)
                    {
                        if (maxV.Constant is not { IsMaterializable: true } c || c.ElementCount != 1) return null;
                        hi = c.ToFloats(model)[0];
                    }
                }
                return new Activation(ActivationKind.Clip, lo, hi);
            }
            default:
                return null;
        }
    }
}
