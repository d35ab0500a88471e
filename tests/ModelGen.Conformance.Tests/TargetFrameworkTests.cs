// Licensed under the MIT license.
// Users build for net8.0 and net9.0 (NativeAOT needs them): the generated code may only use APIs those frameworks
// have. Compiles what the generator emits for models that exercise every kernel family against the .NET 8 and .NET 9
// reference assemblies (the test project itself runs on .NET 10, whose wider API would hide such a mistake).

using Microsoft.CodeAnalysis;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed class TargetFrameworkTests
{
    public static TheoryData<string, int> Models => new()
    {
        { "yolox-nano.onnx", 8 }, { "yolox-nano.onnx", 9 },
        { "tv-efficientnet_b0.onnx", 8 },
        { "fns-candy.onnx", 8 },
        { "ultraface-rfb-320.onnx", 8 },
        { "squeezenet1.1.onnx", 8 },
        { "micro-kws-m-fp32.onnx", 8 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Generated_code_compiles_for_older_frameworks(string file, int major)
    {
        GeneratorRun run = GeneratorHarness.Run(Paths.SharedModel(file));
        var errors = run.CompileFor(major);
        Assert.True(errors.IsEmpty, $"{file} for .NET {major}:\n" + string.Join("\n", errors.Take(10)));
    }

    [Fact]
    public void Kernel_edge_cases_compile_for_net8()
    {
        // The synthetic models of KernelShapeTests (row mode with residual, masked tails, grouped, pointwise...).
        var models = KernelShapeTests.Convolutions.Select(row => ((Xunit.ITheoryDataRow)row).GetData()).Select(d => (Name: (string)d[0]!, Builder: KernelShapeTests.ConvolutionModel(
                (string)d[0]!, (int)d[1]!, (int)d[2]!, (int)d[3]!, (int)d[4]!, (int)d[5]!, (int)d[6]!, (int)d[7]!, (int)d[8]!, (int)d[9]!, (bool)d[10]!, (string)d[11]!)))
            .Append(("concat-in-place", KernelShapeTests.ConcatModel()));
        foreach ((string name, OnnxBuilder builder) in models)
        {
            string path = builder.Save(Path.Combine(Path.GetTempPath(), "modelgen-compat-tests", name + ".onnx"));
            var errors = GeneratorHarness.Run(path).CompileFor(8);
            Assert.True(errors.IsEmpty, $"{name} for .NET 8:\n" + string.Join("\n", errors.Take(10)));
        }
    }
}
