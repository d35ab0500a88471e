// Licensed under the MIT license.
// Kernel/stride/dilation/pad attributes shared by Conv, ConvTranspose and the pools, resolved to explicit pads and
// output sizes (auto_pad and ceil_mode as ONNX Runtime implements them).

using System;
using ModelGen.Generator.Ir;

namespace ModelGen.Generator.Ops.Shared;

/// <summary>Resolved spatial attributes for N spatial axes.</summary>
internal sealed class SpatialAttributes
{
    public int[] Kernel = Array.Empty<int>();
    public int[] Strides = Array.Empty<int>();
    public int[] Dilations = Array.Empty<int>();
    public int[] PadsBegin = Array.Empty<int>();
    public int[] PadsEnd = Array.Empty<int>();
    public int[] Output = Array.Empty<int>();

    /// <summary>Reads and resolves the attributes for input spatial sizes <paramref name="input"/>.</summary>
    public static SpatialAttributes Resolve(Node node, int[] input, int[]? kernelFromWeights, bool ceilMode, bool allowDilations = true)
    {
        int n = input.Length;
        var a = new SpatialAttributes();
        long[]? k = node.Attributes.GetInts("kernel_shape");
        if (k is null)
        {
            if (kernelFromWeights is null) throw new InvalidNodeException("attribute 'kernel_shape' is required");
            a.Kernel = kernelFromWeights;
        }
        else
        {
            if (k.Length != n) throw new InvalidNodeException($"kernel_shape has {k.Length} values for {n} spatial axes");
            a.Kernel = Positive(k, "kernel_shape");
            if (kernelFromWeights is not null)
            {
                for (int i = 0; i < n; i++)
                {
                    if (a.Kernel[i] != kernelFromWeights[i]) throw new InvalidNodeException($"kernel_shape [{string.Join(",", a.Kernel)}] does not match the weights [{string.Join(",", kernelFromWeights)}]");
                }
            }
        }
        a.Strides = Optional(node, "strides", n, 1);
        a.Dilations = Optional(node, "dilations", n, 1);
        if (!allowDilations)
        {
            foreach (int d in a.Dilations) if (d != 1) throw new UnsupportedNodeException("dilations other than 1");
        }
        string autoPad = node.Attributes.GetString("auto_pad", "NOTSET");
        a.PadsBegin = new int[n];
        a.PadsEnd = new int[n];
        a.Output = new int[n];
        long[]? pads = node.Attributes.GetInts("pads");
        if (pads is not null && autoPad != "NOTSET" && autoPad != "")
        {
            // ONNX Runtime ignores explicit pads when auto_pad is set; so do we.
            pads = null;
        }
        if (pads is not null && pads.Length != 2 * n) throw new InvalidNodeException($"pads has {pads.Length} values for {n} spatial axes");
        for (int i = 0; i < n; i++)
        {
            int extent = (a.Kernel[i] - 1) * a.Dilations[i] + 1;
            int stride = a.Strides[i];
            switch (autoPad)
            {
                case "":
                case "NOTSET":
                {
                    int pb = pads is null ? 0 : NonNegative(pads[i], "pads");
                    int pe = pads is null ? 0 : NonNegative(pads[i + n], "pads");
                    a.PadsBegin[i] = pb;
                    a.PadsEnd[i] = pe;
                    long span = (long)input[i] + pb + pe - extent;
                    if (span < 0) throw new InvalidNodeException($"the window ({extent}) is larger than the padded input ({input[i] + pb + pe}) on spatial axis {i}");
                    long o = ceilMode ? (span + stride - 1) / stride + 1 : span / stride + 1;
                    // ceil_mode: the last window must start inside the input or its leading padding.
                    if (ceilMode && (o - 1) * stride >= input[i] + pb) o--;
                    a.Output[i] = (int)o;
                    break;
                }
                case "VALID":
                {
                    long span = (long)input[i] - extent;
                    if (span < 0) throw new InvalidNodeException($"the window ({extent}) is larger than the input ({input[i]}) on spatial axis {i}");
                    a.Output[i] = (int)(ceilMode ? (span + stride - 1) / stride + 1 : span / stride + 1);
                    break;
                }
                case "SAME_UPPER":
                case "SAME_LOWER":
                {
                    int o = (input[i] + stride - 1) / stride;
                    int total = Math.Max(0, (o - 1) * stride + extent - input[i]);
                    int small = total / 2, large = total - small;
                    a.PadsBegin[i] = autoPad == "SAME_UPPER" ? small : large;
                    a.PadsEnd[i] = autoPad == "SAME_UPPER" ? large : small;
                    a.Output[i] = o;
                    break;
                }
                default:
                    throw new InvalidNodeException($"auto_pad '{autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
            }
            if (a.Output[i] <= 0) throw new InvalidNodeException($"the output would be empty on spatial axis {i}");
        }
        return a;
    }

    private static int[] Optional(Node node, string name, int n, int defaultValue)
    {
        long[]? v = node.Attributes.GetInts(name);
        if (v is null || v.Length == 0)
        {
            var d = new int[n];
            for (int i = 0; i < n; i++) d[i] = defaultValue;
            return d;
        }
        if (v.Length != n) throw new InvalidNodeException($"{name} has {v.Length} values for {n} spatial axes");
        return Positive(v, name);
    }

    private static int[] Positive(long[] v, string name)
    {
        var r = new int[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            if (v[i] <= 0 || v[i] > 1 << 20) throw new InvalidNodeException($"{name} has an invalid value {v[i]}");
            r[i] = (int)v[i];
        }
        return r;
    }

    private static int NonNegative(long v, string name)
    {
        if (v < 0 || v > 1 << 20) throw new UnsupportedNodeException($"{name} value {v} (negative or huge pads)");
        return (int)v;
    }
}
