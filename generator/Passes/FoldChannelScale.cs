// Licensed under the MIT license.
// Pass 6a: a per-channel scale of a 1x1 convolution's input (a squeeze-and-excitation gate: y = x * s, s [1, C, 1, 1],
// then Conv(y)) folds into the convolution's weights: Conv(x * s) = Conv'(x) with W'[o][c] = W[o][c] * s[c]. The gate is
// computed per inference, so the convolution scales its packed weights at run time (a layer of its own before it) and
// reads x directly; the pass over every element of x that the Mul was goes. Worth it where x has more pixels than the
// convolution has output channels (the weights it scales: output channels x C, against C x pixels for the Mul):
// EfficientNet-B0's blocks at 112x112 to 14x14, not its 7x7 ones. There (3 alternated runs): its 16 gate Muls took
// 0.385 ms, now the 5 at 7x7 take 0.035 and the 11 weight scalings 0.08; whole runs 12.8-13.3 -> 12.0-12.4 ms.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Passes;

internal static class FoldChannelScale
{
    /// <summary>The Conv input slot that carries the per-input-channel scale (after X, W, B and the fused residual R).</summary>
    public const int ScaleInput = 4;

    public static void Run(Graph graph, TargetProfile profile)
    {
        if (!profile.FoldChannelScale) return;
        foreach (Node mul in graph.Nodes.ToArray())
        {
            if (mul.OpType != "Mul" || mul.Domain.Length != 0 || BlockedLayout.ScaledInput(mul) is not Value x) continue;
            Value s = mul.Inputs[0] == x ? mul.Inputs[1]! : mul.Inputs[0]!;
            Value y = mul.Outputs[0];
            if (y.IsGraphOutput || y.Consumers.Count != 1 || y.Consumers[0] is not Node conv || !Foldable(conv, y)) continue;
            if (x.IsGraphInput || x.IsGraphOutput || x.Shape is not [1, int channels, int h, int w] || channels < 2) continue;
            if (s.Shape is not [1, _, 1, 1] || (long)h * w <= conv.Input(1)!.Shape![0]) continue;
            graph.RemoveNode(mul);
            FoldBatchNorm.SetInput(conv, 0, x);
            FoldBatchNorm.SetInput(conv, ScaleInput, s);
            conv.Absorbed($"Mul '{mul.Name}' (per-channel scale of the input, folded into the weights at run time)", mul.Name);
        }
    }

    /// <summary>A 1x1, stride-1, unpadded, ungrouped Conv with constant weights that reads y as its input, no scale yet.</summary>
    private static bool Foldable(Node conv, Value y)
    {
        if (conv.OpType != "Conv" || conv.Domain.Length != 0 || conv.Inputs[0] != y || conv.Input(1) == y || conv.Input(ScaleInput) is not null) return false;
        if (conv.Input(1)?.Constant is null || conv.Input(1)!.Shape is not [_, _, 1, 1]) return false;
        if (conv.Input(2) is { } b && b.Constant is null) return false;
        if (conv.Attributes.GetInt("group", 1) != 1) return false;
        foreach (long v in conv.Attributes.GetInts("strides") ?? System.Array.Empty<long>()) if (v != 1) return false;
        foreach (long v in conv.Attributes.GetInts("pads") ?? System.Array.Empty<long>()) if (v != 0) return false;
        string autoPad = conv.Attributes.GetString("auto_pad", "NOTSET");
        return autoPad is "NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER";
    }
}
