// Licensed under the MIT license.
// Concat — https://onnx.ai/onnx/operators/onnx__Concat.html (opsets 4, 11, 13). Folded when every input is a constant
// (shape subgraphs); done in place when nothing precedes the axis (the inputs' producers write into slices of the
// output); otherwise block copies into the output.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Concat : OpHandler
{
    public override string OpType => "Concat";

    public override int MinOpset => 4;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, int.MaxValue);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown("axis");
        if (node.Inputs.Any(i => i is null)) throw new InvalidNodeException("an input is missing");
        int[] first = ShapeOf(node.Inputs[0], "input 0");
        int axis = Axis(node, first.Length);
        var output = (int[])first.Clone();
        long sum = first[axis];
        for (int i = 1; i < node.Inputs.Count; i++)
        {
            int[] s = ShapeOf(node.Inputs[i], $"input {i}");
            if (s.Length != first.Length) throw new InvalidNodeException($"input {i} has rank {s.Length}, input 0 has {first.Length}");
            for (int d = 0; d < s.Length; d++)
            {
                if (d != axis && s[d] != first[d]) throw new InvalidNodeException($"input {i} {Shapes.Format(s)} does not match input 0 {Shapes.Format(first)} off the axis");
            }
            if (node.Inputs[i]!.Type != node.Inputs[0]!.Type) throw new InvalidNodeException("inputs have different element types");
            sum += s[axis];
        }
        output[axis] = (int)sum;
        ctx.SetOutput(node, 0, node.Inputs[0]!.Type, output);
    }

    private static int Axis(Node node, int rank)
    {
        if (!node.Attributes.Has("axis")) throw new InvalidNodeException("attribute 'axis' is required");
        long a = node.Attributes.GetInt("axis", 0);
        int axis = Shapes.NormalizeAxis(a, rank);
        if (axis < 0) throw new InvalidNodeException($"axis {a} is out of range for rank {rank}");
        return axis;
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Folding.CanFold(node)) return null;
        int[] outShape = node.Outputs[0].Shape!;
        int axis = Axis(node, outShape.Length);
        long outer = Shapes.Product(outShape, 0, axis);
        bool isFloat = Folding.IsFloat(node.Outputs[0].Type);
        var floats = new List<float>();
        var longs = new List<long>();
        var inputs = node.Inputs.Select(v => v!.Constant!).ToList();
        var fData = isFloat ? inputs.Select(c => c.ToFloats(ctx.Model)).ToList() : null;
        var lData = isFloat ? null : inputs.Select(c => c.ToLongs(ctx.Model)).ToList();
        for (long o = 0; o < outer; o++)
        {
            for (int j = 0; j < inputs.Count; j++)
            {
                long inner = Shapes.Product(inputs[j].Shape, axis, inputs[j].Shape.Length);
                for (long e = 0; e < inner; e++)
                {
                    if (isFloat) floats.Add(fData![j][o * inner + e]);
                    else longs.Add(lData![j][o * inner + e]);
                }
            }
        }
        Onnx.OnnxDataType t = node.Outputs[0].Type;
        return new[] { isFloat ? Constant.FromFloats(outShape, floats.ToArray()) : Constant.FromLongs(t, outShape, longs.ToArray()) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        int[] outShape = node.Outputs[0].Shape!;
        int axis = Axis(node, outShape.Length);
        // Nothing before the axis (batch 1, channel axis): each input is one contiguous slice of the output, and its
        // producer can write there directly.
        if (Shapes.Product(outShape, 0, axis) == 1)
        {
            var present = node.Inputs.Where(v => Shapes.Product(v!.Shape!) > 0).Select(v => v!).ToList();
            var offsets = new List<long>();
            long at = 0;
            foreach (Value v in present)
            {
                offsets.Add(at);
                at += Shapes.Product(v.Shape!);
            }
            if (ctx.TryMakeSlices(node.Outputs[0], present, offsets)) return;
        }
        var operands = new List<Operand>();
        var inner = new List<long>();
        for (int j = 0; j < node.Inputs.Count; j++)
        {
            Value v = node.Inputs[j]!;
            long size = Shapes.Product(v.Shape!, axis, v.Shape!.Length);
            if (Shapes.Product(v.Shape!) == 0) continue;
            operands.Add(ctx.In("X" + operands.Count, v));
            inner.Add(size);
        }
        operands.Add(ctx.Out("Y", node.Outputs[0]));
        ctx.AddLayer(node, new ConcatSpec(Shapes.Product(outShape, 0, axis), inner.ToEquatableArray(), Shapes.Product(outShape, axis, outShape.Length)), operands);
    }
}
