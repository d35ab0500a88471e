// Licensed under the MIT license.
// How users change the severity of ModelGen diagnostics, and what they then get.
//
// Roslyn filters generator diagnostics through the compilation options (GeneratorDriver -> Compilation.Options
// .FilterDiagnostic): the driver's result holds the diagnostics *after* SpecificDiagnosticOptions were applied (a
// changed severity, or nothing at all for Suppress). In a real build, SpecificDiagnosticOptions are what /nowarn
// (<NoWarn>), /warnaserror+:ID (<WarningsAsErrors>) and global analyzer config files (.globalconfig, is_global = true)
// produce; per-file .editorconfig sections do NOT apply to ModelGen diagnostics, because those are located in the .onnx
// file, not in a C# syntax tree (found with a real `dotnet build`, see docs/diagnostics.md#changing-the-severity).
//
// Severity configuration changes what is reported, never what is generated: the generator decides from the
// catalog's default severity. So an info or warning made an error fails the build but the class is still generated,
// and an error made a warning (or suppressed) disappears from the build log while the class is still not generated.

using Microsoft.CodeAnalysis;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Generator.Tests;

public sealed class SeverityTests
{
    private readonly string _batched = Scratch.Write("batched.onnx", Models.Relu("N", 4));          // MG0200 info
    private readonly string _unsupported = Scratch.Write("unsupported.onnx", Unsupported());         // MG0100 warning
    private readonly string _dynamic = Scratch.Write("dynamic.onnx", Models.Relu(1, "height", 4));   // MG0201 error

    private static OnnxBuilder Unsupported()
    {
        var b = new OnnxBuilder();
        b.Input("x", 1, 4);
        b.Node("NotARealOp", new[] { "x" }, new[] { "y" }, name: "mystery");
        b.Output("y");
        return b;
    }

    private GeneratorRun Run(Dictionary<string, ReportDiagnostic>? options, string userSource = "") =>
        GeneratorHarness.Run(new[] { new ModelInput(_batched), new ModelInput(_unsupported), new ModelInput(_dynamic) },
            userSource, "TestApp", options);

    private static Diagnostic Single(GeneratorRun run, string id) => Assert.Single(run.Diagnostics, d => d.Id == id);

    private static bool Generated(GeneratorRun run, string className) => run.Sources.Any(s => s.HintName == className + ".g.cs");

    [Fact]
    public void Defaults()
    {
        GeneratorRun run = Run(null);

        Assert.Equal(DiagnosticSeverity.Info, Single(run, "MG0200").Severity);
        Assert.Equal(DiagnosticSeverity.Warning, Single(run, "MG0100").Severity);
        Assert.Equal(DiagnosticSeverity.Error, Single(run, "MG0201").Severity);
        Assert.True(Generated(run, "Batched") && Generated(run, "Unsupported"));
        Assert.False(Generated(run, "Dynamic"));
    }

    [Fact]
    public void Info_made_error_and_warning_suppressed()
    {
        GeneratorRun run = Run(new() { ["MG0200"] = ReportDiagnostic.Error, ["MG0100"] = ReportDiagnostic.Suppress });

        // What the build reports: MG0200 is now an error (its default is still Info), MG0100 is gone entirely
        // (not reported as suppressed), MG0201 is unchanged.
        Diagnostic batch = Single(run, "MG0200");
        Assert.Equal(DiagnosticSeverity.Error, batch.Severity);
        Assert.Equal(DiagnosticSeverity.Info, batch.DefaultSeverity);
        Assert.False(batch.IsWarningAsError);
        Assert.Equal(_batched, batch.Location.GetLineSpan().Path);
        Assert.DoesNotContain(run.Diagnostics, d => d.Id == "MG0100");
        Assert.Equal(DiagnosticSeverity.Error, Single(run, "MG0201").Severity);

        // What is generated does not change: both classes are still there and compile.
        Assert.True(Generated(run, "Batched") && Generated(run, "Unsupported"));
        Assert.False(Generated(run, "Dynamic"));
        Assert.Empty(run.OutputCompilation.GetDiagnostics(TestContext.Current.CancellationToken).Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Fact]
    public void Warning_as_error_and_info_hidden()
    {
        // <WarningsAsErrors>MG0100</WarningsAsErrors> (or TreatWarningsAsErrors) and an info made hidden.
        GeneratorRun run = Run(new() { ["MG0100"] = ReportDiagnostic.Error, ["MG0200"] = ReportDiagnostic.Hidden });

        Diagnostic unsupported = Single(run, "MG0100");
        Assert.Equal(DiagnosticSeverity.Error, unsupported.Severity);
        Assert.True(unsupported.IsWarningAsError);
        Assert.Equal(DiagnosticSeverity.Hidden, Single(run, "MG0200").Severity);
        Assert.True(Generated(run, "Unsupported"));
    }

    [Theory]
    [InlineData(ReportDiagnostic.Suppress)]
    [InlineData(ReportDiagnostic.Warn)]
    public void Error_downgraded_is_hidden_but_the_class_is_still_not_generated(ReportDiagnostic report)
    {
        const string user = "namespace App { public static class Use { public static object Make() => new TestApp.Dynamic(); } }";

        GeneratorRun run = Run(new() { ["MG0201"] = report }, user);

        if (report == ReportDiagnostic.Suppress) Assert.DoesNotContain(run.Diagnostics, d => d.Id == "MG0201");
        else Assert.Equal(DiagnosticSeverity.Warning, Single(run, "MG0201").Severity);
        Assert.DoesNotContain(run.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        // The model is still not compiled, so the user's code is what fails (CS0234: no Dynamic in TestApp).
        Assert.False(Generated(run, "Dynamic"));
        Assert.Contains(run.OutputCompilation.GetDiagnostics(TestContext.Current.CancellationToken), d => d.Id == "CS0234" && d.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains("'Dynamic'", StringComparison.Ordinal));
    }
}
