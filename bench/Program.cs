// Licensed under the MIT license.
// dotnet run --project bench -c Release [-- --models a,b] : BenchmarkDotNet, ONNX Runtime vs ModelGen, writes docs/performance.md
// dotnet run --project bench -c Release -- --layers [model...] : per-layer timings of the generated code

using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ModelGen.Bench;

if (args.Contains("--layers"))
{
    var names = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
    foreach (BenchModel m in names.Count == 0 ? BenchModels.All : names.Select(BenchModels.Find))
    {
        LayerReport.Print(m, runs: 30, Console.Out);
    }
    return 0;
}

int modelsAt = Array.IndexOf(args, "--models");
if (modelsAt >= 0 && modelsAt + 1 < args.Length) Environment.SetEnvironmentVariable("MODELGEN_BENCH_MODELS", args[modelsAt + 1]);

// In-process: one process holds both engines and every model (the generated classes are part of this assembly).
IConfig config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(15).WithId("InProcess"))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
Summary summary = BenchmarkRunner.Run<ModelBenchmarks>(config);
string report = PerformanceReport.Write(summary);
string path = Path.Combine(ModelGen.TestSupport.Paths.RepoRoot, "docs", "performance.md");
File.WriteAllText(path, report);
Console.WriteLine(report);
Console.WriteLine($"wrote {path}");
return 0;
