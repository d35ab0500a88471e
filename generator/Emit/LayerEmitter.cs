// Licensed under the MIT license.
// One generated method per layer: a remarks block (ONNX node, op, attributes, shapes, lowering and tiles), then the
// body from the kernel family's emitter.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

internal static class LayerEmitter
{
    public static void EmitLayer(LayerSpec layer, SourceWriter w, EmitContext ctx)
    {
        // Build-time tables some kernels index (static RVA data, members of the partial class).
        if (layer.Kernel is PadSpec pad) TensorEmitter.EmitPadTables(layer.MethodName, pad, w);
        if (layer.Kernel is ResizeSpec resize) TensorEmitter.EmitResizeTables(layer.MethodName, resize, w);
        if (layer.Kernel is PlaneFilterSpec filter) PlaneFilterEmitter.EmitTables(layer.MethodName, filter, w);
        w.WriteLine($"/// <summary>Layer {layer.Index}: {Identifiers.XmlText(layer.Remarks.Count > 0 ? layer.Remarks[0] : layer.MethodName)}.</summary>");
        w.WriteLine("/// <remarks>");
        w.WriteLine("/// <code>");
        foreach (string line in layer.Remarks.Skip(1).Concat(KernelRemarks(layer.Kernel, ctx)).Concat(SplitRemarks(layer, ctx.Profile)))
        {
            w.WriteLine("/// " + Identifiers.XmlText(line));
        }
        w.WriteLine($"/// profile: {Identifiers.XmlText(ctx.Profile.Name)}");
        w.WriteLine("/// </code>");
        w.WriteLine("/// </remarks>");
        w.WriteLine(EmitContext.MethodImpl);
        w.WriteLine(EmitContext.SkipLocalsInit);
        var typed = layer.Operands.Select(o => (Type: PointerType(o, ctx.Spec), o.Parameter)).ToList();
        string parameters = string.Join(", ", typed.Select(o => $"{o.Type} {o.Parameter}"));
        bool parallel = IsParallel(layer, ctx.Profile);
        ctx.BeginLayer(layer.MethodName, typed);
        if (!parallel)
        {
            w.OpenBlock($"private static void {layer.MethodName}({parameters})");
            EmitBody(layer, w, ctx);
            w.CloseBlock();
            WriteMethods(w, ctx.EndLayer());
            return;
        }
        // Parallel layer: the pointers go in an argument block the worker parts read; the pool is null at degree 1.
        w.OpenBlock($"private static void {layer.MethodName}({parameters}, {EmitContext.RuntimeNs}.WorkerPool pool)");
        w.WriteLine($"nint* args = stackalloc nint[{typed.Count + EmitContext.MaxCarried + 1}];");
        for (int i = 0; i < typed.Count; i++) w.WriteLine($"args[{i}] = (nint){typed[i].Parameter};");
        ctx.BeginParallelLayer(layer.MethodName, typed, WorkerScratchBytes(layer, ctx.Spec, ctx.Profile) > 0);
        EmitBody(layer, w, ctx);
        IReadOnlyList<string> parts = ctx.EndParallelLayer();
        w.CloseBlock();
        WriteMethods(w, parts.Concat(ctx.EndLayer()));
    }

    /// <summary>The layer's part and step methods, after the layer method.</summary>
    private static void WriteMethods(SourceWriter w, IEnumerable<string> methods)
    {
        foreach (string method in methods)
        {
            w.WriteLine();
            w.WriteLine(method.TrimEnd('\n'));
        }
    }

    /// <summary>Whether the layer splits its work across the instance's workers (a kernel family that partitions, and enough work).</summary>
    public static bool IsParallel(LayerSpec layer, Targets.TargetProfile profile) => layer.Kernel switch
    {
        DirectConvSpec or GemmSpec or WinogradConvSpec or ChannelVectorConvSpec or ExpandDepthwiseSpec or ConvPoolSpec => layer.Macs >= profile.ParallelMinMacs,
        // The scatter-add of a transposed convolution: one add per column element.
        Col2ImSpec c => (long)c.Batch * c.Groups * c.OutChannelsPerGroup * c.Geometry.KernelH * c.Geometry.KernelW * c.Geometry.InH * c.Geometry.InW >= profile.ParallelMinMacs,
        // Pooling has no MACs: count its window reads.
        PlaneFilterSpec f => (long)f.Batch * f.Channels * f.Multiplier * f.Geometry.OutH * f.Geometry.OutW * f.Geometry.KernelH * f.Geometry.KernelW >= profile.ParallelMinMacs,
        // Data movement and element-wise layers: by output elements, when they split into enough parts.
        StridedCopySpec or ConcatSpec or BroadcastSpec => profile.ParallelMinElements > 0 &&
            DataMovementEmitter.Parts(layer.Kernel) is var (elements, parts) && elements >= profile.ParallelMinElements && parts >= MinParts,
        _ => false,
    };

    /// <summary>How a parallel data-movement or element-wise layer splits (the compute layers' tiles say it themselves).</summary>
    private static IEnumerable<string> SplitRemarks(LayerSpec layer, Targets.TargetProfile profile)
    {
        if (layer.Kernel is StridedCopySpec or ConcatSpec or BroadcastSpec && IsParallel(layer, profile))
            yield return $"workers: {DataMovementEmitter.Parts(layer.Kernel).Parts} parts (rows, row blocks or input blocks) shared by the instance's workers";
    }

    /// <summary>Parts a data-movement layer must split into to be worth a fork (two workers, a few chunks each).</summary>
    private const long MinParts = 8;

    /// <summary>Bytes of private scratch each worker needs for this layer (0 when the layer's scratch is shared or absent).</summary>
    public static long WorkerScratchBytes(LayerSpec layer, ModelSpec spec, Targets.TargetProfile profile)
    {
        if (!IsParallel(layer, profile)) return 0;
        bool isPrivate = layer.Kernel is PlaneFilterSpec || layer.Kernel is GemmSpec { BLayout: GemmBLayout.Im2ColPanel } || layer.Kernel is GemmSpec { YBlocked: true }
            || layer.Kernel is ChannelVectorConvSpec { Pointwise: true } || layer.Kernel is DirectConvSpec { BandRows: > 0 } || layer.Kernel is ExpandDepthwiseSpec
            || layer.Kernel is ConvPoolSpec || layer.Kernel is WinogradConvSpec wc && WinogradEmitter.IsBanded(wc);
        // A fused convolution and pool shares S (the phase planes) and gives each worker its own T (the ring).
        string name = layer.Kernel is ConvPoolSpec ? "T" : "S";
        Operand? s = layer.Operands.FirstOrDefault(o => o.Parameter == name);
        return isPrivate && s is not null ? spec.Tensors[s.Id].ElementCount * 4 : 0;
    }

    internal static string PointerType(Operand o, ModelSpec spec) => ElementTypeOf(o, spec) + "*";

    internal static string ElementTypeOf(Operand o, ModelSpec spec) =>
        ElementType(o.Kind == OperandKind.Weight ? spec.Weights[o.Id].ElementType : spec.Tensors[o.Id].ElementType);

    internal static string ElementType(string onnxType) => onnxType switch
    {
        "Float" => "float",
        "Double" => "double",
        "Int64" => "long",
        "Int32" => "int",
        "Int8" => "sbyte",
        "UInt8" => "byte",
        "Int16" => "short",
        "UInt16" => "ushort",
        "UInt32" => "uint",
        "UInt64" => "ulong",
        "Bool" => "bool",
        _ => "float",
    };

    private static IEnumerable<string> KernelRemarks(KernelSpec kernel, EmitContext ctx) => kernel switch
    {
        GemmSpec g => GemmEmitter.Remarks(g, ctx.Profile),
        PoolSpec p => PoolEmitter.Remarks(p),
        GlobalPoolSpec p => PoolEmitter.Remarks(p),
        BroadcastSpec b => ElementwiseEmitter.Remarks(b),
        UnarySpec u => ElementwiseEmitter.Remarks(u),
        ChannelAffineSpec c => ElementwiseEmitter.Remarks(c),
        SoftmaxSpec s => ReductionEmitter.Remarks(s),
        ReduceSpec r => ReductionEmitter.Remarks(r),
        PadSpec p => TensorEmitter.Remarks(p),
        PlaneFilterSpec f => PlaneFilterEmitter.Remarks(f),
        DirectConvSpec d => DirectConvEmitter.Remarks(d, ctx.Profile),
        WinogradConvSpec wc => WinogradEmitter.Remarks(wc, ctx.Profile),
        ChannelVectorConvSpec cv => ChannelVectorConvEmitter.Remarks(cv, ctx.Profile.WithChannelPanels(cv.Narrow)),
        ExpandDepthwiseSpec e => ExpandDepthwiseEmitter.Remarks(e, ctx.Profile),
        ConvPoolSpec c => ConvPoolEmitter.Remarks(c, ctx.Profile),
        RuntimeTransformSpec t => new[] { $"lowering: WeightTransforms.{t.Transform} at run time ({t.Why})" },
        ResizeSpec r => TensorEmitter.Remarks(r),
        InstanceNormSpec n => NormalizationEmitter.Remarks(n),
        LayerNormSpec n => NormalizationEmitter.Remarks(n),
        LrnSpec n => NormalizationEmitter.Remarks(n),
        Col2ImSpec c => ConvEmitter.Remarks(c),
        CopySpec c => DataMovementEmitter.Remarks(c),
        CastSpec c => DataMovementEmitter.Remarks(c),
        ConcatSpec c => DataMovementEmitter.Remarks(c),
        StridedCopySpec c => DataMovementEmitter.Remarks(c),
        GatherSpec g => DataMovementEmitter.Remarks(g),
        _ => Enumerable.Empty<string>(),
    };

    private static void EmitBody(LayerSpec layer, SourceWriter w, EmitContext ctx)
    {
        string? P(string name) => layer.Operands.Any(o => o.Parameter == name) ? name : null;
        switch (layer.Kernel)
        {
            case GemmSpec g:
                GemmEmitter.EmitBody(g, new GemmEmitter.Names(g.AName, g.BName, g.YName, g.BiasName, g.RName, g.ScratchName), w, ctx);
                break;
            case PoolSpec p:
                PoolEmitter.EmitPool(p, "X", "Y", w);
                break;
            case GlobalPoolSpec p:
                PoolEmitter.EmitGlobalPool(p, "X", "Y", w, ctx);
                break;
            case BroadcastSpec b:
            {
                var ins = layer.Operands.Where(o => !o.Writes).ToList();
                Operand outOp = layer.Operands.Single(o => o.Writes);
                ElementwiseEmitter.EmitBroadcast(b, ins.Select(o => o.Parameter).ToList(), ins.Select(o => ElementTypeOf(o, ctx.Spec)).ToList(),
                    outOp.Parameter, ElementTypeOf(outOp, ctx.Spec), w, ctx);
                break;
            }
            case UnarySpec u:
                ElementwiseEmitter.EmitUnary(u, "X", "Y", ElementTypeOf(layer.Operands[0], ctx.Spec), w, ctx);
                break;
            case ChannelAffineSpec c:
                ElementwiseEmitter.EmitChannelAffine(c, "X", "Scale", "Shift", "Y", w, ctx);
                break;
            case SoftmaxSpec s:
                ReductionEmitter.EmitSoftmax(s, "X", "Y", w, ctx);
                break;
            case InstanceNormSpec n:
                NormalizationEmitter.EmitInstanceNorm(n, w, ctx);
                break;
            case LayerNormSpec n:
                NormalizationEmitter.EmitLayerNorm(n, w);
                break;
            case Col2ImSpec c:
                ConvEmitter.EmitCol2Im(c, "Col", P("B"), "Y", w, ctx);
                break;
            case LrnSpec n:
                NormalizationEmitter.EmitLrn(n, w);
                break;
            case ResizeSpec r:
                TensorEmitter.EmitResize(layer.MethodName, r, "X", "Y", w);
                break;
            case RuntimeTransformSpec t:
            {
                var args = new List<string> { "Y" };
                args.AddRange(layer.Operands.Where(o => !o.Writes).Select(o => o.Parameter == "None" ? "null" : o.Parameter));
                args.AddRange(t.Parameters);
                w.WriteLine($"{EmitContext.RuntimeNs}.WeightTransforms.{t.Transform}({string.Join(", ", args)});");
                break;
            }
            case DirectConvSpec d:
                DirectConvEmitter.Emit(d, P("B"), P("R"), w, ctx);
                break;
            case ChannelVectorConvSpec cv:
                using (ctx.UseProfile(ctx.Profile.WithChannelPanels(cv.Narrow))) ChannelVectorConvEmitter.Emit(cv, P("B"), P("R"), w, ctx);
                break;
            case WinogradConvSpec wc:
                WinogradEmitter.Emit(wc, P("B"), P("R"), w, ctx);
                break;
            case PlaneFilterSpec f:
                PlaneFilterEmitter.Emit(layer.MethodName, f, w, ctx);
                break;
            case ExpandDepthwiseSpec e:
                ExpandDepthwiseEmitter.Emit(e, P("C"), P("B"), w, ctx);
                break;
            case ConvPoolSpec c:
                ConvPoolEmitter.Emit(c, P("B"), w, ctx);
                break;
            case PadSpec p:
                TensorEmitter.EmitPad(layer.MethodName, p, "X", "Y", w);
                break;
            case ReduceSpec r:
                ReductionEmitter.EmitReduce(r, "X", "Y", ElementTypeOf(layer.Operands[0], ctx.Spec), w, ctx);
                break;
            case CopySpec c:
                DataMovementEmitter.EmitCopy(c, "X", "Y", w);
                break;
            case CastSpec c:
                DataMovementEmitter.EmitCast(c, "X", ElementTypeOf(layer.Operands[0], ctx.Spec), "Y", ElementTypeOf(layer.Operands[1], ctx.Spec), w);
                break;
            case ConcatSpec c:
                DataMovementEmitter.EmitConcat(c, layer.Operands.Where(o => !o.Writes).Select(o => o.Parameter).ToList(), "Y", w, ctx);
                break;
            case StridedCopySpec c:
                DataMovementEmitter.EmitStridedCopy(c, "X", "Y", w, ctx);
                break;
            case GatherSpec g:
                DataMovementEmitter.EmitGather(g, "X", "Y", w);
                break;
            default:
                throw new System.InvalidOperationException("no emitter for " + layer.Kernel.GetType().Name);
        }
    }
}
