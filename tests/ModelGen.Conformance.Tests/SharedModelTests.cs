// Licensed under the MIT license.
// The shared models compiled by ModelGen, compared element-wise with ONNX Runtime on seeded random inputs and with the
// reference sets shipped beside mnist-8 and squeezenet1.1.
//
// Tolerances: |a - r| <= atol + rtol * |r|. Both sides compute in float32 but sum in different orders (ModelGen's GEMM
// tiles accumulate K in one FMA chain per output; ORT/MLAS blocks K differently and may use Winograd-free direct
// kernels), so each output carries a rounding difference of a few ulps times sqrt(depth of the reduction chain).
// 1e-4 relative holds for the logits of these networks; atol absorbs outputs near zero. Per-model values below.

using Microsoft.CodeAnalysis;
using ModelGen.Runtime;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed class SharedModelTests
{
    public static TheoryData<string, string, double, double, float, float> Models => new()
    {
        // model file, generated class, atol, rtol, input range
        { "mnist-8.onnx", "Mnist8", 1e-4, 1e-4, -1f, 1f },
        { "squeezenet1.1.onnx", "Squeezenet11", 1e-5, 1e-4, -1f, 1f },
        { "tv-resnet18.onnx", "TvResnet18", 1e-4, 1e-4, -1f, 1f },
        { "tv-mobilenet_v2.onnx", "TvMobilenetV2", 1e-4, 1e-4, -1f, 1f },
        { "micro-kws-m-fp32.onnx", "MicroKwsMFp32", 1e-5, 1e-4, -1f, 1f },
        { "tv-efficientnet_b0.onnx", "TvEfficientnetB0", 1e-4, 1e-4, -1f, 1f },
        { "tv-shufflenet_v2_x1_0.onnx", "TvShufflenetV2X10", 1e-4, 1e-4, -1f, 1f },
        { "ultraface-rfb-320.onnx", "UltrafaceRfb320", 1e-4, 1e-4, -1f, 1f },
        { "ultraface-rfb-640.onnx", "UltrafaceRfb640", 1e-4, 1e-4, -1f, 1f },
        // YOLOX takes raw 0..255 pixels; on [-1, 1] inputs a handful of box outputs (10 of 301,665) drift up to 7e-4 through
        // 110 chained SiLUs, where ONNX Runtime uses an approximate vectorised logistic.
        { "yolox-nano.onnx", "YoloxNano", 1e-4, 1e-4, 0f, 255f },
        // Style transfer on 0..255 pixels (its ImageScaler subtracts the ImageNet means). InstanceNormalization of
        // near-constant planes (inputs in [-1, 1]) amplifies float rounding in ONNX Runtime's statistics (ModelGen uses
        // double), so the realistic input range is the meaningful comparison; outputs are pixels scaled by 150. Measured
        // max |a - r| over seeds 1000 and 2000: 0.0027-0.0032 with every 3x3 convolution direct (ModelGenWinograd=Off),
        // 0.0024-0.0033 with F(2x2,3x3), 0.0043-0.0056 with the default F(4x4,3x3) in its ten 64-channel residual layers
        // (each feeding an InstanceNormalization): atol 1e-2, 4e-5 of the 0..255 range.
        { "fns-candy.onnx", "FnsCandy", 1e-2, 1e-4, 0f, 255f },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Matches_onnx_runtime_on_random_inputs(string file, string className, double atol, double rtol, float lo, float hi)
    {
        string path = Paths.SharedModel(file);
        GeneratorRun run = GeneratorHarness.Run(path);
        Assert.Empty(run.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
        using LoadedAssembly asm = run.Load();
        using ICompiledModel model = asm.Create("TestApp." + className);
        using ICompiledModel parallel = asm.Create("TestApp." + className, degreeOfParallelism: 2);
        for (int seed = 1; seed <= 2; seed++)
        {
            string? error = OrtComparison.Compare(path, model, new Tolerance(atol, rtol), seed * 1000, lo, hi);
            Assert.True(error is null, error);
            // Two workers split tiles and planes, never a reduction: the results are bit-identical to one thread.
            float[][] inputs = model.Inputs.Select((t, i) => OrtComparison.RandomInput(t.ElementCount, seed * 1000 + i, lo, hi)).ToArray();
            float[][] serial = OrtComparison.RunCompiled(model, inputs), split = OrtComparison.RunCompiled(parallel, inputs);
            for (int o = 0; o < serial.Length; o++) Assert.True(serial[o].AsSpan().SequenceEqual(split[o]), $"{file}: output {o} differs between 1 and 2 threads");
        }
    }

    [Fact]
    public void The_quantized_model_reports_every_quantized_node_and_still_builds()
    {
        // micro-kws-m-qoperator belongs to a later issue: today one MG0100 warning per quantized node (all of them in
        // one build), a class that compiles, and a Run that throws NotSupportedException naming the nodes.
        GeneratorRun run = GeneratorHarness.Run(Paths.SharedModel("micro-kws-m-qoperator.onnx"));
        Assert.NotEmpty(run.Diagnostics);
        Assert.All(run.Diagnostics, d => Assert.Equal(("MG0100", DiagnosticSeverity.Warning), (d.Id, d.Severity)));
        var ops = run.Diagnostics.Select(d => System.Text.RegularExpressions.Regex.Match(d.GetMessage(), "uses operator (\\w+)").Groups[1].Value).ToList();
        Assert.All(ops, op => Assert.Matches("^(QLinear\\w+|QuantizeLinear|DequantizeLinear)$", op));
        Assert.Superset(new HashSet<string> { "QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearAveragePool", "QLinearSoftmax", "QuantizeLinear", "DequantizeLinear" }, ops.ToHashSet());
        var nodes = run.Diagnostics.Select(d => System.Text.RegularExpressions.Regex.Match(d.GetMessage(), "^Node '([^']+)'").Groups[1].Value).ToList();
        Assert.Equal(nodes.Count, nodes.Distinct().Count());
        using LoadedAssembly asm = run.Load();
        using ICompiledModel model = asm.Create("TestApp.MicroKwsMQoperator");
        var e = Assert.Throws<NotSupportedException>(() => model.Run(
            model.Inputs.Select(t => (ReadOnlyMemory<byte>)new byte[t.ByteCount]).ToArray(), model.Outputs.Select(t => (Memory<byte>)new byte[t.ByteCount]).ToArray()));
        Assert.All(nodes, n => Assert.Contains(n, e.Message));
    }

    [Theory]
    [InlineData("mnist-8", "Mnist8", 3)]
    [InlineData("squeezenet1.1", "Squeezenet11", 1)]
    public void Matches_the_shipped_reference_sets(string name, string className, int sets)
    {
        GeneratorRun run = GeneratorHarness.Run(Paths.SharedModel(name + ".onnx"));
        using LoadedAssembly asm = run.Load();
        using ICompiledModel model = asm.Create("TestApp." + className);
        for (int set = 0; set < sets; set++)
        {
            var (inputs, outputs) = OnnxTestData.ReadSet(Path.Combine(Paths.SharedModels, name, $"test_data_set_{set}"));
            Assert.Equal(model.Inputs.Count, inputs.Count);
            // Bound by position: the squeezenet .pb files name their tensors differently from the model.
            float[][] actual = OrtComparison.RunCompiled(model, inputs.Select(i => i.Floats!).ToList());
            for (int o = 0; o < outputs.Count; o++)
            {
                // The sets were produced by other runtimes (squeezenet: an fp16 original); ONNX's own backend tests use
                // rtol 1e-3 for squeezenet; ONNX Runtime itself differs from this file by up to 1.3e-4 absolute, hence atol 1e-4.
                var tolerance = name == "squeezenet1.1" ? new Tolerance(1e-4, 1e-3) : new Tolerance(1e-4, 1e-4);
                string? error = tolerance.Compare(actual[o], outputs[o].Floats!, $"{name} set {set} output {o}");
                Assert.True(error is null, error);
            }
        }
    }
}
