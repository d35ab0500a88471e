// Licensed under the MIT license.
// Resize — https://onnx.ai/onnx/operators/onnx__Resize.html (opsets 10, 11, 13, 18, 19) and Upsample
// (https://onnx.ai/onnx/operators/onnx__Upsample.html, opsets 7, 9). Modes nearest (every nearest_mode), linear
// (n-linear) and cubic (cubic_coeff_a, exclude_outside); every coordinate_transformation_mode (half_pixel,
// half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize with
// extrapolation_value); scales or sizes (with keep_aspect_ratio_policy and axes from 18). Because shapes are static, the
// source indices and weights of every output coordinate are computed here, at build time, in float32 exactly as
// ONNX Runtime computes them, and emitted as tables. antialias=1 is not supported.

using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal sealed class Resize : OpHandler
{
    private readonly bool _upsample;

    public Resize(bool upsample) => _upsample = upsample;

    public override string OpType => _upsample ? "Upsample" : "Resize";

    public override int MinOpset => _upsample ? 7 : 10;

    public override int MaxOpset => _upsample ? 9 : 21;

    public override void Infer(Node node, InferContext ctx)
    {
        RequireOutputs(node, 1, 1);
        if (_upsample)
        {
            RequireInputs(node, 1, node.Opset >= 9 ? 2 : 1);
            node.Attributes.RejectUnknown("mode", "scales");
        }
        else if (node.Opset == 10)
        {
            RequireInputs(node, 2, 2);
            node.Attributes.RejectUnknown("mode");
        }
        else
        {
            RequireInputs(node, 1, 4);
            node.Attributes.RejectUnknown("mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
                "extrapolation_value", "antialias", "axes", "keep_aspect_ratio_policy");
            if (node.Attributes.GetInt("antialias", 0) != 0) throw new UnsupportedNodeException("antialias=1");
        }
        Value x = node.Inputs[0]!;
        RequireFloat(x);
        Plan plan = MakePlan(node, ShapeOf(x, "X"), ctx.Model, ctx);
        ctx.SetOutput(node, 0, x.Type, plan.Output);
    }

    private sealed record Plan(int[] Output, float[] Scales, float[] RoiStart, float[] RoiEnd);

    private Plan MakePlan(Node node, int[] s, byte[] model, InferContext? ctx)
    {
        int rank = s.Length;
        Constant? Const(int index, string name) =>
            node.Input(index) is null ? null : ctx is not null ? ctx.RequireConstant(node, index, name) : node.Inputs[index]!.Constant;
        float[]? scalesIn = null;
        long[]? sizes = null;
        var roiStart = Enumerable.Repeat(0f, rank).ToArray();
        var roiEnd = Enumerable.Repeat(1f, rank).ToArray();
        int[] axes = Enumerable.Range(0, rank).ToArray();
        if (_upsample && node.Opset < 9)
        {
            scalesIn = node.Attributes.GetFloats("scales") ?? throw new InvalidNodeException("scales is required");
        }
        else if (_upsample || node.Opset == 10)
        {
            scalesIn = Const(1, "scales")!.ToFloats(model);
        }
        else
        {
            if (node.Attributes.GetInts("axes") is { Length: > 0 } ax)
            {
                axes = ax.Select(a => Shapes.NormalizeAxis(a, rank)).ToArray();
                if (axes.Any(a => a < 0) || axes.Distinct().Count() != axes.Length) throw new InvalidNodeException("axes are out of range or repeated");
            }
            Constant? roi = Const(1, "roi");
            Constant? scales = Const(2, "scales");
            Constant? sizesC = Const(3, "sizes");
            if (scales is not null && scales.ElementCount > 0) scalesIn = scales.ToFloats(model);
            if (sizesC is not null && sizesC.ElementCount > 0) sizes = sizesC.ToLongs(model);
            if ((scalesIn is null) == (sizes is null)) throw new InvalidNodeException("exactly one of scales and sizes must be given");
            if (node.Attributes.GetString("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize")
            {
                float[] r = roi?.ToFloats(model) ?? throw new InvalidNodeException("tf_crop_and_resize needs roi");
                if (r.Length != 2 * axes.Length) throw new InvalidNodeException($"roi has {r.Length} values for {axes.Length} axes");
                for (int i = 0; i < axes.Length; i++)
                {
                    roiStart[axes[i]] = r[i];
                    roiEnd[axes[i]] = r[i + axes.Length];
                }
            }
        }
        if (scalesIn is not null && scalesIn.Length != axes.Length) throw new InvalidNodeException($"scales has {scalesIn.Length} values for {axes.Length} axes");
        if (sizes is not null && sizes.Length != axes.Length) throw new InvalidNodeException($"sizes has {sizes.Length} values for {axes.Length} axes");
        var scalesAll = Enumerable.Repeat(1f, rank).ToArray();
        var output = (int[])s.Clone();
        if (scalesIn is not null)
        {
            for (int i = 0; i < axes.Length; i++)
            {
                float sc = scalesIn[i];
                if (!(sc > 0)) throw new InvalidNodeException($"scale {sc} must be positive");
                scalesAll[axes[i]] = sc;
                // ONNX Runtime: output = (int64)(scale * input) in float.
                float o = sc * s[axes[i]];
                if (o > int.MaxValue) throw new TensorTooLargeException(node.Outputs[0].Name, "more than 2^31");
                output[axes[i]] = (int)o;
            }
        }
        else
        {
            string policy = node.Attributes.GetString("keep_aspect_ratio_policy", "stretch");
            if (policy == "stretch")
            {
                for (int i = 0; i < axes.Length; i++)
                {
                    if (sizes![i] <= 0 || sizes[i] > int.MaxValue) throw new InvalidNodeException($"size {sizes[i]} is invalid");
                    output[axes[i]] = (int)sizes[i];
                    scalesAll[axes[i]] = (float)sizes[i] / s[axes[i]];
                }
            }
            else if (policy is "not_larger" or "not_smaller")
            {
                float scale = policy == "not_larger" ? float.MaxValue : float.MinValue;
                for (int i = 0; i < axes.Length; i++)
                {
                    float r = (float)sizes![i] / s[axes[i]];
                    scale = policy == "not_larger" ? Math.Min(scale, r) : Math.Max(scale, r);
                }
                for (int i = 0; i < axes.Length; i++)
                {
                    scalesAll[axes[i]] = scale;
                    output[axes[i]] = (int)Math.Round(scale * s[axes[i]], MidpointRounding.AwayFromZero);
                }
            }
            else
            {
                throw new InvalidNodeException($"keep_aspect_ratio_policy '{policy}' is unknown");
            }
        }
        for (int i = 0; i < rank; i++)
        {
            if (output[i] <= 0) throw new InvalidNodeException($"the output would be empty on axis {i}");
        }
        return new Plan(output, scalesAll, roiStart, roiEnd);
    }

    private string Mode(Node node)
    {
        string mode = node.Attributes.GetString("mode", "nearest");
        if (mode == "bilinear" && _upsample) mode = "linear";
        if (mode is not ("nearest" or "linear" or "cubic")) throw new InvalidNodeException($"mode '{mode}' is not nearest, linear or cubic");
        if (mode == "cubic" && (_upsample || node.Opset == 10)) throw new InvalidNodeException("cubic needs Resize opset 11");
        return mode;
    }

    /// <summary>The coordinate mode; Upsample and Resize-10 use asymmetric coordinates and "simple" nearest rounding.</summary>
    private string Coordinates(Node node) =>
        _upsample || node.Opset == 10 ? "asymmetric" : node.Attributes.GetString("coordinate_transformation_mode", "half_pixel");

    public override void Lower(Node node, LoweringContext ctx)
    {
        Value x = node.Inputs[0]!;
        int[] s = x.Shape!;
        Plan plan = MakePlan(node, s, ctx.Model, null);
        string mode = Mode(node);
        string coordinates = Coordinates(node);
        string nearest = _upsample || node.Opset == 10 ? "simple" : node.Attributes.GetString("nearest_mode", "round_prefer_floor");
        float a = node.Attributes.GetFloat("cubic_coeff_a", -0.75f);
        bool exclude = node.Attributes.GetInt("exclude_outside", 0) != 0;
        float extrapolation = node.Attributes.GetFloat("extrapolation_value", 0f);
        var taps = new List<int>();
        var indices = new List<EquatableArray<int>>();
        var weights = new List<EquatableArray<string>>();
        for (int d = 0; d < s.Length; d++)
        {
            (int t, int[] idx, float[] w) = Axis(mode, coordinates, nearest, a, exclude, s[d], plan.Output[d], plan.Scales[d], plan.RoiStart[d], plan.RoiEnd[d]);
            bool identity = s[d] == plan.Output[d] && IsIdentity(t, idx, w);
            taps.Add(identity ? 0 : t);
            indices.Add(identity ? EquatableArray<int>.Empty : idx.ToEquatableArray());
            weights.Add(identity || mode == "nearest" ? EquatableArray<string>.Empty : w.Select(LoweringContext.FloatLiteral).ToEquatableArray());
        }
        ctx.AddLayer(node, new ResizeSpec(s.ToEquatableArray(), plan.Output.ToEquatableArray(), taps.ToEquatableArray(),
            indices.ToEquatableArray(), weights.ToEquatableArray(), extrapolation), new[] { ctx.In("X", x), ctx.Out("Y", node.Outputs[0]) });
    }

    /// <summary>
    /// Whether an axis's taps give every output coordinate its own source element: at each, the taps on that index weigh
    /// exactly 1 together and every other tap 0 (nearest, or linear and cubic at scale 1, e.g. the batch and channel axes
    /// of a 4-D linear resize: interpolating them took 16 taps per output where 4 do).
    /// </summary>
    private static bool IsIdentity(int taps, int[] idx, float[] w)
    {
        for (int o = 0; o < idx.Length / taps; o++)
        {
            float sum = 0f;
            for (int t = o * taps; t < (o + 1) * taps; t++)
            {
                if (idx[t] == o) sum += w[t];
                else if (w[t] != 0f) return false;
            }
            if (sum != 1f) return false;
        }
        return true;
    }

    /// <summary>Taps per output coordinate of one axis: source indices (-1 = extrapolate) and weights, in float32.</summary>
    private static (int Taps, int[] Indices, float[] Weights) Axis(string mode, string coordinates, string nearest, float a, bool exclude,
        int inSize, int outSize, float scale, float roiStart, float roiEnd)
    {
        int taps = mode switch { "nearest" => 1, "linear" => 2, _ => 4 };
        var idx = new int[outSize * taps];
        var w = new float[outSize * taps];
        for (int o = 0; o < outSize; o++)
        {
            float x = Original(coordinates, o, scale, inSize, outSize, roiStart, roiEnd);
            bool outside = coordinates == "tf_crop_and_resize" && (x < 0 || x > inSize - 1);
            if (outside)
            {
                for (int t = 0; t < taps; t++) { idx[o * taps + t] = -1; w[o * taps + t] = 0; }
                continue;
            }
            switch (mode)
            {
                case "nearest":
                {
                    long i = Nearest(nearest, x, scale < 1);
                    idx[o] = (int)Math.Max(0, Math.Min(inSize - 1, i));
                    w[o] = 1;
                    break;
                }
                case "linear":
                {
                    float cx = Math.Max(0f, Math.Min(x, inSize - 1));
                    int x1 = Math.Min((int)cx, inSize - 1), x2 = Math.Min(x1 + 1, inSize - 1);
                    float d1 = cx - x1, d0 = 1f - d1;
                    if (x1 == x2) { d0 = 0.5f; d1 = 0.5f; }
                    idx[o * 2] = x1; w[o * 2] = d0;
                    idx[o * 2 + 1] = x2; w[o * 2 + 1] = d1;
                    break;
                }
                default:
                {
                    int floor = (int)Math.Floor(x);
                    float r = x - floor;
                    float[] c = Cubic(r, a);
                    float sum = 0;
                    for (int t = 0; t < 4; t++)
                    {
                        int i = floor - 1 + t;
                        if (exclude && (i < 0 || i >= inSize)) c[t] = 0;
                        sum += c[t];
                    }
                    for (int t = 0; t < 4; t++)
                    {
                        int i = floor - 1 + t;
                        idx[o * 4 + t] = Math.Max(0, Math.Min(inSize - 1, i));
                        w[o * 4 + t] = exclude && sum != 0 ? c[t] / sum : c[t];
                    }
                    break;
                }
            }
        }
        return (taps, idx, w);
    }

    /// <summary>Output coordinate to input coordinate, in float32 as ONNX Runtime's upsample code computes it.</summary>
    internal static float Original(string mode, int o, float scale, int inSize, int outSize, float roiStart, float roiEnd)
    {
        float x = o;
        switch (mode)
        {
            case "half_pixel":
                return (x + 0.5f) / scale - 0.5f;
            case "half_pixel_symmetric":
            {
                float outputWidth = scale * inSize;
                float adjustment = outSize / outputWidth;
                float center = inSize / 2f;
                float offset = center * (1f - adjustment);
                return offset + (x + 0.5f) / scale - 0.5f;
            }
            case "pytorch_half_pixel":
                return outSize > 1 ? (x + 0.5f) / scale - 0.5f : 0f;
            case "align_corners":
                return outSize == 1 ? 0f : x * (inSize - 1) / (outSize - 1);
            case "asymmetric":
                return x / scale;
            case "tf_half_pixel_for_nn":
                return (x + 0.5f) / scale;
            case "tf_crop_and_resize":
                return outSize > 1
                    ? roiStart * (inSize - 1) + x * (roiEnd - roiStart) * (inSize - 1) / (outSize - 1)
                    : 0.5f * (roiStart + roiEnd) * (inSize - 1);
            default:
                throw new InvalidNodeException($"coordinate_transformation_mode '{mode}' is unknown");
        }
    }

    private static long Nearest(string mode, float x, bool downsampling)
    {
        switch (mode)
        {
            case "round_prefer_floor":
                return x == (long)x + 0.5f ? (long)Math.Floor(x) : (long)Math.Round(x, MidpointRounding.AwayFromZero);
            case "round_prefer_ceil":
                return (long)Math.Round(x, MidpointRounding.AwayFromZero);
            case "floor":
                return (long)Math.Floor(x);
            case "ceil":
                return (long)Math.Ceiling(x);
            case "simple":
                // Resize-10 / Upsample: ceil when downsampling, truncate when upsampling.
                return downsampling ? (long)Math.Ceiling(x) : (long)x;
            default:
                throw new InvalidNodeException($"nearest_mode '{mode}' is unknown");
        }
    }

    private static float[] Cubic(float s, float a)
    {
        s = Math.Abs(s);
        return new[]
        {
            ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a,
            ((a + 2) * s - (a + 3)) * s * s + 1,
            ((a + 2) * (1 - s) - (a + 3)) * (1 - s) * (1 - s) + 1,
            ((a * (2 - s) - 5 * a) * (2 - s) + 8 * a) * (2 - s) - 4 * a,
        };
    }
}
