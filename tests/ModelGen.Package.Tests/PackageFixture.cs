// Licensed under the MIT license.
// Packs the solution once per test run into a private folder feed, under a prerelease version no NuGet cache has seen,
// and hands out the temporary folder the consumer projects live in.

using System.Globalization;
using System.Runtime.InteropServices;
using ModelGen.Package.Tests;
using ModelGen.TestSupport;
using Xunit;

[assembly: AssemblyFixture(typeof(PackageFixture))]

namespace ModelGen.Package.Tests;

/// <summary>The packed ModelGen package and the temporary folder (outside the repository) its consumers are made in.</summary>
/// <remarks>
/// Layout of <see cref="Root"/>: <c>feed/</c> (the folder feed: exactly what <c>dotnet pack</c> wrote), <c>artifacts/</c>
/// (the pack's bin and obj, so the repository's own outputs are left alone), <c>packages/</c> (NUGET_PACKAGES of every
/// consumer restore), <c>consumers/&lt;name&gt;/</c>, plus a nuget.config and empty Directory.Build.props|targets that
/// stop NuGet's and MSBuild's upward search. Set MODELGEN_KEEP_PACKAGE_TEST_FILES=1 to keep the folder for a look.
/// </remarks>
public sealed class PackageFixture : IDisposable
{
    public static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(5);

    public PackageFixture()
    {
        // Unique per run, so neither the global packages folder nor the HTTP cache can serve an older build of it.
        Version = "0.1.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        Root = Directory.CreateTempSubdirectory("modelgen-package-tests-").FullName;
        Feed = Directory.CreateDirectory(Path.Combine(Root, "feed")).FullName;
        Artifacts = Path.Combine(Root, "artifacts");
        Packages = Directory.CreateDirectory(Path.Combine(Root, "packages")).FullName;
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "nuget.config"), NuGetConfig());

        try
        {
            // Exactly what `dotnet pack -c Release` at the repository root does, with bin/obj redirected into Root.
            PackResult = Dotnet(Paths.RepoRoot, PackTimeout, isolatedPackages: false,
                "pack", Path.Combine(Paths.RepoRoot, "ModelGen.sln"), "-c", "Release", "-o", Feed, "--artifacts-path", Artifacts,
                "-p:Version=" + Version, "-tl:off");
            if (PackResult.ExitCode != 0) throw new InvalidOperationException("Packing ModelGen failed: " + PackResult);
            PackagePath = Path.Combine(Feed, $"ModelGen.{Version}.nupkg");

            // The mnist-8 reference set; the consumers read the input as raw little-endian float32.
            var (inputs, outputs) = OnnxTestData.ReadSet(Path.Combine(Paths.SharedModels, "mnist-8", "test_data_set_0"));
            MnistInputFile = Path.Combine(Root, "mnist-8.input_0.f32");
            File.WriteAllBytes(MnistInputFile, MemoryMarshal.AsBytes(inputs[0].Floats!.AsSpan()).ToArray());
            MnistExpected = outputs[0].Floats!;
            // ONNX Runtime on the same input: what the consumers' outputs are also compared with.
            MnistOrt = OrtComparison.RunOrt(Paths.SharedModel("mnist-8.onnx"),
                new[] { new ModelGen.Runtime.TensorInfo("Input3", new[] { 1, 1, 28, 28 }, typeof(float)) }, new[] { inputs[0].Floats! })[0];
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The package version: 0.1.0-test.&lt;UTC timestamp&gt;.</summary>
    public string Version { get; }

    /// <summary>The temporary folder everything lives in (see the remarks).</summary>
    public string Root { get; }

    /// <summary>The folder feed <c>dotnet pack</c> wrote to.</summary>
    public string Feed { get; }

    /// <summary>The pack's <c>--artifacts-path</c>.</summary>
    public string Artifacts { get; }

    /// <summary>NUGET_PACKAGES of the consumers: starts empty, so ModelGen is always extracted from <see cref="Feed"/>.</summary>
    public string Packages { get; }

    /// <summary>The <c>dotnet pack</c> run.</summary>
    public ProcessResult PackResult { get; }

    /// <summary>Where ModelGen.&lt;Version&gt;.nupkg should be.</summary>
    public string PackagePath { get; }

    /// <summary>mnist-8 test_data_set_0 input_0 as raw float32.</summary>
    public string MnistInputFile { get; }

    /// <summary>mnist-8 test_data_set_0 output_0.</summary>
    public float[] MnistExpected { get; }

    /// <summary>ONNX Runtime's output for the same input.</summary>
    public float[] MnistOrt { get; }

    /// <summary>Runs <c>dotnet</c> in <paramref name="workingDirectory"/>; consumers restore into <see cref="Packages"/>.</summary>
    public ProcessResult Dotnet(string workingDirectory, TimeSpan timeout, bool isolatedPackages, params string[] arguments) =>
        ChildProcess.Run("dotnet", arguments, workingDirectory, timeout,
            isolatedPackages ? new Dictionary<string, string> { ["NUGET_PACKAGES"] = Packages } : null);

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("MODELGEN_KEEP_PACKAGE_TEST_FILES") == "1") return;
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A straggling process still writing there; the OS cleans the temp folder eventually.
        }
    }

    private string NuGetConfig()
    {
        // The local feed plus the normal source. The user's global packages folder is a read-only fallback, so targeting
        // and ILCompiler packs already on the machine are not fetched again; ModelGen's fresh version is never in it.
        string global = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string fallback = Directory.Exists(global)
            ? $"""
                <fallbackPackageFolders>
                  <add key="global-packages" value="{global}" />
                </fallbackPackageFolders>
              """
            : "";
        return $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="modelgen-test-feed" value="{Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            {fallback}
            </configuration>
            """;
    }
}
