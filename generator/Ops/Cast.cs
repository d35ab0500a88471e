// Licensed under the MIT license.
// Cast — https://onnx.ai/onnx/operators/onnx__Cast.html (opsets 1, 6, 9, 13, 19, 21). Folded on constants (float to
// integer truncates toward zero, to bool is != 0, as ONNX Runtime does); at run time only float -> float (a no-op).

using System;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Ops.Shared;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal class Cast : OpHandler
{
    public override string OpType => "Cast";

    public override int MinOpset => 6;

    /// <summary>The target type: the `to` attribute (CastLike: the second input's type).</summary>
    protected virtual OnnxDataType Target(Node node)
    {
        RequireInputs(node, 1, 1);
        node.Attributes.RejectUnknown("to", "saturate");
        if (!node.Attributes.Has("to")) throw new InvalidNodeException("attribute 'to' is required");
        return (OnnxDataType)node.Attributes.GetInt("to", 0);
    }

    public override void Infer(Node node, InferContext ctx)
    {
        RequireOutputs(node, 1, 1);
        OnnxDataType to = Target(node);
        if (Constant.ElementSize(to) == 0) throw new UnsupportedNodeException($"cast to {to}");
        ctx.SetOutput(node, 0, to, ShapeOf(node.Inputs[0], "the input"));
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        // Only the data input matters (CastLike's second input contributes its type, not its values).
        if (!Folding.CanFold(node, inputs: 1)) return null;
        Constant x = node.Inputs[0]!.Constant!;
        OnnxDataType to = node.Outputs[0].Type;
        int[] shape = x.Shape;
        if (to == OnnxDataType.Double) return new[] { Constant.FromDoubles(shape, x.ToDoubles(ctx.Model)) };
        if (Folding.IsFloat(to))
        {
            float[] f = Array.ConvertAll(x.ToDoubles(ctx.Model), d => (float)d);
            if (to == OnnxDataType.Float16) f = Array.ConvertAll(f, v => Constant.HalfToFloat(FloatToHalf(v)));
            return new[] { Constant.FromFloats(shape, f) };
        }
        long[] l;
        if (Folding.IsFloat(x.Type))
        {
            double[] d = x.ToDoubles(ctx.Model);
            l = to == OnnxDataType.Bool ? Array.ConvertAll(d, v => v != 0 ? 1L : 0L) : Array.ConvertAll(d, v => (long)Math.Truncate(v));
        }
        else
        {
            l = (long[])x.ToLongs(ctx.Model).Clone();
            if (to == OnnxDataType.Bool) l = Array.ConvertAll(l, v => v != 0 ? 1L : 0L);
        }
        l = Array.ConvertAll(l, v => Wrap(to, v));
        return new[] { Constant.FromLongs(to, shape, l) };
    }

    private static long Wrap(OnnxDataType t, long v) => t switch
    {
        OnnxDataType.Int8 => (sbyte)v,
        OnnxDataType.UInt8 => (byte)v,
        OnnxDataType.Int16 => (short)v,
        OnnxDataType.UInt16 => (ushort)v,
        OnnxDataType.Int32 => (int)v,
        OnnxDataType.UInt32 => (uint)v,
        _ => v,
    };

    private static ushort FloatToHalf(float f)
    {
        // Round-to-nearest-even via double arithmetic; exact enough for folding constants.
        if (float.IsNaN(f)) return 0x7E00;
        int sign = f < 0 || (f == 0 && 1 / f < 0) ? 0x8000 : 0;
        double a = Math.Abs((double)f);
        if (a >= 65520) return (ushort)(sign | 0x7C00);
        if (a < Math.Pow(2, -24) / 2) return (ushort)sign;
        int exp = (int)Math.Floor(Math.Log(a, 2));
        if (exp < -14)
        {
            return (ushort)(sign | (int)Math.Round(a / Math.Pow(2, -24), MidpointRounding.ToEven));
        }
        double mant = a / Math.Pow(2, exp) - 1;
        int m = (int)Math.Round(mant * 1024, MidpointRounding.ToEven);
        if (m == 1024) { m = 0; exp++; }
        if (exp > 15) return (ushort)(sign | 0x7C00);
        return (ushort)(sign | ((exp + 15) << 10) | m);
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        OnnxDataType to = node.Outputs[0].Type;
        if (x.Constant is not null)
        {
            // A constant too large to fold (e.g. float16 weights cast to float): converted when the weight is prepared.
            node.Outputs[0].Constant = x.Constant.WithType(to);
            return;
        }
        if (x.Type == to)
        {
            ctx.Alias(node.Outputs[0], x);
            return;
        }
        if (!Importer.IsIoType(x.Type) || !Importer.IsIoType(to)) throw new UnsupportedNodeException($"cast from {x.Type} to {to} at run time");
        ctx.AddLayer(node, new Model.CastSpec(Shapes.Product(node.Outputs[0].Shape!)), new[] { ctx.In("X", x), ctx.Out("Y", node.Outputs[0]) });
    }
}

/// <summary>CastLike (opsets 15, 19, 21): Cast to the element type of the second input.</summary>
internal sealed class CastLike : Cast
{
    public override string OpType => "CastLike";

    public override int MinOpset => 15;

    protected override OnnxDataType Target(Node node)
    {
        RequireInputs(node, 2, 2);
        node.Attributes.RejectUnknown("saturate");
        return node.Inputs[1]!.Type;
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        // Only the first input is read; the second supplies its type.
        base.Lower(node, ctx);
    }
}
