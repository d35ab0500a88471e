// Licensed under the MIT license.
// Pass 7b (the end of lowering, before the memory plan): a 1x1 convolution lowered to a GEMM over NCHW planes whose large
// output only a depthwise convolution reads (MobileNetV2's and EfficientNet's inverted residual blocks: 16 -> 96
// channels at 112x112 is 4.8 MB) becomes one layer that computes the expansion a band of rows at a time into a small
// ring of rows per channel and runs the depthwise rows on them while they are in L2 (Emit/ExpandDepthwiseEmitter).
// The expanded tensor is no longer written to memory and read back, and leaves the arena.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Passes;

internal static class ExpandDepthwise
{
    public static void Run(LoweringContext ctx)
    {
        TargetProfile profile = ctx.Profile;
        if (profile.ExpandDepthwiseMinBytes <= 0) return;
        var uses = new Dictionary<int, int>();
        foreach (LayerSpec layer in ctx.Layers)
        {
            foreach (Operand op in layer.Operands.Where(o => o.Kind == OperandKind.Tensor))
                uses[op.Id] = uses.TryGetValue(op.Id, out int u) ? u + 1 : 1;
        }
        var viewed = new HashSet<int>(ctx.Tensors.Where(t => t.ViewOf >= 0).Select(t => t.ViewOf));
        var layers = new List<LayerSpec>();
        bool fused = false;
        for (int i = 0; i < ctx.Layers.Count; i++)
        {
            LayerSpec? f = i + 1 < ctx.Layers.Count ? TryFuse(ctx, ctx.Layers[i], ctx.Layers[i + 1], uses, viewed) : null;
            if (f is null)
            {
                layers.Add(ctx.Layers[i]);
                continue;
            }
            layers.Add(f);
            fused = true;
            i++;
        }
        if (!fused) return;
        ctx.Layers.Clear();
        for (int i = 0; i < layers.Count; i++)
            ctx.Layers.Add(layers[i] with { Index = i, MethodName = Identifiers.RenumberLayerMethod(layers[i].MethodName, i) });
    }

    private static LayerSpec? TryFuse(LoweringContext ctx, LayerSpec a, LayerSpec b, Dictionary<int, int> uses, HashSet<int> viewed)
    {
        if (a.Kernel is not GemmSpec g || b.Kernel is not PlaneFilterSpec f) return null;
        if (g.Groups != 1 || g.Batch != 1 || g.ALayout != GemmALayout.Packed || g.BLayout != GemmBLayout.RowMajor || g.Residual
            || g.Conv is not null || g.Ldb != g.N || g.Ldc != g.N || g.Bias == GemmBias.PerColumn)
        {
            return null;
        }
        if (f.Op != "DepthwiseConv" || f.ChannelVectors || f.Blocked || f.Batch != 1 || f.Multiplier != 1 || f.Channels != g.M
            || !DepthwiseRowsEmitter.Applies(f) || (long)f.Geometry.InH * f.Geometry.InW != g.N)
        {
            return null;
        }
        Operand? mid = a.Operands.SingleOrDefault(o => o.Writes && o.Parameter == g.YName);
        Operand? dwIn = b.Operands.SingleOrDefault(o => o.Parameter == "X");
        if (mid is null || dwIn is null || mid.Kind != OperandKind.Tensor || dwIn.Kind != OperandKind.Tensor || dwIn.Id != mid.Id || mid.ElementOffset != 0 || dwIn.ElementOffset != 0) return null;
        LoweringContext.TensorBuilder t = ctx.Tensors[mid.Id];
        if (t.Location != TensorLocation.Arena || t.ViewOf >= 0 || viewed.Contains(t.Id) || uses[t.Id] != 2) return null;
        if (MemoryPlanner.SizeOf(t) < ctx.Profile.ExpandDepthwiseMinBytes) return null;
        // The banded driver runs whole-K tiles (no K chunks).
        for (int i = 0; i < ctx.Profile.Isas.Count; i++)
        {
            if (GemmEmitter.KChunk(g, GemmEmitter.TileFor(g, ctx.Profile, i), ctx.Profile) < g.K) return null;
        }

        (int band, int ring) = Band(f.Geometry, g.M, ctx.Profile.ExpandDepthwiseRingBytes);
        var spec = new ExpandDepthwiseSpec(g with { PrefetchC = false }, f, band, ring);
        var operands = new List<Operand>();
        foreach (Operand o in a.Operands)
        {
            if (o.Parameter == g.BName) operands.Add(o with { Parameter = "X" });
            else if (o.Parameter == g.AName) operands.Add(o with { Parameter = "A" });
            else if (o.Parameter == g.BiasName) operands.Add(o with { Parameter = "C" });
        }
        foreach (Operand o in b.Operands)
        {
            if (o.Parameter is "W" or "B" or "Y") operands.Add(o);
        }
        int scratch = ctx.NewTensor(ctx.Tensors[mid.Id].Name + ":ring", Onnx.OnnxDataType.Float, new[] { (int)ExpandDepthwiseEmitter.ScratchFloats(spec) });
        operands.Add(new Operand("S", OperandKind.Tensor, scratch, Writes: true));
        var remarks = new List<string> { $"{a.Remarks[0]}, then {b.Remarks[0]} (fused: the expanded tensor stays in a ring of rows)" };
        remarks.AddRange(a.Remarks.Skip(1));
        remarks.AddRange(b.Remarks.Skip(1).Select(r => "depthwise " + r));
        return new LayerSpec
        {
            Index = a.Index,
            MethodName = a.MethodName,
            Remarks = remarks.ToEquatableArray(),
            Nodes = a.Nodes.Concat(b.Nodes).ToEquatableArray(),
            Operands = operands.ToEquatableArray(),
            Kernel = spec,
            Macs = a.Macs + b.Macs,
        };
    }

    /// <summary>
    /// Output rows per band and the ring's rows: the most rows whose ring (every channel's input rows of one band, (rows -
    /// 1) x stride + kernel height) fits the budget, at least one.
    /// </summary>
    internal static (int Band, int Ring) Band(ConvGeometry g, int channels, long ringBytes)
    {
        int Ring(int rows) => (rows - 1) * g.StrideH + g.KernelH;
        int band = 1;
        while (band < g.OutH && (long)channels * Ring(band + 1) * g.InW * sizeof(float) <= ringBytes) band++;
        return (band, Ring(band));
    }
}
