// Licensed under the MIT license.
// The packed ModelGen in a NativeAOT app: net9.0 (NativeAOT works for net8.0/net9.0 here, not net10.0), AVX2 code
// generation (x86-x64-v3), published for linux-x64 and run as a native executable. Only the net10 runtime is installed,
// so a net9.0 app can run here only this way: the native executable carries its own runtime.

using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Package.Tests;

public sealed class NativeAotTests(PackageFixture package, ITestOutputHelper output)
{
    /// <summary>A cold publish took 15-25 s here; the first one on a machine also fetches the ILCompiler packs (~100 MB).</summary>
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public void A_net9_NativeAOT_executable_computes_the_mnist_reference_outputs()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64,
            "The NativeAOT check publishes for linux-x64.");

        var app = new Consumer(package, "aot-app");
        app.Write("models/mnist-8.onnx", File.ReadAllBytes(Paths.SharedModel("mnist-8.onnx")));
        // In the project file, where users put it (as a -p: global property it would also reach any netstandard2.0
        // ProjectReference and fail with NETSDK1207).
        app.Write("AotApp.csproj", Consumer.ProjectXml(package.Version, "net9.0",
            """<AdditionalFiles Include="models/mnist-8.onnx" ModelGenClass="Digits" ModelGenNamespace="Consumer.Models" />""",
            properties: """

                <PublishAot>true</PublishAot>
                <IlcInstructionSet>x86-x64-v3</IlcInstructionSet>
                <InvariantGlobalization>true</InvariantGlobalization>
            """));
        app.Write("Program.cs", "using Consumer.Models;\n" + Consumer.MnistProgram("Digits"));

        ProcessResult publish = app.Dotnet(PublishTimeout, "publish", "-c", "Release", "-r", "linux-x64", "-tl:off");
        Assert.True(publish.ExitCode == 0, publish.ToString());
        Consumer.AssertNoGeneratorProblems(publish);
        // The runtime is IsAotCompatible and the generated code must stay so: no trimming or AOT analysis warnings.
        string[] aotWarnings = publish.Output.Split('\n').Where(l => l.Contains(": warning IL", StringComparison.Ordinal)).ToArray();
        Assert.True(aotWarnings.Length == 0, "Trim/AOT warnings:\n" + string.Join("\n", aotWarnings) + "\n" + publish);

        string executable = Path.Combine(app.Directory, "bin", "Release", "net9.0", "linux-x64", "publish", "AotApp");
        Assert.True(File.Exists(executable), $"No native executable at {executable}:\n{publish}");
        ProcessResult run = ChildProcess.Run(executable, [package.MnistInputFile], app.Directory, Consumer.RunTimeout);
        Consumer.AssertMatchesReference(run, package.MnistExpected, package.MnistOrt);
        // x86-x64-v3 took effect: without IlcInstructionSet the AOT code has no AVX2 and runs the scalar paths.
        if (Avx2.IsSupported) Assert.Contains("isa Vector256=True", run.Output);

        output.WriteLine($"publish: {publish.Elapsed.TotalSeconds:F1} s; native executable: {new FileInfo(executable).Length:N0} bytes; " +
            $"run: {run.Elapsed.TotalMilliseconds:F0} ms; {run.Output.Split('\n').FirstOrDefault(l => l.StartsWith("isa ", StringComparison.Ordinal))?.Trim()}");
    }
}
