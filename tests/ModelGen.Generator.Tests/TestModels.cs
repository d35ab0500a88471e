// Licensed under the MIT license.
// Helpers shared by the generator tests: scratch files (one fresh folder per model, so file names and therefore class
// names are chosen by the test) and diagnostic assertions.

using System.Globalization;
using Microsoft.CodeAnalysis;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Generator.Tests;

internal static class Scratch
{
    private static readonly string s_root = Path.Combine(Path.GetTempPath(), "modelgen-generator-tests",
        Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
    private static int s_counter;

    static Scratch()
    {
        // Best effort: remove this run's files when the test process ends.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(s_root, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        };
    }

    /// <summary>A new empty folder under the per-process scratch root.</summary>
    public static string NewFolder()
    {
        string dir = Path.Combine(s_root, Interlocked.Increment(ref s_counter).ToString("D5", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Writes <paramref name="bytes"/> as <paramref name="fileName"/> in a fresh folder; returns the full path.</summary>
    public static string Write(string fileName, byte[] bytes)
    {
        string path = Path.Combine(NewFolder(), fileName);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public static string Write(string fileName, OnnxBuilder model) => Write(fileName, model.ToBytes());
}

internal static class Expect
{
    /// <summary>Metadata dictionary from "key=value" pairs.</summary>
    public static IReadOnlyDictionary<string, string> Meta(params (string Key, string Value)[] items) =>
        items.ToDictionary(i => i.Key, i => i.Value);

    public static string Dump(IEnumerable<Diagnostic> diagnostics) =>
        string.Join("\n", diagnostics.Select(d => d.ToString()));

    /// <summary>
    /// Asserts that exactly one <paramref name="id"/> diagnostic was reported, with the given severity, located in the
    /// model file, with the help link of its docs section; returns it.
    /// </summary>
    public static Diagnostic One(GeneratorRun run, string id, DiagnosticSeverity severity, string modelPath)
    {
        var matches = run.Diagnostics.Where(d => d.Id == id).ToList();
        Assert.True(matches.Count == 1, $"expected one {id}, got {matches.Count}:\n{Dump(run.Diagnostics)}");
        Diagnostic d = matches[0];
        AssertShape(d, id, severity, modelPath);
        return d;
    }

    /// <summary>Severity, location (the model file), help link, and a formatted message with no unfilled placeholder.</summary>
    public static void AssertShape(Diagnostic d, string id, DiagnosticSeverity severity, string modelPath)
    {
        Assert.Equal(id, d.Id);
        Assert.Equal(severity, d.Severity);
        Assert.Equal(severity, d.DefaultSeverity);
        Assert.True(d.Location.Kind == LocationKind.ExternalFile, $"{id} location kind {d.Location.Kind}");
        Assert.Equal(modelPath, d.Location.GetLineSpan().Path);
        Assert.Equal("https://github.com/modelgen/modelgen/blob/main/docs/diagnostics.md#" + id.ToLowerInvariant(), d.Descriptor.HelpLinkUri);
        string message = d.GetMessage(CultureInfo.InvariantCulture);
        Assert.DoesNotMatch(@"\{\d\}", message);
    }

    /// <summary>The IDs reported, sorted (to assert nothing else was reported).</summary>
    public static string[] Ids(GeneratorRun run) => run.Diagnostics.Select(d => d.Id).OrderBy(i => i, StringComparer.Ordinal).ToArray();

    public static string Message(Diagnostic d) => d.GetMessage(CultureInfo.InvariantCulture);

    /// <summary>No source generated (the model failed).</summary>
    public static void NoSource(GeneratorRun run) =>
        Assert.True(run.Sources.Count == 0, "expected no generated source, got: " + string.Join(", ", run.Sources.Select(s => s.HintName)));
}

/// <summary>Small models built in memory.</summary>
internal static class Models
{
    /// <summary>x [1,4] -> Relu -> y: the smallest model ModelGen compiles.</summary>
    public static OnnxBuilder Relu(params object[] inputDims)
    {
        var b = new OnnxBuilder();
        b.Input("x", inputDims.Length == 0 ? new object[] { 1, 4 } : inputDims);
        b.Node("Relu", new[] { "x" }, new[] { "y" }, name: "relu");
        b.Output("y");
        return b;
    }
}
