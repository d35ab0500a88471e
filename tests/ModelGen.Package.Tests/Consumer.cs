// Licensed under the MIT license.
// A throwaway project that uses the packed ModelGen the way a user's project would: a PackageReference, .onnx files as
// AdditionalFiles with ModelGen metadata, and a Program that calls the generated class.

using System.Globalization;
using System.Text.RegularExpressions;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Package.Tests;

public sealed partial class Consumer
{
    public static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(1);

    /// <summary>The tolerance of the ONNX backend tests: |a - r| &lt;= 1e-4 + 1e-4 * |r|.</summary>
    public static readonly Tolerance ReferenceTolerance = new(1e-4, 1e-4);

    private readonly PackageFixture _package;

    /// <summary>Creates the empty folder <c>consumers/&lt;name&gt;</c> under the package fixture's temp folder.</summary>
    public Consumer(PackageFixture package, string name)
    {
        _package = package;
        Directory = System.IO.Directory.CreateDirectory(Path.Combine(package.Root, "consumers", name)).FullName;
    }

    public string Directory { get; }

    /// <summary>Writes a file (relative path) into the project folder and returns its full path.</summary>
    public string Write(string relativePath, string text) => Write(relativePath, System.Text.Encoding.UTF8.GetBytes(text));

    public string Write(string relativePath, byte[] bytes)
    {
        string path = Path.Combine(Directory, relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Runs <c>dotnet</c> in the project folder, restoring into the fixture's private packages folder.</summary>
    public ProcessResult Dotnet(TimeSpan timeout, params string[] arguments) =>
        _package.Dotnet(Directory, timeout, isolatedPackages: true, arguments);

    /// <summary><c>dotnet build -c Release</c> with the classic console logger, so every diagnostic is a line of its own.</summary>
    public ProcessResult Build(params string[] extraArguments) =>
        Dotnet(BuildTimeout, ["build", "-c", "Release", "-tl:off", .. extraArguments]);

    /// <summary>An executable project referencing the packed ModelGen.</summary>
    public static string ProjectXml(string version, string targetFramework, string items, string properties = "", string outputType = "Exe") => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>{outputType}</OutputType>
            <TargetFramework>{targetFramework}</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>{properties}
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="ModelGen" Version="{version}" />
            {items}
          </ItemGroup>
        </Project>
        """;

    /// <summary>A Program that runs mnist-8 compiled as <paramref name="className"/> on the raw float32 file given as
    /// args[0] and prints each output element as "out &lt;value&gt;" (round-trip format).</summary>
    public static string MnistProgram(string className) => $$"""
        using System.Globalization;
        using System.Runtime.InteropServices;
        using System.Runtime.Intrinsics;

        float[] input = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(args[0])).ToArray();
        if (input.Length != {{className}}.Input3ElementCount)
        {
            throw new InvalidDataException($"{args[0]} holds {input.Length} floats, the model takes {{{className}}.Input3ElementCount}");
        }
        var output = new float[{{className}}.Plus214Output0ElementCount];
        using (var model = new {{className}}())
        {
            model.Run(input, output);
        }
        Console.WriteLine($"isa Vector256={Vector256.IsHardwareAccelerated} Vector512={Vector512.IsHardwareAccelerated}");
        foreach (float value in output) Console.WriteLine("out " + value.ToString("R", CultureInfo.InvariantCulture));
        """;

    /// <summary>The "out &lt;value&gt;" lines a <see cref="MnistProgram"/> printed.</summary>
    public static float[] ParseOutputs(ProcessResult run) =>
        run.Output.Split('\n')
            .Select(l => l.TrimEnd('\r'))
            .Where(l => l.StartsWith("out ", StringComparison.Ordinal))
            .Select(l => float.Parse(l.AsSpan(4), NumberStyles.Float, CultureInfo.InvariantCulture))
            .ToArray();

    /// <summary>Asserts that the program printed exactly the mnist-8 reference output, within the reference tolerance.</summary>
    public static void AssertMatchesReference(ProcessResult run, float[] expected, float[]? onnxRuntime = null)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        float[] actual = ParseOutputs(run);
        string? error = ReferenceTolerance.Compare(actual, expected, "mnist-8 test_data_set_0 output_0");
        Assert.True(error is null, error + "\n" + run);
        if (onnxRuntime is null) return;
        // Against ONNX Runtime on the same input, at the shared-model tolerance (SharedModelTests: mnist 1e-4/1e-4).
        error = new Tolerance(1e-4, 1e-4).Compare(actual, onnxRuntime, "mnist-8 output_0 vs ONNX Runtime");
        Assert.True(error is null, error + "\n" + run);
    }

    /// <summary>Asserts a build has no ModelGen diagnostic of at least warning level and no sign of a generator that did
    /// not load or crashed (CS8784/CS8785 generator failures, CS9057 analyzer built for a newer compiler).</summary>
    public static void AssertNoGeneratorProblems(ProcessResult build)
    {
        string[] problems = BuildProblem().Matches(build.Output).Select(m => m.Value).Distinct().ToArray();
        Assert.True(problems.Length == 0, $"The build reported {string.Join(", ", problems)}:\n{build}");
    }

    /// <summary>The diagnostic lines of the build output with the given code, e.g. "warning MG0100".</summary>
    public static string[] DiagnosticLines(ProcessResult build, string severityAndCode) =>
        build.Output.Split('\n').Where(l => l.Contains(": " + severityAndCode + ":", StringComparison.Ordinal)).Select(l => l.Trim()).ToArray();

    [GeneratedRegex(@"\b(warning|error) (MG\d{4}|CS8784|CS8785|CS9057)\b")]
    private static partial Regex BuildProblem();
}
