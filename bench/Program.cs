// Licensed under the MIT license.
// dotnet run --project bench -c Release [-- --models a,b] : BenchmarkDotNet, ONNX Runtime vs ModelGen, writes docs/performance.md
// dotnet run --project bench -c Release -- --layers [--threads N] [model...] : per-layer timings of the generated code
//   (one thread: ONNX Runtime's profiled time for the same ONNX nodes beside each layer)
// dotnet run --project bench -c Release -- --ort-layers [model...] : per-node timings of ONNX Runtime (its profiler), same input
// dotnet run --project bench -c Release -- --startup [model...] : construct + dispose times (median of 20, printed)
// dotnet run --project bench -c Release -- --scaling : 1 vs 2 threads and construction time only (printed)
// dotnet run --project bench -c Release -- --paired [model...] : ORT vs ModelGen and 1 vs 2 threads timed alternately (printed)

using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ModelGen.Bench;

if (args.Contains("--layers"))
{
    int threadsAt = Array.IndexOf(args, "--threads");
    int threads = threadsAt >= 0 && threadsAt + 1 < args.Length ? int.Parse(args[threadsAt + 1], CultureInfo.InvariantCulture) : 1;
    var targets = new List<LayerReport.TargetLayer>();
    var chosen = ModelsNamedIn(args.Where((_, i) => threadsAt < 0 || i != threadsAt + 1)).ToList();
    foreach (BenchModel m in chosen)
    {
        LayerReport.Print(m, runs: 30, Console.Out, threads, targets: targets);
    }
    if (targets.Count > 0) LayerReport.WriteTargets(targets, chosen.Count, Console.Out);
    return 0;
}

if (args.Contains("--ort-layers"))
{
    foreach (BenchModel m in ModelsNamedIn(args)) OrtLayerReport.Print(m, runs: 30, Console.Out);
    return 0;
}

if (args.Contains("--startup"))
{
    foreach (BenchModel m in ModelsNamedIn(args))
    {
        var ms = new double[20];
        for (int i = -3; i < ms.Length; i++)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            m.Create().Dispose();
            if (i >= 0) ms[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(ms);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Name}: construct + dispose median {ms[ms.Length / 2]:F2} ms (min {ms[0]:F2}, max {ms[^1]:F2})"));
    }
    return 0;
}

if (args.Contains("--paired"))
{
    var chosen = ModelsNamedIn(args).ToList();
    Console.WriteLine(PairedReport.Write(chosen.Select(PairedReport.MeasureOrt).ToList(),
        chosen.Where(m => ScalingBenchmarks.ModelNames.Contains(m.Name)).Select(PairedReport.MeasureThreads).ToList()));
    return 0;
}

int modelsAt = Array.IndexOf(args, "--models");
if (modelsAt >= 0 && modelsAt + 1 < args.Length) Environment.SetEnvironmentVariable("MODELGEN_BENCH_MODELS", args[modelsAt + 1]);

// In-process: one process holds both engines and every model (the generated classes are part of this assembly).
IConfig config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(15).WithId("InProcess"))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
if (args.Contains("--scaling"))
{
    // Only the thread-scaling and startup benchmarks (printed, docs/performance.md untouched).
    Console.WriteLine(PerformanceReport.WriteScaling(BenchmarkRunner.Run<ScalingBenchmarks>(config)));
    return 0;
}
Summary summary = BenchmarkRunner.Run<ModelBenchmarks>(config);
Summary scaling = BenchmarkRunner.Run<ScalingBenchmarks>(config);
string paired = PairedReport.Write(ModelBenchmarks.ModelNames.Select(n => PairedReport.MeasureOrt(BenchModels.Find(n))).ToList(),
    ScalingBenchmarks.ModelNames.Select(n => PairedReport.MeasureThreads(BenchModels.Find(n))).ToList());
var layers = new StringWriter();
layers.WriteLine("## Per-layer figures");
layers.WriteLine();
layers.WriteLine(string.Create(CultureInfo.InvariantCulture, $"The slowest layers of two models, one thread (median of 30 profiled runs; GMAC/s against this machine's peak of {LayerReport.PeakGmacPerCore:F1} GMAC/s per core, measured at start-up with {MachinePeak.Isa} chains, see bench/MachinePeak.cs), and ONNX Runtime's time for the same ONNX nodes (its profiler, same input). All layers of any model: `dotnet run --project bench -c Release -- --layers <model>`."));
layers.WriteLine();
// Every listed model's layers for the per-layer target, each beside ONNX Runtime's per-node profile; the tables of two of
// them in the report.
var listedTargets = new List<LayerReport.TargetLayer>();
foreach (string name in BenchModels.Listed)
{
    bool table = name is "tv-resnet18" or "squeezenet1.1";
    LayerReport.Print(BenchModels.Find(name), runs: 30, table ? layers : TextWriter.Null, threads: 1, maxRows: 12, compareOrt: true, targets: listedTargets);
}
LayerReport.WriteTargets(listedTargets, BenchModels.Listed.Count, layers);
string report = PerformanceReport.Write(summary) + Environment.NewLine + PerformanceReport.WriteScaling(scaling) + Environment.NewLine + paired + Environment.NewLine + layers;
string path = Path.Combine(ModelGen.TestSupport.Paths.RepoRoot, "docs", "performance.md");
// A hand-written section after the notes marker (analysis of the runs) survives regeneration.
const string NotesMarker = "<!-- notes: hand-written, kept when the tables above are regenerated -->";
if (File.Exists(path) && File.ReadAllText(path) is var old && old.IndexOf(NotesMarker, StringComparison.Ordinal) is int at and >= 0)
    report = report.TrimEnd() + Environment.NewLine + Environment.NewLine + old[at..];
File.WriteAllText(path, report);
Console.WriteLine(report);
Console.WriteLine($"wrote {path}");
return 0;

// The models named on the command line (arguments that are not options), or all of them.
static IEnumerable<BenchModel> ModelsNamedIn(IEnumerable<string> arguments)
{
    var names = arguments.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
    return names.Count == 0 ? BenchModels.All : names.Select(BenchModels.Find);
}
