// Licensed under the MIT license.
// Shared validation and lowering of windowed pools (MaxPool, AveragePool, LpPool) over 1-D and 2-D spatial axes.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops.Shared;

internal abstract class PoolBase : OpHandler
{
    protected abstract PoolKind Kind { get; }

    protected abstract string[] KnownAttributes(Node node);

    protected virtual bool CeilMode(Node node) => node.Attributes.GetInt("ceil_mode", 0) != 0;

    protected virtual bool AllowDilations(Node node) => true;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 2);
        node.Attributes.RejectUnknown(KnownAttributes(node));
        if (IndicesUsed(node) && Kind != PoolKind.Max) throw new InvalidNodeException("only MaxPool has an Indices output");
        Value x = node.Inputs[0]!;
        int[] s = SpatialShapeOf(x, "the input");
        if (s.Length > 4) throw new UnsupportedNodeException($"{s.Length - 2}-D pooling");
        RequireFloat(x);
        int[] spatial = new int[s.Length - 2];
        System.Array.Copy(s, 2, spatial, 0, spatial.Length);
        SpatialAttributes a = SpatialAttributes.Resolve(node, spatial, null, CeilMode(node), AllowDilations(node));
        var output = new int[s.Length];
        output[0] = s[0];
        output[1] = s[1];
        for (int i = 0; i < a.Output.Length; i++) output[2 + i] = a.Output[i];
        ctx.SetOutput(node, 0, x.Type, output);
        if (node.Outputs.Count > 1) ctx.SetOutput(node, 1, OnnxDataType.Int64, output);
    }

    private static bool IndicesUsed(Node node) =>
        node.Outputs.Count > 1 && node.Outputs[1].Consumers.Count + node.Outputs[1].GraphOutputIndices.Count > 0;

    protected virtual bool CountIncludePad(Node node) => false;

    protected virtual int P(Node node) => 2;

    public override void Lower(Node node, LoweringContext ctx)
    {
        int[] s = node.Inputs[0]!.Shape!;
        int[] spatial = new int[s.Length - 2];
        System.Array.Copy(s, 2, spatial, 0, spatial.Length);
        SpatialAttributes a = SpatialAttributes.Resolve(node, spatial, null, CeilMode(node), AllowDilations(node));
        bool twoD = spatial.Length == 2;
        var g = new ConvGeometry(
            Channels: 1,
            InH: twoD ? spatial[0] : 1, InW: spatial[spatial.Length - 1],
            KernelH: twoD ? a.Kernel[0] : 1, KernelW: a.Kernel[a.Kernel.Length - 1],
            StrideH: twoD ? a.Strides[0] : 1, StrideW: a.Strides[a.Strides.Length - 1],
            DilationH: twoD ? a.Dilations[0] : 1, DilationW: a.Dilations[a.Dilations.Length - 1],
            PadTop: twoD ? a.PadsBegin[0] : 0, PadLeft: a.PadsBegin[a.PadsBegin.Length - 1],
            OutH: twoD ? a.Output[0] : 1, OutW: a.Output[a.Output.Length - 1]);
        bool indices = IndicesUsed(node);
        if (!indices && (Kind != PoolKind.Lp || P(node) is 1 or 2))
        {
            // Per-plane filter over padded phase sub-planes (Emit/PlaneFilterEmitter): vectorised whatever the stride.
            string op = Kind switch { PoolKind.Max => "MaxPool", PoolKind.Average => "AveragePool", _ => "LpPool" };
            var filter = new PlaneFilterSpec(op, s[0], s[1], 1, g, twoD ? a.PadsEnd[0] : 0, a.PadsEnd[a.PadsEnd.Length - 1],
                false, Activation.None, CountIncludePad(node), P(node));
            bool direct = Kind != PoolKind.Lp && (long)g.OutH * g.OutW <= ctx.Profile.DirectPoolMaxPixels && !Emit.PlaneFilterEmitter.UsesRows(filter);
            if (!direct)
            {
                ctx.AddLayer(node, filter, new[]
                {
                    ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]),
                    ctx.Scratch("S", node, Emit.PlaneFilterEmitter.ScratchFloats(filter)),
                });
                return;
            }
        }
        // Small output planes, Lp pools with p > 2 and the Indices output: a direct loop per output pixel.
        var spec = new PoolSpec(Kind, s[0] * s[1], g, twoD ? a.PadsEnd[0] : 0, a.PadsEnd[a.PadsEnd.Length - 1], CountIncludePad(node), P(node))
        {
            Indices = indices,
            StorageOrder = (int)node.Attributes.GetInt("storage_order", 0),
        };
        var operands = new System.Collections.Generic.List<Operand> { ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]) };
        if (indices) operands.Add(ctx.Out("I", node.Outputs[1]));
        ctx.AddLayer(node, spec, operands);
    }
}
