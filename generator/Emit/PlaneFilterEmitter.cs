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
        if (f.ChannelVectors) return DepthwiseChannelsEmitter.ScratchFloats(f);
        if (DepthwiseRowsEmitter.Applies(f)) return DepthwiseRowsEmitter.ScratchFloats(f);
        PhasePlanes l = PhasePlanes.Plan(f.Geometry);
        return UsesRows(f) ? RowBuffer(f.Geometry) : l.PlaneStride + FlatSize(f, l);
    }

    /// <summary>
    /// 2x2 and 3x3 stride-2 max pooling (pads of at most 1) goes row by row instead: per output row, the vertical max of
    /// its (up to) three input rows into a padded row buffer, then the max of each stride-2 window of that row by
    /// deinterleaving its lanes — no phase split and no compaction, one read of each input row per output row using it.
    /// (MNIST's 2x2 pools through the phase planes: 4 phase copies, a flat pass and a compaction per 28x28 plane.)
    /// </summary>
    public static bool UsesRows(PlaneFilterSpec f)
    {
        ConvGeometry g = f.Geometry;
        return f.Op == "MaxPool" && f.Multiplier == 1 && f.Activation.Kind == ActivationKind.None && g.KernelH is 2 or 3 && g.KernelW is 2 or 3
            && g.StrideH == 2 && g.StrideW == 2 && g.DilationH == 1 && g.DilationW == 1 && g.PadTop <= 1 && g.PadLeft <= 1
            && 2 * (g.OutH - 1) - g.PadTop < g.InH && 2 * (g.OutW - 1) - g.PadLeft < g.InW;
    }

    /// <summary>Floats of the padded row buffer of <see cref="UsesRows"/>: left pad, the row, -inf up to every vector's reach.</summary>
    private static int RowBuffer(ConvGeometry g) => (System.Math.Max(g.PadLeft + g.InW, 2 * g.OutW + 2) + 48 + 15) / 16 * 16;

    public static IEnumerable<string> Remarks(PlaneFilterSpec f)
    {
        ConvGeometry g = f.Geometry;
        if (f.ChannelVectors)
        {
            foreach (string r in DepthwiseChannelsEmitter.Remarks(f)) yield return r;
            yield break;
        }
        if (DepthwiseRowsEmitter.Applies(f))
        {
            foreach (string r in DepthwiseRowsEmitter.Remarks(f)) yield return r;
            yield break;
        }
        if (UsesRows(f))
        {
            yield return $"lowering: MaxPool {g.KernelH}x{g.KernelW} stride 2 over {f.Batch * f.Channels} planes {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}, pads {g.PadTop},{g.PadLeft},{f.PadBottom},{f.PadRight}, " +
                $"row by row: vertical max of {g.KernelH} input rows into a padded row, then each stride-2 window's max from its deinterleaved lanes (256-bit: within 128-bit halves, put in order once per vector)";
            yield break;
        }
        PhasePlanes l = PhasePlanes.Plan(g);
        yield return $"lowering: {f.Op} over {f.Batch * f.Channels} planes {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}" +
            (f.Multiplier > 1 ? $" (x{f.Multiplier} per input channel)" : "") +
            $", window {g.KernelH}x{g.KernelW} stride {g.StrideH}x{g.StrideW} dilation {g.DilationH}x{g.DilationW} pads {g.PadTop},{g.PadLeft},{f.PadBottom},{f.PadRight}";
        var offsets = new List<long>();
        for (int kh = 0; kh < g.KernelH; kh++) for (int kw = 0; kw < g.KernelW; kw++) offsets.Add(l.Offset(g, kh, kw));
        yield return $"each plane copied into {l.Used.Count} padded phase sub-plane(s) of {l.Hq}x{l.Wq}; {offsets.Count} taps at flat offsets " +
            string.Join(",", offsets) + $"; {l.Wq - g.OutW} garbage column(s) per row dropped";
        if (SeparableMax(f))
            yield return $"separable: the {g.KernelW}-wide row maxima in place over the padded plane, then the maxima of {g.KernelH} of them down each column ({g.KernelH + g.KernelW} instead of {g.KernelH * g.KernelW} loads per output vector)";
    }

    /// <summary>
    /// A stride-1, undilated max pool with a window of more than 9 taps (YOLO's spatial-pyramid 5x5, 9x9, 13x13) runs as
    /// two passes over the padded plane: row maxima in place, then column maxima of those.
    /// </summary>
    private static bool SeparableMax(PlaneFilterSpec f)
    {
        ConvGeometry g = f.Geometry;
        return f.Op == "MaxPool" && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
            && g.KernelH * g.KernelW > 9 && !UsesRows(f);
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

        if (UsesRows(f))
        {
            EmitMaxPoolRows(f, outer, ctx);
            return;
        }
        if (f.ChannelVectors)
        {
            DepthwiseChannelsEmitter.Emit(f, outer, ctx);
            return;
        }
        if (DepthwiseRowsEmitter.Applies(f))
        {
            DepthwiseRowsEmitter.Emit(f, outer, ctx);
            return;
        }
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
            if (SeparableMax(f))
            {
                EmitSeparableMax(w, ctx, g, l, flat);
            }
            else ctx.PerIsa(w, (isa, _) =>
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
            // Scalar path (and the only path without SIMD); the separable max pool has its own.
            if (!SeparableMax(f))
            {
                w.OpenBlock($"for (; q < {flat}; q++)");
                w.WriteLine($"float acc = {(conv ? "bias" : pad)};");
                for (int t = 0; t < taps.Count; t++)
                {
                    var tap = taps[t];
                    string v = $"S[{EmitContext.Long(tap.Offset)}L + q]";
                    w.WriteLine(f.Op switch
                    {
                        "DepthwiseConv" => $"acc += wp[{tap.Kh * g.KernelW + tap.Kw}] * {v};",
                        "MaxPool" => $"{{ float v = {v}; {ScalarMaxStep} }}",
                        "LpPool" when f.P == 1 => $"acc += {EmitContext.MathF}.Abs({v});",
                        "LpPool" => $"{{ float v = {v}; acc += v * v; }}",
                        _ => $"acc += {v};",
                    });
                }
                w.WriteLine($"flat[q] = {(plain ? ActivationEmitter.ApplyScalar(f.Activation, "acc") : "acc")};");
                w.CloseBlock();
            }
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

    /// <summary>One scalar max-pooling step: acc = max(acc, v), a NaN input taken.</summary>
    private const string ScalarMaxStep = "if (v > acc || float.IsNaN(v)) acc = v;";

    /// <summary>
    /// The separable stride-1 max pool over the padded plane S (one phase): (1) in place, S[p] = max of S[p .. p + kw)
    /// for every p of the Hq x Wq plane, rounded up to 16 (ascending, so each read is still original); (2) flat[q] = max
    /// of S[q + kh Wq] over the kh window rows. Positions past the plane only feed garbage columns.
    /// </summary>
    private static void EmitSeparableMax(SourceWriter w, EmitContext ctx, ConvGeometry g, PhasePlanes l, int flat)
    {
        int rows = (l.Hq * l.Wq + 15) / 16 * 16;
        w.WriteLine("int p = 0;");
        ctx.PerIsa(w, (isa, _) =>
        {
            if (isa.IsScalar) return;
            w.OpenBlock($"for (; p < {rows}; p += {isa.Width})");
            w.WriteLine($"var acc = {isa.Load("S + p")};");
            for (int kw = 1; kw < g.KernelW; kw++) w.WriteLine($"acc = {isa.Max("acc", isa.Load($"S + p + {kw}"))};");
            w.WriteLine(isa.Store("acc", "S + p"));
            w.CloseBlock();
            w.OpenBlock($"for (; q < {flat}; q += {isa.Width})");
            w.WriteLine($"var acc = {isa.Load("S + q")};");
            for (int kh = 1; kh < g.KernelH; kh++) w.WriteLine($"acc = {isa.Max("acc", isa.Load($"S + q + {kh * l.Wq}"))};");
            w.WriteLine(isa.Store("acc", "flat + q"));
            w.CloseBlock();
        });
        w.OpenBlock($"for (; p < {rows}; p++)");
        w.WriteLine("float acc = S[p];");
        w.WriteLine($"for (int k = 1; k < {g.KernelW}; k++) {{ float v = S[p + k]; {ScalarMaxStep} }}");
        w.WriteLine("S[p] = acc;");
        w.CloseBlock();
        w.OpenBlock($"for (; q < {flat}; q++)");
        w.WriteLine("float acc = S[q];");
        w.WriteLine($"for (int k = 1; k < {g.KernelH}; k++) {{ float v = S[q + k * {l.Wq}]; {ScalarMaxStep} }}");
        w.WriteLine("flat[q] = acc;");
        w.CloseBlock();
    }

    private static void EmitMaxPoolRows(PlaneFilterSpec f, SourceWriter outer, EmitContext ctx)
    {
        ConvGeometry g = f.Geometry;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        outer.WriteLine("// planes: batch x channels, row by row (S is each worker's own padded row buffer)");
        ctx.ParallelFor(outer, (long)f.Batch * f.Channels, w =>
        {
            EmitMaxPoolRowsPrologue(f, w, "S");
            w.OpenBlock("for (int t = pb; t < pe; t++)");
            w.WriteLine($"float* xp = X + (long)t * {EmitContext.Long(inPlane)}L;");
            w.WriteLine($"float* yp = Y + (long)t * {EmitContext.Long(outPlane)}L;");
            EmitMaxPoolPlaneRows(f, w, ctx, y => $"xp + {y} * {g.InW}", "0", EmitContext.Long(g.OutH));
            w.CloseBlock();
        }, privateScratch: "S");
    }

    /// <summary>Floats of the row buffer of a row-by-row max pool (<see cref="UsesRows"/>).</summary>
    internal static int MaxPoolRowBufferFloats(PlaneFilterSpec f) => RowBuffer(f.Geometry);

    /// <summary>Declares <c>v</c>, the padded row buffer at <paramref name="buffer"/>, and fills its padding with -inf.</summary>
    internal static void EmitMaxPoolRowsPrologue(PlaneFilterSpec f, SourceWriter w, string buffer)
    {
        ConvGeometry g = f.Geometry;
        int tail = RowBuffer(g) - g.PadLeft - g.InW;
        const string NegInf = "float.NegativeInfinity";
        w.WriteLine($"float* v = {buffer};");
        for (int i = 0; i < g.PadLeft; i++) w.WriteLine($"v[{i}] = {NegInf};");
        w.WriteLine($"new global::System.Span<float>(v + {g.PadLeft + g.InW}, {tail}).Fill({NegInf});");
    }

    /// <summary>
    /// Output rows [<paramref name="oyBegin"/>, <paramref name="oyEnd"/>) of one plane into <c>yp</c>, input row y (within
    /// the plane) at <paramref name="row"/>(y), through the row buffer <c>v</c> (<see cref="EmitMaxPoolRowsPrologue"/>).
    /// </summary>
    internal static void EmitMaxPoolPlaneRows(PlaneFilterSpec f, SourceWriter w, EmitContext ctx, System.Func<string, string> row, string oyBegin, string oyEnd)
    {
        ConvGeometry g = f.Geometry;
        w.OpenBlock($"for (int oy = {oyBegin}; oy < {oyEnd}; oy++)");
        // Rows 2 oy - padTop .. + kh - 1 clipped to the plane (the test in UsesRows keeps at least one): duplicates are
        // harmless for max (a 2-row window reads its first row twice).
        int kh1 = g.KernelH - 1;
        w.WriteLine($"int y0 = 2 * oy - {g.PadTop}, ylo = y0 < 0 ? 0 : y0, yhi = y0 + {kh1} > {g.InH - 1} ? {g.InH - 1} : y0 + {kh1};");
        w.WriteLine(g.KernelH == 3
            ? $"float* a = {row("ylo")}, b = {row("(ylo + 1 <= yhi ? ylo + 1 : ylo)")}, c = {row("yhi")};"
            : $"float* a = {row("ylo")}, b = a, c = {row("yhi")};");
        w.WriteLine($"float* row = v + {g.PadLeft};");
        w.WriteLine($"float* yr = yp + oy * {g.OutW};");
        w.WriteLine("int x = 0, ox = 0;");
        // The whole vertical row first (the windows of the last vector reach its scalar tail).
        ctx.PerIsa(w, (isa, _) =>
        {
            if (InRegisters(isa, g))
            {
                EmitMaxPoolRowInRegisters(w, isa, g);
                return;
            }
            // Rows narrower than a vector take the masked tail alone.
            if (isa.IsScalar || (g.InW < isa.Width && !isa.HasMaskedMemory)) return;
            if (g.InW >= isa.Width)
                w.WriteLine($"for (; x <= {g.InW - isa.Width}; x += {isa.Width}) {isa.Store(isa.Max(isa.Max(isa.Load("a + x"), isa.Load("b + x")), isa.Load("c + x")), "row + x")}");
            if (g.InW % isa.Width != 0 && g.InW > isa.Width)
            {
                // The row's last partial vector as a whole vector ending at the row's end, over lanes the loop already
                // wrote (the same maxima): plain loads and store, no masks (AMD's masked moves are slow). With the same
                // for the outputs below, SqueezeNet's pool of 27-wide rows 0.049-0.050 -> 0.042 ms in the model (three
                // alternated runs), its 55-wide one unchanged (0.053-0.055).
                w.WriteLine($"{isa.Store(isa.Max(isa.Max(isa.Load($"a + {g.InW - isa.Width}"), isa.Load($"b + {g.InW - isa.Width}")), isa.Load($"c + {g.InW - isa.Width}")), $"row + {g.InW - isa.Width}")} x = {g.InW};");
            }
            else if (g.InW % isa.Width != 0 && isa.HasMaskedMemory)
            {
                // The row's last partial vector: masked loads (nothing read past the row), a full store into the buffer's slack.
                w.WriteLine($"{{ var tm = {isa.TailMask($"{g.InW % isa.Width}")}; {isa.Store(isa.Max(isa.Max(isa.MaskLoad("a + x", "tm"), isa.MaskLoad("b + x", "tm")), isa.MaskLoad("c + x", "tm")), "row + x")} x = {g.InW}; }}");
                // Lanes past the row must stay -inf (the buffer's tail): restore them.
                w.WriteLine($"for (int z = {g.InW}; z < {(g.InW + isa.Width - 1) / isa.Width * isa.Width}; z++) row[z] = float.NegativeInfinity;");
            }
        });
        w.WriteLine($"for (; x < {g.InW}; x++) row[x] = {EmitContext.MathF}.Max({EmitContext.MathF}.Max(a[x], b[x]), c[x]);");
        ctx.PerIsa(w, (isa, _) =>
        {
            int width = isa.Width;
            // Output rows narrower than a vector take the masked tail alone (13-wide rows on AVX-512).
            if (InRegisters(isa, g) || isa.IsScalar || (g.OutW < width && !isa.HasMaskedMemory)) return;
            // 256-bit: deinterleaved within 128-bit halves (one vshufps each), the window maxima put in order once.
            bool inLane = width == 8;
            string il = inLane ? "InLane" : "";
            string even = $"{EmitContext.RuntimeNs}.Interleave.EvenLanes{il}({{0}}, {{1}})", odd = $"{EmitContext.RuntimeNs}.Interleave.OddLanes{il}({{0}}, {{1}})";
            string Window() => Ordered(inLane, isa.Max(string.Format(even, "lo", "hi"), string.Format(odd, "lo", "hi")), g.KernelW == 3 ? string.Format(even, "lo2", "hi2") : null, isa);
            // The vectors a vector of outputs' windows read from s (the row buffer at twice its first output).
            void LoadWindows()
            {
                w.WriteLine($"var lo = {isa.Load("s")}; var hi = {isa.Load($"s + {width}")};");
                if (g.KernelW == 3) w.WriteLine($"var lo2 = {isa.Load("s + 2")}; var hi2 = {isa.Load($"s + {width + 2}")};");
            }
            if (g.OutW >= width)
            {
                w.OpenBlock($"for (; ox <= {g.OutW - width}; ox += {width})");
                w.WriteLine("float* s = v + 2 * ox;");
                LoadWindows();
                w.WriteLine(isa.Store(Window(), "yr + ox"));
                w.CloseBlock();
            }
            if (g.OutW % width != 0 && g.OutW > width)
            {
                // The last partial vector of outputs as a whole vector ending at the row's end, over outputs the loop
                // already stored (the same maxima): a plain store.
                w.OpenBlock();
                w.WriteLine($"float* s = v + {2 * (g.OutW - width)};");
                LoadWindows();
                w.WriteLine(isa.Store(Window(), $"yr + {g.OutW - width}"));
                w.WriteLine($"ox = {g.OutW};");
                w.CloseBlock();
            }
            else if (g.OutW % width != 0 && isa.HasMaskedMemory)
            {
                // The last partial vector of outputs: its windows lie in the row buffer (slack included); masked store.
                w.OpenBlock();
                w.WriteLine("float* s = v + 2 * ox;");
                LoadWindows();
                w.WriteLine(isa.MaskStore(Window(), "yr + ox", isa.TailMask($"{g.OutW % width}")));
                w.WriteLine($"ox = {g.OutW};");
                w.CloseBlock();
            }
        });
        w.OpenBlock($"for (; ox < {g.OutW}; ox++)");
        w.WriteLine("float* s = v + 2 * ox;");
        w.WriteLine(g.KernelW == 3 ? $"yr[ox] = {EmitContext.MathF}.Max({EmitContext.MathF}.Max(s[0], s[1]), s[2]);" : $"yr[ox] = {EmitContext.MathF}.Max(s[0], s[1]);");
        w.CloseBlock();
        w.CloseBlock();
    }

    /// <summary>The max of the stride-2 window's columns: max(pairs, third) where the window has three, put in order (in-lane deinterleaves).</summary>
    private static string Ordered(bool inLane, string pairs, string? third, Isa isa)
    {
        string m = third is null ? pairs : isa.Max(pairs, third);
        return inLane ? $"{EmitContext.RuntimeNs}.Interleave.FromInLanePairs({m})" : m;
    }

    /// <summary>
    /// AVX-512 computes each 3x3 output row in registers: a row buffer written and read back 2 floats off defeats
    /// store-to-load forwarding (SqueezeNet's 13-wide pool ran 3x ONNX Runtime's time).
    /// </summary>
    private static bool InRegisters(Isa isa, ConvGeometry g) => isa.Width == 16 && isa.HasMaskedMemory && g.KernelW == 3;

    /// <summary>
    /// One output row of a 3x3 stride-2 max pool in registers, per block of 16 outputs (unrolled: the geometry is known):
    /// the vertical maxima V0, V1 of the block's 32 input columns and lane 0 of V2 (columns outside the row are -inf,
    /// loaded under a lane mask), then max(even(V0, V1), odd(V0, V1), even of the same shifted by 2 lanes). Sets x and ox
    /// past the row so the buffer paths do nothing.
    /// </summary>
    private static void EmitMaxPoolRowInRegisters(SourceWriter w, Isa isa, ConvGeometry g)
    {
        string R = EmitContext.RuntimeNs, V = isa.StaticType, X86 = "global::System.Runtime.Intrinsics.X86.Avx512F";
        w.WriteLine($"var ninf = {isa.Broadcast("float.NegativeInfinity")};");
        for (int ox0 = 0; ox0 < g.OutW; ox0 += 16)
        {
            int baseX = 2 * ox0 - g.PadLeft;
            w.OpenBlock();
            for (int j = 0; j < 3; j++)
            {
                int lo = baseX + 16 * j, lanes = j == 2 ? 1 : 16;
                int from = System.Math.Max(0, -lo), to = System.Math.Min(lanes, g.InW - lo);
                string at = lo >= 0 ? $" + {lo}" : $" - {-lo}";
                if (to <= from)
                {
                    w.WriteLine($"var v{j} = ninf;");
                }
                else if (from == 0 && to == 16)
                {
                    w.WriteLine($"var v{j} = {isa.Max(isa.Max(isa.Load($"a{at}"), isa.Load($"b{at}")), isa.Load($"c{at}"))};");
                }
                else
                {
                    w.WriteLine($"var m{j} = {isa.LaneMask(from, to)};");
                    w.WriteLine($"var v{j} = {V}.ConditionalSelect(m{j}, {isa.Max(isa.Max(isa.MaskLoad($"a{at}", $"m{j}"), isa.MaskLoad($"b{at}", $"m{j}")), isa.MaskLoad($"c{at}", $"m{j}"))}, ninf);");
                }
            }
            w.WriteLine($"var s0 = {V}.AsSingle({X86}.AlignRight32({V}.AsInt32(v1), {V}.AsInt32(v0), 2)); var s1 = {V}.AsSingle({X86}.AlignRight32({V}.AsInt32(v2), {V}.AsInt32(v1), 2));");
            string y = isa.Max(isa.Max($"{R}.Interleave.EvenLanes(v0, v1)", $"{R}.Interleave.OddLanes(v0, v1)"), $"{R}.Interleave.EvenLanes(s0, s1)");
            w.WriteLine(ox0 + 16 <= g.OutW ? isa.Store(y, $"yr + {ox0}") : isa.MaskStore(y, $"yr + {ox0}", isa.TailMask($"{g.OutW - ox0}")));
            w.CloseBlock();
        }
        w.WriteLine($"x = {g.InW}; ox = {g.OutW};");
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
