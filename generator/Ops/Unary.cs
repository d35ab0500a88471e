// Licensed under the MIT license.
// Element-wise unary operators on float32 tensors, one table row per op (https://onnx.ai/onnx/operators/):
//   activations  Relu(6,13,14) LeakyRelu(6,16) Sigmoid(6,13) HardSigmoid(6,22) HardSwish(14,22) Tanh(6,13)
//                Softplus(1,22) Softsign(1,22) Elu(6,22) Selu(6,22) Celu(12) Gelu(20) Mish(18,22)
//                ThresholdedRelu(10,22) Shrink(9)
//   math         Exp(6,13) Log(6,13) Sqrt(6,13) Reciprocal(6,13) Abs(6,13) Neg(6,13) Floor(6,13) Ceil(6,13)
//                Round(11,22) Sign(9,13) Erf(9,13)
// Opsets before 6 had a `consumed_inputs` attribute and are not supported. Constants fold at build time with the same
// float32 formulas the generated code uses (Emit/ElementwiseEmitter.ScalarUnary, runtime ScalarMath).

using System;
using System.Collections.Generic;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Unary : OpHandler
{
    /// <summary>One supported unary op: its first opset and its attributes with defaults (alpha, beta).</summary>
    internal sealed record Definition(string OpType, int MinOpset, string? AlphaName = null, float Alpha = 0, string? BetaName = null, float Beta = 0);

    public static readonly IReadOnlyList<Definition> Definitions = new[]
    {
        new Definition("Relu", 6),
        new Definition("LeakyRelu", 6, "alpha", 0.01f),
        new Definition("Sigmoid", 6),
        new Definition("HardSigmoid", 6, "alpha", 0.2f, "beta", 0.5f),
        new Definition("HardSwish", 14),
        new Definition("Tanh", 6),
        new Definition("Softplus", 1),
        new Definition("Softsign", 1),
        new Definition("Elu", 6, "alpha", 1f),
        new Definition("Selu", 6, "alpha", 1.67326319217681884765625f, "gamma", 1.05070102214813232421875f),
        new Definition("Celu", 12, "alpha", 1f),
        new Definition("Gelu", 20),
        new Definition("Mish", 18),
        new Definition("ThresholdedRelu", 10, "alpha", 1f),
        new Definition("Shrink", 9, "bias", 0f, "lambd", 0.5f),
        new Definition("Exp", 6),
        new Definition("Log", 6),
        new Definition("Sqrt", 6),
        new Definition("Reciprocal", 6),
        new Definition("Abs", 6),
        new Definition("Neg", 6),
        new Definition("Floor", 6),
        new Definition("Ceil", 6),
        new Definition("Round", 11),
        new Definition("Sign", 9),
        new Definition("Erf", 9),
        // Experimental op removed in opset 10 (ONNX Runtime still runs it, e.g. in fns-candy): y = alpha * x + beta.
        new Definition("Affine", 1, "alpha", 1f, "beta", 0f),
    };

    private readonly Definition _def;

    public Unary(Definition definition) => _def = definition;

    public override string OpType => _def.OpType;

    public override int MinOpset => _def.MinOpset;

    public override int MaxOpset => _def.OpType == "Affine" ? 9 : base.MaxOpset;

    /// <summary>The op name the emitter uses (Gelu's tanh approximation is its own formula).</summary>
    private string Kernel(Node node) =>
        _def.OpType == "Gelu" && node.Attributes.GetString("approximate", "none") == "tanh" ? "GeluTanh" : _def.OpType;

    private (float Alpha, float Beta) Parameters(Node node) => (
        _def.AlphaName is null ? 0 : node.Attributes.GetFloat(_def.AlphaName, _def.Alpha),
        _def.BetaName is null ? 0 : node.Attributes.GetFloat(_def.BetaName, _def.Beta));

    public override void Infer(Node node, InferContext ctx)
    {
        RequireInputs(node, 1, 1);
        RequireOutputs(node, 1, 1);
        var known = new List<string>();
        if (_def.AlphaName is not null) known.Add(_def.AlphaName);
        if (_def.BetaName is not null) known.Add(_def.BetaName);
        if (_def.OpType == "Gelu") known.Add("approximate");
        node.Attributes.RejectUnknown(known.ToArray());
        if (_def.OpType == "Gelu" && node.Attributes.GetString("approximate", "none") is not ("none" or "tanh"))
            throw new InvalidNodeException("approximate must be 'none' or 'tanh'");
        Value x = node.Inputs[0]!;
        if (x.Type != OnnxDataType.Float && !(IntegerCapable && Importer.IsIoType(x.Type) && x.Type != OnnxDataType.Bool))
            throw new UnsupportedNodeException($"element type {x.Type}");
        ctx.SetOutput(node, 0, x.Type, ShapeOf(x, "the input"));
    }

    /// <summary>Ops that are exact on integers and doubles too (folded, or run as typed scalar loops).</summary>
    private bool IntegerCapable => _def.OpType is "Neg" or "Abs" or "Sign" or "Relu";

    public override Constant[]? Fold(Node node, InferContext ctx)
    {
        if (!Shared.Folding.CanFold(node) || _def.OpType is "Erf" or "Gelu" or "Mish") return null;
        Value input = node.Inputs[0]!;
        if (input.Type != OnnxDataType.Float)
        {
            double[] d = input.Constant!.ToDoubles(ctx.Model);
            double[] r = Array.ConvertAll(d, v => _def.OpType switch
            {
                "Neg" => -v,
                "Abs" => Math.Abs(v),
                "Sign" => Math.Sign(v),
                _ => Math.Max(v, 0),
            });
            return new[] { input.Type == OnnxDataType.Double ? Constant.FromDoubles(input.Shape!, r) : Constant.FromLongs(input.Type, input.Shape!, Array.ConvertAll(r, v => (long)v)) };
        }
        (float alpha, float beta) = Parameters(node);
        float[] x = node.Inputs[0]!.Constant!.ToFloats(ctx.Model);
        var y = new float[x.Length];
        string kernel = Kernel(node);
        for (int i = 0; i < x.Length; i++) y[i] = Evaluate(kernel, x[i], alpha, beta);
        return new[] { Constant.FromFloats(node.Outputs[0].Shape!, y) };
    }

    /// <summary>The build-time twin of the generated formulas (float32 results via double math).</summary>
    internal static float Evaluate(string op, float v, float a, float b)
    {
        double x = v;
        return op switch
        {
            "Relu" => v < 0 ? 0 : v,
            "LeakyRelu" => v >= 0 ? v : v * a,
            "Sigmoid" => (float)(1 / (1 + Math.Exp(-x))),
            "HardSigmoid" => Math.Max(0f, Math.Min(1f, a * v + b)),
            "HardSwish" => v * Math.Max(0f, Math.Min(1f, v / 6f + 0.5f)),
            "Tanh" => (float)Math.Tanh(x),
            "Softplus" => (float)(x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x))),
            "Softsign" => v / (1 + Math.Abs(v)),
            "Elu" => v >= 0 ? v : (float)(a * (Math.Exp(x) - 1)),
            "Selu" => v > 0 ? b * v : (float)(b * (a * Math.Exp(x) - a)),
            "Celu" => (float)(Math.Max(0, x) + Math.Min(0, a * (Math.Exp(x / a) - 1))),
            "Exp" => (float)Math.Exp(x),
            "Log" => (float)Math.Log(x),
            "Sqrt" => (float)Math.Sqrt(x),
            "Reciprocal" => 1f / v,
            "Abs" => Math.Abs(v),
            "Neg" => -v,
            "Floor" => (float)Math.Floor(x),
            "Ceil" => (float)Math.Ceiling(x),
            "Round" => (float)Math.Round(x, MidpointRounding.ToEven),
            "Sign" => v > 0 ? 1 : v < 0 ? -1 : v,
            "ThresholdedRelu" => v > a ? v : 0,
            "Shrink" => v < -b ? v + a : v > b ? v - a : 0,
            "Affine" => a * v + b,
            _ => throw new UnsupportedNodeException($"{op} on constants"),
        };
    }

    public override void Lower(Node node, LoweringContext ctx)
    {
        (float alpha, float beta) = Parameters(node);
        ctx.AddLayer(node, new UnarySpec(Kernel(node), Shapes.Product(node.Outputs[0].Shape!), alpha, beta),
            new[] { ctx.In("X", node.Inputs[0]!), ctx.Out("Y", node.Outputs[0]) });
    }
}
