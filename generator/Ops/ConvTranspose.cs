// Licensed under the MIT license.
// ConvTranspose — https://onnx.ai/onnx/operators/onnx__ConvTranspose.html (opsets 1, 11, 22). 1-D and 2-D, groups,
// strides, dilations, pads, output_padding, output_shape and auto_pad (output size and pads per the spec's equations).
// Lowering: GEMM (W^T per group, packed at construction, times the input rows) into a column buffer, then a scatter-add
// (col2im) into the output with the bias.

using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Ops;

internal sealed class ConvTranspose : OpHandler
{
    public override string OpType => "ConvTranspose";

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 2, 3);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads", "strides");
        Value x = node.Inputs[0]!, w = node.Inputs[1]!;
        int[] xs = SpatialShapeOf(x, "X", "X"), ws = ShapeOf(w, "W");
        if (xs.Length > 4) throw new UnsupportedNodeException($"{xs.Length - 2}-D transposed convolution");
        if (ws.Length != xs.Length) throw new InvalidNodeException($"W {Shapes.Format(ws)} must have the rank of X");
        long group = node.Attributes.GetInt("group", 1);
        if (group <= 0 || xs[1] % group != 0 || ws[0] != xs[1]) throw new InvalidNodeException($"W {Shapes.Format(ws)} does not match X {Shapes.Format(xs)} with group {group}");
        RequireFloat(x);
        Geometry g = Plan(node, xs, ws);
        if (node.Input(2) is { } b && Shapes.Product(ShapeOf(b, "B")) != g.OutChannels) throw new InvalidNodeException($"B must have {g.OutChannels} elements");
        var output = new List<int> { xs[0], g.OutChannels };
        output.AddRange(g.Output);
        ctx.SetOutput(node, 0, OnnxDataType.Float, output.ToArray());
    }

    private sealed record Geometry(int Groups, int OutChannels, int[] Kernel, int[] Strides, int[] Dilations, int[] PadsBegin, int[] Output);

    private static Geometry Plan(Node node, int[] xs, int[] ws)
    {
        int n = xs.Length - 2;
        int groups = (int)node.Attributes.GetInt("group", 1);
        int[] kernel = ws.Skip(2).ToArray();
        if (node.Attributes.GetInts("kernel_shape") is { Length: > 0 } k && !k.Select(v => (int)v).SequenceEqual(kernel))
            throw new InvalidNodeException("kernel_shape does not match the weights");
        int[] Ints(string name, int def)
        {
            long[]? v = node.Attributes.GetInts(name);
            if (v is null || v.Length == 0) return Enumerable.Repeat(def, n).ToArray();
            if (v.Length != n) throw new InvalidNodeException($"{name} has {v.Length} values for {n} spatial axes");
            if (v.Any(e => e < 0 || e > 1 << 20)) throw new InvalidNodeException($"{name} has an invalid value");
            return v.Select(e => (int)e).ToArray();
        }
        int[] strides = Ints("strides", 1), dilations = Ints("dilations", 1), outPad = Ints("output_padding", 0);
        if (strides.Any(s => s == 0) || dilations.Any(d => d == 0)) throw new InvalidNodeException("strides and dilations must be positive");
        string autoPad = node.Attributes.GetString("auto_pad", "NOTSET");
        long[]? outputShape = node.Attributes.GetInts("output_shape");
        long[]? pads = node.Attributes.GetInts("pads");
        var begin = new int[n];
        var output = new int[n];
        for (int i = 0; i < n; i++)
        {
            int extent = (kernel[i] - 1) * dilations[i] + 1;
            long full = (long)strides[i] * (xs[2 + i] - 1) + outPad[i] + extent;
            if (outputShape is { Length: > 0 })
            {
                // As ONNX Runtime computes it: the total padding is clamped at 0 (an output larger than the full result
                // keeps only the bias there) and split with the extra element at the tail, except for SAME_UPPER.
                long target = outputShape[outputShape.Length - n + i];
                long total = Math.Max(0, full - target);
                begin[i] = (int)(autoPad == "SAME_UPPER" ? total - total / 2 : total / 2);
                output[i] = (int)target;
            }
            else if (autoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                long target = (long)xs[2 + i] * strides[i];
                long total = Math.Max(0, full - target);
                begin[i] = (int)(autoPad == "SAME_UPPER" ? total / 2 : total - total / 2);
                output[i] = (int)target;
            }
            else
            {
                long pb = 0, pe = 0;
                if (pads is not null && autoPad is "NOTSET" or "")
                {
                    if (pads.Length != 2 * n) throw new InvalidNodeException($"pads has {pads.Length} values");
                    pb = pads[i];
                    pe = pads[i + n];
                }
                if (pb < 0 || pe < 0) throw new UnsupportedNodeException("negative pads");
                begin[i] = (int)pb;
                output[i] = (int)(full - pb - pe);
            }
            if (output[i] <= 0) throw new InvalidNodeException($"the output would be empty on spatial axis {i}");
        }
        return new Geometry(groups, ws[1] * groups, kernel, strides, dilations, begin, output);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!, w = node.Inputs[1]!;
        Value? b = node.Input(2);
        int[] xs = x.Shape!, ws = w.Shape!;
        Geometry g = Plan(node, xs, ws);
        bool twoD = xs.Length == 4;
        int inH = twoD ? xs[2] : 1, inW = xs[xs.Length - 1];
        int kh = twoD ? g.Kernel[0] : 1, kw = g.Kernel[g.Kernel.Length - 1];
        int last = g.Kernel.Length - 1;
        var geometry = new ConvGeometry(
            Channels: xs[1] / g.Groups, InH: inH, InW: inW, KernelH: kh, KernelW: kw,
            StrideH: twoD ? g.Strides[0] : 1, StrideW: g.Strides[last], DilationH: twoD ? g.Dilations[0] : 1, DilationW: g.Dilations[last],
            PadTop: twoD ? g.PadsBegin[0] : 0, PadLeft: g.PadsBegin[last], OutH: twoD ? g.Output[0] : 1, OutW: g.Output[last]);

        TargetProfile profile = ctx.Profile;
        int mr = profile.GemmMR;
        int outPerGroup = ws[1];
        int m = outPerGroup * kh * kw, k = xs[1] / g.Groups, n = inH * inW;
        long packedA = (long)g.Groups * ((m + mr - 1) / mr) * mr * k;
        string[] packParameters = { LoweringContext.Lit.Int(g.Groups), LoweringContext.Lit.Int(m), LoweringContext.Lit.Int(k), LoweringContext.Lit.Int(mr) };
        Operand packedW = w.Constant is not null
            ? new Operand("W", OperandKind.Weight, ctx.Transform("PackATransposed", w.Name + ":packed_t", new[] { ctx.RawWeight(w.Constant, w.Name) }, packParameters, packedA))
            : ctx.RuntimePack(node, "W", "PackATransposed", w, packParameters, packedA);
        int col = ctx.NewTensor(node.Name + ":columns", OnnxDataType.Float, new[] { xs[0], g.Groups, m, n });
        bool direct = !x.IsGraphInput && !x.IsGraphOutput;
        int maxNr = profile.WidestNR(profile.GemmMR);
        var gemmOps = new List<Operand> { ctx.In("X", x), packedW, new Operand("Y", OperandKind.Tensor, col, Writes: true) };
        if (!direct) gemmOps.Add(ctx.Scratch("S", node, (long)k * maxNr));
        var gemm = new GemmSpec
        {
            AName = "W", BName = "X", YName = "Y", ScratchName = direct ? null : "S",
            M = m, N = n, K = k, ALayout = GemmALayout.Packed, BLayout = direct ? GemmBLayout.RowMajor : GemmBLayout.Im2ColPanel,
            Ldb = n, Ldc = n, Ldr = n, Activation = Activation.None, MR = mr,
            Groups = g.Groups, AGroupStride = packedA / g.Groups, BGroupStride = (long)k * n, CGroupStride = (long)m * n,
            Batch = xs[0], BBatchStride = (long)xs[1] * n, CBatchStride = (long)g.Groups * m * n,
            Conv = direct ? null : ConvGeometry.Rows(k, n),
        };
        ctx.AddLayer(node, gemm, gemmOps, new[] { "step 1 of 2: columns = W^T x X per group" });
        var scatter = new List<Operand> { new Operand("Col", OperandKind.Tensor, col) };
        if (b is not null) scatter.Add(ctx.In("B", b));
        scatter.Add(ctx.Out("Y", node.Outputs[0]));
        ctx.AddLayer(node, new Col2ImSpec(xs[0], g.Groups, outPerGroup, geometry, b is not null), scatter, new[] { "step 2 of 2: scatter-add the columns (col2im) and the bias" });
    }
}
