// Licensed under the MIT license.
// Padded, stride-phase-split copies of input planes: the layout that turns every tap of a strided, dilated, padded 2-D
// window into a contiguous vector read at a build-time offset (used by PlaneFilterEmitter and DirectConvEmitter).
//
// Sub-plane (ry, rx) holds padded[i * sy + ry][j * sx + rx] for i < Hq, j < Wq, where padded[y][x] is the input at
// (y - padTop, x - padLeft) or the pad value outside it. Output (oy, ox) of tap (kh, kw) is then sub-plane
// (kh*dh % sy, kw*dw % sx) at flat index (oy + kh*dh / sy) * Wq + ox + kw*dw / sx, i.e. the output's flat index
// q = oy * Wq + ox plus a per-tap constant. Each sub-plane carries a tail so the last vector may overrun.

using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

internal sealed class PhasePlanes
{
    public int Sy, Sx, Hq, Wq, SubSize;
    /// <summary>The (ry, rx) phases some tap reads (only those are filled).</summary>
    public readonly HashSet<(int Ry, int Rx)> Used = new();
    public int MaxOffsetX;
    /// <summary>Sub-plane rows below an output row's first that its taps read (Hq = output rows + Halo).</summary>
    public int Halo;

    /// <summary>Floats per input channel: all sy*sx phases (canonical index ry*sx + rx), used or not.</summary>
    public long PlaneStride => (long)Sy * Sx * SubSize;

    /// <summary>Output columns of the flat layout (OutH rows of Wq, the last Wq - OutW of each are garbage).</summary>
    public int FlatN(ConvGeometry g) => g.OutH * Wq;

    /// <param name="g">The convolution.</param>
    /// <param name="bandRows">0: sub-planes of the whole input; else sub-planes of one band of that many output rows (plus
    /// the rows its taps reach below), the layout of a banded direct convolution.</param>
    public static PhasePlanes Plan(ConvGeometry g, int bandRows = 0)
    {
        var p = new PhasePlanes { Sy = g.StrideH, Sx = g.StrideW };
        int maxOffY = 0;
        for (int kh = 0; kh < g.KernelH; kh++)
        {
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                int ty = kh * g.DilationH, tx = kw * g.DilationW;
                p.Used.Add((ty % p.Sy, tx % p.Sx));
                maxOffY = System.Math.Max(maxOffY, ty / p.Sy);
                p.MaxOffsetX = System.Math.Max(p.MaxOffsetX, tx / p.Sx);
            }
        }
        p.Halo = maxOffY;
        p.Hq = (bandRows > 0 ? bandRows : g.OutH) + maxOffY;
        p.Wq = g.OutW + p.MaxOffsetX;
        // Room for the largest tap offset plus up to 4 vectors of 16 past the last output (tile overrun).
        p.SubSize = (p.Hq * p.Wq + p.MaxOffsetX + 64 + 15) / 16 * 16;
        return p;
    }

    /// <summary>Flat offset of tap (kh, kw) from the channel's first phase.</summary>
    public long Offset(ConvGeometry g, int kh, int kw)
    {
        int ty = kh * g.DilationH, tx = kw * g.DilationW;
        return ((long)(ty % Sy) * Sx + tx % Sx) * SubSize + (ty / Sy) * Wq + tx / Sx;
    }

    /// <summary>Offset of the row part of tap (kh, *) (add <see cref="ColumnOffset"/> for the column part).</summary>
    public long RowOffset(ConvGeometry g, int kh) => (long)(kh * g.DilationH % Sy) * Sx * SubSize + kh * g.DilationH / Sy * Wq;

    public long ColumnOffset(ConvGeometry g, int kw) => (long)(kw * g.DilationW % Sx) * SubSize + kw * g.DilationW / Sx;

    /// <summary>
    /// For image <c>n</c> of X (<paramref name="channels"/> planes of <paramref name="inPlane"/> floats), the phases of every
    /// channel into S at <see cref="PlaneStride"/> per channel, zero-padded; parallel over channels.
    /// </summary>
    public void EmitSplitChannels(SourceWriter w, EmitContext ctx, ConvGeometry g, int channels, long inPlane)
    {
        ctx.ParallelFor(w, channels, b =>
        {
            b.OpenBlock("for (int ch = pb; ch < pe; ch++)");
            EmitSplitChannel(b, g, channels, inPlane);
            b.CloseBlock();
        }, new[] { "n" });
    }

    /// <summary>
    /// The body of a loop over channels <c>ch</c> of image <c>n</c> of X: that channel's phases into S at
    /// <see cref="PlaneStride"/> per channel (sub-plane rows <paramref name="firstRow"/> .. + <paramref name="rowCount"/>
    /// in band mode, see <see cref="EmitSplit"/>).
    /// </summary>
    public void EmitSplitChannel(SourceWriter b, ConvGeometry g, int channels, long inPlane, string? firstRow = null, string? rowCount = null, bool oneSlot = false)
    {
        b.WriteLine($"float* xp = X + ((long)n * {channels} + ch) * {EmitContext.Long(inPlane)}L;");
        b.WriteLine(oneSlot ? "float* planes = S;" : $"float* planes = S + ch * {EmitContext.Long(PlaneStride)}L;");
        EmitSplit(b, g, "xp", "planes", "0f", firstRow, rowCount);
    }

    /// <summary>The tap offsets (<see cref="Offset"/>, row-major over the window) into the long array <c>offs</c>.</summary>
    public void EmitTapOffsets(SourceWriter w, ConvGeometry g)
    {
        for (int kh = 0, t = 0; kh < g.KernelH; kh++)
        {
            for (int kw = 0; kw < g.KernelW; kw++, t++) w.WriteLine($"offs[{t}] = {EmitContext.Long(Offset(g, kh, kw))}L;");
        }
    }

    /// <summary>
    /// Writes the used phases of one input plane (<paramref name="src"/>, InH x InW) to <paramref name="dst"/>: sub-plane
    /// rows <paramref name="firstRow"/> .. + <paramref name="rowCount"/> (C# expressions; the whole plane by default) as
    /// rows 0.. of each sub-plane, the rest of the sub-plane filled with the pad value (overrunning vectors read it).
    /// </summary>
    public void EmitSplit(SourceWriter w, ConvGeometry g, string src, string dst, string pad, string? firstRow = null, string? rowCount = null)
    {
        string count = rowCount ?? Hq.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var together = new HashSet<int>();
        for (int ry = 0; ry < Sy; ry++)
        {
            if (EmitRowPhases(w, g, src, dst, pad, firstRow, rowCount, count, ry)) together.Add(ry);
        }
        foreach ((int ry, int rx) in Sorted())
        {
            if (together.Contains(ry)) continue;
            // Columns j whose source x = j*sx + rx - padLeft lies in [0, W).
            int jlo = System.Math.Max(0, CeilDiv(g.PadLeft - rx, Sx));
            int jhi = System.Math.Min(Wq, FloorDiv(g.InW - 1 - rx + g.PadLeft, Sx) + 1);
            w.OpenBlock();
            w.WriteLine($"float* sp = {dst} + {EmitContext.Long(((long)ry * Sx + rx) * SubSize)}L;");
            w.OpenBlock($"for (int i = 0; i < {count}; i++)");
            w.WriteLine($"float* row = sp + i * {Wq};");
            w.WriteLine(SourceRow(g, firstRow, ry));
            w.OpenBlock($"if ((uint)y >= {g.InH}u)");
            w.WriteLine($"new global::System.Span<float>(row, {Wq}).Fill({pad});");
            w.WriteLine("continue;");
            w.CloseBlock();
            w.WriteLine($"float* line = {src} + y * {g.InW};");
            if (jhi <= jlo)
            {
                w.WriteLine($"new global::System.Span<float>(row, {Wq}).Fill({pad});");
            }
            else
            {
                if (jlo > 0) w.WriteLine($"new global::System.Span<float>(row, {jlo}).Fill({pad});");
                int x0 = jlo * Sx + rx - g.PadLeft;
                if (Sx == 1)
                    w.WriteLine($"global::System.Buffer.MemoryCopy(line + {x0}, row + {jlo}, {(jhi - jlo) * 4}, {(jhi - jlo) * 4});");
                else
                    w.WriteLine($"{EmitContext.RuntimeNs}.StridedCopy.Strided(line + {x0}, row + {jlo}, {jhi - jlo}, {Sx});");
                if (jhi < Wq) w.WriteLine($"new global::System.Span<float>(row + {jhi}, {Wq - jhi}).Fill({pad});");
            }
            w.CloseBlock();
            EmitTailFill(w, "sp", pad, rowCount);
            w.CloseBlock();
        }
    }

    /// <summary>The source row y of sub-plane row i of row phase <paramref name="ry"/> (band mode: from sub-plane row <paramref name="firstRow"/>).</summary>
    private string SourceRow(ConvGeometry g, string? firstRow, int ry) =>
        firstRow is null ? $"int y = i * {Sy} + {ry - g.PadTop};" : $"int y = ({firstRow} + i) * {Sy} + {ry - g.PadTop};";

    /// <summary>The sub-plane's tail beyond its last row, which overrunning vectors read: filled with the pad value (finite).</summary>
    private void EmitTailFill(SourceWriter w, string sp, string pad, string? rowCount) =>
        w.WriteLine(rowCount is null
            ? $"new global::System.Span<float>({sp} + {Hq * Wq}, {SubSize - Hq * Wq}).Fill({pad});"
            : $"new global::System.Span<float>({sp} + ({rowCount}) * {Wq}, {SubSize} - ({rowCount}) * {Wq}).Fill({pad});");

    /// <summary>
    /// Column strides 2 and 4 with every column phase of row phase <paramref name="ry"/> used: each source row goes into
    /// its <see cref="Sx"/> phase rows in one pass (StridedCopy.SplitRow2/4: whole-vector deinterleaves, the border
    /// vectors loaded under masks and padded), not one strided gather per phase with its edge fills. Rows run in order,
    /// so the up to 7 floats a row writes past Wq land in the next row or the tail, both written after it. False
    /// (nothing emitted) when some column phase of the row phase is unused or the stride is not 2 or 4.
    /// In the models (alternated builds, best of 4 rounds): YOLOX-nano's 12 -> 16 stem (Winograd F(4x4)) 1.82 -> 1.51 ms,
    /// ResNet-18's four 56x56 Winograd layers 1.19-1.28 -> 1.10-1.16 ms, SqueezeNet's 3x3 expands 5-10% and the
    /// stride-2 stems 5-15% faster (with the unrolled direct kernels).
    /// </summary>
    private bool EmitRowPhases(SourceWriter w, ConvGeometry g, string src, string dst, string pad, string? firstRow, string? rowCount, string count, int ry)
    {
        if (Sx != 2 && Sx != 4) return false;
        for (int rx = 0; rx < Sx; rx++)
        {
            if (!Used.Contains((ry, rx))) return false;
        }
        w.OpenBlock();
        w.WriteLine($"// row phase {ry}: each source row into its {Sx} column phases at once");
        w.WriteLine($"float* sp = {dst} + {EmitContext.Long((long)ry * Sx * SubSize)}L;");
        w.OpenBlock($"for (int i = 0; i < {count}; i++)");
        w.WriteLine(SourceRow(g, firstRow, ry));
        w.WriteLine($"float* row = sp + i * {Wq};");
        // Column phase rx of a row or sub-plane pointer: SubSize floats per phase.
        string Phase(string at, int rx) => rx == 0 ? at : $"{at} + {EmitContext.Long((long)rx * SubSize)}L";
        string rows = string.Join(", ", Enumerable.Range(0, Sx).Select(rx => Phase("row", rx)));
        w.OpenBlock($"if ((uint)y >= {g.InH}u)");
        for (int rx = 0; rx < Sx; rx++) w.WriteLine($"new global::System.Span<float>({Phase("row", rx)}, {Wq}).Fill({pad});");
        w.CloseBlock();
        w.WriteLine($"else {EmitContext.RuntimeNs}.StridedCopy.SplitRow{Sx}({src} + y * {g.InW}, {g.InW}, {g.PadLeft}, {pad}, {rows}, {Wq});");
        w.CloseBlock();
        for (int rx = 0; rx < Sx; rx++) EmitTailFill(w, Phase("sp", rx), pad, rowCount);
        w.CloseBlock();
        return true;
    }

    private IEnumerable<(int, int)> Sorted()
    {
        for (int ry = 0; ry < Sy; ry++)
            for (int rx = 0; rx < Sx; rx++)
                if (Used.Contains((ry, rx))) yield return (ry, rx);
    }

    private static int CeilDiv(int a, int b) => a <= 0 ? -((-a) / b) : (a + b - 1) / b;

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
