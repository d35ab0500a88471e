// Licensed under the MIT license.
// Pass 7b (the end of lowering, before the memory plan): a layer whose large output only one row-by-row layer reads is
// fused with that reader, so the tensor between them never goes to memory and leaves the arena. The producer's rows are
// computed a band at a time into a small ring of rows per channel (each worker's scratch) and the reader's rows read them
// there while they are in L2. Two pairs:
// - a 1x1 convolution lowered to a GEMM over NCHW planes, then a depthwise convolution (the row kernel): MobileNetV2's and
//   EfficientNet's inverted residual blocks (16 -> 96 channels at 112x112 is 4.8 MB), UltraFace's stem blocks
//   (Emit/ExpandDepthwiseEmitter);
// - a row-mode direct convolution, then a row-by-row max pool: the stems of SqueezeNet (64 x 111 x 111, 3.2 MB) and
//   ResNet-18 (Emit/ConvPoolEmitter).

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Passes;

internal static class RingFusion
{
    public static void Run(LoweringContext ctx)
    {
        TargetProfile profile = ctx.Profile;
        if (profile.RingFusionMinBytes <= 0) return;
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
            LayerSpec? f = null;
            if (i + 1 < ctx.Layers.Count && Intermediate(ctx, ctx.Layers[i], ctx.Layers[i + 1], uses, viewed) is int mid)
                f = ExpandDepthwise(ctx, ctx.Layers[i], ctx.Layers[i + 1], mid) ?? ConvPool(ctx, ctx.Layers[i], ctx.Layers[i + 1], mid);
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

    /// <summary>
    /// The tensor <paramref name="a"/> writes as its output Y and <paramref name="b"/> reads as its input X, when nothing
    /// else reads it, it is a whole arena tensor (not a graph output, not a slice or a concatenation's root) and at least
    /// <see cref="TargetProfile.RingFusionMinBytes"/>; else null.
    /// </summary>
    private static int? Intermediate(LoweringContext ctx, LayerSpec a, LayerSpec b, Dictionary<int, int> uses, HashSet<int> viewed)
    {
        Operand? y = a.Operands.FirstOrDefault(o => o.Writes && o.Parameter == "Y");
        Operand? x = b.Operands.FirstOrDefault(o => o.Parameter == "X");
        if (y is null || x is null || y.Kind != OperandKind.Tensor || x.Kind != OperandKind.Tensor || x.Id != y.Id || y.ElementOffset != 0 || x.ElementOffset != 0) return null;
        LoweringContext.TensorBuilder t = ctx.Tensors[y.Id];
        if (t.Location != TensorLocation.Arena || t.ViewOf >= 0 || viewed.Contains(t.Id) || uses[t.Id] != 2) return null;
        return MemoryPlanner.SizeOf(t) >= ctx.Profile.RingFusionMinBytes ? t.Id : null;
    }

    private static LayerSpec? ExpandDepthwise(LoweringContext ctx, LayerSpec a, LayerSpec b, int mid)
    {
        if (a.Kernel is not GemmSpec g || b.Kernel is not PlaneFilterSpec f) return null;
        if (g.Groups != 1 || g.Batch != 1 || g.ALayout != GemmALayout.Packed || g.BLayout != GemmBLayout.RowMajor || g.Residual
            || g.Conv is not null || g.Ldb != g.N || g.Ldc != g.N || g.Bias == GemmBias.PerColumn || g.YName != "Y")
        {
            return null;
        }
        if (f.Op != "DepthwiseConv" || f.ChannelVectors || f.Blocked || f.Batch != 1 || f.Multiplier != 1 || f.Channels != g.M
            || !DepthwiseRowsEmitter.Applies(f) || (long)f.Geometry.InH * f.Geometry.InW != g.N)
        {
            return null;
        }
        // The banded driver runs whole-K tiles (no K chunks).
        for (int i = 0; i < ctx.Profile.Isas.Count; i++)
        {
            if (GemmEmitter.KChunk(g, GemmEmitter.TileFor(g, ctx.Profile, i), ctx.Profile) < g.K) return null;
        }
        var spec = new ExpandDepthwiseSpec(g with { PrefetchC = false }, f, RingBands.PlanBand(f.Geometry, g.M, ctx.Profile.RingFusionRingBytes));
        var operands = new List<Operand>();
        foreach (Operand o in a.Operands)
        {
            if (o.Parameter == g.BName) operands.Add(o with { Parameter = "X" });
            else if (o.Parameter == g.AName) operands.Add(o with { Parameter = "A" });
            else if (o.Parameter == g.BiasName) operands.Add(o with { Parameter = "C" });
        }
        operands.AddRange(b.Operands.Where(o => o.Parameter is "W" or "B" or "Y"));
        operands.Add(Scratch(ctx, mid, ":ring", "S", ExpandDepthwiseEmitter.ScratchFloats(spec)));
        return Fused(a, b, spec, operands, "the expanded tensor stays in a ring of rows");
    }

    private static LayerSpec? ConvPool(LoweringContext ctx, LayerSpec a, LayerSpec b, int mid)
    {
        if (a.Kernel is not DirectConvSpec d || b.Kernel is not PlaneFilterSpec f) return null;
        if (d.BandRows > 0 || d.Groups != 1 || d.Batch != 1 || d.Residual || !DirectConvEmitter.UsesRows(d.Geometry, PhasePlanes.Plan(d.Geometry))) return null;
        ConvGeometry pg = f.Geometry;
        if (f.Op != "MaxPool" || !PlaneFilterEmitter.UsesRows(f) || f.ChannelVectors || f.Blocked || f.Batch != 1 || f.Channels != d.OutChannels
            || pg.InH != d.Geometry.OutH || pg.InW != d.Geometry.OutW)
        {
            return null;
        }
        var spec = new ConvPoolSpec(d with { PrefetchOutput = false }, f, RingBands.PlanBand(pg, d.OutChannels, ctx.Profile.RingFusionRingBytes));
        var operands = new List<Operand>();
        operands.AddRange(a.Operands.Where(o => o.Parameter is "X" or "W" or "B" or "S"));
        operands.AddRange(b.Operands.Where(o => o.Parameter == "Y"));
        operands.Add(Scratch(ctx, mid, ":ring", "T", ConvPoolEmitter.RingScratchFloats(spec)));
        return Fused(a, b, spec, operands, "the convolution's output stays in a ring of rows");
    }

    private static Operand Scratch(LoweringContext ctx, int mid, string suffix, string parameter, long floats) =>
        new(parameter, OperandKind.Tensor, ctx.NewTensor(ctx.Tensors[mid].Name + suffix, Onnx.OnnxDataType.Float, new[] { (int)floats }), Writes: true);

    private static LayerSpec Fused(LayerSpec a, LayerSpec b, KernelSpec spec, List<Operand> operands, string how)
    {
        var remarks = new List<string> { $"{a.Remarks[0]}, then {b.Remarks[0]} (fused: {how})" };
        remarks.AddRange(a.Remarks.Skip(1));
        remarks.AddRange(b.Remarks.Skip(1).Select(r => "then " + r));
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
}
