// Licensed under the MIT license.
// bench --layers: times every generated layer (IProfiledModel.RunProfiled) and prints its share of the run, its
// GMAC/s and its share of the machine's measured peak, so the slowest layers are visible; with one thread, ONNX Runtime's
// profiled time for the ONNX nodes each layer computes beside it, so the layers it runs faster are visible too.

using System.Diagnostics;
using System.Globalization;
using ModelGen.Runtime;
using ModelGen.TestSupport;

namespace ModelGen.Bench;

public static class LayerReport
{
    /// <summary>The fp32 FMA peak of one core of this machine, measured at start-up (see <see cref="MachinePeak"/>).</summary>
    public static double PeakGmacPerCore => MachinePeak.GmacPerCore;

    /// <summary>The ONNX node part of a layer name (<c>L007_Conv_Name</c> -&gt; <c>Conv_Name</c>).</summary>
    private static string NodeOf(string layer) => layer.IndexOf('_') is int i and >= 0 ? layer.Substring(i + 1) : layer;

    /// <summary>
    /// The issue's per-layer target: 3x3 and 1x1 convolutions (groups 1) with at least this many input and output channels
    /// run at <see cref="TargetPercent"/> of the machine's peak or more.
    /// </summary>
    public const int TargetMinChannels = 64;
    public const double TargetPercent = 80;

    /// <summary>
    /// A layer the per-layer target covers, rated like its table row (over all the layers of its ONNX node); Logistic: its
    /// epilogue computes a sigmoid (a fused Sigmoid, SiLU = x * sigmoid(x), or Tanh), an exp per output.
    /// </summary>
    /// <remarks>
    /// PercentOfPeak is at the layer's median time (the tables' statistic); PercentAtBest at its best of the runs, the
    /// statistic <see cref="MachinePeak"/> measures the peak with (another tenant's load only ever adds time).
    /// </remarks>
    public sealed record TargetLayer(string Model, string Layer, string Shape, double PercentOfPeak, double PercentAtBest, bool Logistic, int MacsPerOutput)
    {
        /// <summary>
        /// For a sigmoid or SiLU epilogue, the percentage of peak the layer reaches with its convolution at the peak and
        /// the epilogue at its measured price, not overlapped: K / (K + <see cref="MachinePeak.LogisticMacs"/>); else null.
        /// </summary>
        public double? Ceiling => Logistic ? 100.0 * MacsPerOutput / (MacsPerOutput + MachinePeak.LogisticMacs) : null;

        /// <summary>
        /// For a sigmoid or SiLU epilogue, the percentage of peak the convolution alone needs for the layer to reach
        /// <see cref="TargetPercent"/> with the epilogue at its measured price, not overlapped (above 100, or infinite: never);
        /// else null. A sigmoid is priced as the SiLU (the same exp and reciprocal, one multiply apart).
        /// </summary>
        public double? ConvolutionNeeds => Logistic
            ? 100.0 / TargetPercent - MachinePeak.LogisticMacs / MacsPerOutput is var d && d > 0 ? 100.0 / d : double.PositiveInfinity
            : null;

        /// <summary>ONNX Runtime's share of peak on the same ONNX nodes, at its profiler's median per-node time (one thread), when measured.</summary>
        public double? OrtPercent { get; init; }
    }

    /// <param name="compareOrt">With one thread, ONNX Runtime's per-node profile of the same model and input beside each layer.</param>
    /// <param name="targets">Collects the layers the per-layer target covers (<see cref="TargetLayer"/>), when given.</param>
    public static void Print(BenchModel m, int runs, TextWriter output, int threads = 1, int maxRows = int.MaxValue, bool compareOrt = true, ICollection<TargetLayer>? targets = null)
    {
        using var model = (IProfiledModel)m.Create(threads);
        byte[][] inputs = m.RandomInputs(model.Inputs).Select(f =>
        {
            var b = new byte[f.Length * 4];
            Buffer.BlockCopy(f, 0, b, 0, b.Length);
            return b;
        }).ToArray();
        byte[][] outputs = model.Outputs.Select(o => new byte[o.ByteCount]).ToArray();
        int layers = model.LayerNames.Count;
        var samples = new long[runs][];
        var ins = inputs.Select(b => (ReadOnlyMemory<byte>)b).ToArray();
        var outs = outputs.Select(b => (Memory<byte>)b).ToArray();
        for (int i = 0; i < 5; i++) model.RunProfiled(ins, outs, new long[layers]);
        for (int r = 0; r < runs; r++)
        {
            samples[r] = new long[layers];
            model.RunProfiled(ins, outs, samples[r]);
        }
        // MODELGEN_LAYERS_QUANTILE (default 0.5, the median): a low quantile such as 0.1 compares two builds on a noisy
        // machine better (another tenant's load only ever adds time).
        double quantile = double.TryParse(Environment.GetEnvironmentVariable("MODELGEN_LAYERS_QUANTILE"), NumberStyles.Float, CultureInfo.InvariantCulture, out double q) ? q : 0.5;
        double[] medianMs = Enumerable.Range(0, layers).Select(l =>
        {
            var t = samples.Select(s => s[l]).OrderBy(x => x).ToArray();
            return t[Math.Min(t.Length - 1, (int)(t.Length * quantile))] * 1000.0 / Stopwatch.Frequency;
        }).ToArray();
        double total = medianMs.Sum();
        double[] runTotals = samples.Select(sm => sm.Sum() * 1000.0 / Stopwatch.Frequency).OrderBy(x => x).ToArray();
        // MODELGEN_LAYERS_DEBUG: also whole-run timings (plain Run and profiled), to tell per-layer noise from run-level effects.
        if (Environment.GetEnvironmentVariable("MODELGEN_LAYERS_DEBUG") is not null)
        {
            var plain = new double[runs];
            for (int r = 0; r < runs; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                model.Run(ins, outs);
                plain[r] = (Stopwatch.GetTimestamp() - t0) * 1000.0 / Stopwatch.Frequency;
            }
            Array.Sort(plain);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"plain runs: min {plain[0]:F3} median {plain[runs / 2]:F3} max {plain[^1]:F3}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"profiled run totals: min {runTotals[0]:F3} median {runTotals[runTotals.Length / 2]:F3} max {runTotals[^1]:F3}"));
        }
        long macs = model.LayerMacs.Sum();
        CultureInfo c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"## {m.Name} ({threads} thread{(threads > 1 ? "s" : "")}): {layers} layers, {total:F3} ms (sum of per-layer medians over {runs} runs), {macs / 1e9:F3} GMAC, {macs / 1e9 / (total / 1000):F1} GMAC/s overall; peak {PeakGmacPerCore:F1} GMAC/s per core ({MachinePeak.Isa})"));
        output.WriteLine();
        bool ort = compareOrt && threads == 1;
        output.WriteLine("| layer | ms | share | GMAC | GMAC/s | % of peak |" + (ort ? " ONNX Runtime ms | ORT / ModelGen |" : ""));
        output.WriteLine("|---|---:|---:|---:|---:|---:|" + (ort ? "---:|---:|" : ""));
        // A node lowered to several consecutive layers (steps: a strided 1x1 convolution's input copy, a transposed
        // convolution's GEMM and col2im) is rated over all its steps' time: its MAC-carrying layer's GMAC/s and % of peak
        // count the other steps too (marked *).
        double[] nodeMs = new double[layers];
        int[] nodeLayers = new int[layers], nodeStart = new int[layers];
        for (int l = 0; l < layers;)
        {
            int e = l + 1;
            while (e < layers && NodeOf(model.LayerNames[e]) == NodeOf(model.LayerNames[l])) e++;
            double sum = medianMs.Skip(l).Take(e - l).Sum();
            for (int i = l; i < e; i++)
            {
                nodeMs[i] = sum;
                nodeLayers[i] = e - l;
                nodeStart[i] = l;
            }
            l = e;
        }
        (double[] Ms, List<(string Name, string Op, double Ms)> Unmatched, int Nodes)? ortNodes = ort ? OrtBeside(m, model, nodeStart, runs) : null;
        if (targets is not null)
        {
            double[] bestMs = Enumerable.Range(0, layers).Select(l => samples.Min(sm => sm[l]) * 1000.0 / Stopwatch.Frequency).ToArray();
            double[] nodeBestMs = Enumerable.Range(0, layers).Select(l => bestMs.Skip(nodeStart[l]).Take(nodeLayers[l]).Sum()).ToArray();
            double[]? nodeOrtMs = ortNodes is { } measured ? Enumerable.Range(0, layers).Select(l => measured.Ms[nodeStart[l]]).ToArray() : null;
            CollectTargets(m, model, nodeMs, nodeBestMs, nodeOrtMs, threads, targets);
        }
        bool steps = false;
        foreach (int l in Enumerable.Range(0, layers).OrderByDescending(l => medianMs[l]).Take(maxRows))
        {
            double gmac = model.LayerMacs[l] / 1e9;
            double rate = nodeMs[l] > 0 ? gmac / (nodeMs[l] / 1000) : 0;
            string mark = gmac > 0 && nodeLayers[l] > 1 ? "*" : "";
            steps |= mark.Length > 0;
            string ortCells = "";
            if (ortNodes is { } o)
            {
                // ONNX Runtime's time for the node goes on its first layer, against all its layers' time.
                double ortMs = o.Ms[l];
                ortCells = nodeStart[l] != l || ortMs == 0 ? " | |" : string.Create(c, $" {ortMs:F3} | {ortMs / nodeMs[l]:F2}{(nodeLayers[l] > 1 ? "*" : "")} |");
            }
            output.WriteLine(string.Create(c, $"| {model.LayerNames[l]} | {medianMs[l]:F3} | {medianMs[l] / total * 100:F1}% | {gmac:F4} | {(gmac > 0 ? rate.ToString("F1", c) + mark : "")} | {(gmac > 0 ? (rate / (PeakGmacPerCore * threads) * 100).ToString("F0", c) + "%" + mark : "")} |{ortCells}"));
        }
        if (ortNodes is { } on)
        {
            int compared = Enumerable.Range(0, layers).Count(l => nodeStart[l] == l && on.Ms[l] > 0);
            int slower = Enumerable.Range(0, layers).Count(l => nodeStart[l] == l && on.Ms[l] > 0 && on.Ms[l] < nodeMs[l]);
            double unmatchedMs = on.Unmatched.Sum(u => u.Ms);
            output.WriteLine();
            output.WriteLine(string.Create(c, $"ONNX Runtime beside each layer: its profiler's per-node medians over {runs} runs, same input, its nodes mapped to the ONNX nodes each layer computes (fused activations, residual Adds and BatchNormalizations included). {compared} layers compared, ONNX Runtime faster on {slower}; {on.Nodes - on.Unmatched.Count} of its {on.Nodes} nodes mapped, {(on.Ms.Sum() + unmatchedMs):F3} ms in all."));
            if (on.Unmatched.Count > 0)
            {
                output.WriteLine(string.Create(c, $"Its nodes with no layer here ({on.Unmatched.Count}, {unmatchedMs:F3} ms; layout reorders, concatenations ModelGen does in place, fusions it names its own way): ") +
                    string.Join(", ", on.Unmatched.OrderByDescending(u => u.Ms).Take(6).Select(u => string.Create(c, $"{u.Name} ({u.Op}) {u.Ms:F3}"))) + (on.Unmatched.Count > 6 ? ", ..." : "") + ".");
            }
        }
        if (steps)
        {
            output.WriteLine();
            output.WriteLine("\\* rated over all the layers of its ONNX node (e.g. a strided 1x1 convolution's input copy, step 1 of 2, and the convolution, step 2).");
        }
        output.WriteLine();
    }

    /// <summary>The layers of <paramref name="model"/> that the per-layer target covers, rated over their ONNX node's layers (<paramref name="nodeMs"/>).</summary>
    /// <param name="nodeOrtMs">ONNX Runtime's median per-node time for each layer's ONNX nodes (one thread), or null.</param>
    private static void CollectTargets(BenchModel m, IProfiledModel model, double[] nodeMs, double[] nodeBestMs, double[]? nodeOrtMs, int threads, ICollection<TargetLayer> targets)
    {
        IReadOnlyDictionary<string, ConvShape> convs = OnnxGraphInfo.ConvShapes(m.Path);
        IReadOnlyDictionary<string, string> ops = OnnxGraphInfo.NodeOps(m.Path);
        for (int l = 0; l < model.LayerNames.Count; l++)
        {
            if (model.LayerMacs[l] == 0 || nodeMs[l] <= 0) continue;
            List<string> nodes = model.LayerNodes[l].Select(OnnxGraphInfo.OrtName).ToList();
            ConvShape? s = nodes.Select(n => convs.TryGetValue(n, out ConvShape? cs) ? cs : null).FirstOrDefault(cs => cs is not null);
            if (s is null || s.Group != 1 || s.KernelH != s.KernelW || s.KernelH is not (1 or 3) ||
                s.OutChannels < TargetMinChannels || s.InChannelsPerGroup < TargetMinChannels) continue;
            long pixels = model.LayerMacs[l] / ((long)s.OutChannels * s.InChannelsPerGroup * s.KernelH * s.KernelW);
            string shape = string.Create(CultureInfo.InvariantCulture,
                $"{s.InChannelsPerGroup} -> {s.OutChannels}, {s.KernelH}x{s.KernelW}{(s.Stride > 1 ? $" stride {s.Stride}" : "")}, {pixels} output pixels");
            double Percent(double ms) => model.LayerMacs[l] / 1e9 / (ms / 1000) / (PeakGmacPerCore * threads) * 100;
            bool logistic = nodes.Any(n => ops.TryGetValue(n, out string? op) && op is "Sigmoid" or "Tanh");
            double? ortPercent = nodeOrtMs is not null && nodeOrtMs[l] > 0 ? Percent(nodeOrtMs[l]) : null;
            targets.Add(new TargetLayer(m.Name, model.LayerNames[l], shape, Percent(nodeMs[l]), Percent(nodeBestMs[l]), logistic, s.InChannelsPerGroup * s.KernelH * s.KernelW)
            {
                OrtPercent = ortPercent,
            });
        }
    }

    /// <summary>
    /// The per-layer target's summary over <paramref name="targets"/>: how many layers reach it, and the ones below it, the
    /// slowest first, with the ones whose epilogue computes a sigmoid counted apart.
    /// </summary>
    public static void WriteTargets(IReadOnlyList<TargetLayer> targets, int models, TextWriter output)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var below = targets.Where(t => t.PercentOfPeak < TargetPercent).OrderBy(t => t.PercentOfPeak).ToList();
        var belowAtBest = targets.Where(t => t.PercentAtBest < TargetPercent).ToList();
        string Count(List<TargetLayer> b) => string.Create(c, $"{b.Count} below ({b.Count(t => t.Logistic)} of them with a sigmoid or SiLU epilogue, {b.Count(t => !t.Logistic)} other{(b.Count(t => !t.Logistic) == 1 ? "" : "s")})");
        output.WriteLine($"## Per-layer target ({models} model{(models == 1 ? "" : "s")})");
        output.WriteLine();
        output.WriteLine(string.Create(c, $"3x3 and 1x1 convolutions (groups 1) with at least {TargetMinChannels} input and output channels at {TargetPercent:F0}% of peak or more, one thread: {targets.Count} layers. " +
            $"At their median time: {Count(below)}. At their best time of the runs (the statistic the peak is measured with): {Count(belowAtBest)}.{OrtSummary(targets)}"));
        if (below.Count == 0) return;
        var logistic = belowAtBest.Where(t => t.Logistic).ToList();
        if (logistic.Count > 0)
        {
            output.WriteLine();
            output.WriteLine(string.Create(c, $"A sigmoid or SiLU epilogue costs {MachinePeak.LogisticMacs:F1} multiply-accumulates of this core's peak per output (`VectorMath.Silu` over L1-resident data, measured at start-up): " +
                $"with K multiply-accumulates per output, such a layer runs at most K / (K + {MachinePeak.LogisticMacs:F1}) of the peak unless the core overlaps the two (the ceiling column), " +
                $"and reaches {TargetPercent:F0}% only with its convolution alone at 1 / (1/{TargetPercent / 100:F1} - {MachinePeak.LogisticMacs:F1}/K) of the peak or more (the last column). " +
                $"Of the {logistic.Count} below the target at their best time, {logistic.Count(t => t.Ceiling < TargetPercent)} have a ceiling under {TargetPercent:F0}%, " +
                $"{logistic.Count(t => t.ConvolutionNeeds >= 90)} need their convolution at 90% of peak or more and {logistic.Count(t => t.ConvolutionNeeds >= 85)} at 85% or more."));
        }
        output.WriteLine();
        output.WriteLine("| model | layer | convolution | % of peak (median) | % of peak (best) | ONNX Runtime (median) | epilogue | ceiling | convolution needs |");
        output.WriteLine("|---|---|---|---:|---:|---:|---|---:|---:|");
        foreach (TargetLayer t in below)
        {
            output.WriteLine(string.Create(c, $"| {t.Model} | {t.Layer} | {t.Shape} | {t.PercentOfPeak:F0}% | {t.PercentAtBest:F0}% | {(t.OrtPercent is double o ? $"{o:F0}%" : "")} | {(t.Logistic ? "sigmoid / SiLU" : "")} | " +
                $"{(t.Ceiling is double x ? $"{x:F0}%" : "")} | {(t.ConvolutionNeeds is double n ? n <= 100 ? $"{n:F0}%" : "over 100%" : "")} |"));
        }
        output.WriteLine();
    }

    /// <summary>
    /// How many of <paramref name="targets"/> ONNX Runtime runs below the target on the same ONNX nodes (at its profiler's
    /// median), those with a sigmoid or SiLU counted apart; empty when it was not measured.
    /// </summary>
    private static string OrtSummary(IReadOnlyList<TargetLayer> targets)
    {
        var measured = targets.Where(t => t.OrtPercent is not null).ToList();
        if (measured.Count == 0) return "";
        var logistic = measured.Where(t => t.Logistic).ToList();
        CultureInfo c = CultureInfo.InvariantCulture;
        string head = string.Create(c, $" ONNX Runtime on the same ONNX nodes (its profiler's median per-node time, same input, one thread): {measured.Count(t => t.OrtPercent < TargetPercent)} of the {measured.Count} below");
        return head + (logistic.Count == 0 ? "." : string.Create(c,
            $", {logistic.Count(t => t.OrtPercent < TargetPercent)} of the {logistic.Count} with a sigmoid or SiLU epilogue (at most {logistic.Max(t => t.OrtPercent!.Value):F0}% on those)."));
    }

    /// <summary>
    /// ONNX Runtime's per-node times on the same model, each on the first layer of the ONNX node it stands for
    /// (<see cref="OrtLayerReport.OnnxNodesOf"/>); the nodes no layer computes (layout reorders, ...) apart.
    /// </summary>
    private static (double[] Ms, List<(string Name, string Op, double Ms)> Unmatched, int Nodes) OrtBeside(BenchModel m, IProfiledModel model, int[] nodeStart, int runs)
    {
        IReadOnlyDictionary<string, string> producers = OnnxGraphInfo.ProducerNames(m.Path);
        var layerOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int l = 0; l < model.LayerNodes.Count; l++)
            foreach (string n in model.LayerNodes[l]) layerOf.TryAdd(OnnxGraphInfo.OrtName(n), nodeStart[l]);
        var ms = new double[model.LayerNodes.Count];
        var unmatched = new List<(string Name, string Op, double Ms)>();
        var nodes = OrtLayerReport.Measure(m, runs);
        foreach (var node in nodes)
        {
            int layer = OrtLayerReport.OnnxNodesOf(node.Name, producers).Select(n => layerOf.TryGetValue(n, out int i) ? i : -1).FirstOrDefault(i => i >= 0, -1);
            if (layer >= 0) ms[layer] += node.Ms;
            else unmatched.Add(node);
        }
        return (ms, unmatched, nodes.Count);
    }
}
