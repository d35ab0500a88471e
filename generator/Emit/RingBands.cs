// Licensed under the MIT license.
// The band loop shared by the ring-fused layers (Passes/RingFusion): a worker's share of the channels, then per band of
// the reader's output rows, the producer's rows the band needs and no earlier band computed (into the ring), then the
// reader's rows of each channel of the share (from the ring).

using System;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

internal static class RingBands
{
    /// <summary>Channel shares a fused layer splits into (one per worker; a single worker takes both in one pass).</summary>
    public const int Splits = 2;

    /// <summary>The producer rows one band of <paramref name="bandRows"/> reader output rows reads: the ring's rows.</summary>
    public static int RingRows(ConvGeometry reader, int bandRows) => (bandRows - 1) * reader.StrideH + reader.KernelH;

    /// <summary>The ring's floats (every channel's ring rows of the reader's input width), rounded up to 16 (what follows it stays aligned).</summary>
    public static long RingFloats(ConvGeometry reader, int channels, int bandRows) =>
        ((long)channels * RingRows(reader, bandRows) * reader.InW + 15) / 16 * 16;

    /// <summary>
    /// Reader output rows per band: the most whose ring fits <paramref name="ringBytes"/> (at least one).
    /// </summary>
    public static int PlanBand(ConvGeometry reader, int channels, long ringBytes)
    {
        int band = 1;
        while (band < reader.OutH && (long)channels * RingRows(reader, band + 1) * reader.InW * sizeof(float) <= ringBytes) band++;
        return band;
    }

    /// <summary>The shares of <paramref name="channels"/> in row tiles of <paramref name="mr"/>.</summary>
    public static int SharesOf(int channels, int mr) => Math.Min(Splits, (channels + mr - 1) / mr);

    /// <summary>
    /// The fused layers' remark on their ring: "a ring of R rows x W per channel (KB), read there by the
    /// <paramref name="readerRows"/>; channels split in S shares across workers" (the ring the reader's band needs).
    /// </summary>
    public static string RingRemark(ConvGeometry reader, int bandRows, int channels, int mr, int width, string readerRows)
    {
        int ring = RingRows(reader, bandRows);
        return $"a ring of {ring} rows x {width} per channel ({(long)channels * ring * width * 4 / 1024} KB), read there by the {readerRows}; " +
            $"channels split in {SharesOf(channels, mr)} shares across workers";
    }

    /// <summary>
    /// Inside a parallel loop over the shares (<c>pb</c>..<c>pe</c>): declares the share's channels <c>mBegin</c>..<c>mEnd</c>
    /// (whole row tiles of <paramref name="mr"/>) and, per band <c>oy0</c>..<c>oy1</c> of the reader's output rows, the
    /// last producer row it reads, <c>need</c>. <paramref name="produce"/> computes the rows <c>done</c> + 1 ..
    /// <c>need</c> and leaves <c>done</c> = <c>need</c>; <paramref name="consume"/> runs the band's rows of channel
    /// <paramref name="channel"/>.
    /// </summary>
    public static void EmitBandLoop(SourceWriter w, int channels, int mr, ConvGeometry reader, int bandRows, string channel,
        Action<SourceWriter> produce, Action<SourceWriter> consume)
    {
        int mTiles = (channels + mr - 1) / mr, shares = SharesOf(channels, mr);
        string M = EmitContext.Math;
        w.WriteLine($"int mBegin = pb * {mTiles} / {shares} * {mr}, mEnd = {M}.Min({channels}, pe * {mTiles} / {shares} * {mr});");
        w.WriteLine("int done = -1; // the last producer row in the ring");
        w.OpenBlock($"for (int oy0 = 0; oy0 < {reader.OutH}; oy0 += {bandRows})");
        w.WriteLine($"int oy1 = {M}.Min(oy0 + {bandRows}, {reader.OutH});");
        w.WriteLine($"int need = {M}.Min({reader.InH - 1}, (oy1 - 1) * {reader.StrideH} - {reader.PadTop} + {reader.KernelH - 1});");
        produce(w);
        w.OpenBlock($"for (int {channel} = mBegin; {channel} < mEnd; {channel}++)");
        consume(w);
        w.CloseBlock();
        w.CloseBlock();
    }
}
