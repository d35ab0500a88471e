// Licensed under the MIT license.
// Pass 6b: chooses the activations stored channel-blocked, [N][C/16][H][W][16]: small planes (profile BlockedMaxPixels)
// with channels a multiple of 16, produced by a kernel that can write that layout and read only by kernels that can read
// it (Ops/Conv.BlockedKernel: channel-vectorised 1x1 convolutions and depthwise convolutions; global pools). A depthwise
// convolution reads and writes one layout, and a residual has the layout of the output it is added to; the rest of the
// graph (and every graph input and output) stays NCHW. The 1x1 convolutions at a region's edges convert: they read NCHW
// and write blocked, or read blocked and write NCHW, inside their own tiles; a region does not start at a 1x1 with fewer
// output channels than a weight panel.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Passes;

internal static class BlockedLayout
{
    /// <summary>Channels per block: the widest ISA's lanes (AVX2 takes a block as two vectors).</summary>
    public const int Block = 16;

    public static void Run(Graph graph, TargetProfile profile)
    {
        if (profile.BlockedMaxPixels == 0) return;
        var kinds = new Dictionary<Node, BlockedKernel>();
        BlockedKernel KindOf(Node n)
        {
            if (!kinds.TryGetValue(n, out BlockedKernel k))
            {
                kinds[n] = k = n.Domain.Length != 0 ? BlockedKernel.None
                    : n.OpType == "Conv" ? Conv.BlockedKernelOf(n)
                    : n.OpType == "Mul" && ScaledInput(n) is not null ? BlockedKernel.ChannelScale : BlockedKernel.None;
            }
            return k;
        }
        var blocked = new HashSet<Value>();
        foreach (Node node in graph.Nodes)
        {
            if (KindOf(node) == BlockedKernel.None) continue;
            Value y = node.Outputs[0];
            // A 1x1 whose input is never blocked (produced by another kind of kernel, or a graph input) converts in its own
            // tiles; with fewer output channels than a weight panel those tiles are partial (AVX2: 32 channels are a panel
            // of 24 and a tail of 8) and the input is packed per tile, where the GEMM of the NCHW 1x1 runs whole tiles.
            // YOLOX-nano's 128 -> 32 at 52x52 after its concatenations, in the model (6 alternated runs): 0.40-0.42 ->
            // 0.28-0.34 ms with its NCHW depthwise after it 0.10 -> 0.12; the model 0.3-0.5 ms faster.
            if (KindOf(node) == BlockedKernel.Pointwise && (node.Inputs[0]!.Producer is not Node producer || KindOf(producer) == BlockedKernel.None)
                && y.Shape is { Length: 4 } ys && ys[1] < profile.ChannelPanel)
            {
                continue;
            }
            // One pixel per plane: the blocked layout is NCHW already.
            if (y.Type == OnnxDataType.Float && y.Shape is { Length: 4 } s && s[1] % Block == 0 && (long)s[2] * s[3] is > 1 and var pixels && pixels <= profile.BlockedMaxPixels
                && y.Constant is null && !y.IsGraphOutput && !y.IsGraphInput)
            {
                blocked.Add(y);
            }
        }
        // Drop the values whose readers or producer cannot take the layout, until every constraint holds (only removals:
        // this terminates, and in any order at the same set: a value's constraints only get harder as others go).
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (Value v in blocked.ToList())
            {
                if (Accepts(v, blocked, KindOf)) continue;
                blocked.Remove(v);
                changed = true;
            }
        }
        foreach (Value v in blocked) v.Blocked = true;
    }

    private static bool Accepts(Value v, HashSet<Value> blocked, System.Func<Node, BlockedKernel> kindOf)
    {
        Node producer = v.Producer!;
        // A depthwise convolution and a channel scale keep their input's layout; a residual takes its output's.
        if (kindOf(producer) == BlockedKernel.Depthwise && !blocked.Contains(producer.Inputs[0]!)) return false;
        if (kindOf(producer) == BlockedKernel.ChannelScale && !blocked.Contains(ScaledInput(producer)!)) return false;
        if (producer.Input(3) is { } r && !blocked.Contains(r)) return false;
        foreach (Node q in v.Consumers)
        {
            if (q.Domain.Length == 0 && q.OpType is "GlobalAveragePool" or "GlobalMaxPool") continue;
            switch (kindOf(q))
            {
                case BlockedKernel.Pointwise:
                    if (q.Input(1) == v || q.Input(2) == v) return false;
                    if (q.Input(3) == v && !blocked.Contains(q.Outputs[0])) return false;
                    break;
                case BlockedKernel.Depthwise:
                    if (q.Inputs[0] != v || !blocked.Contains(q.Outputs[0])) return false;
                    break;
                case BlockedKernel.ChannelScale:
                    if (ScaledInput(q) != v || !blocked.Contains(q.Outputs[0])) return false;
                    break;
                default:
                    return false;
            }
        }
        return true;
    }

    /// <summary>
    /// For Mul(x, s) or Mul(s, x) with x [N, C, H, W] (the output's shape) and s [N or 1, C, 1, 1] (a squeeze-and-excitation
    /// gate): x, the input a blocked Mul reads and writes in its layout (s stays NCHW, which is its blocked layout too).
    /// </summary>
    public static Value? ScaledInput(Node mul)
    {
        if (mul.Inputs.Count != 2 || mul.Outputs.Count != 1 || mul.Outputs[0].Shape is not { Length: 4 } y) return null;
        for (int side = 0; side < 2; side++)
        {
            Value? x = mul.Inputs[side], s = mul.Inputs[1 - side];
            if (x is null || s is null || x == s || x.Type != OnnxDataType.Float || s.Type != OnnxDataType.Float) continue;
            if (x.Shape is { Length: 4 } xs && Ir.Shapes.SameShape(xs, y) && s.Shape is { Length: 4 } ss && (ss[0] == y[0] || ss[0] == 1) && ss[1] == y[1] && ss[2] == 1 && ss[3] == 1)
            {
                return x;
            }
        }
        return null;
    }
}

/// <summary>Whether (and how) a node's kernel reads and writes the channel-blocked layout.</summary>
internal enum BlockedKernel
{
    None,
    /// <summary>A 1x1, stride-1, unpadded, ungrouped convolution with constant weights (channel-vectorised tiles).</summary>
    Pointwise,
    /// <summary>A depthwise convolution (one output per channel) the channel-lanes depthwise kernel handles.</summary>
    Depthwise,
    /// <summary>Mul of a blocked tensor by a per-channel scale (<see cref="BlockedLayout.ScaledInput"/>): a broadcast over [N, C/16, H*W, 16].</summary>
    ChannelScale,
}
