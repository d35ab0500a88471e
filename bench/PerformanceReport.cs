// Licensed under the MIT license.
// docs/performance.md from a BenchmarkDotNet summary: both engines per model and the ratio ORT time / ModelGen time.

using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Reports;

namespace ModelGen.Bench;

public static class PerformanceReport
{
    public static string Write(Summary summary)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var rows = summary.Reports
            .Where(r => r.ResultStatistics is not null)
            .GroupBy(r => (string)r.BenchmarkCase.Parameters["Model"])
            .Select(g => (Model: g.Key,
                Ort: g.First(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == "OnnxRuntime").ResultStatistics!,
                Mg: g.First(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == "ModelGen").ResultStatistics!))
            .ToList();
        var sb = new StringBuilder();
        sb.AppendLine("# Performance");
        sb.AppendLine();
        sb.AppendLine("ONNX Runtime " + ModelGen.OnnxRuntime.OrtLibrary.Version + " (CPU, one intra-op thread, all graph optimisations, inputs and outputs");
        sb.AppendLine("pre-bound) against the class ModelGen generated for the same model (profile x64, one thread), batch 1, same");
        sb.AppendLine("random input, in one BenchmarkDotNet process. **ratio = ONNX Runtime time / ModelGen time** (above 1: ModelGen is");
        sb.AppendLine("faster). Times are medians; the machine is shared and noisy, so compare ratios, not absolute times: on this");
        sb.AppendLine("2-vCPU VM, back-to-back runs of the same code have moved single ratios by up to 15% and the 2-thread speedups by");
        sb.AppendLine("more (the second vCPU is sometimes busy with another tenant's work); repeat a run before trusting one figure.");
        sb.AppendLine("The VMs themselves differ from stop to stop (AVX-512 or AVX2 only, 2.4 or 3.7 GHz): the machine line says which");
        sb.AppendLine("ISA path the generated code ran and the FMA peak measured at the start of the run; the notes below keep both machines' figures.");
        sb.AppendLine();
        sb.AppendLine("Command: `dotnet run --project bench -c Release` (per-layer figures: `-- --layers [model...]`, which ends with the");
        sb.AppendLine("per-layer target's count over the models it ran; ONNX Runtime's per-node profile of the same model and input:");
        sb.AppendLine("`-- --ort-layers <model>`; construction times alone: `-- --startup <model>`).");
        sb.AppendLine();
        sb.AppendLine(string.Create(c, $"Machine: {CpuName()}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, AVX-512: {System.Runtime.Intrinsics.X86.Avx512F.IsSupported}, AVX2 + FMA: {System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported} (the generated code runs the {MachinePeak.Isa} path here); measured FMA peak {MachinePeak.GmacPerCore:F1} GMAC/s per core."));
        sb.AppendLine();
        sb.AppendLine("| model | ONNX Runtime (ms) | ModelGen (ms) | ratio ORT/ModelGen |");
        sb.AppendLine("|---|---:|---:|---:|");
        var ratios = new List<(string Model, double Ratio)>();
        foreach (var r in rows)
        {
            double ort = r.Ort.Median / 1e6, mg = r.Mg.Median / 1e6;
            ratios.Add((r.Model, ort / mg));
            sb.AppendLine(string.Create(c, $"| {r.Model} | {ort:F3} | {mg:F3} | {ort / mg:F2} |"));
        }
        foreach ((string label, double mean) in GeometricMeans(ratios)) sb.AppendLine(string.Create(c, $"| **{label}** | | | **{mean:F2}** |"));
        return sb.ToString();
    }

    /// <summary>The thread-scaling and startup section: 1 vs 2 threads (speedup) and construction time per model.</summary>
    public static string WriteScaling(Summary summary)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("## Intra-op parallelism and startup");
        sb.AppendLine();
        sb.AppendLine("The generated class constructed with `degreeOfParallelism: 2` (the calling thread and one worker share every");
        sb.AppendLine("convolution, GEMM and depthwise/pooling layer of at least 300K MACs, and every strided copy, transpose,");
        sb.AppendLine("concatenation copy and element-wise layer of at least 64K elements) against one thread; and the time to construct");
        sb.AppendLine("an instance (map the embedded model, allocate the arena, pack the weights) and dispose it. Same BenchmarkDotNet");
        sb.AppendLine("process. Speedup = 1-thread time / 2-thread time.");
        sb.AppendLine();
        sb.AppendLine("| model | 1 thread (ms) | 2 threads (ms) | speedup | construct + dispose (ms) |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var g in summary.Reports.Where(r => r.ResultStatistics is not null).GroupBy(r => (string)r.BenchmarkCase.Parameters["Model"]))
        {
            double Median(string method) => g.First(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method).ResultStatistics!.Median / 1e6;
            double one = Median("OneThread"), two = Median("TwoThreads"), construct = Median("Construct");
            sb.AppendLine(string.Create(c, $"| {g.Key} | {one:F3} | {two:F3} | {one / two:F2} | {construct:F2} |"));
        }
        return sb.ToString();
    }

    /// <summary>
    /// The geometric means of <paramref name="ratios"/>: over the models the performance issue lists (its target) when any
    /// of the others are there too, and over all of them.
    /// </summary>
    public static IEnumerable<(string Label, double Mean)> GeometricMeans(IReadOnlyList<(string Model, double Ratio)> ratios)
    {
        static double Mean(IEnumerable<double> r) => Math.Exp(r.Average(Math.Log));
        var listed = ratios.Where(r => BenchModels.Listed.Contains(r.Model)).Select(r => r.Ratio).ToList();
        if (listed.Count > 0 && listed.Count < ratios.Count) yield return ($"geometric mean, the {listed.Count} listed models", Mean(listed));
        if (ratios.Count > 0) yield return (listed.Count < ratios.Count && listed.Count > 0 ? $"geometric mean, all {ratios.Count}" : "geometric mean", Mean(ratios.Select(r => r.Ratio)));
    }

    private static string CpuName()
    {
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown CPU" : line.Substring(line.IndexOf(':') + 1).Trim();
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }
}
