// Licensed under the MIT license.
// Pass 5b: an Add of a per-output-channel constant after a Conv with constant weights becomes the Conv's bias:
//   B'[o] = B[o] + c[o] (or + c for a single value). Models exported without conv biases (CNTK's MNIST: Conv, then
// Add of a [C,1,1] parameter, then Relu) otherwise pay a separate pass over every activation, and the Relu after the
// Add could not fuse into the Conv. The new bias is a construction-time recipe like the BatchNormalization folding.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;

namespace ModelGen.Generator.Passes;

internal static class FoldBiasAdd
{
    public static void Run(Graph graph)
    {
        foreach (Node add in graph.Nodes.ToArray())
        {
            if (add.OpType != "Add" || add.Domain.Length != 0 || add.Inputs.Count != 2 || add.Outputs.Count != 1) continue;
            for (int side = 0; side < 2; side++)
            {
                Value? x = add.Inputs[side], c = add.Inputs[1 - side];
                if (x?.Producer is not Node conv || c?.Constant is not Constant k || !Foldable(conv, x, add)) continue;
                Constant w = conv.Input(1)!.Constant!;
                int channels = w.Shape[0];
                if (k.Type != OnnxDataType.Float || !PerChannel(c.Shape, x.Shape!, channels)) continue;
                if (!Shapes.SameShape(x.Shape, add.Outputs[0].Shape)) continue;
                Constant? b = conv.Input(2)?.Constant;
                var operands = b is null ? new[] { k } : new[] { b, k };
                var newB = Constant.FromRecipe(OnnxDataType.Float, new[] { channels }, new ConstantRecipe("AddBias", operands, new double[0]));
                FoldBatchNorm.SetInput(conv, 2, FoldBatchNorm.FloatConstant(graph, conv.Name + ":folded_B", newB));
                FoldBatchNorm.Absorb(graph, conv, add, $"Add '{add.Name}' (bias)");
                break;
            }
        }
    }

    /// <summary>A plain Conv (constant weights, constant or no bias, nothing fused yet) whose output only the Add reads.</summary>
    private static bool Foldable(Node conv, Value x, Node add) =>
        conv.OpType == "Conv" && conv.Domain.Length == 0 && conv.FusedActivation is null && conv.Inputs.Count <= 3 && conv.Outputs.Count == 1
        && conv.Input(1)?.Constant is { Shape.Length: > 0 } && (conv.Input(2) is null || conv.Input(2)!.Constant is not null)
        && !x.IsGraphOutput && x.Consumers.Count == 1 && x.Consumers[0] == add && x.Shape is { Length: >= 3 };

    /// <summary>
    /// The constant broadcasts along the output channels only: right-aligned against [N, C, spatial...], every axis is 1
    /// except the channel axis, which is C or 1.
    /// </summary>
    private static bool PerChannel(int[]? shape, int[] x, int channels)
    {
        if (shape is null || shape.Length > x.Length) return false;
        for (int i = 0; i < shape.Length; i++)
        {
            int axis = x.Length - shape.Length + i;
            if (shape[i] == 1) continue;
            if (axis != 1 || shape[i] != channels) return false;
        }
        return true;
    }
}
