// Licensed under the MIT license.
// Depthwise convolution and pooling as flat vector loops. Each input plane is copied once into s_y x s_x "phase"
// sub-planes (stride phases), padded with the op's neutral value (0, or -inf for max): then output pixel (oy, ox) of
// tap (kh, kw) reads sub-plane (kh*dh % sy, kw*dw % sx) at flat index (oy + kh*dh/sy) * Wq + ox + kw*dw/sx. Computing
// over the flat index q = oy * Wq + ox (Wq - OW garbage columns per row) makes every tap one contiguous vector read at a
// build-time offset, whatever the plane size, stride, dilation or padding; a final pass drops the garbage columns and
// applies the average divisor or the activation.
//
// Cost model: the phase copy touches each input element once per use of its plane (about the input size); the
// compute is (taps) vector loads + FMAs/max per 16 outputs from L1-resident sub-planes; the compaction is one pass over
// the output. Against the row-by-row direct loop this removes per-row scalar tails (a 28-wide row is 1 vector + 12
// scalars) and all border tests.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Passes;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class PlaneFilterEmitter
{
    /// <summary>Flat output floats of one plane (rows of Wq), with room for a vector of overrun.</summary>
    private static int FlatSize(PlaneFilterSpec f, PhasePlanes l) => (l.FlatN(f.Geometry) + 16 + 15) / 16 * 16;

    /// <summary>Scratch floats the layer needs: one input plane's phases and one flat output plane.</summary>
    public static long ScratchFloats(PlaneFilterSpec f)
    {
        PhasePlanes l = PhasePlanes.Plan(f.Geometry);
        return l.PlaneStride + FlatSize(f, l);
    }

    public static IEnumerable<string> Remarks(PlaneFilterSpec f)
    {
        ConvGeometry g = f.Geometry;
        PhasePlanes l = PhasePlanes.Plan(g);
        yield return $"lowering: {f.Op} over {f.Batch * f.Channels} planes {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}" +
            (f.Multiplier > 1 ? $" (x{f.Multiplier} per input channel)" : "") +
            $", window {g.KernelH}x{g.KernelW} stride {g.StrideH}x{g.StrideW} dilation {g.DilationH}x{g.DilationW} pads {g.PadTop},{g.PadLeft},{f.PadBottom},{f.PadRight}";
        var offsets = new List<long>();
        for (int kh = 0; kh < g.KernelH; kh++) for (int kw = 0; kw < g.KernelW; kw++) offsets.Add(l.Offset(g, kh, kw));
        yield return $"each plane copied into {l.Used.Count} padded phase sub-plane(s) of {l.Hq}x{l.Wq}; {offsets.Count} taps at flat offsets " +
            string.Join(",", offsets) + $"; {l.Wq - g.OutW} garbage column(s) per row dropped";
    }

    public static void Emit(string method, PlaneFilterSpec f, SourceWriter outer, EmitContext ctx)
    {
        ConvGeometry g = f.Geometry;
        PhasePlanes l = PhasePlanes.Plan(g);
        bool conv = f.Op == "DepthwiseConv", max = f.Op == "MaxPool", avg = f.Op == "AveragePool";
        // Depthwise and max pooling finish in the flat loop itself (activation on whole vectors, garbage columns included);
        // averaging and Lp pooling need the output coordinates, so they finish in the compaction.
        bool plain = conv || max;
        string pad = max ? "float.NegativeInfinity" : "0f";
        int outChannels = f.Channels * f.Multiplier;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        int flat = l.FlatN(g);
        var taps = new List<(long Offset, int Kh, int Kw)>();
        for (int kh = 0; kh < g.KernelH; kh++) for (int kw = 0; kw < g.KernelW; kw++) taps.Add((l.Offset(g, kh, kw), kh, kw));

        // One plane per iteration (parallel over planes; S is each worker's own scratch).
        outer.WriteLine("// planes: batch x input channels, each through its own phase split, flat filter and compaction");
        ctx.ParallelFor(outer, (long)f.Batch * f.Channels, w =>
        {
            w.WriteLine($"float* flat = S + {EmitContext.Long(l.PlaneStride)}L;");
            w.OpenBlock("for (int t = pb; t < pe; t++)");
            w.WriteLine($"int n = t / {f.Channels}, ci = t % {f.Channels};");
            w.WriteLine($"float* xp = X + ((long)n * {f.Channels} + ci) * {EmitContext.Long(inPlane)}L;");
            // 1. Phase sub-planes of this input plane, padded with the neutral value.
            l.EmitSplit(w, g, "xp", "S", pad);
            // 2. Flat compute per output channel of this input channel.
            if (f.Multiplier > 1) w.OpenBlock($"for (int m = 0; m < {f.Multiplier}; m++)");
            string oc = f.Multiplier > 1 ? $"ci * {f.Multiplier} + m" : "ci";
            w.WriteLine($"int oc = {oc};");
            w.WriteLine($"float* yp = Y + ((long)n * {outChannels} + oc) * {EmitContext.Long(outPlane)}L;");
            if (conv)
            {
                w.WriteLine($"float* wp = W + (long)oc * {g.KernelH * g.KernelW};");
                w.WriteLine($"float bias = {(f.HasBias ? "B[oc]" : "0f")};");
            }
            w.WriteLine("int q = 0;");
            ctx.PerIsa(w, (isa, _) =>
            {
                if (isa.IsScalar) return;
                string V = isa.VectorType;
                if (conv)
                {
                    for (int t = 0; t < taps.Count; t++) w.WriteLine($"{V} w{t} = {isa.Broadcast($"wp[{taps[t].Kh * g.KernelW + taps[t].Kw}]")};");
                }
                w.WriteLine($"{V} init = {isa.Broadcast(conv ? "bias" : pad)};");
            string? pro = plain ? ActivationEmitter.Prologue(f.Activation, isa) : null;
            if (pro is not null) w.WriteLine(pro);
                w.OpenBlock($"for (; q < {flat}; q += {isa.Width})");
                w.WriteLine($"{V} acc = init;");
                for (int t = 0; t < taps.Count; t++)
                {
                    var tap = taps[t];
                    string load = isa.Load($"S + {EmitContext.Long(tap.Offset)}L + q");
                    w.WriteLine(f.Op switch
                    {
                        "DepthwiseConv" => $"acc = {isa.Fma(load, $"w{t}", "acc")};",
                        "MaxPool" => $"acc = {isa.Max("acc", load)};",
                        "LpPool" when f.P == 1 => $"acc += {isa.StaticType}.Abs({load});",
                        "LpPool" => $"{{ {V} v = {load}; acc = {isa.Fma("v", "v", "acc")}; }}",
                        _ => $"acc += {load};",
                    });
                }
                w.WriteLine(isa.Store(plain ? ActivationEmitter.Apply(f.Activation, isa, "acc") : "acc", "flat + q"));
                w.CloseBlock();
            });
            // Scalar path (and the only path without SIMD).
            w.OpenBlock($"for (; q < {flat}; q++)");
            w.WriteLine($"float acc = {(conv ? "bias" : pad)};");
            for (int t = 0; t < taps.Count; t++)
            {
                var tap = taps[t];
                string v = $"S[{EmitContext.Long(tap.Offset)}L + q]";
                w.WriteLine(f.Op switch
                {
                    "DepthwiseConv" => $"acc += wp[{tap.Kh * g.KernelW + tap.Kw}] * {v};",
                    "MaxPool" => $"{{ float v = {v}; if (v > acc || float.IsNaN(v)) acc = v; }}",
                    "LpPool" when f.P == 1 => $"acc += {EmitContext.MathF}.Abs({v});",
                    "LpPool" => $"{{ float v = {v}; acc += v * v; }}",
                    _ => $"acc += {v};",
                });
            }
            w.WriteLine($"flat[q] = {(plain ? ActivationEmitter.ApplyScalar(f.Activation, "acc") : "acc")};");
            w.CloseBlock();
            // 3. Drop the garbage columns; divisor or activation.
            string Finish(string v) => f.Op switch
            {
                "AveragePool" => $"{v} * ({method}_InvRow[oy] * {method}_InvCol[ox])",
                "LpPool" when f.P == 1 => v,
                "LpPool" when f.P == 2 => $"{EmitContext.MathF}.Sqrt({v})",
                "LpPool" => $"{EmitContext.MathF}.Pow({v}, 1f / {f.P}f)",
                _ => ActivationEmitter.ApplyScalar(f.Activation, v),
            };
            w.OpenBlock($"for (int oy = 0; oy < {g.OutH}; oy++)");
            w.WriteLine($"float* fr = flat + oy * {l.Wq};");
            w.WriteLine($"float* yr = yp + oy * {g.OutW};");
            if (plain)
            {
                // Activation already applied in the flat loop: a row copy.
                w.WriteLine($"global::System.Buffer.MemoryCopy(fr, yr, {g.OutW * 4}, {g.OutW * 4});");
                w.CloseBlock();
                if (f.Multiplier > 1) w.CloseBlock();
                w.CloseBlock();
                return;
            }
            w.WriteLine("int ox = 0;");
            if (f.Op is "AveragePool")
            {
                ctx.PerIsa(w, (isa, _) =>
                {
                    if (isa.IsScalar || g.OutW < isa.Width) return;
                    string? pro = ActivationEmitter.Prologue(f.Activation, isa);
                    if (pro is not null && !avg) w.WriteLine(pro);
                    if (avg) w.WriteLine($"var rowScale = {isa.Broadcast($"{method}_InvRow[oy]")};");
                    string load = isa.Load("fr + ox");
                    string value = avg
                        ? $"{load} * rowScale * {isa.StaticType}.LoadUnsafe(ref global::System.Runtime.InteropServices.MemoryMarshal.GetReference({method}_InvCol), (nuint)ox)"
                        : ActivationEmitter.Apply(f.Activation, isa, load);
                    w.WriteLine($"for (; ox <= {g.OutW - isa.Width}; ox += {isa.Width}) {isa.Store(value, "yr + ox")}");
                });
            }
            w.WriteLine($"for (; ox < {g.OutW}; ox++) yr[ox] = {Finish("fr[ox]")};");
            w.CloseBlock();
            if (f.Multiplier > 1) w.CloseBlock();
            w.CloseBlock();
        }, privateScratch: "S");
    }

    /// <summary>Static 1/count tables per axis for AveragePool (the divisor is separable: rows x columns).</summary>
    public static void EmitTables(string method, PlaneFilterSpec f, SourceWriter w)
    {
        if (f.Op != "AveragePool") return;
        ConvGeometry g = f.Geometry;
        var rows = Enumerable.Range(0, g.OutH).Select(o => Count(o, g.StrideH, g.PadTop, g.KernelH, g.DilationH, g.InH, f.PadBottom, f.CountIncludePad));
        var cols = Enumerable.Range(0, g.OutW).Select(o => Count(o, g.StrideW, g.PadLeft, g.KernelW, g.DilationW, g.InW, f.PadRight, f.CountIncludePad));
        w.WriteLine($"private static global::System.ReadOnlySpan<float> {method}_InvRow => new float[] {{ {string.Join(", ", rows.Select(c => LoweringContext.FloatLiteral(c == 0 ? 0f : 1f / c)))} }};");
        w.WriteLine($"private static global::System.ReadOnlySpan<float> {method}_InvCol => new float[] {{ {string.Join(", ", cols.Select(c => LoweringContext.FloatLiteral(c == 0 ? 0f : 1f / c)))} }};");
    }

    /// <summary>Taps of one output coordinate counted by the divisor (ONNX Runtime's rule for count_include_pad).</summary>
    private static int Count(int o, int stride, int padBegin, int kernel, int dilation, int size, int padEnd, bool includePad)
    {
        int start = o * stride - padBegin, n = 0;
        for (int k = 0; k < kernel; k++)
        {
            int i = start + k * dilation;
            if (includePad ? i < size + padEnd : i >= 0 && i < size) n++;
        }
        return n;
    }

}
