// Licensed under the MIT license.
// Conv — https://onnx.ai/onnx/operators/onnx__Conv.html (opsets 1, 11, 22). 1-D and 2-D, any group count, strides,
// dilations, explicit pads and auto_pad. Lowering, first that applies: depthwise -> per-plane filter; 3x3 stride 1
// where the cost model favours it -> Winograd F(2x2,3x3) or F(4x4,3x3); small output planes -> channel-vectorised; 1x1 stride 1
// from the arena -> GEMM reading the input in place; otherwise direct convolution on phase planes. An unpadded 1x1 with a
// stride first copies the pixels it reads into a compact tensor (a layer of its own) and lowers as the stride-1 1x1. Weights are packed
// at construction (BatchNorm folded in); bias, residual Add and activation run in each kernel's epilogue.

using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Ops;

internal sealed class Conv : OpHandler
{
    public override string OpType => "Conv";

    private static readonly string[] s_attributes = { "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides" };

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 2, 4); // a 4th input is the residual fused by Passes/FuseActivations
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown(s_attributes);
        Value x = node.Inputs[0]!, w = node.Inputs[1]!;
        int[] xs = SpatialShapeOf(x, "X", "X"), ws = ShapeOf(w, "W");
        if (xs.Length > 4) throw new UnsupportedNodeException($"{xs.Length - 2}-D convolution");
        if (ws.Length != xs.Length) throw new InvalidNodeException($"W {Shapes.Format(ws)} must have the rank of X {Shapes.Format(xs)}");
        RequireFloat(x);
        long group = node.Attributes.GetInt("group", 1);
        if (group <= 0 || xs[1] % group != 0 || ws[0] % group != 0)
            throw new InvalidNodeException($"group {group} must divide the input channels {xs[1]} and output channels {ws[0]}");
        if (ws[1] * group != xs[1]) throw new InvalidNodeException($"W has {ws[1]} input channels per group; X has {xs[1]} channels in {group} groups");
        if (node.Input(2) is { } b && (b.Shape is null || Shapes.Product(b.Shape) != ws[0]))
            throw new InvalidNodeException($"B must have {ws[0]} elements");
        SpatialAttributes a = Spatial(node, xs, ws);
        var output = new int[xs.Length];
        output[0] = xs[0];
        output[1] = ws[0];
        for (int i = 0; i < a.Output.Length; i++) output[2 + i] = a.Output[i];
        ctx.SetOutput(node, 0, OnnxDataType.Float, output);
    }

    private static SpatialAttributes Spatial(Node node, int[] xs, int[] ws)
    {
        int n = xs.Length - 2;
        var spatial = new int[n];
        var kernel = new int[n];
        Array.Copy(xs, 2, spatial, 0, n);
        Array.Copy(ws, 2, kernel, 0, n);
        return SpatialAttributes.Resolve(node, spatial, kernel, ceilMode: false);
    }

    internal static ConvGeometry Geometry(int channels, int[] xs, int[] ws, SpatialAttributes a)
    {
        bool twoD = xs.Length == 4;
        int last = xs.Length - 3;
        return new ConvGeometry(
            Channels: channels,
            InH: twoD ? xs[2] : 1, InW: xs[xs.Length - 1],
            KernelH: twoD ? ws[2] : 1, KernelW: ws[ws.Length - 1],
            StrideH: twoD ? a.Strides[0] : 1, StrideW: a.Strides[last],
            DilationH: twoD ? a.Dilations[0] : 1, DilationW: a.Dilations[last],
            PadTop: twoD ? a.PadsBegin[0] : 0, PadLeft: a.PadsBegin[last],
            OutH: twoD ? a.Output[0] : 1, OutW: a.Output[last]);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!, w = node.Inputs[1]!;
        Value? b = node.Input(2), r = node.Input(3), gate = node.Input(FoldChannelScale.ScaleInput);
        Value y = node.Outputs[0];
        int[] xs = x.Shape!, ws = w.Shape!;
        SpatialAttributes a = Spatial(node, xs, ws);
        int groups = (int)node.Attributes.GetInt("group", 1);
        int channels = xs[1], oc = ws[0], cg = ws[1];
        Activation act = node.FusedActivation ?? Activation.None;
        ConvGeometry geometry = Geometry(cg, xs, ws, a);
        long inPlane = (long)geometry.InH * geometry.InW, outPlane = (long)geometry.OutH * geometry.OutW;
        string[]? step = null;
        if (IsStridedPointwise(geometry, groups, xs, a) && !x.Blocked && x.Type == OnnxDataType.Float)
        {
            // 1x1 with a stride, unpadded (ResNet's downsamples): the pixels it reads copied into a compact tensor first
            // (one vectorised strided copy per row), then the stride-1 1x1 lowerings below read that tensor like any input.
            // Read in place at the stride or from phase planes, ResNet-18's three ran 20-30% slower than their stride-1
            // twins (AVX2, stand-alone: 0.167-0.178 ms against 0.138-0.142 + 0.007-0.016 for the copy).
            var compact = new Value(node.Name + ":subsampled") { Type = OnnxDataType.Float, Shape = new[] { xs[0], xs[1], geometry.OutH, geometry.OutW } };
            CopyLowering.StridedCopy(node, ctx, x, compact, compact.Shape, new[] { xs[1] * inPlane, inPlane, (long)geometry.StrideH * geometry.InW, geometry.StrideW }, 0,
                new[] { $"step 1 of 2: the input's every {geometry.StrideH}x{geometry.StrideW}th pixel copied into a compact {xs[1]}x{geometry.OutH}x{geometry.OutW} tensor for the 1x1 convolution (next layer)" });
            step = new[] { $"step 2 of 2: the 1x1 stride {geometry.StrideH}x{geometry.StrideW} convolution as a stride-1 one over the compact input" };
            x = compact;
            xs = compact.Shape;
            geometry = geometry with { InH = geometry.OutH, InW = geometry.OutW, StrideH = 1, StrideW = 1 };
            inPlane = outPlane;
        }

        // Depthwise with a small channel multiplier: a per-plane filter over padded phase sub-planes
        // (Emit/PlaneFilterEmitter). With 4 or more outputs per input channel (e.g. a first layer with one input channel)
        // the direct convolution below reuses each input load across a tile of output channels instead.
        if (groups == channels && cg == 1 && r is null && oc / channels < 4)
        {
            bool twoD = xs.Length == 4;
            int padBottom = twoD ? a.PadsEnd[0] : 0, padRight = a.PadsEnd[a.PadsEnd.Length - 1];
            // Small planes with the channels in the vector lanes take the weights packed [C/16][taps][16].
            // Blocked input and output (Passes/BlockedLayout) take them too, read and written in place.
            bool lanes = twoD && w.Constant is not null && (y.Blocked || Emit.DepthwiseChannelsEmitter.Fits(channels, oc / channels, geometry, padBottom, padRight, act, ctx.Profile));
            var filter = new PlaneFilterSpec("DepthwiseConv", xs[0], channels, oc / channels, geometry,
                padBottom, padRight, b is not null, act, false, 0) { ChannelVectors = lanes, Blocked = y.Blocked };
            int taps = geometry.KernelH * geometry.KernelW, block = Emit.DepthwiseChannelsEmitter.Block;
            Operand weights = lanes
                ? PackedPanels(ctx, w, ":lanes", channels, taps, block, LoweringContext.Lit.Int(block), (channels + block - 1) / block * block)
                : ctx.In("W", w);
            ctx.AddLayer(node, filter, Operands(ctx, node, x, weights, b is null ? null : ctx.In("B", b), null, y, Emit.PlaneFilterEmitter.ScratchFloats(filter)));
            return;
        }

        TargetProfile profile = ctx.Profile;
        int mr = profile.GemmMR;
        if (WinogradFits(profile, xs, groups, geometry, w, oc) is (int tile, int bandRows, double ratio, bool channelLayout))
        {
            // Winograd F(2x2, 3x3) or F(4x4, 3x3) (Emit/WinogradEmitter), weights transformed and packed at construction:
            // in panels of GEMM rows, or (channel layout) in panels of output channels for the channel-vectorised kernels.
            // The channel layout's panels are the machine's ISA's (chosen at construction).
            int xis = (tile + 2) * (tile + 2), pack = channelLayout ? profile.ChannelPanel : mr;
            long packedU = (long)xis * (channelLayout ? profile.ChannelPanelRows(oc) : (oc + pack - 1) / pack * pack) * cg;
            var u = new Operand("W", OperandKind.Weight, ctx.Transform("WinogradPackA", w.Name + $":winograd{tile}" + (channelLayout ? ":channels" : ""), PackOperands(w.Constant!, w.Name, ctx),
                new[] { LoweringContext.Lit.Int(oc), LoweringContext.Lit.Int(cg), channelLayout ? profile.ChannelPanelAtConstruction() : LoweringContext.Lit.Int(pack), LoweringContext.Lit.Int(tile) }, packedU,
                new[] { xis, (oc + pack - 1) / pack, cg, pack }));
            var wino = new WinogradConvSpec(xs[0], cg, oc, geometry, b is not null, r is not null, act, mr, tile, bandRows, ratio, channelLayout ? profile.ChannelPanel : 0);
            ctx.AddLayer(node, wino, Operands(ctx, node, x, u, b is null ? null : ctx.In("B", b), r, y, Emit.WinogradEmitter.ScratchFloats(wino)));
            return;
        }
        int m = oc / groups, k = cg * geometry.KernelH * geometry.KernelW;
        bool unitWindow = IsUnitWindow(geometry);
        // A folded input scale (Passes/FoldChannelScale) only ever reaches the 1x1 lowerings below, which take its weights
        // scaled at run time (ScaledWeights).
        if (gate is not null)
        {
            if (!unitWindow || groups != 1 || x.IsGraphInput || x.IsGraphOutput)
                throw new InvalidOperationException($"{node.Describe()}: a folded input scale on a convolution the 1x1 lowerings do not take");
            step = new[] { "step 2 of 2: the 1x1 convolution with the weights scaled per input channel (previous layer)" };
        }
        // Blocked input or output (Passes/BlockedLayout): the channel-vectorised 1x1, which reads and writes that layout; or,
        // from an NCHW input with few channels, the GEMM writing the blocked layout (GemmWritesBlocked).
        bool blocked = x.Blocked || y.Blocked;
        bool gemmBlocked = y.Blocked && !x.Blocked && GemmWritesBlocked(profile, xs, oc, cg, groups, unitWindow, r, x);
        if (!gemmBlocked && groups == 1 && xs.Length == 4 && w.Constant is not null && (b is null || b.Constant is not null)
            && (blocked || Emit.ChannelVectorConvEmitter.Pays(profile, geometry, oc, unitWindow)))
        {
            // Small output planes: output channels in the vector lanes (Emit/ChannelVectorConvEmitter).
            // Weights in the panels of the machine's ISA (chosen at construction), the most floats over the ISAs reserved;
            // the profile's narrow panels where the wide ones would leave a partial last block (NarrowsChannelPanels).
            bool narrow = profile.NarrowsChannelPanels(oc, outPlane);
            profile = profile.WithChannelPanels(narrow);
            int panel = profile.ChannelPanel;
            string panelAtConstruction = profile.ChannelPanelAtConstruction();
            long panelRows = profile.ChannelPanelRows(oc);
            Operand cw = PackedPanels(ctx, w, ":channels", oc, k, panel, panelAtConstruction, panelRows);
            if (gate is not null) cw = ScaledWeights(ctx, node, cw, gate, oc, k, panelAtConstruction, panelRows * k);
            var cspec = new ChannelVectorConvSpec(xs[0], cg, oc, geometry, unitWindow, b is not null, r is not null, act, panel)
            {
                XBlocked = x.Blocked,
                YBlocked = y.Blocked,
                Narrow = narrow,
            };
            // The bias zero-padded to whole panels (the kernel loads whole vectors of it).
            Operand? padded = b is null ? null : new Operand("B", OperandKind.Weight, ctx.Transform("Scale", b.Name + ":padded", new[] { ctx.In("B", b).Id },
                new[] { LoweringContext.Lit.Int(oc), LoweringContext.Lit.Float(1f) }, profile.ChannelPanelRows(oc)));
            ctx.AddLayer(node, cspec, Operands(ctx, node, x, cw, padded, r, y, Emit.ChannelVectorConvEmitter.ScratchFloats(cspec, profile)), step);
            return;
        }
        int n = (int)outPlane;
        // A 1x1, stride-1, unpadded convolution reads its input in place as the GEMM's B (rows of pixels), when the input
        // lives in the arena (the kernel may over-read a tile past a row end into the arena's padding).
        bool gemm = unitWindow && !x.IsGraphInput && !x.IsGraphOutput;
        mr = profile.GemmMRFor(m);
        long packedA = (long)groups * ((m + mr - 1) / mr) * mr * k;
        string[] packParameters = { LoweringContext.Lit.Int(groups), LoweringContext.Lit.Int(m), LoweringContext.Lit.Int(k), LoweringContext.Lit.Int(mr) };
        Operand packedW = w.Constant is not null
            ? new Operand("W", OperandKind.Weight, ctx.Transform("PackA", w.Name + ":packed", PackOperands(w.Constant, w.Name, ctx),
                packParameters, packedA, new[] { groups, (m + mr - 1) / mr, k, mr }))
            : ctx.RuntimePack(node, "W", "PackA", w, new[] { "null" }.Concat(packParameters).ToArray(), packedA);
        if (gate is not null) packedW = ScaledWeights(ctx, node, packedW, gate, m, k, LoweringContext.Lit.Int(mr), packedA);

        bool prefetchOutput = profile.OutputPrefetchBytes > 0 && (long)xs[0] * oc * outPlane * sizeof(float) >= profile.OutputPrefetchBytes;
        if (!gemm)
        {
            // Direct convolution on phase planes: no im2col panels (Emit/DirectConvEmitter).
            var direct = new DirectConvSpec(xs[0], groups, cg, m, geometry, b is not null, r is not null, act, mr)
            {
                PrefetchOutput = prefetchOutput,
                BandRows = Emit.DirectConvEmitter.PlanBand(geometry, groups, cg, profile),
            };
            ctx.AddLayer(node, direct, Operands(ctx, node, x, packedW, b is null ? null : ctx.In("B", b), r, y, Emit.DirectConvEmitter.ScratchFloats(direct)), step);
            return;
        }
        // Long K and many row tiles: B's column tile is copied into a contiguous K x NR panel once and read by every row
        // tile from there (the im2col panel of a 1 x N image with K channels), rather than K rows of NR floats at a pitch of
        // N floats that lands most loads across two cache lines.
        bool packB = !gemmBlocked && groups == 1 && xs[0] == 1 && k >= profile.PackedBMinK && (m + mr - 1) / mr >= profile.PackedBMinRowTiles;
        var spec = new GemmSpec
        {
            AName = "W", BName = "X", YName = "Y", BiasName = b is null ? null : "B", RName = r is null ? null : "R",
            ScratchName = packB || gemmBlocked ? "S" : null,
            M = m, N = n, K = k,
            ALayout = GemmALayout.Packed,
            BLayout = packB ? GemmBLayout.Im2ColPanel : GemmBLayout.RowMajor,
            Conv = packB ? ConvGeometry.Rows(k, n) : null,
            Ldb = n,
            Ldc = n,
            Ldr = n,
            Bias = b is null ? GemmBias.None : GemmBias.PerRow,
            Residual = r is not null,
            Activation = act,
            MR = mr,
            PrefetchC = prefetchOutput && !gemmBlocked,
            YBlocked = gemmBlocked,
            Groups = groups,
            AGroupStride = packedA / groups,
            BGroupStride = cg * inPlane,
            CGroupStride = m * outPlane,
            BiasGroupStride = m,
            Batch = xs[0],
            BBatchStride = channels * inPlane,
            CBatchStride = oc * outPlane,
        };
        ctx.AddLayer(node, spec, Operands(ctx, node, x, packedW, b is null ? null : ctx.In("B", b), r, y, scratchFloats: packB ? (long)k * profile.WidestNR(mr) : gemmBlocked ? (long)m * profile.WidestNR(mr) : null), step);
    }

    /// <summary>
    /// Which of the kernels that read and write the channel-blocked layout (Passes/BlockedLayout) this node lowers to
    /// when its input or output is blocked: the channel-vectorised 1x1 (ungrouped, stride 1, unpadded, constant weights
    /// and bias) or the depthwise one (multiplier 1, no residual, a window DepthwiseChannelsEmitter.FitsBlocked takes).
    /// </summary>
    internal static BlockedKernel BlockedKernelOf(Node node)
    {
        Value? x = node.Input(0), w = node.Input(1), b = node.Input(2);
        if (node.Inputs.Count < 2 || node.Outputs.Count != 1 || x?.Shape is not { Length: 4 } xs || w?.Constant is null || w.Shape is not { Length: 4 } ws
            || (b is not null && b.Constant is null) || node.Outputs[0].Shape is null)
        {
            return BlockedKernel.None;
        }
        SpatialAttributes a = Spatial(node, xs, ws);
        int groups = (int)node.Attributes.GetInt("group", 1);
        ConvGeometry g = Geometry(ws[1], xs, ws, a);
        if (groups == 1 && IsUnitWindow(g)) return BlockedKernel.Pointwise;
        if (groups == xs[1] && ws[1] == 1 && ws[0] == xs[1] && node.Input(3) is null
            && Emit.DepthwiseChannelsEmitter.FitsBlocked(xs[1], g, a.PadsEnd[0], a.PadsEnd[1]))
        {
            return BlockedKernel.Depthwise;
        }
        return BlockedKernel.None;
    }

    /// <summary>A 2-D, ungrouped 1x1 convolution with a stride above 1 and no padding.</summary>
    private static bool IsStridedPointwise(ConvGeometry g, int groups, int[] xs, SpatialAttributes a) =>
        groups == 1 && xs.Length == 4 && g.KernelH == 1 && g.KernelW == 1 && (g.StrideH > 1 || g.StrideW > 1)
        && a.PadsBegin.All(p => p == 0) && a.PadsEnd.All(p => p == 0);

    /// <summary>
    /// The packed weights (panels [ceil(m/mr)][k][mr]) scaled per input channel by the folded gate at run time, into an
    /// arena tensor the convolution reads as its weights: a layer of its own before it (WeightTransforms.ScalePanelColumns).
    /// </summary>
    private static Operand ScaledWeights(LoweringContext ctx, Node node, Operand packed, Value gate, int m, int k, string mr, long floats)
    {
        int scaled = ctx.NewTensor(node.Name + ":W_scaled", OnnxDataType.Float, new[] { (int)floats });
        ctx.AddLayer(node, new RuntimeTransformSpec("ScalePanelColumns", new[] { LoweringContext.Lit.Int(m), LoweringContext.Lit.Int(k), mr }.ToEquatableArray())
            {
                Why = $"the weights scaled per input channel by '{gate.Name}': the Mul of the input folded into this convolution",
            },
            new[] { packed, ctx.In("G", gate), new Operand("Y", OperandKind.Tensor, scaled, Writes: true) },
            new[] { "step 1 of 2: the packed weights scaled per input channel for the 1x1 convolution (next layer)" });
        return new Operand("W", OperandKind.Tensor, scaled);
    }

    /// <summary>
    /// Whether a 1x1 that reads an NCHW input and writes the channel-blocked layout runs as the pixel GEMM with a blocked
    /// output (<see cref="GemmSpec.YBlocked"/>): it reads its input rows in place where the channel-vectorised 1x1 packs
    /// the input channel-major first.
    /// </summary>
    private static bool GemmWritesBlocked(TargetProfile profile, int[] xs, int oc, int cg, int groups, bool unitWindow, Value? r, Value x) =>
        groups == 1 && unitWindow && r is null && oc % Passes.BlockedLayout.Block == 0 && xs.Length == 4 && !x.IsGraphInput && !x.IsGraphOutput
        && oc <= profile.GemmBlockedMaxChannels && cg <= profile.GemmBlockedMaxK;

    private static bool IsUnitWindow(ConvGeometry g) =>
        g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadTop == 0 && g.PadLeft == 0 && g.OutH == g.InH && g.OutW == g.InW;

    /// <summary>The operands of a convolution layer: X, the packed W, B, R, Y and (when it has one) the scratch S.</summary>
    private static List<Operand> Operands(LoweringContext ctx, Node node, Value x, Operand w, Operand? bias, Value? r, Value y, long? scratchFloats)
    {
        var ops = new List<Operand> { ctx.In("X", x), w };
        if (bias is not null) ops.Add(bias);
        if (r is not null) ops.Add(ctx.In("R", r));
        ops.Add(ctx.Out("Y", y));
        if (scratchFloats is long floats) ops.Add(ctx.Scratch("S", node, floats));
        return ops;
    }

    /// <summary>
    /// The band height and estimated cost ratio when a 2-D, ungrouped 3x3 stride-1 convolution with constant weights is
    /// cheaper by Winograd F(2x2, 3x3) or F(4x4, 3x3) than directly (Emit/WinogradEmitter's cost model; the profile must allow it); else null.
    /// </summary>
    private static (int Tile, int BandRows, double Ratio, bool ChannelLayout)? WinogradFits(TargetProfile profile, int[] xs, int groups, ConvGeometry g, Value w, int oc)
    {
        if (!profile.Winograd || xs.Length != 4 || groups != 1 || w.Constant is null) return null;
        if (g.KernelH != 3 || g.KernelW != 3 || g.StrideH != 1 || g.StrideW != 1 || g.DilationH != 1 || g.DilationW != 1) return null;
        if (g.PadTop > 1 || g.PadLeft > 1 || g.OutH < 2 || g.OutW < 2 || g.Channels < 8 || oc < 8) return null;
        (int tile, int bandRows, double ratio, bool channels) = Emit.WinogradEmitter.Choose(g.Channels, oc, g, profile.WinogradTiles,
            profile.ChannelPanel, profile.ChannelPanel > 0 ? profile.ChannelTileMR[0] : 0, profile.ChannelPanel > 0 ? profile.ChannelTileNV[0] : 0);
        return ratio < Emit.WinogradEmitter.MaxCostRatio ? (tile, bandRows, ratio, channels) : null;
    }

    /// <summary>
    /// Constant weights [m][k] packed at construction into panels of rows, [m/panel][k][panel] (the last panel
    /// zero-padded): the operand W of the depthwise-lanes and channel-vectorised kernels. <paramref name="panelAtConstruction"/>
    /// is the panel as a C# expression (the channel-vectorised kernels take the machine's ISA's, see
    /// TargetProfile.ChannelPanelAtConstruction), <paramref name="reservedRows"/> the rows reserved for it (whole panels of
    /// the largest candidate), <paramref name="mr"/> the panel the weight's shape comment shows.
    /// </summary>
    private static Operand PackedPanels(LoweringContext ctx, Value w, string suffix, int m, int k, int mr, string panelAtConstruction, long reservedRows) =>
        new("W", OperandKind.Weight, ctx.Transform("PackA", w.Name + suffix, PackOperands(w.Constant!, w.Name, ctx),
            new[] { LoweringContext.Lit.Int(1), LoweringContext.Lit.Int(m), LoweringContext.Lit.Int(k), panelAtConstruction },
            reservedRows * k, new[] { (m + mr - 1) / mr, k, mr }));

    /// <summary>The PackA operands: the raw weight, and a per-row scale when BatchNorm was folded (no extra copy).</summary>
    private static int[] PackOperands(Constant w, string name, LoweringContext ctx)
    {
        if (w.Recipe is { Kind: "ScaleRows" } recipe)
        {
            return new[] { ctx.RawWeight(recipe.Operands[0], name), ctx.RawWeight(recipe.Operands[1], name + ":bn") };
        }
        return new[] { ctx.RawWeight(w, name), -1 };
    }
}
