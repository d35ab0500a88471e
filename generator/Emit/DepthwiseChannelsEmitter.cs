// Licensed under the MIT license.
// Depthwise convolution of small planes with the channels in the vector lanes: per block of 16 planes (8 on AVX2), the
// input rows are transposed (runtime ChannelTranspose) into a zero-padded pixel-major buffer of channel vectors, each
// output pixel is the sum of its taps' vectors times the tap's weight vector (weights packed [C/16][taps][16] at
// construction), and the finished block is transposed back into its planes. Every lane is useful whatever the plane
// width, where the row kernel (Emit/DepthwiseRowsEmitter) fills 7 of 16 lanes on a 7x7 plane, and the padding costs
// nothing in the loop (it is the buffer's zero border, written once per worker).

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class DepthwiseChannelsEmitter
{
    /// <summary>
    /// Planes per block: the widest ISA's lanes (the packed weights' panel, AVX2 takes a block in two halves); the blocked
    /// layout's block, so the blocked kernel reads its input, output and weights with one stride.
    /// </summary>
    public const int Block = Passes.BlockedLayout.Block;

    /// <summary>
    /// Depthwise convolutions (one output per channel, channels a multiple of 16, stride 1 or 2, no dilation, pads inside
    /// the window) with narrow output rows, wider stride-1 rows under a large window, or rows up to 14 wide with an
    /// exp-based activation (the profile's thresholds).
    /// </summary>
    public static bool Fits(int channels, int multiplier, ConvGeometry g, int padBottom, int padRight, Activation act, TargetProfile profile)
    {
        bool narrow = g.OutW <= profile.DepthwiseChannelsMaxOutW;
        bool wide = g.OutW <= profile.DepthwiseChannelsWideOutW && g.StrideW == 1 && g.KernelH * g.KernelW >= profile.DepthwiseChannelsWideMinTaps;
        // An exp-based activation runs once over the block here, once per plane in the row kernel.
        bool heavy = g.OutW <= profile.DepthwiseChannelsExpOutW && ActivationEmitter.IsHeavy(act);
        return (narrow || wide || heavy) && multiplier == 1 && FitsBlocked(channels, g, padBottom, padRight);
    }

    /// <summary>
    /// The windows both channel-lanes depthwise kernels take (the blocked one, <see cref="EmitBlocked"/>, whatever the plane
    /// width): channels a multiple of 16, equal strides of 1 or 2, no dilation, at most 7x7, pads inside the window.
    /// </summary>
    public static bool FitsBlocked(int channels, ConvGeometry g, int padBottom, int padRight) =>
        channels % Block == 0 && g.StrideH == g.StrideW && g.StrideH is 1 or 2 && g.DilationH == 1 && g.DilationW == 1 && g.KernelH <= 7 && g.KernelW <= 7
        && g.PadTop < g.KernelH && g.PadLeft < g.KernelW && padBottom < g.KernelH && padRight < g.KernelW;

    /// <summary>Output pixels computed together (accumulators held in registers): 16 of 32 zmm, 8 of 16 ymm.</summary>
    private static int Accumulators(Isa isa) => isa.Width == 16 ? 16 : 8;

    /// <summary>Rows and columns of the padded input buffer: exactly what the windows reach.</summary>
    private static (int Hp, int Wp) Padded(ConvGeometry g) => ((g.OutH - 1) * g.StrideH + g.KernelH, (g.OutW - 1) * g.StrideW + g.KernelW);

    /// <summary>Scratch floats: the padded input block and the output block, both pixel-major with 16 lanes per pixel.</summary>
    public static long ScratchFloats(PlaneFilterSpec f)
    {
        if (f.Blocked) return 0;
        (int hp, int wp) = Padded(f.Geometry);
        return (long)Block * (hp * wp + f.Geometry.OutH * f.Geometry.OutW);
    }

    public static IEnumerable<string> Remarks(PlaneFilterSpec f)
    {
        ConvGeometry g = f.Geometry;
        if (f.Blocked)
        {
            (int lo, int hi) = g.InteriorColumns();
            yield return $"lowering: DepthwiseConv over {f.Batch * f.Channels} planes {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}, window {g.KernelH}x{g.KernelW} " +
                $"stride {g.StrideH} pads {g.PadTop},{g.PadLeft},{f.PadBottom},{f.PadRight}, input and output channel-blocked [C/16][H][W][16], " +
                $"read and written in place: per block of 16 channels (two vectors on AVX2) and output row, the columns {lo}-{hi - 1} whose window " +
                $"stays inside the row in pieces of up to 16 (8 on AVX2) pixels, the {g.OutW - (hi - lo)} border columns one by one with their in-row taps only, " +
                $"window rows outside the input skipped; weights packed [{f.Channels / Block}][{g.KernelH * g.KernelW}][{Block}]";
            yield break;
        }
        (int hp, int wp) = Padded(g);
        yield return $"lowering: DepthwiseConv over {f.Batch * f.Channels} planes {g.InH}x{g.InW} -> {g.OutH}x{g.OutW}, window {g.KernelH}x{g.KernelW} " +
            $"stride {g.StrideH} pads {g.PadTop},{g.PadLeft},{f.PadBottom},{f.PadRight}, channels in the vector lanes: blocks of {Block} planes " +
            $"(8 on AVX2) transposed into a zero-bordered {hp}x{wp} buffer of channel vectors, one output row of {g.OutW} vectors per step, transposed back; " +
            $"weights packed [{f.Channels / Block}][{g.KernelH * g.KernelW}][{Block}]";
    }

    public static void Emit(PlaneFilterSpec f, SourceWriter outer, EmitContext ctx)
    {
        if (f.Blocked)
        {
            EmitBlocked(f, outer, ctx);
            return;
        }
        ConvGeometry g = f.Geometry;
        int taps = g.KernelH * g.KernelW, s = g.StrideH;
        (int hp, int wp) = Padded(g);
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        long padded = (long)Block * hp * wp;
        // Input rows and columns that land inside the buffer (a stride-2 window may never reach the last ones).
        int rows = System.Math.Min(g.InH, hp - g.PadTop), cols = System.Math.Min(g.InW, wp - g.PadLeft);
        outer.WriteLine($"// blocks of {Block} planes (S: each worker's zero-bordered input block, then its output block)");
        ctx.ParallelForPerIsa(outer, (long)f.Batch * f.Channels / Block, (w, isa) =>
        {
            w.WriteLine($"new global::System.Span<float>(S, {EmitContext.Long(padded)}).Clear();");
            w.WriteLine($"float* Q = S + {EmitContext.Long(padded)}L;");
            int v = isa.Width;
            string? pro = isa.IsScalar || ActivationEmitter.IsHeavy(f.Activation) ? null : ActivationEmitter.Prologue(f.Activation, isa);
            if (pro is not null) w.WriteLine(pro);
            w.OpenBlock("for (int t = pb; t < pe; t++)");
            if (isa.IsScalar)
            {
                EmitScalarBlock(f, w);
                w.CloseBlock();
                return;
            }
            w.OpenBlock($"for (int half = 0; half < {Block / v}; half++)");
            w.WriteLine($"long plane0 = (long)t * {Block} + half * {v};");
            w.WriteLine($"int c0 = (int)(plane0 % {f.Channels});");
            w.WriteLine($"float* xp = X + plane0 * {EmitContext.Long(inPlane)}L;");
            w.WriteLine($"float* yp = Y + plane0 * {EmitContext.Long(outPlane)}L;");
            w.WriteLine($"float* wp = W + (long)(c0 / {Block}) * {taps * Block} + c0 % {Block};");
            w.WriteLine($"var bias = {(f.HasBias ? isa.Load("B + c0") : isa.Zero)};");
            // 1. The block's input rows into the buffer's interior, as channel vectors.
            w.OpenBlock($"for (int iy = 0; iy < {rows}; iy++)");
            for (int x0 = 0; x0 < cols; x0 += v)
            {
                w.WriteLine($"{EmitContext.RuntimeNs}.ChannelTranspose.ToLanes{v}(xp + iy * {g.InW} + {x0}, {EmitContext.Long(inPlane)}, " +
                    $"{System.Math.Min(v, cols - x0)}, S + ((iy + {g.PadTop}) * {wp} + {g.PadLeft + x0}) * {v});");
            }
            w.CloseBlock();
            // 2. One output row per step, in pieces of at most Accumulators(isa) pixels (equal pieces in a loop, then the
            // rest): their accumulators, one weight vector per tap.
            w.OpenBlock($"for (int oy = 0; oy < {g.OutH}; oy++)");
            EmitPieces(w, 0, g.OutW, Accumulators(isa), (n, j0) => EmitPiece(f, w, isa, n, j0, wp));
            w.CloseBlock();
            // 3. Exp-based activations over the whole block (every lane useful), then the block back into its planes.
            if (ActivationEmitter.IsHeavy(f.Activation)) w.WriteLine(ActivationEmitter.InPlace(f.Activation, "Q", EmitContext.Long(outPlane * v)));
            long whole = outPlane / v * v;
            if (whole > 0)
            {
                w.WriteLine($"for (int p0 = 0; p0 < {EmitContext.Long(whole)}; p0 += {v}) " +
                    $"{EmitContext.RuntimeNs}.ChannelTranspose.FromLanes{v}(Q + p0 * {v}, {v}, yp + p0, {EmitContext.Long(outPlane)});");
            }
            if (outPlane > whole)
            {
                w.WriteLine($"{EmitContext.RuntimeNs}.ChannelTranspose.FromLanes{v}(Q + {EmitContext.Long(whole * v)}, {outPlane - whole}, yp + {EmitContext.Long(whole)}, {EmitContext.Long(outPlane)});");
            }
            w.CloseBlock();
            w.CloseBlock();
        }, privateScratch: "S");
    }

    /// <summary>
    /// Columns [from, from + count) of an output row in pieces of at most <paramref name="acc"/> pixels: equal pieces (a
    /// loop over j0 when there are several), then the shorter rest; <paramref name="piece"/> emits one (pixels, first column).
    /// </summary>
    private static void EmitPieces(SourceWriter w, int from, int count, int acc, System.Action<int, string> piece)
    {
        int pieces = (count + acc - 1) / acc, cw = (count + pieces - 1) / pieces;
        int full = count / cw, rest = count % cw;
        if (full == 1)
        {
            piece(cw, EmitContext.Long(from));
        }
        else
        {
            w.OpenBlock($"for (int j0 = {from}; j0 < {from + full * cw}; j0 += {cw})");
            piece(cw, "j0");
            w.CloseBlock();
        }
        if (rest > 0) piece(rest, EmitContext.Long(from + full * cw));
    }

    /// <summary>
    /// Channel-blocked input and output, in place: per block of 16 channels (a worker's share) and vector of its lanes,
    /// per output row: window rows outside the input skipped at run time, the interior columns in pieces of
    /// accumulators, the border columns one by one with only the taps inside the row (build-time ranges).
    /// </summary>
    private static void EmitBlocked(PlaneFilterSpec f, SourceWriter outer, EmitContext ctx)
    {
        ConvGeometry g = f.Geometry;
        int taps = g.KernelH * g.KernelW;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        (int lo, int hi) = g.InteriorColumns();
        string L(long v) => EmitContext.Long(v);
        outer.WriteLine($"// blocks of {Block} channels, [C/16][H][W][16] in and out");
        ctx.ParallelForPerIsa(outer, (long)f.Batch * f.Channels / Block, (w, isa) =>
        {
            int v = isa.Width;
            bool heavy = ActivationEmitter.IsHeavy(f.Activation);
            string? pro = heavy ? null : ActivationEmitter.Prologue(f.Activation, isa);
            if (pro is not null) w.WriteLine(pro);
            w.OpenBlock("for (int t = pb; t < pe; t++)");
            w.OpenBlock($"for (int lane = 0; lane < {Block}; lane += {v})");
            w.WriteLine($"int c0 = (int)(t % {f.Channels / Block}) * {Block} + lane;");
            w.WriteLine($"float* xp = X + (long)t * {L(inPlane * Block)}L + lane;");
            w.WriteLine($"float* yp = Y + (long)t * {L(outPlane * Block)}L + lane;");
            w.WriteLine($"float* wp = W + (long)(c0 / {Block}) * {taps * Block} + lane;");
            w.WriteLine($"var bias = {(f.HasBias ? isa.Load("B + c0") : isa.Zero)};");
            w.OpenBlock($"for (int oy = 0; oy < {g.OutH}; oy++)");
            w.WriteLine($"int iy0 = oy * {g.StrideH} - {g.PadTop};");
            for (int ox = 0; ox < lo; ox++) EmitBlockedPiece(f, w, isa, 1, L(ox), ox);
            int acc = isa.IsScalar ? 4 : Accumulators(isa), inner = hi - lo;
            if (inner > 0) EmitPieces(w, lo, inner, acc, (n, j0) => EmitBlockedPiece(f, w, isa, n, j0, -1));
            for (int ox = hi; ox < g.OutW; ox++) EmitBlockedPiece(f, w, isa, 1, L(ox), ox);
            w.CloseBlock();
            w.CloseBlock();
            // Exp-based activations over the block's whole output (contiguous), every lane useful.
            if (heavy) w.WriteLine(ActivationEmitter.InPlace(f.Activation, $"Y + (long)t * {L(outPlane * Block)}L", L(outPlane * Block)));
            w.CloseBlock();
        });
    }

    /// <summary>
    /// <paramref name="n"/> output pixels of row <c>oy</c> from column <paramref name="j0"/> on, blocked: accumulators from
    /// the bias, per window row inside the input (run-time test) one weight vector per tap times the pixels' input
    /// vectors, the light activation, stores. <paramref name="border"/> &gt;= 0: the single column it names, with only the
    /// taps that land inside the row.
    /// </summary>
    private static void EmitBlockedPiece(PlaneFilterSpec f, SourceWriter w, Isa isa, int n, string j0, int border)
    {
        ConvGeometry g = f.Geometry;
        int s = g.StrideW;
        int kwLo = 0, kwHi = g.KernelW;
        if (border >= 0)
        {
            int ix0 = border * s - g.PadLeft;
            kwLo = System.Math.Max(0, -ix0);
            kwHi = System.Math.Min(g.KernelW, g.InW - ix0);
        }
        w.OpenBlock();
        w.WriteLine($"float* yr = yp + (oy * {g.OutW} + {j0}) * {Block};");
        for (int j = 0; j < n; j++) w.WriteLine($"var acc{j} = bias;");
        for (int kh = 0; kh < g.KernelH; kh++)
        {
            w.OpenBlock($"if ((uint)(iy0 + {kh}) < {g.InH}u)");
            w.WriteLine($"float* xr = xp + ((iy0 + {kh}) * {g.InW} + {j0} * {s} - {g.PadLeft}) * {Block};");
            for (int kw = kwLo; kw < kwHi; kw++)
            {
                w.WriteLine($"var w{kw} = {isa.Load($"wp + {(kh * g.KernelW + kw) * Block}")};");
                for (int j = 0; j < n; j++) w.WriteLine($"acc{j} = {isa.Fma(isa.Load($"xr + {(j * s + kw) * Block}"), $"w{kw}", $"acc{j}")};");
            }
            w.CloseBlock();
        }
        for (int j = 0; j < n; j++)
        {
            string value = ActivationEmitter.IsHeavy(f.Activation) ? $"acc{j}" : ActivationEmitter.Apply(f.Activation, isa, $"acc{j}");
            w.WriteLine(isa.Store(value, $"yr + {j * Block}"));
        }
        w.CloseBlock();
    }

    /// <summary>
    /// <paramref name="n"/> output pixels of row <c>oy</c> from pixel <paramref name="j0"/> on: accumulators from the bias,
    /// one weight vector per tap times the tap's input vectors, the light activation, stores into Q.
    /// </summary>
    private static void EmitPiece(PlaneFilterSpec f, SourceWriter w, Isa isa, int n, string j0, int wp)
    {
        ConvGeometry g = f.Geometry;
        int v = isa.Width, s = g.StrideW;
        w.OpenBlock();
        w.WriteLine($"float* pr = S + (oy * {s * wp} + {j0} * {s}) * {v};");
        w.WriteLine($"float* qr = Q + (oy * {g.OutW} + {j0}) * {v};");
        for (int j = 0; j < n; j++) w.WriteLine($"var acc{j} = bias;");
        for (int kh = 0; kh < g.KernelH; kh++)
        {
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                w.WriteLine($"var w{kh}_{kw} = {isa.Load($"wp + {(kh * g.KernelW + kw) * Block}")};");
                for (int j = 0; j < n; j++)
                    w.WriteLine($"acc{j} = {isa.Fma(isa.Load($"pr + {(kh * wp + j * s + kw) * v}"), $"w{kh}_{kw}", $"acc{j}")};");
            }
        }
        for (int j = 0; j < n; j++)
        {
            string value = ActivationEmitter.IsHeavy(f.Activation) ? $"acc{j}" : ActivationEmitter.Apply(f.Activation, isa, $"acc{j}");
            w.WriteLine(isa.Store(value, $"qr + {j * v}"));
        }
        w.CloseBlock();
    }

    /// <summary>Without vectors: the block's planes one by one, bounds-checked taps, weights read from their packed panel.</summary>
    private static void EmitScalarBlock(PlaneFilterSpec f, SourceWriter w)
    {
        ConvGeometry g = f.Geometry;
        int taps = g.KernelH * g.KernelW;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        w.OpenBlock($"for (int lane = 0; lane < {Block}; lane++)");
        w.WriteLine($"long plane = (long)t * {Block} + lane;");
        w.WriteLine($"int c = (int)(plane % {f.Channels});");
        w.WriteLine($"float* xp = X + plane * {EmitContext.Long(inPlane)}L;");
        w.WriteLine($"float* yp = Y + plane * {EmitContext.Long(outPlane)}L;");
        w.WriteLine($"float* wp = W + (long)(c / {Block}) * {taps * Block} + c % {Block};");
        w.WriteLine($"float bias = {(f.HasBias ? "B[c]" : "0f")};");
        w.OpenBlock($"for (int oy = 0; oy < {g.OutH}; oy++)");
        w.OpenBlock($"for (int ox = 0; ox < {g.OutW}; ox++)");
        w.WriteLine($"int y0 = oy * {g.StrideH} - {g.PadTop}, x0 = ox * {g.StrideW} - {g.PadLeft};");
        w.WriteLine("float acc = bias;");
        for (int kh = 0; kh < g.KernelH; kh++)
        {
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                w.WriteLine($"if ((uint)(y0 + {kh}) < {g.InH}u && (uint)(x0 + {kw}) < {g.InW}u) " +
                    $"acc += wp[{(kh * g.KernelW + kw) * Block}] * xp[(y0 + {kh}) * {g.InW} + x0 + {kw}];");
            }
        }
        w.WriteLine($"yp[oy * {g.OutW} + ox] = {ActivationEmitter.ApplyScalar(f.Activation, "acc")};");
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
    }
}
