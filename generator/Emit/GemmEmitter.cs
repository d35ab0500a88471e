// Licensed under the MIT license.
// GEMM family: the layer driver (group/batch/column-panel/row-tile loops, implicit im2col) and the register-blocked
// micro-kernels F32Gemm_{MR}x{NV}v_{A}_{bias}[_Res][_Act]_{Isa}, emitted once per model as shared helpers.

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal static class GemmEmitter
{
    /// <summary>Operand parameter names of a GEMM layer.</summary>
    internal sealed record Names(string A, string B, string C, string? Bias, string? R, string? Scratch);

    public static IEnumerable<string> Remarks(GemmSpec g, TargetProfile profile)
    {
        string a = g.ALayout == GemmALayout.Packed ? $"A packed [{(g.M + g.MR - 1) / g.MR}][{g.K}][{g.MR}]" : $"A row-major (lda {g.Lda})";
        string b = g.BLayout switch
        {
            GemmBLayout.Packed => $"B packed [{(g.N + g.PackedNR - 1) / g.PackedNR}][{g.K}][{g.PackedNR}]",
            GemmBLayout.Im2ColPanel when g.Conv is { IsRows: true } => "B column tiles copied into contiguous K x NR panels, each once for all row tiles",
            GemmBLayout.Im2ColPanel => "B = implicit im2col panels packed per column tile",
            _ => $"B row-major (ldb {g.Ldb})",
        };
        yield return $"lowering ({profile.Name}): GEMM M={g.M} N={g.N} K={g.K}" +
            (g.Groups > 1 ? $" x {g.Groups} groups" : "") + (g.Batch > 1 ? $" x batch {g.Batch}" : "") + $"; {a}; {b}" +
            (g.YBlocked ? "; output channel-blocked [C/16][H][W][16]: each column tile's rows into the worker's scratch, then transposed into Y" : "");
        var tiles = new List<string>();
        var chunks = new List<string>();
        for (int i = 0; i < profile.Isas.Count; i++)
        {
            GemmTile t = TileFor(g, profile, i);
            tiles.Add($"{t.Describe()} ({t.Isa.Name}{(ColumnTail(g, t) is int columns ? $"; the last column tile's {columns} column{(columns > 1 ? "s" : "")} as a GEMV, {g.MR} rows in the vector lanes" : "")})");
            int kc = KChunk(g, t, profile);
            if (kc < g.K) chunks.Add($"{kc} ({t.Isa.Name})");
        }
        if (chunks.Count > 0) yield return $"K in chunks of {string.Join(", ", chunks)} rows (each chunk's B column panel within the profile's GemmKBlockBytes, L1), partial sums in Y";
        yield return "tiles MRxNR: " + string.Join(", ", tiles) +
            $"; epilogue: bias {g.Bias}{(g.Residual ? " + residual" : "")}, activation {g.Activation}" +
            (g.PrefetchC ? PrefetchRemark : "");
    }

    public static void EmitBody(GemmSpec g, Names n, SourceWriter w, EmitContext ctx)
    {
        ctx.PerIsa(w, (isa, index) => EmitDriver(g, n, TileFor(g, ctx.Profile, index), w, ctx));
    }

    /// <summary>
    /// The profile's tile, with fewer rows when A is row-major and has fewer rows than MR (a fully connected layer at
    /// batch 1 is a GEMV: clamped duplicate rows would multiply the work by MR for nothing).
    /// </summary>
    internal static GemmTile TileFor(GemmSpec g, TargetProfile profile, int isaIndex)
    {
        // Packed weights come in panels of g.MR rows (the profile's GemmMR or its AltGemmMR).
        GemmTile tile = g.ALayout == GemmALayout.Packed ? profile.Tile(isaIndex, g.MR) : profile.Tile(isaIndex);
        if (g.ALayout != GemmALayout.RowMajor || g.M >= tile.MR) return tile;
        // Few rows: widen the tile back towards MR x NV accumulators (a 1-row tile of 2 vectors is two FMA dependency
        // chains, and reads a quarter of each packed-B row per pass), in column counts that divide a packed-B panel.
        int nv = tile.NV;
        if (g.BLayout == GemmBLayout.Packed && !tile.Isa.IsScalar)
        {
            int budget = tile.MR * tile.NV, maxNv = g.PackedNR / tile.Isa.Width;
            while (nv * 2 <= maxNv && g.M * nv * 2 <= budget && g.PackedNR % (nv * 2 * tile.Isa.Width) == 0) nv *= 2;
        }
        return tile with { MR = g.M, NV = nv };
    }

    /// <remarks>
    /// The tiles (group, batch, column tile, row tile) are one flat range, column-tile-major so a range keeps its B
    /// panel hot across the row tiles; a parallel layer gives each worker a contiguous share of that range (the
    /// implicit im2col panel is then packed into the worker's own scratch).
    /// </remarks>
    private static void EmitDriver(GemmSpec g, Names n, GemmTile tile, SourceWriter w, EmitContext ctx)
    {
        if (g.YBlocked)
        {
            EmitBlockedYDriver(g, n, tile, w, ctx);
            return;
        }
        int kc = KChunk(g, tile, ctx.Profile);
        if (kc < g.K)
        {
            EmitKBlockedDriver(g, n, tile, kc, w, ctx);
            return;
        }
        (string kernel, string? tail) = Kernels(g, tile, ctx);
        int nr = tile.NR, full = FullColumns(g, tile);
        string L(long v) => EmitContext.Long(v);
        bool groups = g.Groups > 1, batch = g.Batch > 1;
        (int mStep, long nTiles, long mTiles) = TileCounts(g, tile);
        long perItem = nTiles * mTiles;
        bool panel = g.BLayout == GemmBLayout.Im2ColPanel;
        ctx.ParallelFor(w, (long)g.Groups * g.Batch * perItem, p =>
        {
            if (panel) p.WriteLine("long packedPanel = -1;");
            p.OpenBlock("for (int t = pb; t < pe; t++)");
            if (groups) p.WriteLine($"int g = t / {L((long)g.Batch * perItem)};");
            if (batch) p.WriteLine($"int n = t / {L(perItem)} % {g.Batch};");
            p.WriteLine($"int rest = t % {L(perItem)};");
            p.WriteLine($"int n0 = rest / {L(mTiles)} * {nr}, m0 = rest % {L(mTiles)} * {mStep};");
            p.WriteLine($"int nc = {EmitContext.Math}.Min({nr}, {g.N} - n0);");
            string gOff(long stride) => groups && stride != 0 ? $" + g * {L(stride)}L" : "";
            string bOff(long stride) => batch && stride != 0 ? $" + n * {L(stride)}L" : "";
            p.WriteLine($"float* a = {n.A}{gOff(g.AGroupStride)}{bOff(g.ABatchStride)};");
            p.WriteLine($"float* b = {n.B}{gOff(g.BGroupStride)}{bOff(g.BBatchStride)};");
            p.WriteLine($"float* c = {n.C}{gOff(g.CGroupStride)}{bOff(g.CBatchStride)};");
            p.WriteLine(n.Bias is null ? "float* bias = null;" : $"float* bias = {n.Bias}{gOff(g.BiasGroupStride)};");
            p.WriteLine(n.R is null ? "float* r = null;" : $"float* r = {n.R}{gOff(g.CGroupStride)}{bOff(g.CBatchStride)};");
            switch (g.BLayout)
            {
                case GemmBLayout.Im2ColPanel:
                {
                    ConvGeometry cg = g.Conv!;
                    p.WriteLine("// Implicit im2col: this column tile's K x NR panel, zero-padded, into (this worker's) scratch.");
                    p.OpenBlock($"if (t / {L(mTiles)} != packedPanel)");
                    p.WriteLine($"{EmitContext.RuntimeNs}.Im2Col.PackPanel(b, {n.Scratch}, {cg.Channels}, {cg.InH}, {cg.InW}, {cg.KernelH}, {cg.KernelW}, " +
                        $"{cg.StrideH}, {cg.StrideW}, {cg.DilationH}, {cg.DilationW}, {cg.PadTop}, {cg.PadLeft}, {cg.OutW}, n0, nc, {nr});");
                    p.WriteLine($"packedPanel = t / {L(mTiles)};");
                    p.CloseBlock();
                    p.WriteLine($"float* bp = {n.Scratch};");
                    p.WriteLine($"const nint ldb = {nr};");
                    break;
                }
                case GemmBLayout.Packed:
                    p.WriteLine($"float* bp = b + (n0 / {g.PackedNR}) * {L((long)g.K * g.PackedNR)}L + (n0 % {g.PackedNR});");
                    p.WriteLine($"const nint ldb = {g.PackedNR};");
                    break;
                default:
                    p.WriteLine("float* bp = b + n0;");
                    p.WriteLine($"const nint ldb = {L(g.Ldb)};");
                    break;
            }
            string aPtr = g.ALayout == GemmALayout.Packed ? $"a + (m0 / {g.MR}) * {L((long)g.MR * g.K)}L" : $"a + m0 * {L(g.Lda)}L";
            string biasPtr = g.Bias switch
            {
                GemmBias.PerRow => "bias + m0",
                GemmBias.PerColumn => "bias + n0",
                _ => "null",
            };
            string rPtr = g.Residual ? $"r + m0 * {L(g.Ldr)}L + n0" : "null";
            string Call(string name) => $"{name}({aPtr}, {L(g.Lda)}, bp, ldb, c + m0 * {L(g.Ldc)}L + n0, {L(g.Ldc)}, {g.K}, {biasPtr}, {rPtr}, {L(g.Ldr)}, " +
                $"{EmitContext.Math}.Min({mStep}, {g.M} - m0), nc);";
            if (tail is null) p.WriteLine(Call(kernel));
            else
            {
                p.WriteLine($"if (n0 < {full}) {Call(kernel)}");
                p.WriteLine($"else {Call(tail)}");
            }
            p.CloseBlock();
        }, privateScratch: panel ? n.Scratch : null);
    }

    /// <summary>
    /// Rows of B per K chunk (K: one chunk): B read in place, its column panel's lines (K x the 64-byte lines an NR-float
    /// row can touch) past twice the profile's <see cref="TargetProfile.GemmKBlockBytes"/> (past L1), in chunks within it
    /// that share K evenly.
    /// </summary>
    internal static int KChunk(GemmSpec g, GemmTile tile, TargetProfile profile)
    {
        if (profile.GemmKBlockBytes == 0 || g.BLayout != GemmBLayout.RowMajor || g.Groups > 1 || g.Batch > 1 || g.YBlocked) return g.K;
        int rowBytes = ((tile.NR * sizeof(float) + 63) / 64 + 1) * 64;
        // A panel within twice the budget still fits L1: chunking it only adds C round trips (M=24 N=3136 K=96 in 2 x 48: 4% slower).
        if ((long)g.K * rowBytes <= 2L * profile.GemmKBlockBytes) return g.K;
        int most = System.Math.Max(16, profile.GemmKBlockBytes / rowBytes);
        int chunks = (g.K + most - 1) / most;
        return (g.K + chunks - 1) / chunks;
    }

    /// <summary>
    /// The driver in K chunks (see <see cref="KChunk"/>): per column tile of a worker's range, per chunk, its row tiles,
    /// so the chunk's B panel stays in L1 across them. The first chunk stores A B + bias (+ R), the next ones add C as the
    /// residual (the same kernels, R = C), the last one through the activation.
    /// </summary>
    private static void EmitKBlockedDriver(GemmSpec g, Names n, GemmTile tile, int kc, SourceWriter w, EmitContext ctx)
    {
        int nr = tile.NR, full = FullColumns(g, tile);
        GemmSpec first = g with { Activation = Activation.None }, next = g with { Bias = GemmBias.None, Residual = true, PrefetchC = false, Activation = Activation.None };
        GemmSpec last = next with { Activation = g.Activation };
        string L(long v) => EmitContext.Long(v);
        (int mStep, long nTiles, long mTiles) = TileCounts(g, tile);
        string aPtr = g.ALayout == GemmALayout.Packed ? $"{n.A} + (m0 / {g.MR}) * {L((long)g.MR * g.K)}L + k0 * {g.MR}" : $"{n.A} + m0 * {L(g.Lda)}L + k0";
        string biasPtr = g.Bias switch { GemmBias.PerRow => $"{n.Bias} + m0", GemmBias.PerColumn => $"{n.Bias} + n0", _ => "null" };
        string Call((string Kernel, string? Tail) k, string bias, string r, long ldr)
        {
            string Args(string name) => $"{name}({aPtr}, {L(g.Lda)}, {n.B} + n0 + k0 * {L(g.Ldb)}L, {L(g.Ldb)}, {n.C} + m0 * {L(g.Ldc)}L + n0, {L(g.Ldc)}, kc, {bias}, {r}, {L(ldr)}, " +
                $"{EmitContext.Math}.Min({mStep}, {g.M} - m0), nc);";
            return k.Tail is null ? Args(k.Kernel) : $"if (n0 < {full}) {Args(k.Kernel)} else {Args(k.Tail)}";
        }
        string cPtr = $"{n.C} + m0 * {L(g.Ldc)}L + n0";
        ctx.ParallelFor(w, nTiles * mTiles, p =>
        {
            p.OpenBlock("for (int t = pb; t < pe;)");
            p.WriteLine($"int te = {EmitContext.Math}.Min(pe, (t / {L(mTiles)} + 1) * {L(mTiles)});");
            p.WriteLine($"int n0 = t / {L(mTiles)} * {nr}, nc = {EmitContext.Math}.Min({nr}, {g.N} - n0);");
            p.OpenBlock($"for (int k0 = 0; k0 < {g.K}; k0 += {kc})");
            p.WriteLine($"int kc = {EmitContext.Math}.Min({kc}, {g.K} - k0);");
            p.OpenBlock("for (int u = t; u < te; u++)");
            p.WriteLine($"int m0 = u % {L(mTiles)} * {mStep};");
            p.WriteLine($"if (k0 == 0) {{ {Call(Kernels(first, tile, ctx), biasPtr, g.Residual ? $"{n.R} + m0 * {L(g.Ldr)}L + n0" : "null", g.Residual ? g.Ldr : g.Ldc)} }}");
            p.WriteLine($"else if (k0 + kc < {g.K}) {{ {Call(Kernels(next, tile, ctx), "null", cPtr, g.Ldc)} }}");
            p.WriteLine($"else {{ {Call(Kernels(last, tile, ctx), "null", cPtr, g.Ldc)} }}");
            p.CloseBlock();
            p.CloseBlock();
            p.WriteLine("t = te;");
            p.CloseBlock();
        });
    }

    /// <summary>
    /// The driver of a channel-blocked C (<see cref="GemmSpec.YBlocked"/>): work items are (batch, column tile); each runs
    /// every row tile into the worker's scratch (M x NR, the column tile's B panel staying in L1 across them), then
    /// transposes it into Y block by block: per pixel, 16 channels contiguous. For a 1x1 convolution that reads an NCHW
    /// input and feeds channel-blocked kernels, in place of packing the whole input channel-major for the
    /// channel-vectorised tiles.
    /// </summary>
    private static void EmitBlockedYDriver(GemmSpec g, Names n, GemmTile tile, SourceWriter w, EmitContext ctx)
    {
        (string kernel, string? tail) = Kernels(g, tile, ctx);
        int nr = tile.NR, full = FullColumns(g, tile);
        string L(long v) => EmitContext.Long(v);
        (int mStep, long nTiles, _) = TileCounts(g, tile);
        bool batch = g.Batch > 1;
        string rt = EmitContext.RuntimeNs, math = EmitContext.Math;
        ctx.ParallelFor(w, g.Batch * nTiles, p =>
        {
            p.OpenBlock("for (int t = pb; t < pe; t++)");
            if (batch) p.WriteLine($"int n = t / {L(nTiles)};");
            p.WriteLine($"int n0 = t % {L(nTiles)} * {nr}, nc = {math}.Min({nr}, {g.N} - n0);");
            p.WriteLine($"float* bp = {n.B}{(batch ? $" + n * {L(g.BBatchStride)}L" : "")} + n0;");
            p.WriteLine($"float* yt = {n.C}{(batch ? $" + n * {L(g.CBatchStride)}L" : "")} + n0 * 16L;");
            p.OpenBlock($"for (int m0 = 0; m0 < {g.M}; m0 += {mStep})");
            string Call(string name) => $"{name}({n.A} + (m0 / {g.MR}) * {L((long)g.MR * g.K)}L, {L(g.Lda)}, bp, {L(g.Ldb)}, {n.Scratch} + m0 * {nr}, {nr}, {g.K}, " +
                $"{(g.Bias == GemmBias.PerRow ? $"{n.Bias} + m0" : "null")}, null, 0, {math}.Min({mStep}, {g.M} - m0), nc);";
            p.WriteLine(tail is null ? Call(kernel) : $"if (n0 < {full}) {Call(kernel)} else {Call(tail)}");
            p.CloseBlock();
            p.WriteLine("// The tile's outputs, M rows of NR in the scratch, into the blocked Y: per block of 16 channels, a vector per pixel.");
            p.OpenBlock($"for (int cb = 0; cb < {g.M / 16}; cb++)");
            p.WriteLine($"float* src = {n.Scratch} + cb * {16 * nr}, dst = yt + cb * {L(16L * g.N)}L;");
            if (tile.Isa.IsScalar)
            {
                p.WriteLine($"for (int i = 0; i < 16; i++) for (int j = 0; j < nc; j++) dst[j * 16 + i] = src[i * {nr} + j];");
            }
            else if (tile.Isa.Width == 16)
            {
                p.WriteLine($"for (int j = 0; j < nc; j += 16) {rt}.ChannelTranspose.ToLanes16(src + j, {nr}, {math}.Min(16, nc - j), dst + j * 16);");
            }
            else
            {
                p.OpenBlock("for (int j = 0; j < nc; j += 8)");
                p.WriteLine($"int count = {math}.Min(8, nc - j);");
                p.WriteLine($"{rt}.ChannelTranspose.ToLanes8(src + j, {nr}, count, dst + j * 16, 16);");
                p.WriteLine($"{rt}.ChannelTranspose.ToLanes8(src + {8 * nr} + j, {nr}, count, dst + j * 16 + 8, 16);");
                p.CloseBlock();
            }
            p.CloseBlock();
            p.CloseBlock();
        }, privateScratch: n.Scratch);
    }

    /// <summary>Columns in whole column tiles (the rest, if any, is the last tile).</summary>
    private static int FullColumns(GemmSpec g, GemmTile tile) => g.N / tile.NR * tile.NR;

    /// <summary>
    /// The tile's kernel, and the narrower one of the last column tile when that saves whole vectors (N = 196 computes 208
    /// columns, not 256; else null).
    /// </summary>
    private static (string Kernel, string? Tail) Kernels(GemmSpec g, GemmTile tile, EmitContext ctx)
    {
        int full = FullColumns(g, tile), tailNv = (g.N - full + tile.Isa.Width - 1) / tile.Isa.Width;
        if (ColumnTail(g, tile) is int columns)
        {
            string gemv = RequireColumnTail(g, tile, columns, ctx);
            return full == 0 ? (gemv, null) : (RequireKernel(g, tile, ctx), gemv);
        }
        return (RequireKernel(g, tile, ctx), g.N > full && tailNv < tile.NV ? RequireKernel(g, tile with { NV = tailNv }, ctx) : null);
    }

    /// <summary>
    /// The columns of the last column tile when they run as a matrix-vector product with the rows in the vector lanes
    /// (<see cref="EmitColumnTail"/>), else null: packed A whose panel is one vector of rows (or more than half of one), a
    /// per-row or no bias, and at most one vector of columns left. The tile's own kernel would compute a whole vector of
    /// columns per row (AVX2's 8-row panels in passes of 4 rows: 4 FMA dependency chains per k; 6 for the 6-row panels);
    /// the GEMV loads the panel's k-th row once, broadcasts one B element per column and spreads K over enough
    /// accumulator sets for 8 chains.
    /// </summary>
    internal static int? ColumnTail(GemmSpec g, GemmTile tile)
    {
        int columns = g.N - FullColumns(g, tile);
        if (columns == 0 || tile.Isa.IsScalar || !tile.Isa.HasMaskedMemory || columns > tile.Isa.Width) return null;
        // Panels of fewer rows than a vector (6 of 8) take masked loads; not half a vector or less (AVX-512's 8-row panels).
        return g.ALayout == GemmALayout.Packed && g.MR <= tile.Isa.Width && 2 * g.MR > tile.Isa.Width && g.Bias != GemmBias.PerColumn ? columns : null;
    }

    /// <summary>Accumulator sets of the column-tail GEMV: 8 FMA chains or more, at most 12 accumulators.</summary>
    private static int ColumnTailSets(int columns) => System.Math.Max(1, System.Math.Min((8 + columns - 1) / columns, 12 / columns));

    /// <summary>Registers the column-tail GEMV (see <see cref="ColumnTail"/>) for this spec; returns its name.</summary>
    private static string RequireColumnTail(GemmSpec g, GemmTile tile, int columns, EmitContext ctx)
    {
        string biasName = g.Bias == GemmBias.PerRow ? "_BiasRow" : "";
        string name = $"F32Gemv_{g.MR}x{columns}_PackedA" + EpilogueSuffix(biasName, g.Residual, g.Activation, tile.Isa);
        ctx.RequireHelper(name, w => EmitColumnTail(name, g, tile.Isa, columns, w));
        return name;
    }

    /// <summary>
    /// The last column tile's <paramref name="columns"/> columns (the caller's nc) as MR-row vectors: acc{s}x{j} holds
    /// rows 0..MR-1 of column j over the k of set s (k mod sets), summed in set order, then bias, residual and activation
    /// as vectors, stored row by row (mc valid rows).
    /// </summary>
    private static void EmitColumnTail(string name, GemmSpec g, Isa isa, int columns, SourceWriter w)
    {
        int mr = g.MR, sets = ColumnTailSets(columns);
        string V = isa.VectorType;
        w.WriteLine($"/// <summary>{mr}-row x {columns}-column fp32 GEMV ({isa.Name}), rows in the vector lanes: C = act(A x B{(g.Bias != GemmBias.None ? " + bias" : "")}{(g.Residual ? " + R" : "")}).</summary>");
        w.WriteLine($"/// <remarks>A packed [k][{mr}]; B rows of {columns} floats every ldb; K over {sets} accumulator set{(sets > 1 ? "s" : "")}; mc valid rows (nc is {columns}).</remarks>");
        w.WriteLine(EmitContext.MethodImpl);
        w.WriteLine(EmitContext.SkipLocalsInit);
        w.OpenBlock($"private static void {name}{GemmSignature}");
        for (int s = 0; s < sets; s++) w.WriteLine($"{V} {string.Join(", ", Range(columns, j => $"acc{s}x{j} = {isa.Zero}"))};");
        bool masked = mr < isa.Width;
        if (masked) w.WriteLine($"var rowMask = {isa.TailMask(mr.ToString(System.Globalization.CultureInfo.InvariantCulture))};");
        w.WriteLine("int p = 0;");
        void Step(SourceWriter body, int s)
        {
            string row = s == 0 ? "a" : $"a + {s * mr}";
            body.WriteLine($"{V} va{s} = {(masked ? isa.MaskLoad(row, "rowMask") : isa.Load(row))};");
            for (int j = 0; j < columns; j++)
            {
                string element = s == 0 ? $"b[{j}]" : $"b[{s} * ldb + {j}]";
                body.WriteLine($"acc{s}x{j} = {isa.Fma($"va{s}", isa.Broadcast(element), $"acc{s}x{j}")};");
            }
        }
        if (sets > 1)
        {
            w.OpenBlock($"for (; p <= k - {sets}; p += {sets})");
            for (int s = 0; s < sets; s++) Step(w, s);
            w.WriteLine($"a += {sets * mr};");
            w.WriteLine($"b += {sets} * ldb;");
            w.CloseBlock();
        }
        w.OpenBlock("for (; p < k; p++)");
        Step(w, 0);
        w.WriteLine($"a += {mr};");
        w.WriteLine("b += ldb;");
        w.CloseBlock();
        string? pro = ActivationEmitter.Prologue(g.Activation, isa);
        if (pro is not null) w.WriteLine(pro);
        if (g.Bias == GemmBias.PerRow) w.WriteLine($"{V} bv = {(masked ? "" : $"mc == {mr} ? {isa.Load("bias")} : ")}{isa.MaskLoad("bias", isa.TailMask("mc"))};");
        // The row staging vector, zeroed once: its lanes past mc are never read from C or R (nor stored), and stay finite.
        w.WriteLine($"float* t = stackalloc float[{isa.Width}];");
        w.WriteLine(isa.Store(isa.Zero, "t"));
        for (int j = 0; j < columns; j++)
        {
            w.OpenBlock();
            string sum = string.Join(" + ", Range(sets, s => $"acc{s}x{j}"));
            w.WriteLine($"{V} v = {sum}{(g.Bias == GemmBias.PerRow ? " + bv" : "")};");
            if (g.Residual)
            {
                w.WriteLine($"for (int i = 0; i < mc; i++) t[i] = r[i * ldr + {j}];");
                w.WriteLine($"v += {isa.Load("t")};");
            }
            w.WriteLine(isa.Store(ActivationEmitter.Apply(g.Activation, isa, "v"), "t"));
            w.WriteLine($"for (int i = 0; i < mc; i++) c[i * ldc + {j}] = t[i];");
            w.CloseBlock();
        }
        w.CloseBlock();
    }

    /// <summary>Rows per row tile (the packed panel's MR when A is packed), and the column and row tile counts.</summary>
    private static (int MStep, long NTiles, long MTiles) TileCounts(GemmSpec g, GemmTile tile)
    {
        int mStep = g.ALayout == GemmALayout.Packed ? g.MR : tile.MR;
        return (mStep, (g.N + tile.NR - 1) / tile.NR, (g.M + mStep - 1) / mStep);
    }

    /// <summary>Registers the micro-kernel for this spec and tile; returns its name.</summary>
    internal static string RequireKernel(GemmSpec g, GemmTile tile, EmitContext ctx)
    {
        string aName = g.ALayout == GemmALayout.Packed ? "PackedA" : "RowA";
        string biasName = g.Bias switch { GemmBias.PerRow => "_BiasRow", GemmBias.PerColumn => "_BiasCol", _ => "" };
        string name = $"F32Gemm_{tile.MR}x{tile.NR}_{aName}{PrefetchSuffix(g.PrefetchC)}" + EpilogueSuffix(biasName, g.Residual, g.Activation, tile.Isa);
        if (tile.Split)
        {
            string pass = $"F32Gemm_{tile.PassShape}_{aName}{PrefetchSuffix(g.PrefetchC)}" + EpilogueSuffix(biasName, g.Residual, g.Activation, tile.Isa);
            ctx.RequireHelper(pass, w => EmitKernel(pass, g, tile with { MR = tile.PassRows, PassRows = 0 }, w, aStride: tile.MR));
            ctx.RequireHelper(name, w => EmitPasses(w, name, pass, tile, GemmSignature, g.Bias == GemmBias.PerRow, g.Residual,
                (a, c, bias, r, mc) => $"({a}, lda, b, ldb, {c}, ldc, k, {bias}, {r}, ldr, {mc}, nc);"));
            return name;
        }
        ctx.RequireHelper(name, w => EmitKernel(name, g, tile, w));
        return name;
    }

    /// <summary>The GEMM micro-kernels' parameter list.</summary>
    private const string GemmSignature = "(float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int k, float* bias, float* r, nint ldr, int mc, int nc)";

    /// <summary>
    /// A tile of MR rows as MR / PassRows calls of the pass kernel <paramref name="pass"/> over the same columns, each on
    /// its rows of the weight panel (a + row), of C and R, and of a per-row bias; <paramref name="args"/> spells a call's
    /// arguments from (a, c, bias, r, mc).
    /// </summary>
    internal static void EmitPasses(SourceWriter w, string name, string pass, GemmTile tile, string signature, bool rowBias, bool residual,
        System.Func<string, string, string, string, string, string> args)
    {
        int p = tile.PassRows;
        w.WriteLine($"/// <summary>{tile.MR}x{tile.NR} tile ({tile.Isa.Name}) in {tile.MR / p} passes of {p} rows: {pass} on each pass's rows of the weight panel.</summary>");
        w.WriteLine(EmitContext.MethodImpl);
        w.OpenBlock($"private static void {name}{signature}");
        for (int row = 0; row < tile.MR; row += p)
        {
            string At(string ptr, string stride) => row == 0 ? ptr : $"{ptr} + {row}{stride}";
            string call = pass + args(At("a", ""), At("c", " * ldc"), rowBias ? At("bias", "") : "bias", residual ? At("r", " * ldr") : "r",
                row == 0 ? $"{EmitContext.Math}.Min(mc, {p})" : $"{EmitContext.Math}.Min(mc - {row}, {p})");
            w.WriteLine(row == 0 ? call : $"if (mc > {row}) {call}");
        }
        w.CloseBlock();
    }

    /// <summary>The remark of a layer whose tiles prefetch their output lines (EmitTile's prefetchC).</summary>
    internal const string PrefetchRemark = "; output lines prefetched per tile (output above the profile's OutputPrefetchBytes)";

    /// <summary>The part of a micro-kernel's name that says its tiles prefetch their output lines.</summary>
    internal static string PrefetchSuffix(bool prefetchC) => prefetchC ? "_PfC" : "";

    /// <summary>
    /// The part of a micro-kernel's name its epilogue and ISA fix: bias, residual, activation (with a hash of its
    /// parameters when it has any) and ISA, so kernels of one shape but different epilogues get different names.
    /// </summary>
    internal static string EpilogueSuffix(string bias, bool residual, Activation act, Isa isa) =>
        $"{bias}{(residual ? "_Res" : "")}{ActivationEmitter.Name(act)}" +
        (act.Kind is ActivationKind.Clip or ActivationKind.LeakyRelu ? "_" + ActivationKey(act) : "") + "_" + isa.Name;

    private static string ActivationKey(Activation a) =>
        Hashing.Combine(Hashing.Combine(Hashing.Start, (ulong)System.BitConverter.DoubleToInt64Bits(a.Alpha)), (ulong)System.BitConverter.DoubleToInt64Bits(a.Beta))
            .ToString("x8", System.Globalization.CultureInfo.InvariantCulture).Substring(0, 8);

    /// <param name="aStride">Floats between the packed A rows of consecutive k (the panel's rows; a pass reads MR of them).</param>
    private static void EmitKernel(string name, GemmSpec g, GemmTile tile, SourceWriter w, int aStride = 0)
    {
        Isa isa = tile.Isa;
        int mr = tile.MR, nv = tile.NV, width = isa.Width, nr = tile.NR;
        bool packedA = g.ALayout == GemmALayout.Packed;
        w.WriteLine($"/// <summary>{mr}x{nr} fp32 GEMM micro-kernel ({isa.Name}): C = act(A x B{(g.Bias != GemmBias.None ? " + bias" : "")}{(g.Residual ? " + R" : "")}).</summary>");
        string aLayout = !packedA ? "row-major (rows past mc clamped)" : aStride > 0 && aStride != mr ? $"packed [k][{aStride}] (this kernel reads {mr} of the rows)" : $"packed [k][{mr}]";
        w.WriteLine($"/// <remarks>A {aLayout}; B rows of {nr} floats every ldb; " +
            "mc/nc give the valid rows/columns of this tile (partial tiles go through a scalar epilogue).</remarks>");
        EmitTile(w, $"private static void {name}{GemmSignature}",
            isa, mr, nv, g.Bias, g.Residual, g.Activation, g.PrefetchC, body =>
            {
                if (!packedA)
                {
                    for (int i = 0; i < mr; i++)
                    {
                        body.WriteLine(i == 0 ? "float* a0 = a;" : $"float* a{i} = a + lda * {EmitContext.Math}.Min({i}, mc - 1);");
                    }
                }
                body.OpenBlock("for (int p = 0; p < k; p++)");
                EmitStep(body, isa, mr, nv, j => j == 0 ? "b" : $"b + {j * width}", i => packedA ? $"a[{i}]" : $"a{i}[p]");
                if (packedA) body.WriteLine($"a += {(aStride > 0 ? aStride : mr)};");
                body.WriteLine("b += ldb;");
                body.CloseBlock();
            });
    }

    /// <summary>
    /// One rank-1 update of the MR x NV accumulator tile: NV vector loads of B, MR broadcasts of A, MR*NV FMAs into
    /// <c>{acc}{i}x{j}</c>.
    /// </summary>
    internal static void EmitStep(SourceWriter w, Isa isa, int mr, int nv, System.Func<int, string> bPointer, System.Func<int, string> aElement, string acc = "acc")
    {
        string V = isa.VectorType;
        for (int j = 0; j < nv; j++) w.WriteLine($"{V} b{j} = {isa.Load(bPointer(j))};");
        for (int i = 0; i < mr; i++)
        {
            w.WriteLine($"{V} va{i} = {isa.Broadcast(aElement(i))};");
            for (int j = 0; j < nv; j++) w.WriteLine($"{acc}{i}x{j} = {isa.Fma($"va{i}", $"b{j}", $"{acc}{i}x{j}")};");
        }
    }

    /// <summary>
    /// A register-blocked micro-kernel: zeroed accumulators acc{i}x{j}, the caller's accumulation loop, then the epilogue
    /// (bias, residual, activation) with a vector path for full tiles and a scalar one for partial tiles (mc x nc valid).
    /// </summary>
    internal static void EmitTile(SourceWriter w, string signature, Isa isa, int mr, int nv, GemmBias bias, bool residual, Activation act,
        bool prefetchC, System.Action<SourceWriter> accumulate)
    {
        int width = isa.Width, nr = nv * width;
        string V = isa.VectorType;
        w.WriteLine(EmitContext.MethodImpl);
        w.WriteLine(EmitContext.SkipLocalsInit);
        w.OpenBlock(signature);
        DeclareAccumulators(w, isa, mr, nv, bias);
        if (prefetchC && isa.Prefetch("c") is not null)
        {
            // The destination lines (64 bytes each) of the MR rows, read for ownership while the tile computes (rows past
            // mc point into the next planes or past the tensor: a prefetch never faults).
            w.WriteLine("// Prefetch the output lines this tile stores (a large output: its stores would wait on memory).");
            for (int i = 0; i < mr; i++)
            {
                for (int col = 0; col < nr; col += 16) w.WriteLine(isa.Prefetch($"c{(i == 0 ? "" : $" + {i} * ldc")}{(col == 0 ? "" : $" + {col}")}")!);
            }
        }
        accumulate(w);

        // Exp-based activations run after the stores, over the stored rows (see ActivationEmitter.IsHeavy).
        Activation heavy = act;
        if (ActivationEmitter.IsHeavy(act)) act = Activation.None;
        string? rows = ActivationEmitter.IsHeavy(heavy) ? $"for (int i = 0; i < mc; i++) {ActivationEmitter.InPlace(heavy, "c + i * ldc", "nc")}" : null;
        // Full tiles: one loop over the stored vectors with a single (inlined) call site.
        string? fullRows = ActivationEmitter.IsHeavy(heavy) && !isa.IsScalar
            ? $"for (int i = 0; i < {mr}; i++) {{ float* cr = c + i * ldc; for (int j = 0; j < {nr}; j += {width}) {isa.Store(ActivationEmitter.Apply(heavy, isa, isa.Load("cr + j")), "cr + j")} }}"
            : rows;

        // Full tile: vector epilogue straight into C.
        w.OpenBlock($"if (mc == {mr} && nc == {nr})");
        string? pro = ActivationEmitter.Prologue(act, isa);
        if (pro is not null) w.WriteLine(pro);
        for (int i = 0; i < mr; i++)
        {
            for (int j = 0; j < nv; j++)
            {
                string off = $"{(i == 0 ? "" : $"{i} * ldc")}{(i > 0 && j > 0 ? " + " : "")}{(j == 0 ? "" : (j * width).ToString())}";
                string cp = off.Length == 0 ? "c" : $"c + {off}";
                string v = $"acc{i}x{j}";
                if (residual)
                {
                    string roff = off.Replace("ldc", "ldr");
                    v = $"{v} + {isa.Load(roff.Length == 0 ? "r" : $"r + {roff}")}";
                }
                w.WriteLine(isa.Store(ActivationEmitter.Apply(act, isa, residual ? $"({v})" : v), cp));
            }
        }
        if (fullRows is not null) w.WriteLine(fullRows);
        w.WriteLine("return;");
        w.CloseBlock();

        if (isa.HasMaskedMemory)
        {
            // Partial tile: per valid row, whole vectors below nc and one masked vector at it (no access past nc).
            w.OpenBlock();
            if (pro is not null) w.WriteLine(pro);
            w.WriteLine($"int fullVectors = nc / {width};");
            w.WriteLine($"var tailMask = {isa.TailMask($"nc % {width}")};");
            for (int i = 0; i < mr; i++)
            {
                w.OpenBlock(i == 0 ? null : $"if (mc > {i})");
                for (int j = 0; j < nv; j++)
                {
                    string off = $"{(i == 0 ? "" : $"{i} * ldc")}{(i > 0 && j > 0 ? " + " : "")}{(j == 0 ? "" : (j * width).ToString())}";
                    string cp = off.Length == 0 ? "c" : $"c + {off}";
                    string rp = off.Length == 0 ? "r" : $"r + {off.Replace("ldc", "ldr")}";
                    string full = $"acc{i}x{j}" + (residual ? $" + {isa.Load(rp)}" : "");
                    string masked = $"acc{i}x{j}" + (residual ? $" + {isa.MaskLoad(rp, "tailMask")}" : "");
                    w.WriteLine($"if (fullVectors > {j}) {isa.Store(ActivationEmitter.Apply(act, isa, residual ? $"({full})" : full), cp)}");
                    w.WriteLine($"else if (fullVectors == {j}) {isa.MaskStore(ActivationEmitter.Apply(act, isa, residual ? $"({masked})" : masked), cp, "tailMask")}");
                }
                w.CloseBlock();
            }
            w.CloseBlock();
            if (rows is not null) w.WriteLine(rows);
            w.CloseBlock();
            return;
        }

        // Partial tile: spill the accumulators, then per valid row whole vectors, then scalars, over the valid columns only.
        SpillAccumulators(w, isa, mr, nv);
        w.OpenBlock();
        if (!isa.IsScalar && pro is not null) w.WriteLine(pro);
        w.OpenBlock("for (int i = 0; i < mc; i++)");
        w.WriteLine("int j = 0;");
        if (!isa.IsScalar)
        {
            string vv = $"{isa.Load($"t + i * {nr} + j")}{(residual ? $" + {isa.Load("r + i * ldr + j")}" : "")}";
            w.WriteLine($"for (; j <= nc - {width}; j += {width}) {isa.Store(ActivationEmitter.Apply(act, isa, residual ? $"({vv})" : vv), "c + i * ldc + j")}");
        }
        w.OpenBlock("for (; j < nc; j++)");
        w.WriteLine($"float v = t[i * {nr} + j]{(residual ? " + r[i * ldr + j]" : "")};");
        w.WriteLine($"c[i * ldc + j] = {ActivationEmitter.ApplyScalar(act, "v")};");
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
        if (rows is not null) w.WriteLine(rows);
        w.CloseBlock();
    }

    /// <summary>
    /// The accumulators acc{i}x{j} of an MR x NV tile, starting from the bias (saves one add per accumulator in the
    /// epilogue: in a small-K layer, 1 of 25-40 vector operations per output vector) or zero: bias[row] broadcast (rows
    /// past mc clamped), or whole vectors of bias[column].
    /// </summary>
    internal static void DeclareAccumulators(SourceWriter w, Isa isa, int mr, int nv, GemmBias bias = GemmBias.None)
    {
        string V = isa.VectorType;
        if (bias == GemmBias.PerColumn)
        {
            for (int j = 0; j < nv; j++) w.WriteLine($"{V} bv{j} = {isa.Load(j == 0 ? "bias" : $"bias + {j * isa.Width}")};");
        }
        for (int i = 0; i < mr; i++)
        {
            if (bias == GemmBias.PerRow) w.WriteLine($"{V} bv{i} = {isa.Broadcast(i == 0 ? "bias[0]" : $"bias[{EmitContext.Math}.Min({i}, mc - 1)]")};");
            string Init(int j) => bias switch { GemmBias.PerRow => $"bv{i}", GemmBias.PerColumn => $"bv{j}", _ => isa.Zero };
            w.WriteLine($"{V} {string.Join(", ", Range(nv, j => $"acc{i}x{j} = {Init(j)}"))};");
        }
    }

    /// <summary>The accumulator prefix of set <paramref name="s"/> (<see cref="EmitStep"/>'s acc): acc, then k1acc, k2acc...</summary>
    internal static string AccumulatorSet(int s) => s == 0 ? "acc" : $"k{s}acc";

    /// <summary>Zeroed accumulator sets 1 to <paramref name="sets"/> - 1 (set 0 is acc{i}x{j}; see <see cref="AccumulatorSet"/>).</summary>
    internal static void DeclareAccumulatorSets(SourceWriter w, Isa isa, int mr, int nv, int sets)
    {
        for (int s = 1; s < sets; s++)
        {
            for (int i = 0; i < mr; i++) w.WriteLine($"{isa.VectorType} {string.Join(", ", Range(nv, j => $"{AccumulatorSet(s)}{i}x{j} = {isa.Zero}"))};");
        }
    }

    /// <summary>acc{i}x{j} = the sum of the accumulator sets (nothing with one set).</summary>
    internal static void SumAccumulatorSets(SourceWriter w, int mr, int nv, int sets)
    {
        for (int i = 0; i < mr && sets > 1; i++)
        {
            for (int j = 0; j < nv; j++) w.WriteLine($"acc{i}x{j} = {string.Join(" + ", Range(sets, s => $"{AccumulatorSet(s)}{i}x{j}"))};");
        }
    }

    /// <summary>Stores the accumulators row by row into a stack tile <c>t</c> of MR x NR floats.</summary>
    internal static void SpillAccumulators(SourceWriter w, Isa isa, int mr, int nv)
    {
        int nr = nv * isa.Width;
        w.WriteLine($"float* t = stackalloc float[{mr * nr}];");
        for (int i = 0; i < mr; i++)
        {
            for (int j = 0; j < nv; j++) w.WriteLine(isa.Store($"acc{i}x{j}", $"t + {i * nr + j * isa.Width}"));
        }
    }

    private static IEnumerable<string> Range(int count, System.Func<int, string> f)
    {
        for (int i = 0; i < count; i++) yield return f(i);
    }
}
