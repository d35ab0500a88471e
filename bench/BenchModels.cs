// Licensed under the MIT license.
// The benchmarked models: the generated classes (compiled from ../shared/models by this project's build) and where
// their .onnx files are, for ONNX Runtime.

using ModelGen.Runtime;

namespace ModelGen.Bench;

public sealed record BenchModel(string Name, string File, Func<ICompiledModel> Create, float InputLow = -1f, float InputHigh = 1f)
{
    public string Path => System.IO.Path.Combine(TestSupport.Paths.SharedModels, File);

    public override string ToString() => Name;
}

public static class BenchModels
{
    public static readonly BenchModel[] All =
    {
        new("mnist-8", "mnist-8.onnx", () => new Mnist8(), 0f, 255f),
        new("squeezenet1.1", "squeezenet1.1.onnx", () => new Squeezenet11()),
        new("tv-mobilenet_v2", "tv-mobilenet_v2.onnx", () => new MobilenetV2()),
        new("tv-resnet18", "tv-resnet18.onnx", () => new Resnet18()),
        new("tv-shufflenet_v2_x1_0", "tv-shufflenet_v2_x1_0.onnx", () => new ShufflenetV2()),
        new("tv-efficientnet_b0", "tv-efficientnet_b0.onnx", () => new EfficientnetB0()),
        new("ultraface-rfb-320", "ultraface-rfb-320.onnx", () => new Ultraface320()),
        new("yolox-nano", "yolox-nano.onnx", () => new YoloxNano(), 0f, 255f),
        new("micro-kws-m-fp32", "micro-kws-m-fp32.onnx", () => new MicroKws()),
    };

    public static BenchModel Find(string name) =>
        All.FirstOrDefault(m => m.Name == name) ?? throw new ArgumentException($"Unknown model '{name}'; known: {string.Join(", ", All.Select(m => m.Name))}");
}
