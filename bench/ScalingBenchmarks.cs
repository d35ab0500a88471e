// Licensed under the MIT license.
// Intra-op parallelism and startup: the generated class at one and two threads (degree of parallelism), and the cost of
// constructing it (mapping the embedded model, allocating the arena, packing the weights).

using BenchmarkDotNet.Attributes;
using ModelGen.Runtime;
using ModelGen.TestSupport;

namespace ModelGen.Bench;

public class ScalingBenchmarks
{
    private ICompiledModel? _one, _two;
    private ReadOnlyMemory<float>[] _inputs = Array.Empty<ReadOnlyMemory<float>>();
    private Memory<float>[] _outputs = Array.Empty<Memory<float>>();
    private BenchModel? _m;

    public static IEnumerable<string> ModelNames => (Environment.GetEnvironmentVariable("MODELGEN_SCALING_MODELS") is { Length: > 0 } only
        ? only.Split(',') : new[] { "tv-resnet18", "tv-mobilenet_v2", "yolox-nano" });

    [ParamsSource(nameof(ModelNames))]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _m = BenchModels.Find(Model);
        _one = _m.Create(1);
        _two = _m.Create(2);
        _inputs = _m.RandomInputs(_one.Inputs).Select(d => (ReadOnlyMemory<float>)d).ToArray();
        _outputs = _one.Outputs.Select(o => (Memory<float>)new float[o.ElementCount]).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _one?.Dispose();
        _two?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "1 thread")]
    public void OneThread() => _one!.Run(_inputs, _outputs);

    [Benchmark(Description = "2 threads")]
    public void TwoThreads() => _two!.Run(_inputs, _outputs);

    [Benchmark(Description = "construct + dispose")]
    public void Construct() => _m!.Create(1).Dispose();
}
