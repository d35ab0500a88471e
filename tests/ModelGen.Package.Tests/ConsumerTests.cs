// Licensed under the MIT license.
// Projects that use the packed ModelGen from a folder feed, built and run with the dotnet CLI: the generated class
// computes the reference outputs and ONNX Runtime's outputs for the same input, and model problems surface as build
// diagnostics on the .onnx file.

using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Package.Tests;

public sealed class ConsumerTests(PackageFixture package)
{
    private const string MnistItem =
        """<AdditionalFiles Include="models/mnist-8.onnx" ModelGenClass="Digits" ModelGenNamespace="Consumer.Models" />""";

    [Fact]
    public void A_console_app_builds_without_generator_diagnostics_and_computes_the_mnist_reference_outputs()
    {
        var app = new Consumer(package, "mnist-app");
        app.Write("models/mnist-8.onnx", File.ReadAllBytes(Paths.SharedModel("mnist-8.onnx")));
        app.Write("MnistApp.csproj", Consumer.ProjectXml(package.Version, "net10.0", MnistItem));
        app.Write("Program.cs", "using Consumer.Models;\n" + Consumer.MnistProgram("Digits"));

        // Build and run separately: `dotnet run` hides most of the build log, and the log is what is checked here.
        ProcessResult build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Consumer.AssertNoGeneratorProblems(build);

        ProcessResult run = app.Dotnet(Consumer.RunTimeout, "run", "-c", "Release", "--no-build", "--", package.MnistInputFile);
        Consumer.AssertMatchesReference(run, package.MnistExpected, package.MnistOrt);
    }

    [Fact]
    public void A_model_with_an_unsupported_operator_builds_with_warning_MG0100_on_the_model_file()
    {
        // A library for net8.0, so this also compiles against the package's lib/net8.0.
        var app = new Consumer(package, "unsupported-op");
        string model = app.Write("models/trilu.onnx", TinyOnnx.SingleNode("Trilu", [1, 4], opset: 14));
        app.Write("UnsupportedOp.csproj", Consumer.ProjectXml(package.Version, "net8.0",
            """<AdditionalFiles Include="models/trilu.onnx" ModelGenClass="TriluModel" />""", outputType: "Library"));
        // The class is still generated (its Run throws NotSupportedException), so code using it compiles.
        app.Write("Uses.cs", "namespace UnsupportedOp; public static class Uses { public static int Inputs => TriluModel.XElementCount; }");

        ProcessResult build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        string[] warnings = Consumer.DiagnosticLines(build, "warning MG0100");
        Assert.True(warnings.Length > 0, "No warning MG0100:\n" + build);
        Assert.All(warnings, w => Assert.True(w.StartsWith(model + "(", StringComparison.Ordinal) && w.Contains("Trilu", StringComparison.Ordinal),
            $"MG0100 should point at {model} and name the operator: {w}"));
    }

    [Fact]
    public void A_truncated_model_fails_the_build_with_error_MG0001_on_the_model_file()
    {
        var app = new Consumer(package, "truncated");
        byte[] mnist = File.ReadAllBytes(Paths.SharedModel("mnist-8.onnx"));
        string model = app.Write("models/truncated.onnx", mnist[..(mnist.Length / 2)]);
        app.Write("Truncated.csproj", Consumer.ProjectXml(package.Version, "net10.0",
            """<AdditionalFiles Include="models/truncated.onnx" />""", outputType: "Library"));

        ProcessResult build = app.Build();
        Assert.True(build.ExitCode != 0, "The build should have failed:\n" + build);
        string[] errors = Consumer.DiagnosticLines(build, "error MG0001");
        Assert.True(errors.Length > 0, "No error MG0001:\n" + build);
        Assert.All(errors, e => Assert.True(e.StartsWith(model + "(", StringComparison.Ordinal), $"MG0001 should point at {model}: {e}"));
    }

    [Fact]
    public void An_app_that_gets_ModelGen_through_a_project_reference_compiles_and_runs_its_own_model()
    {
        // The package's analyzer reaches projects that reference a project using ModelGen; buildTransitive/ brings the
        // props and targets along, without which the app's .onnx item would compile without its resource and
        // metadata (CS0227 on the unsafe code, class named after the file).
        var lib = new Consumer(package, "transitive-lib");
        lib.Write("Lib.csproj", Consumer.ProjectXml(package.Version, "net10.0", "", outputType: "Library"));
        lib.Write("Marker.cs", "namespace Lib; public static class Marker { }");

        var app = new Consumer(package, "transitive-app");
        app.Write("models/mnist-8.onnx", File.ReadAllBytes(Paths.SharedModel("mnist-8.onnx")));
        app.Write("App.csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{Path.Combine(lib.Directory, "Lib.csproj")}" />
                {MnistItem}
              </ItemGroup>
            </Project>
            """);
        app.Write("Program.cs", "using Consumer.Models;\n" + Consumer.MnistProgram("Digits"));

        ProcessResult build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Consumer.AssertNoGeneratorProblems(build);

        ProcessResult run = app.Dotnet(Consumer.RunTimeout, "run", "-c", "Release", "--no-build", "--", package.MnistInputFile);
        Consumer.AssertMatchesReference(run, package.MnistExpected, package.MnistOrt);
    }
}
