// Licensed under the MIT license.
// ONNX Runtime (one intra-op thread, all graph optimisations, pre-bound inputs and outputs) and the generated class
// on the same input, in the same process.

using BenchmarkDotNet.Attributes;
using ModelGen.OnnxRuntime;
using ModelGen.Runtime;
using ModelGen.TestSupport;

namespace ModelGen.Bench;

public class ModelBenchmarks
{
    private ICompiledModel? _model;
    private ReadOnlyMemory<float>[] _inputs = Array.Empty<ReadOnlyMemory<float>>();
    private Memory<float>[] _outputs = Array.Empty<Memory<float>>();
    private OrtSession? _session;
    private OrtPreparedRun? _ort;

    public static IEnumerable<string> ModelNames => (Environment.GetEnvironmentVariable("MODELGEN_BENCH_MODELS") is { Length: > 0 } only
        ? only.Split(',') : BenchModels.All.Select(m => m.Name));

    [ParamsSource(nameof(ModelNames))]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        BenchModel m = BenchModels.Find(Model);
        _model = m.Create();
        float[][] data = m.RandomInputs(_model.Inputs);
        _inputs = data.Select(d => (ReadOnlyMemory<float>)d).ToArray();
        _outputs = _model.Outputs.Select(o => (Memory<float>)new float[o.ElementCount]).ToArray();
        (_session, _ort) = m.OpenOrt(_model.Inputs, data);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _model?.Dispose();
        _ort?.Dispose();
        _session?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "ONNX Runtime")]
    public void OnnxRuntime() => _ort!.Run();

    [Benchmark(Description = "ModelGen")]
    public void ModelGen() => _model!.Run(_inputs, _outputs);
}
