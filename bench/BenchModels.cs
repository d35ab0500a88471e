// Licensed under the MIT license.
// The benchmarked models: the generated classes (compiled from ../shared/models by this project's build) and where
// their .onnx files are, for ONNX Runtime.

using ModelGen.Runtime;

namespace ModelGen.Bench;

public sealed record BenchModel(string Name, string File, Func<int, ICompiledModel> CreateWith, float InputLow = -1f, float InputHigh = 1f)
{
    /// <summary>An instance with the given degree of parallelism (default one thread).</summary>
    public ICompiledModel Create(int degreeOfParallelism = 1) => CreateWith(degreeOfParallelism);

    public string Path => System.IO.Path.Combine(TestSupport.Paths.SharedModels, File);

    /// <summary>The benchmark input of every graph input (seeds 42, 43, ... in this model's input range).</summary>
    public float[][] RandomInputs(IReadOnlyList<TensorInfo> inputs) =>
        inputs.Select((t, i) => TestSupport.OrtComparison.RandomInput(t.ElementCount, 42 + i, InputLow, InputHigh)).ToArray();

    /// <summary>An ONNX Runtime session on this model (one intra-op thread) with <paramref name="data"/> pre-bound; dispose both.</summary>
    public (OnnxRuntime.OrtSession Session, OnnxRuntime.OrtPreparedRun Run) OpenOrt(IReadOnlyList<TensorInfo> inputs, float[][] data, string? profileFilePrefix = null)
    {
        if (!OnnxRuntime.OrtLibrary.TryLoad(out string? error)) throw new InvalidOperationException(error);
        var session = new OnnxRuntime.OrtSession(Path, new OnnxRuntime.OrtSessionOptions { IntraOpThreads = 1, InterOpThreads = 1, ProfileFilePrefix = profileFilePrefix });
        return (session, session.Prepare(inputs.Select((t, i) => OnnxRuntime.OrtTensor.Float(t.Name, data[i], t.Shape.Select(d => (long)d).ToArray())).ToList()));
    }

    public override string ToString() => Name;
}

public static class BenchModels
{
    public static readonly BenchModel[] All =
    {
        new("mnist-8", "mnist-8.onnx", dop => new Mnist8(dop), 0f, 255f),
        new("squeezenet1.1", "squeezenet1.1.onnx", dop => new Squeezenet11(dop)),
        new("tv-mobilenet_v2", "tv-mobilenet_v2.onnx", dop => new MobilenetV2(dop)),
        new("tv-resnet18", "tv-resnet18.onnx", dop => new Resnet18(dop)),
        new("tv-shufflenet_v2_x1_0", "tv-shufflenet_v2_x1_0.onnx", dop => new ShufflenetV2(dop)),
        new("tv-efficientnet_b0", "tv-efficientnet_b0.onnx", dop => new EfficientnetB0(dop)),
        new("ultraface-rfb-320", "ultraface-rfb-320.onnx", dop => new Ultraface320(dop)),
        new("yolox-nano", "yolox-nano.onnx", dop => new YoloxNano(dop), 0f, 255f),
        new("micro-kws-m-fp32", "micro-kws-m-fp32.onnx", dop => new MicroKws(dop)),
        new("ultraface-rfb-640", "ultraface-rfb-640.onnx", dop => new Ultraface640(dop)),
        new("fns-candy", "fns-candy.onnx", dop => new FnsCandy(dop), 0f, 255f),
    };

    /// <summary>The models the performance issue lists (its targets are over these; the others are extra coverage).</summary>
    public static readonly IReadOnlyList<string> Listed = new[]
    {
        "mnist-8", "squeezenet1.1", "tv-mobilenet_v2", "tv-resnet18", "tv-shufflenet_v2_x1_0", "tv-efficientnet_b0", "ultraface-rfb-320", "yolox-nano",
    };

    public static BenchModel Find(string name) =>
        All.FirstOrDefault(m => m.Name == name) ?? throw new ArgumentException($"Unknown model '{name}'; known: {string.Join(", ", All.Select(m => m.Name))}");
}
