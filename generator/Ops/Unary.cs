// Licensed under the MIT license.
// Element-wise unary operators with float32 input and output: Relu (https://onnx.ai/onnx/operators/onnx__Relu.html,
// opsets 6, 13, 14), LeakyRelu (opsets 6, 16; alpha default 0.01) and, in later issues, the math functions. Each
// instance handles one op_type.

using System;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Unary : OpHandler
{
    private readonly string _opType;
    private readonly int _minOpset;

    public Unary(string opType, int minOpset)
    {
        _opType = opType;
        _minOpset = minOpset;
    }

    public override string OpType => _opType;

    public override int MinOpset => _minOpset;

    private (float Alpha, float Beta) Parameters(Node node) => _opType switch
    {
        "LeakyRelu" => (node.Attributes.GetFloat("alpha", 0.01f), 0f),
        _ => (0f, 0f),
    };

    private string[] KnownAttributes => _opType switch
    {
        "LeakyRelu" => new[] { "alpha" },
        _ => Array.Empty<string>(),
    };

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        node.Attributes.RejectUnknown(KnownAttributes);
        Value x = node.Inputs[0]!;
        if (x.Type != OnnxDataType.Float) throw new UnsupportedNodeException($"element type {x.Type}");
        ctx.SetOutput(node, 0, x.Type, ShapeOf(x, "the input"));
    }

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Shared.Folding.CanFold(node)) return null;
        (float alpha, _) = Parameters(node);
        float[] x = node.Inputs[0]!.Constant!.ToFloats(ctx.Model);
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            y[i] = _opType switch
            {
                "Relu" => v < 0 ? 0 : v,
                "LeakyRelu" => v >= 0 ? v : v * alpha,
                _ => throw new InvalidOperationException(_opType),
            };
        }
        return new[] { Constant.FromFloats(node.Outputs[0].Shape!, y) };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        (float alpha, float beta) = Parameters(node);
        ctx.AddLayer(node, new UnarySpec(_opType, Shapes.Product(node.Outputs[0].Shape!), alpha, beta),
            new[] { ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]) });
    }
}
